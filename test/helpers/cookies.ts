/** Test cookies: real JWT structure, deterministic. */
import { randomBytes } from 'node:crypto';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export interface JwtOptions {
  sub?: string;
  exp?: number | null;
  extra?: Record<string, unknown>;
}

/** A JWT with a JSON payload; `exp` defaults to one year from now, `null` omits it. */
export function makeJwt(opts: JwtOptions = {}): string {
  const payload: Record<string, unknown> = { sub: opts.sub ?? `auth0|user_${randomBytes(8).toString('hex').toUpperCase()}`, ...opts.extra };
  if (opts.exp !== null) payload.exp = opts.exp ?? Math.floor(Date.now() / 1000) + 365 * 24 * 3600;
  payload.nonce = randomBytes(6).toString('hex');
  return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}.${randomBytes(32).toString('base64url')}`;
}

export type Form = 'encoded' | 'decoded' | 'jwt';

/** A session cookie in the given form for a fresh user. */
export function makeCookie(form: Form = 'encoded', opts: JwtOptions = {}): string {
  const user = `user_01${randomBytes(10).toString('hex').toUpperCase()}`;
  const jwt = makeJwt({ sub: `auth0|${user}`, ...opts });
  if (form === 'jwt') return jwt;
  return form === 'decoded' ? `${user}::${jwt}` : `${user}%3A%3A${jwt}`;
}

export function expiredCookie(form: Form = 'encoded'): string {
  return makeCookie(form, { exp: Math.floor(Date.now() / 1000) - 3600 });
}
