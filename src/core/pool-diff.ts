/**
 * A Change as a diff against the Snapshot it was decided on (pure, no I/O). Backends that cannot
 * replace the whole pool atomically (a running proxy, cursor-api's token files) apply the diff to
 * the pool as it is at write time, so what another writer did in between is kept: a cookie it
 * retired is not put back, a cookie it added is not removed.
 */
import { cookieIdentity } from './cookie.js';
import type { KeyMap } from './key-map.js';

export interface KeyDiff {
  apiKey: string;
  /** The key is new. */
  created: boolean;
  /** Cookies to add, in order, as the plan has them (forms kept). */
  add: string[];
  /** Identities to remove. */
  remove: Set<string>;
}

export interface PoolDiff {
  /** Keys whose list changed or that are new, in the order of the new map. */
  keys: KeyDiff[];
  /** Keys that the change removes. */
  removedKeys: string[];
  /** Cookies added to the invalid list (forms kept). */
  invalidAdd: string[];
  /** Identities taken off the invalid list. */
  invalidRemove: Set<string>;
  /** The new invalid list is empty and the old one was not (one "clear" call where the backend has one). */
  invalidCleared: boolean;
}

const hasOwn = (o: object, k: string): boolean => Object.hasOwn(o, k);

function identities(list: readonly string[]): Set<string> {
  const s = new Set<string>();
  for (const c of list) s.add(cookieIdentity(c));
  return s;
}

/** What `next` changes in `prev`; keys or invalid omitted in `next` are unchanged. */
export function diffPool(prev: { keys: KeyMap; invalid: string[] }, next: { keys?: KeyMap; invalid?: string[] }): PoolDiff {
  const out: PoolDiff = { keys: [], removedKeys: [], invalidAdd: [], invalidRemove: new Set(), invalidCleared: false };
  if (next.keys && next.keys !== prev.keys) {
    for (const apiKey of Object.keys(next.keys)) {
      const after = next.keys[apiKey]!;
      const created = !hasOwn(prev.keys, apiKey);
      const before = created ? [] : prev.keys[apiKey]!;
      if (!created && after === before) continue;
      const beforeIds = identities(before);
      const afterIds = identities(after);
      const add: string[] = [];
      const seen = new Set<string>();
      for (const c of after) {
        const id = cookieIdentity(c);
        if (!beforeIds.has(id) && !seen.has(id)) {
          seen.add(id);
          add.push(c);
        }
      }
      const remove = new Set<string>();
      for (const id of beforeIds) if (!afterIds.has(id)) remove.add(id);
      if (created || add.length || remove.size) out.keys.push({ apiKey, created, add, remove });
    }
    for (const apiKey of Object.keys(prev.keys)) if (!hasOwn(next.keys, apiKey)) out.removedKeys.push(apiKey);
  }
  if (next.invalid && next.invalid !== prev.invalid) {
    const beforeIds = identities(prev.invalid);
    const afterIds = identities(next.invalid);
    const seen = new Set<string>();
    for (const c of next.invalid) {
      const id = cookieIdentity(c);
      if (!beforeIds.has(id) && !seen.has(id)) {
        seen.add(id);
        out.invalidAdd.push(c);
      }
    }
    for (const id of beforeIds) if (!afterIds.has(id)) out.invalidRemove.add(id);
    out.invalidCleared = next.invalid.length === 0 && prev.invalid.length > 0;
  }
  return out;
}

/** True when the diff changes nothing. */
export function emptyDiff(d: PoolDiff): boolean {
  return d.keys.length === 0 && d.removedKeys.length === 0 && d.invalidAdd.length === 0 && d.invalidRemove.size === 0;
}

/**
 * A list's new version from the list as it is now (`current`): `remove` (identities) taken out,
 * `add` appended unless present already (in any form) or listed in `blocked`.
 */
export function applyListDiff(
  current: readonly string[],
  remove: ReadonlySet<string>,
  add: readonly string[],
  blocked: ReadonlySet<string> = new Set(),
): string[] {
  const out: string[] = [];
  const present = new Set<string>();
  for (const c of current) {
    const id = cookieIdentity(c);
    if (remove.has(id)) continue;
    present.add(id);
    out.push(c);
  }
  for (const c of add) {
    const id = cookieIdentity(c);
    if (present.has(id) || blocked.has(id)) continue;
    present.add(id);
    out.push(c);
  }
  return out;
}

/**
 * A key's new list from its list as it is now (`current`): the diff's removals taken out, its
 * additions appended unless present already or listed in `blocked` (identities the other writer
 * has retired since the plan: its invalid list).
 */
export function applyKeyDiff(current: readonly string[], diff: KeyDiff, blocked: ReadonlySet<string> = new Set()): string[] {
  return applyListDiff(current, diff.remove, diff.add, blocked);
}
