/**
 * A reader for the two shapes of the key store files, when written plainly: a JSON array of
 * strings (`invalid_cookies.json`) and a JSON object of arrays of strings (`api_keys.json`), with
 * no backslash anywhere, no control character but the line feed, and only spaces and line feeds
 * between tokens. That is what JSON.stringify(value, null, 2) writes for cookies (they are ASCII
 * without quotes or backslashes), so it is what the proxy and cookie-pool write.
 *
 * Why (issue 12 #4): JSON.parse copies every string of a 40 MB store into the young generation,
 * and the collector copies the 100k survivors again to promote them: reading the two files of a
 * 100k + 100k store cost ~400 ms, ~120 ms of it collection. Here each string is a slice of the
 * file's text (V8 makes a slice of 13 characters or more a small view on its parent, no copy), so
 * the text is read once and nothing is copied.
 *
 * Anything else — an escape, a tab or CR, a surrogate, a number, a trailing comma, a mistake —
 * returns undefined and the caller uses JSON.parse, so the result is always JSON.parse's (the
 * equivalence is tested on both shapes and on every kind of text that must fall back).
 *
 * A list laid out exactly as JSON.stringify(value, null, 2) lays it out also gives its `body`: the
 * text between its brackets as that writer would write it (its plain strings need no escaping), so
 * a list written back unchanged, or extended at its end, is not formatted again (format.ts).
 */
import { isAscii } from 'node:buffer';

/**
 * Anything that is not plain: a backslash, a control character other than the line feed, a
 * surrogate (JSON.stringify escapes a lone one, so a body would not be what it writes).
 */
const PLAIN = /^[^\x00-\x09\x0b-\x1f\\\ud800-\udfff]*$/;

/** Whether a byte is one PLAIN refuses in ASCII text: a control character but LF, or a backslash. */
function isRefusedByte(b: number): boolean {
  return (b < 0x20 && b !== 0x0a) || b === 0x5c;
}

/**
 * Whether these bytes, decoded as latin1, are a plain text (PLAIN): ASCII (no surrogates then),
 * no backslash, no control character but LF. Twice as fast as the regex over the decoded text on
 * a 40 MB store: four bytes at a time, a word with a byte below 0x20 looked at closely (in ASCII,
 * `(v - 0x20202020) & ~v & 0x80808080` is non-zero exactly when one is).
 */
export function isPlainAscii(bytes: Buffer): boolean {
  if (!isAscii(bytes) || bytes.indexOf(0x5c) >= 0) return false;
  const n = bytes.length;
  // Whole 32-bit words from the first aligned byte; the bytes before and after one by one.
  const head = (4 - (bytes.byteOffset & 3)) & 3;
  if (n <= head) {
    for (let i = 0; i < n; i++) if (isRefusedByte(bytes[i]!)) return false;
    return true;
  }
  for (let i = 0; i < head; i++) if (isRefusedByte(bytes[i]!)) return false;
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset + head, (n - head) >>> 2);
  for (let w = 0; w < words.length; w++) {
    const v = words[w]!;
    if (((v - 0x20202020) & ~v & 0x80808080) !== 0) {
      for (let i = head + 4 * w, end = i + 4; i < end; i++) if (isRefusedByte(bytes[i]!)) return false;
    }
  }
  for (let i = head + 4 * words.length; i < n; i++) if (isRefusedByte(bytes[i]!)) return false;
  return true;
}

const SPACE = 0x20;
const LF = 0x0a;
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== SPACE && c !== LF) return i;
    i++;
  }
}

/** The end (after the closing quote) of the string starting at `i`, or -1. */
function stringEnd(text: string, i: number): number {
  if (text.charCodeAt(i) !== QUOTE) return -1;
  const end = text.indexOf('"', i + 1);
  if (end < 0) return -1;
  // A line feed inside a string is a control character JSON does not allow.
  const lf = text.indexOf('\n', i + 1);
  return lf >= 0 && lf < end ? -1 : end + 1;
}

