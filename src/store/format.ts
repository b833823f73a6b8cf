/**
 * The on-disk format of the proxy's key store (SPEC §1), byte-compatible with cursor-to-openai:
 * `JSON.stringify(value, null, 2)`, key and cookie order kept.
 */
import { parseJson as parseJsonText } from '../core/json.js';
import { newKeyMap, type KeyMap } from '../core/key-map.js';
import { readPlainList, readPlainMap } from '../core/plain-json.js';
import { StoreError } from '../errors.js';

export function serialize(value: KeyMap | string[]): string {
  return JSON.stringify(value, null, 2);
}

const SLICE = 128;

/**
 * Cookies `items` as the elements of a list nested at `depth` (1: the invalid list, 2: a key's
 * list) exactly as JSON.stringify(value, null, 2) writes them, without the brackets: one native
 * JSON.stringify per slice instead of one call per cookie (twice as fast over 200k cookies).
 */
function elements(items: readonly string[], depth: 1 | 2): string {
  if (depth === 1) {
    const text = JSON.stringify(items, null, 2); // [\n  "a",\n  "b"\n]
    return text.slice(2, -2);
  }
  const text = JSON.stringify({ '': items }, null, 2); // {\n  "": [\n    "a",\n    "b"\n  ]\n}
  return text.slice(10, -6);
}

/**
 * A list as read from a store file, with the text of its elements there (`body`), when that text
 * is what `elements` would write for them. `items` is a copy of the list as read: the text is
 * reused only for the cookies that are still the very same strings, in the same places.
 */
interface ReadList {
  items: readonly string[];
  body: string;
}

/** What was read for each store value that parseKeys/parseInvalid returned (by its object). */
const readLists = new WeakMap<object, ReadList | Map<string, ReadList>>();

/** How many leading cookies of `items` are those of `read` (all of them, or none). */
function keptPrefix(items: readonly string[], read: ReadList | undefined): number {
  if (!read || items.length < read.items.length) return 0;
  for (let i = 0; i < read.items.length; i++) if (items[i] !== read.items[i]) return 0;
  return read.items.length;
}

/** A non-empty list nested at `depth`, from `[` to its last element (the closing line is the caller's). */
function* listChunks(items: readonly string[], depth: 1 | 2, read: ReadList | undefined): Generator<string> {
  // The cookies a list had when it was read are written as they were read: an append writes only
  // what it added (the text is what JSON.stringify would write for them: see plain-json.ts).
  const kept = keptPrefix(items, read);
  if (kept > 0) {
    yield '[\n';
    yield read!.body;
  }
  for (let i = kept; i < items.length; i += SLICE) yield `${i === 0 ? '[\n' : ',\n'}${elements(items.slice(i, i + SLICE), depth)}`;
}

/**
 * The same bytes as `serialize`, in pieces: a large store is written without ever holding its
 * whole text (or a Buffer of it) in memory. `previous`, the value as parseKeys/parseInvalid read
 * it, lets the cookies it still holds be written from the text they were read from.
 */
export function* serializeChunks(value: KeyMap | string[], previous?: KeyMap | string[]): Generator<string> {
  const read = previous ? readLists.get(previous) : undefined;
  // Pieces of SLICE cookies (~60 KB) stay below V8's large-object size (128 KiB), so each is
  // young garbage, freed at once, instead of old-space garbage that waits for a full GC.
  if (Array.isArray(value)) {
    // Lists are cut in slices so no single piece grows with the store.
    if (value.length === 0) return yield '[]';
    yield* listChunks(value, 1, read instanceof Map ? undefined : read);
    return yield '\n]';
  }
  const keys = Object.keys(value);
  if (keys.length === 0) return yield '{}';
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    const cookies = value[key]!;
    yield `${k === 0 ? '{\n  ' : ',\n  '}${JSON.stringify(key)}: `;
    if (cookies.length === 0) {
      yield '[]';
      continue;
    }
    yield* listChunks(cookies, 2, read instanceof Map ? read.get(key) : undefined);
    yield '\n  ]';
  }
  yield '\n}';
}

