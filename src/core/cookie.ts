/**
 * Cursor session cookies (`WorkosCursorSessionToken` values): parsing, identity, claims.
 * Pure functions, no I/O.
 *
 * Accepted forms (surrounding whitespace and quotes are trimmed):
 *   user_01ABC%3A%3AeyJ...   session token, URL-encoded (`%3a%3a` in any case)
 *   user_01ABC::eyJ...       session token, decoded
 *   eyJ...                   bare JWT
 */

export type CookieForm = 'encoded' | 'decoded' | 'jwt';

export interface Cookie {
  /** The cookie exactly as it is stored (input with outer whitespace/quotes trimmed). */
  readonly raw: string;
  readonly form: CookieForm;
  /** The JWT; the cookie's identity. */
  readonly jwt: string;
  /** `user_...` prefix or the part of `sub` after `|`. */
  readonly userId: string | undefined;
  /** Expiry in epoch seconds, when the JWT carries `exp`. */
  readonly exp: number | undefined;
}

export type ParseResult = { ok: true; cookie: Cookie } | { ok: false; reason: 'malformed'; detail: string };

const SEPARATOR_ENCODED = /%3a%3a/i;
/**
 * Three base64url parts (the signature may be empty), checked in one pass. No capture group: a
 * `test` is about three times faster than an `exec` that captures (it matters to `status`, which
 * checks every cookie of the store at start-up); no part holds a dot, so the payload is what lies
 * between the first two.
 */