/** A list read, and its body when laid out as JSON.stringify(value, null, 2) lays it out. */
export interface PlainList {
  items: string[];
  /** The text between the brackets, without the line breaks next to them (non-empty lists only). */
  body: string | undefined;
}

/** The separators JSON.stringify(value, null, 2) writes around the elements of a list at `depth`. */
function layout(depth: 1 | 2): { open: string; between: string; close: string } {
  const inner = ' '.repeat(2 * depth);
  return { open: `[\n${inner}"`, between: `,\n${inner}"`, close: `\n${' '.repeat(2 * depth - 2)}]` };
}
const LAYOUT = { 1: layout(1), 2: layout(2) };

/**
 * The strings of the array opening at `i` (nested at `depth`); returns the index after `]`, or -1.
 */
function readStrings(text: string, i: number, depth: 1 | 2, out: PlainList): number {
  if (text.charCodeAt(i) !== OPEN_BRACKET) return -1;
  const open = i;
  const { between, close } = LAYOUT[depth];
  let laidOut = text.startsWith(LAYOUT[depth].open, open);
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_BRACKET) return i + 1;
  for (;;) {
    const end = stringEnd(text, i);
    if (end < 0) return -1;
    out.items.push(text.slice(i + 1, end - 1));
    i = skipSpace(text, end);
    const c = text.charCodeAt(i);
    if (c === CLOSE_BRACKET) {
      if (laidOut && text.startsWith(close, end)) out.body = text.slice(open + 2, end);
      return i + 1;
    }
    if (c !== COMMA) return -1;
    if (laidOut) laidOut = text.startsWith(between, end);
    i = skipSpace(text, i + 1);
  }
}

/** How the text was checked: `plain` when isPlainAscii passed on the bytes it was decoded from. */
export interface PlainReadOptions {
  plain?: boolean;
}

/** A plain JSON array of strings, or undefined (then JSON.parse decides). */
export function readPlainList(text: string, opts: PlainReadOptions = {}): PlainList | undefined {
  if (!opts.plain && !PLAIN.test(text)) return undefined;
  const out: PlainList = { items: [], body: undefined };
  const end = readStrings(text, skipSpace(text, 0), 1, out);
  return end >= 0 && skipSpace(text, end) === text.length ? out : undefined;
}

/** A map read, and the body of each list laid out as JSON.stringify(value, null, 2) lays it out. */
export interface PlainMap {
  map: Record<string, string[]>;
  bodies: Map<string, string>;
}

/**
 * A plain JSON object of arrays of strings, or undefined (then JSON.parse decides), with the body
 * of each list (by key). The object has no prototype; a repeated key keeps its first place and
 * its last value, as with JSON.parse.
 */
export function readPlainMap(text: string, opts: PlainReadOptions = {}): PlainMap | undefined {
  if (!opts.plain && !PLAIN.test(text)) return undefined;
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== OPEN_BRACE) return undefined;
  const map = Object.create(null) as Record<string, string[]>;
  const bodies = new Map<string, string>();
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_BRACE) i++;
  else {
    for (;;) {
      const end = stringEnd(text, i);
      if (end < 0) return undefined;
      const key = text.slice(i + 1, end - 1);
      i = skipSpace(text, end);
      if (text.charCodeAt(i) !== COLON) return undefined;
      const list: PlainList = { items: [], body: undefined };
      i = readStrings(text, skipSpace(text, i + 1), 2, list);
      if (i < 0) return undefined;
      map[key] = list.items;
      if (list.body === undefined) bodies.delete(key);
      else bodies.set(key, list.body);
      i = skipSpace(text, i);
      const c = text.charCodeAt(i);
      if (c === CLOSE_BRACE) {
        i++;
        break;
      }
      if (c !== COMMA) return undefined;
      i = skipSpace(text, i + 1);
    }
  }
  return skipSpace(text, i) === text.length ? { map, bodies } : undefined;
}
