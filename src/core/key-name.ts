/**
 * The rule for the name of a new api key, applied wherever a key is CREATED (`keys add`,
 * `import --key`, `refresh --key`, the menu, `keys import-env`), never where an existing key is
 * used: the proxy's own web page can create keys this rule refuses, and they must stay usable.
 * Pure, no I/O.
 */
import { maskSecret, normalizeCookieText, parseCookie } from './cookie.js';

/** A JWT-looking run (`eyJ<header>.<payload>`): a cookie, or a piece of one, pasted as a name. */
const JWT_PIECE = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/;
/** The separator of a session token, plain or URL-encoded, after a user id. */
const SESSION_SEPARATOR = /^user_[A-Za-z0-9]+(::|%3a%3a)/i;

/**
 * True when `name` is (or holds) a cookie: a secret given where a key name goes, usually the
 * arguments swapped (`cookies add <cookie> <key>`). Such a name is never shown whole.
 */
export function looksLikeCookie(name: string): boolean {
  const s = normalizeCookieText(name);
  if (s.length < 20) return false;
  return JWT_PIECE.test(s) || SESSION_SEPARATOR.test(s) || parseCookie(s).ok;
}

/** A key name for messages: masked like a cookie when it looks like one, else as given. */
export function keyNameForDisplay(name: string): string {
  return looksLikeCookie(name) ? maskSecret(name) : name;
}

/**
 * Why `name` cannot be the name of a new api key, or undefined when it can. Refused: empty,
 * whitespace or control characters (the proxy takes the key from an `Authorization: Bearer`
 * header, where neither survives), and cookies (a secret would become a visible key name).
 */
export function newKeyNameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'an api key name cannot be empty';
  if (looksLikeCookie(name)) {
    return `"${keyNameForDisplay(name)}" is a cookie, not an api key name (were the key and the cookie given in the wrong order?)`;
  }
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(name)) return `api key name ${JSON.stringify(name)} contains whitespace or control characters`;
  return undefined;
}