const JWT_SHAPE = /^[A-Za-z0-9_-]+={0,2}\.[A-Za-z0-9_-]+={0,2}\.(?:[A-Za-z0-9_-]+={0,2})?$/;
/** The largest `exp` a Date can represent (8.64e15 ms). */
const MAX_EXP_SEC = 8.64e12;
const QUOTES = /^["'`]+|["'`]+$/g;
/** A character that normalisation strips from either end (`\s` is exactly what `trim()` removes). */
const EDGE = /[\s"'`]/;

/** Whether normalisation strips the character with this code (printable ASCII is decided without the regex). */
function isEdge(code: number): boolean {
  if (code > 0x20 && code < 0x7f) return code === 0x22 || code === 0x27 || code === 0x60;
  return EDGE.test(String.fromCharCode(code));
}

/** Trim surrounding whitespace and quotes (repeatedly: `" 'abc' "` → `abc`). */
export function normalizeCookieText(input: string): string {
  // Fast path (stores hold hundreds of thousands of clean cookies): nothing to trim at either end.
  if (input.length > 0 && !isEdge(input.charCodeAt(0)) && !isEdge(input.charCodeAt(input.length - 1))) return input;
  let s = input;
  for (;;) {
    const next = s.trim().replace(QUOTES, '');
    if (next === s) return s;
    s = next;
  }
}

/** Where the JWT starts in a normalised cookie: after `::` or `%3A%3A` (any case); 0 for a bare JWT. */
function jwtStart(s: string): number {
  const d = s.indexOf('::');
  if (d >= 0) return d + 2;
  // The usual spelling first (a plain search), any other case through the regex.
  const e = s.indexOf('%3A%3A');
  if (e >= 0) return e + 6;
  const m = s.includes('%') ? SEPARATOR_ENCODED.exec(s) : null;
  return m ? m.index + 6 : 0;
}

/** Split a normalised cookie into its optional user prefix and its JWT part, without validating. */
function split(s: string): { prefix: string | undefined; jwt: string; form: CookieForm } {
  const start = jwtStart(s);
  if (start === 0) return { prefix: undefined, jwt: s, form: 'jwt' };
  const decoded = s.charCodeAt(start - 1) === 0x3a; // the second ':' of '::'
  return { prefix: s.slice(0, start - (decoded ? 2 : 6)), jwt: s.slice(start), form: decoded ? 'decoded' : 'encoded' };
}

/**
 * The identity of a cookie: its JWT. Cheap (no decoding, no object), for sets over whole stores.
 * Two forms of the same session token have the same identity.
 */
export function cookieIdentity(input: string): string {
  const s = normalizeCookieText(input);
  const start = jwtStart(s);
  return start === 0 ? s : s.slice(start);
}

const NON_ASCII = /[^\x00-\x7f]/;

/**
 * base64url → UTF-8 text. `atob` is several times faster than `Buffer.from(p, 'base64url')` on
 * short strings (it matters over 100k cookies); non-ASCII payloads are re-decoded as UTF-8.
 * Throws on text that is not base64.
 */
function base64urlToText(p: string): string {
  const binary = atob(p.replace(/-/g, '+').replace(/_/g, '/'));
  return NON_ASCII.test(binary) ? Buffer.from(binary, 'latin1').toString('utf8') : binary;
}

/** Decode a JWT's payload; undefined when it is not three base64url parts with a JSON object payload. */
export function decodeJwtPayload(jwt: string): Record<string, unknown> | undefined {
  if (!JWT_SHAPE.test(jwt)) return undefined;
  const from = jwt.indexOf('.') + 1;
  const p = jwt.slice(from, jwt.indexOf('.', from));
  try {
    const payload: unknown = JSON.parse(base64urlToText(p));
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
    return payload as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

const WHITESPACE = /\s/;
const USER_PREFIX = /^[A-Za-z0-9_|-]+$/;

/**
 * A malformed result. Whitespace is looked for only once a cookie is found malformed: neither the
 * prefix nor the JWT pattern admits any, so a cookie with whitespace always fails them, and the
 * detail stays what it always was (a \s scan of every 400-character cookie cost as much as the
 * JWT check itself).
 */
function malformed(raw: string, detail: string): ParseResult {
  return { ok: false, reason: 'malformed', detail: WHITESPACE.test(raw) ? 'contains whitespace' : detail };
}

/** Fully parse and validate a cookie in any of the three forms. */
export function parseCookie(input: string): ParseResult {
  const raw = normalizeCookieText(input);
  if (raw === '') return { ok: false, reason: 'malformed', detail: 'empty' };
  const { prefix, jwt, form } = split(raw);
  if (prefix !== undefined && !USER_PREFIX.test(prefix)) return malformed(raw, 'bad user prefix');
  const payload = decodeJwtPayload(jwt);
  if (!payload) return malformed(raw, 'not a JWT with a JSON payload');
  let exp: number | undefined;
  if (payload.exp !== undefined) {
    if (typeof payload.exp !== 'number' || !Number.isFinite(payload.exp)) {
      return { ok: false, reason: 'malformed', detail: '`exp` is not a number' };
    }
    // Beyond the range of a Date (year 275760): no real session ends then, and no table could show it.
    if (Math.abs(payload.exp) > MAX_EXP_SEC) return { ok: false, reason: 'malformed', detail: '`exp` is out of range' };
    exp = payload.exp;
  }
  let userId: string | undefined;
  if (prefix && prefix.startsWith('user_')) userId = prefix;
  else if (typeof payload.sub === 'string') {
    const bar = payload.sub.lastIndexOf('|');
    userId = bar >= 0 ? payload.sub.slice(bar + 1) : payload.sub;
    if (userId === '') userId = undefined;
  }
  if (!userId && prefix) userId = prefix;
  return { ok: true, cookie: { raw, form, jwt, userId, exp } };
}

/** True when the cookie carries an `exp` at or before `nowSec`. */
export function isExpired(cookie: Pick<Cookie, 'exp'>, nowSec: number): boolean {
  return cookie.exp !== undefined && cookie.exp <= nowSec;
}

/** The value of the `WorkosCursorSessionToken` cookie header for a parsed cookie. */
export function sessionTokenHeaderValue(cookie: Cookie): string | undefined {
  if (!cookie.userId) return undefined;
  return `${cookie.userId}%3A%3A${cookie.jwt}`;
}

export const REFUSAL_REASONS = ['malformed', 'expired', 'duplicate', 'known-invalid'] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export function emptyRejections(): Record<RefusalReason, number> {
  return { malformed: 0, expired: 0, duplicate: 0, 'known-invalid': 0 };
}

/**
 * Mask a secret for display: `user_01AB…x9Qk`. Short strings are hidden entirely.
 * Masking is applied to the whole stored form, so the user id prefix stays recognisable.
 */
export function maskSecret(value: string): string {
  const s = normalizeCookieText(value);
  if (s.length >= 24) return `${s.slice(0, 8)}…${s.slice(-4)}`;
  if (s.length >= 12) return `${s.slice(0, 3)}…${s.slice(-2)}`;
  return '…';
}
