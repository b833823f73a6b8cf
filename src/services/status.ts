/** Pool health per key (SPEC §4 `status`). */
import { cookieExpiries } from '../core/cookie.js';
import type { Snapshot } from '../store/pool.js';

export const EXPIRING_SOON_SEC = 3 * 24 * 3600;

export interface KeyStatus {
  apiKey: string;
  cookies: number;
  expired: number;
  expiringSoon: number;
  /** Cookies that do not parse (counted, never silently dropped). */
  malformed: number;
  belowMin: boolean;
}

export interface StatusReport {
  keys: KeyStatus[];
  invalid: number;
  minCookieCount: number;
}

export function keyStatus(apiKey: string, cookies: string[], minCookieCount: number, nowSec: number): KeyStatus {
  let expired = 0;
  let expiringSoon = 0;
  let malformed = 0;
  for (const exp of cookieExpiries(cookies)) {
    if (exp === undefined) malformed++;
    else if (exp !== null && exp <= nowSec) expired++;
    else if (exp !== null && exp <= nowSec + EXPIRING_SOON_SEC) expiringSoon++;
  }
  return { apiKey, cookies: cookies.length, expired, expiringSoon, malformed, belowMin: cookies.length < minCookieCount };
}

export function statusReport(snapshot: Snapshot, minCookieCount: number, nowSec: number): StatusReport {
  return {
    keys: Object.entries(snapshot.keys).map(([k, cookies]) => keyStatus(k, cookies, minCookieCount, nowSec)),
    invalid: snapshot.invalid.length,
    minCookieCount,
  };
}
