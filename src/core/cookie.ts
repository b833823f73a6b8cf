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
 * Three base64url parts (the signature may be empty), each optionally padded: the shape of a JWT.
 * cookieExpiries, for `status` at start-up, tests it in one pass; payloadBinary checks the same
 * shape part by part (see there).
 */
const JWT_SHAPE = /^[A-Za-z0-9_-]+={0,2}\.([A-Za-z0-9_-]+={0,2})\.(?:[A-Za-z0-9_-]+={0,2})?$/;
/** The header and its dot, from the start (sticky). */
const JWT_HEADER = /[A-Za-z0-9_-]+={0,2}\./y;
/** The signature, from after the second dot to the end (sticky). */
const JWT_SIGNATURE = /(?:[A-Za-z0-9_-]+={0,2})?$/y;
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
 * The bytes of a JWT's payload as a latin1 string, or undefined when the JWT does not have JWT_SHAPE
 * or its payload is not base64. Over an import's 100k candidates this is most of parseCookie's
 * time, so the payload (four fifths of a JWT) is not run through a pattern: header and signature
 * are (sticky patterns, in place), and the payload goes straight to `atob` (several times faster
 * than `Buffer.from(p, 'base64url')` on short strings), which refuses every character outside
 * base64's alphabet and any `=` but one or two at the end. What `atob` would take but the shape
 * does not is refused around it: `+` and `/` (not base64url) by a search, and the ASCII
 * whitespace `atob` skips by the length of what it decoded (fewer characters decode to fewer
 * bytes). The equivalence with JWT_SHAPE + `atob` is tested over every kind of damage.
 */
