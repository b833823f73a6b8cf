/**
 * Sets and maps of cookie identities (JWTs, ~400 characters each) that stay fast over whole stores.
 *
 * A JavaScript Set or Map hashes every string key in full, once per string object; each identity
 * is a fresh slice of its cookie, so building a Set over 200k stored cookies hashes 80 million
 * characters and was the largest single cost of an import (issue 12 #4). These structures index an
 * identity by a small integer fingerprint of its last 48 characters (the JWT signature, random for
 * real cookies) and compare the whole string on a hit, so membership
 * stays exact. Identities that share a fingerprint fall back to an ordinary Map, so crafted
 * collisions cost no more than a Set.
 */

/** Characters of the identity's end that make up its fingerprint (an HS256 signature is 43). */
const TAIL = 48;

/** A small integer (always a V8 Smi) from the identity's length and last characters. */
function fingerprint(id: string): number {
  const n = id.length;
  let h = n;
  for (let i = n - 1, stop = Math.max(0, n - TAIL); i >= stop; i--) h = (Math.imul(h, 31) + id.charCodeAt(i)) | 0;
  return h & 0x3fffffff;
}

/**
 * Where each of a list of distinct identities is: position i for the list's i-th. What a harvest
 * leaves behind (its deduplication index), so the merge plan need not index the candidates again.
 */
export interface IdentityIndex {
  readonly size: number;
  /** The position of `id`, or -1. */
  indexOf(id: string): number;
}

/** An insertion-ordered map from cookie identity to a value (a ReadonlyMap to its consumers). */
export class IdentityMap<V> implements ReadonlyMap<string, V> {
  /** Fingerprint → index into ids/values; several identities with one fingerprint → a Map. */
  readonly #index = new Map<number, number | Map<string, number>>();
  readonly #ids: string[] = [];
  readonly #values: V[] = [];

  #find(id: string): number {
    const slot = this.#index.get(fingerprint(id));
    if (slot === undefined) return -1;
    if (typeof slot === 'number') return this.#ids[slot] === id ? slot : -1;
    return slot.get(id) ?? -1;
  }

  get size(): number {
    return this.#ids.length;
  }

  /** The position of `id` (insertion order), or -1: for reading and updating its value in place. */
  indexOf(id: string): number {
    return this.#find(id);
  }

  valueAt(index: number): V {
    return this.#values[index]!;
  }

  setValueAt(index: number, value: V): void {
    if (index < 0 || index >= this.#values.length) throw new RangeError(`no entry at ${index}`);
    this.#values[index] = value;
  }

  has(id: string): boolean {
    return this.#find(id) >= 0;
  }

  get(id: string): V | undefined {
    const i = this.#find(id);
    return i >= 0 ? this.#values[i] : undefined;
  }

  /** The identity string already held that equals `id` (callers can drop their own copy). */
  keyOf(id: string): string | undefined {
    const i = this.#find(id);
    return i >= 0 ? this.#ids[i] : undefined;
  }

  /**
   * The position of `id`, added with `value` when absent (then the position is the old size): one
   * lookup for the usual "first one wins".
   */
  indexOrAdd(id: string, value: V): number {
    const fp = fingerprint(id);
    const slot = this.#index.get(fp);
    const next = this.#ids.length;
    if (slot === undefined) this.#index.set(fp, next);
    else if (typeof slot === 'number') {
      if (this.#ids[slot] === id) return slot;
      this.#index.set(fp, new Map([[this.#ids[slot]!, slot], [id, next]]));
    } else {
      const i = slot.get(id);
      if (i !== undefined) return i;
      slot.set(id, next);
    }
    this.#ids.push(id);
    this.#values.push(value);
    return next;
  }

  /**
   * Add `id` with `value` unless it is already there: then nothing changes and the identity string
   * already held is returned.
   */
  setIfAbsent(id: string, value: V): string | undefined {
    const size = this.#ids.length;
    const at = this.indexOrAdd(id, value);
    return at === size ? undefined : this.#ids[at];
  }

  /** Set a value; an identity already present keeps its place. */
  set(id: string, value: V): this {
    const fp = fingerprint(id);
    const slot = this.#index.get(fp);
    let i: number | undefined;
    if (slot === undefined) {
      this.#index.set(fp, this.#ids.length);
    } else if (typeof slot === 'number') {
      if (this.#ids[slot] === id) i = slot;
      else this.#index.set(fp, new Map([[this.#ids[slot]!, slot], [id, this.#ids.length]]));
    } else {
      i = slot.get(id);
      if (i === undefined) slot.set(id, this.#ids.length);
    }
    if (i !== undefined) this.#values[i] = value;
    else {
      this.#ids.push(id);
      this.#values.push(value);
    }
    return this;
  }

  forEach(fn: (value: V, key: string, map: ReadonlyMap<string, V>) => void, thisArg?: unknown): void {
    for (let i = 0; i < this.#ids.length; i++) fn.call(thisArg, this.#values[i]!, this.#ids[i]!, this);
  }

  *entries(): MapIterator<[string, V]> {
    for (let i = 0; i < this.#ids.length; i++) yield [this.#ids[i]!, this.#values[i]!];
  }

  *keys(): MapIterator<string> {
    yield* this.#ids;
  }

  *values(): MapIterator<V> {
    yield* this.#values;
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'IdentityMap';
  }
}

/** A set of cookie identities (see IdentityMap). */
export class IdentitySet {
  readonly #map = new IdentityMap<true>();

  constructor(ids: Iterable<string> = []) {
    for (const id of ids) this.#map.set(id, true);
  }

  get size(): number {
    return this.#map.size;
  }

  has(id: string): boolean {
    return this.#map.has(id);
  }

  /** Add `id`; false when it was already there. */
  add(id: string): boolean {
    return this.#map.setIfAbsent(id, true) === undefined;
  }
}