/** Same content, compared cheaply (no serialisation): same keys in the same order, same cookies. */
export function sameKeys(a: KeyMap, b: KeyMap): boolean {
  if (a === b) return true;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    if (ka[i] !== kb[i] || !sameList(a[ka[i]!]!, b[kb[i]!]!)) return false;
  }
  return true;
}

export function sameList(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** The JSON text of a store file: a UTF-8 BOM written by an editor is tolerated on read (it is not written back). */
function jsonBody(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function parseJson(body: string, file: string): unknown {
  if (body.trim() === '') throw new StoreError(`${file}: the file is empty (expected JSON)`);
  try {
    return parseJsonText(body);
  } catch (e) {
    // Where, never what: the text around a mistake is cookies.
    throw new StoreError(`${file}: not valid JSON (${(e as Error).message})`);
  }
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * Texts from this size on are read by the plain reader when they are plain (see plain-json.ts).
 * Below it JSON.parse is faster (native code, against a reader not yet compiled: 1.2 vs 2.4 ms
 * for 1k cookies in a fresh process), and its copies are too few to matter; the two meet near
 * 20k cookies (~8 MB).
 */
export const PLAIN_READ_MIN_CHARS = 8 * 1024 * 1024;

/** Parse and validate `api_keys.json`. A single string value reads as a one-element list. */
/** What the reader of the file knows of its text (see isPlainAscii): `plain`, checked on its bytes. */
export interface TextFacts {
  plain?: boolean;
}

export function parseKeys(text: string, file: string, facts: TextFacts = {}): KeyMap {
  const body = jsonBody(text);
  // The usual file (plain strings) is read without copying them; anything else by JSON.parse.
  const plain = body.length >= PLAIN_READ_MIN_CHARS ? readPlainMap(body, facts) : undefined;
  if (plain) {
    const lists = new Map<string, ReadList>();
    for (const [key, text] of plain.bodies) lists.set(key, { items: plain.map[key]!.slice(), body: text });
    readLists.set(plain.map, lists);
    return plain.map;
  }
  const value = parseJson(body, file);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new StoreError(`${file}: expected an object of api keys to cookie lists, found ${kind(value)}`);
  }
  // JSON.parse keeps a `__proto__` key as an own property; copying it into `{}` would not.
  const out = newKeyMap();
  for (const [key, cookies] of Object.entries(value as Record<string, unknown>)) {
    if (typeof cookies === 'string') out[key] = [cookies];
    else if (Array.isArray(cookies)) {
      const bad = cookies.findIndex((c) => typeof c !== 'string');
      if (bad >= 0) {
        throw new StoreError(`${file}: key "${key}": cookie #${bad + 1} is ${kind(cookies[bad])}, expected a string`);
      }
      out[key] = cookies as string[];
    } else {
      throw new StoreError(`${file}: key "${key}" holds ${kind(cookies)}, expected a list of cookies`);
    }
  }
  return out;
}

/** Parse and validate `invalid_cookies.json`. */
export function parseInvalid(text: string, file: string, facts: TextFacts = {}): string[] {
  const body = jsonBody(text);
  const plain = body.length >= PLAIN_READ_MIN_CHARS ? readPlainList(body, facts) : undefined;
  if (plain) {
    if (plain.body !== undefined) readLists.set(plain.items, { items: plain.items.slice(), body: plain.body });
    return plain.items;
  }
  const value = parseJson(body, file);
  if (!Array.isArray(value)) throw new StoreError(`${file}: expected a list of cookies, found ${kind(value)}`);
  const bad = value.findIndex((c) => typeof c !== 'string');
  if (bad >= 0) throw new StoreError(`${file}: entry #${bad + 1} is ${kind(value[bad])}, expected a string`);
  return value as string[];
}