function payloadBinary(jwt: string): string | undefined {
  JWT_HEADER.lastIndex = 0;
  if (!JWT_HEADER.test(jwt)) return undefined;
  const start = JWT_HEADER.lastIndex;
  const end = jwt.indexOf('.', start);
  if (end < 0) return undefined;
  JWT_SIGNATURE.lastIndex = end + 1;
  if (!JWT_SIGNATURE.test(jwt)) return undefined;
  // The payload without its padding (a third `=` is left to atob, which refuses it): a length of
  // 4k + 1 is never base64.
  let core = end;
  if (jwt.charCodeAt(core - 1) === 0x3d) core--;
  if (jwt.charCodeAt(core - 1) === 0x3d) core--;
  const length = core - start;
  if (length <= 0 || (length & 3) === 1) return undefined;
  const p = jwt.slice(start, end);
  if (p.includes('+') || p.includes('/')) return undefined;
  let binary: string;
  try {
    binary = atob(p.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return undefined;
  }
  return binary.length === (length * 3) >> 2 ? binary : undefined;
}

/** A payload's bytes as text: UTF-8 (a payload without a byte above 0x7f is that already). */
function utf8Text(binary: string): string {
  return NON_ASCII.test(binary) ? Buffer.from(binary, 'latin1').toString('utf8') : binary;
}

/** JSON.parse of an object; undefined for anything else, or text that is not JSON. */
function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const payload: unknown = JSON.parse(text);
    if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return undefined;
    return payload as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Decode a JWT's payload; undefined when it is not three base64url parts with a JSON object payload. */
export function decodeJwtPayload(jwt: string): Record<string, unknown> | undefined {
  const binary = payloadBinary(jwt);
  return binary === undefined ? undefined : parseObject(utf8Text(binary));
}

/**
 * What parseCookie needs of a payload (`exp`, `sub`), as decodeJwtPayload would give them, without
 * decoding UTF-8 first: JSON's structure is ASCII and UTF-8 never puts an ASCII byte inside a
 * multi-byte character, so the bytes parse (or fail to) exactly as their UTF-8 text does, with the
 * same keys and numbers; only a string value with bytes above 0x7f differs, so `sub` (wanted only
 * for a cookie without a `user_` prefix) is read through subText.
 */
function payloadClaims(jwt: string): { exp: unknown; sub: unknown; binary: string } | undefined {
  const binary = payloadBinary(jwt);
  if (binary === undefined) return undefined;
  const payload = parseObject(binary);
  return payload === undefined ? undefined : { exp: payload.exp, sub: payload.sub, binary };
}

/** A payload's `sub` as its UTF-8 text has it (payloadClaims's `sub` is its bytes). */
function subText(claims: { sub: unknown; binary: string }): unknown {
  return typeof claims.sub === 'string' && NON_ASCII.test(claims.sub) ? parseObject(utf8Text(claims.binary))?.sub : claims.sub;
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
  const payload = payloadClaims(jwt);
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
  const sub = prefix && prefix.startsWith('user_') ? undefined : subText(payload);
  if (prefix && prefix.startsWith('user_')) userId = prefix;
  else if (typeof sub === 'string') {
    const bar = sub.lastIndexOf('|');
    userId = bar >= 0 ? sub.slice(bar + 1) : sub;
    if (userId === '') userId = undefined;
  }
  if (!userId && prefix) userId = prefix;
  return { ok: true, cookie: { raw, form, jwt, userId, exp } };
}

/** What completes a base64 group of 4 characters, by the part's length mod 4 (1 is never valid base64). */
const GROUP_FILL = ['', 'AAA', 'AA', 'A'];

/**
 * The expiry of each cookie of a list as parseCookie finds it: its `exp`, null when it has none,
 * undefined when parseCookie refuses it (malformed). For `status`, which needs nothing else of a
 * whole store's cookies, at start-up: the usual cookie (a user prefix or none, a JWT whose payload
 * needs no padding) is checked in place and its payload decoded by one `atob` over all of them,
 * each completed to whole base64 groups and cut back to its own bytes, instead of a result object
 * and three strings per cookie (a third of the time, and one young-generation collection less,
 * over 1k cookies). Anything else (quotes or spaces around it, padding, an `exp` that is not a
 * plain number, a payload that is not JSON) is left to parseCookie itself, so the answers are
 * parseCookie's by construction.
 */
export function cookieExpiries(inputs: readonly string[]): (number | null | undefined)[] {
  const out: (number | null | undefined)[] = new Array(inputs.length);
  const payloads: string[] = [];
  const at: number[] = [];
  for (let i = 0; i < inputs.length; i++) {
    const c = inputs[i]!;
    const start = c.length > 0 && !isEdge(c.charCodeAt(0)) && !isEdge(c.charCodeAt(c.length - 1)) ? jwtStart(c) : -1;
    const sep = start <= 0 ? 0 : c.charCodeAt(start - 1) === 0x3a ? 2 : 6;
    const jwt = start < 0 ? '' : c.slice(start);
    const from = jwt.indexOf('.') + 1;
    const p = from > 0 ? jwt.slice(from, jwt.indexOf('.', from)) : '';
    if (start < 0 || (start > 0 && !USER_PREFIX.test(c.slice(0, start - sep))) || !JWT_SHAPE.test(jwt) || p.includes('=') || (p.length & 3) === 1) {
      out[i] = expiryOf(parseCookie(c)); // the unusual cookie: parseCookie decides
      continue;
    }
    payloads.push(p);
    at.push(i);
  }
  let joined = '';
  for (const p of payloads) joined += p + GROUP_FILL[p.length & 3];
  const binary = joined === '' ? '' : atob(joined.replace(/-/g, '+').replace(/_/g, '/'));
  let offset = 0;
  for (let k = 0; k < payloads.length; k++) {
    const p = payloads[k]!;
    const text = binary.slice(offset, offset + ((p.length * 3) >> 2));
    offset += ((p.length + 3) >> 2) * 3;
    const i = at[k]!;
    let exp: unknown;
    let plain = false;
    if (!NON_ASCII.test(text)) {
      try {
        const payload: unknown = JSON.parse(text);
        if (payload !== null && typeof payload === 'object' && !Array.isArray(payload)) {
          exp = (payload as { exp?: unknown }).exp;
          plain = exp === undefined || (typeof exp === 'number' && Math.abs(exp) <= MAX_EXP_SEC);
        }
      } catch {
        // not JSON: parseCookie says so below
      }
    }
    out[i] = plain ? ((exp as number | undefined) ?? null) : expiryOf(parseCookie(inputs[i]!));
  }
  return out;
}

function expiryOf(r: ParseResult): number | null | undefined {
  return r.ok ? (r.cookie.exp ?? null) : undefined;
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
