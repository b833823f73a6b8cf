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
  const text = normalizeCookieText(field).replace(COOKIE_NAME_PREFIX, '').replace(/;$/, '');
  if (text.length < 20) return undefined;
  if (parseCookie(text).ok) return text;
  return COOKIE_LIKE.test(text) ? text : undefined;
}

function rows(text: string): string[][] {
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
}

/** Extract from several files' text at once, deduplicating across them. */
export function extractCookies(texts: Iterable<string>): Extraction {
  const seen = new Set<string>();
  const cookies: string[] = [];
  let found = 0;
  for (const text of texts) {
    for (const row of rows(text)) {
      for (const field of row) {
        if (typeof field !== 'string') continue;
        const cookie = cookieInField(field);
        if (cookie === undefined) continue;
        found++;
        const id = cookieIdentity(cookie);
        if (seen.has(id)) continue;
        seen.add(id);
        cookies.push(cookie);
      }
    }
  }
  return { cookies, found };
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
