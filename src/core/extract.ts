/**
 * CSV/TXT → candidate cookies (SPEC §5.7). Cursor-Register writes `token_<date>.csv` (one token a
 * row) and `output_<date>.csv` (`email,token` rows), without a header, with CRLF; forks add
 * headers, quotes, BOMs, or write bare JWTs. Every field that is a cookie is taken, deduplicated
 * by identity, in order of first appearance. Pure: bytes in, strings out.
 */
import { parse } from 'csv-parse/sync';
import { cookieIdentity, normalizeCookieText, parseCookie } from './cookie.js';

/** Files whose content is scanned for cookies. */
export function isCookieFile(name: string): boolean {
  return /\.(csv|txt)$/i.test(name);
}

const COOKIE_NAME_PREFIX = /^WorkosCursorSessionToken=/i;
/** Looks like an attempt at a cookie (so a broken one is reported as malformed, not ignored). */
const COOKIE_LIKE = /(^|::|%3a%3a)eyJ[A-Za-z0-9_-]*\.|^user_[A-Za-z0-9]+(::|%3a%3a)/i;

/** The cookie in one CSV field, if it holds one (or something meant to be one). */
export function cookieInField(field: string): string | undefined {
  // Normalising never lengthens a field: a short one cannot hold a cookie.
  if (field.length < 20) return undefined;
  const text = normalizeCookieText(field).replace(COOKIE_NAME_PREFIX, '').replace(/;$/, '');
  if (text.length < 20) return undefined;
  // Cookie-shaped text is taken as it is (a broken one is refused as malformed by the merge, which
  // parses every candidate once); anything else only when it parses (e.g. a JWT whose header
  // does not start with eyJ).
  if (COOKIE_LIKE.test(text)) return text;
  return parseCookie(text).ok ? text : undefined;
}

const LINE_BREAK = /\r\n|\n|\r/;

/** Non-empty lines of a quote-free CSV/TXT held in a Buffer, decoded one at a time. */
function* bufferRows(buf: Buffer): Generator<string[]> {
  // One short string a line (collected young) instead of one huge string for the whole file.
  let start = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  while (start < buf.length) {
    const nl = buf.indexOf(0x0a, start);
    const end = nl < 0 ? buf.length : nl;
    const line = buf.toString('utf8', start, end);
    start = end + 1;
    for (const part of line.includes('\r') ? line.split('\r') : [line]) {
      if (part.trim() !== '') yield part.split(',');
    }
  }
}

function rows(input: string | Buffer): Iterable<string[]> {
  // Without a quote character CSV is just lines of comma-separated fields: split them directly
  // (csv-parse costs several times more on the 100k-row files of a big artifact).
  if (typeof input !== 'string') {
    if (!input.includes(0x22)) return bufferRows(input);
    input = input.toString('utf8');
  }
  const text = input;
  if (!text.includes('"')) {
    const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
    const out: string[][] = [];
    for (const line of body.split(LINE_BREAK)) {
      if (line.trim() !== '') out.push(line.split(','));
    }
    return out;
  }
  try {
    return parse(text, {
      bom: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      trim: true,
    }) as string[][];
  } catch {
    // Not CSV after all (stray quotes in a text file): fall back to lines and separators.
    return text
      .replace(/^\uFEFF/, '')
      .split(/\r?\n/)
      .map((line) => line.split(/[,;\t ]+/));
  }
}

export interface Extraction {
  /** Distinct candidates (by identity), as they appeared. */
  cookies: string[];
  /** Fields that held a cookie, before deduplication. */
  found: number;
  /**
   * The account email beside a cookie (Cursor-Register's `output_*.csv` rows are `email,token`),
   * by cookie identity: the token backends write it as the cookie's alias (SPEC §9.2).
   */
  labels: Map<string, string>;
}

const EMAIL = /^[^\s@,;"]+@[^\s@,;"]+\.[^\s@,;"]+$/;

/** The email address among a row's fields, if one is there. */
function emailIn(row: readonly string[]): string | undefined {
  for (const f of row) {
    if (typeof f !== 'string' || f.length > 254 || !f.includes('@')) continue;
    const t = f.trim().replace(/^"|"$/g, '');
    if (EMAIL.test(t)) return t;
  }
  return undefined;
}

/** Extract from several files (text, or raw UTF-8 bytes) at once, deduplicating across them. */
export function extractCookies(texts: Iterable<string | Buffer>): Extraction {
  const seen = new Set<string>();
  const cookies: string[] = [];
  const labels = new Map<string, string>();
  let found = 0;
  for (const text of texts) {
    for (const row of rows(text)) {
      // A row of one field (token_*.csv) has no email beside it.
      let email: string | undefined | null = row.length > 1 ? undefined : null;
      for (const field of row) {
        if (typeof field !== 'string') continue;
        const cookie = cookieInField(field);
        if (cookie === undefined) continue;
        found++;
        const id = cookieIdentity(cookie);
        if (email === undefined) email = emailIn(row) ?? null;
        if (email !== null && !labels.has(id)) labels.set(id, email);
        if (seen.has(id)) continue;
        seen.add(id);
        cookies.push(cookie);
      }
    }
  }
  return { cookies, found, labels };
}

/** Keep the first of each identity, in order. */
export function dedupeByIdentity(cookies: Iterable<string>): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const c of cookies) {
    const id = cookieIdentity(c);
    if (!seen.has(id)) {
      seen.add(id);
      out.push(c);
    }
  }
  return out;
}
