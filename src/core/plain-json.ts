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
 * Anything else — an escape, a tab or CR, a number, a trailing comma, a mistake — returns
 * undefined and the caller uses JSON.parse, so the result is always JSON.parse's (the equivalence
 * is tested on both shapes and on every kind of text that must fall back).
 */

/** Anything that is not plain: a backslash, or a control character other than the line feed. */
const PLAIN = /^[^\x00-\x09\x0b-\x1f\\]*$/;

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

/** The strings of the array opening at `i` into `out`; returns the index after `]`, or -1. */
function readStrings(text: string, i: number, out: string[]): number {
  if (text.charCodeAt(i) !== OPEN_BRACKET) return -1;
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_BRACKET) return i + 1;
  for (;;) {
    const end = stringEnd(text, i);
    if (end < 0) return -1;
    out.push(text.slice(i + 1, end - 1));
    i = skipSpace(text, end);
    const c = text.charCodeAt(i);
    if (c === CLOSE_BRACKET) return i + 1;
    if (c !== COMMA) return -1;
    i = skipSpace(text, i + 1);
  }
}

/** A plain JSON array of strings, or undefined (then JSON.parse decides). */
export function parsePlainStringList(text: string): string[] | undefined {
  if (!PLAIN.test(text)) return undefined;
  const out: string[] = [];
  const end = readStrings(text, skipSpace(text, 0), out);
  return end >= 0 && skipSpace(text, end) === text.length ? out : undefined;
}

/**
 * A plain JSON object of arrays of strings, or undefined (then JSON.parse decides). The object has
 * no prototype; a repeated key keeps its first place and its last value, as with JSON.parse.
 */
export function parsePlainStringListMap(text: string): Record<string, string[]> | undefined {
  if (!PLAIN.test(text)) return undefined;
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) !== OPEN_BRACE) return undefined;
  const map = Object.create(null) as Record<string, string[]>;
  i = skipSpace(text, i + 1);
  if (text.charCodeAt(i) === CLOSE_BRACE) i++;
  else {
    for (;;) {
      const end = stringEnd(text, i);
      if (end < 0) return undefined;
      const key = text.slice(i + 1, end - 1);
      i = skipSpace(text, end);
      if (text.charCodeAt(i) !== COLON) return undefined;
      const list: string[] = [];
      i = readStrings(text, skipSpace(text, i + 1), list);
      if (i < 0) return undefined;
      map[key] = list;
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
  return skipSpace(text, i) === text.length ? map : undefined;
}
