/** Rendering shared by the `keys`, `cookies` and `invalid` commands and the menu. */
import { cookieIdentity, isExpired, parseCookie, REFUSAL_REASONS, type RefusalReason } from '../core/cookie.js';
import { looksLikeCookie } from '../core/key-name.js';
import { EXPIRING_SOON_SEC } from '../services/status.js';
import type { Refusal } from '../services/pool.js';
import { appliedExitCode, type Applied } from '../store/pool.js';
import type { IO } from './io.js';
import { renderTable } from './table.js';

export type CookieState = 'ok' | 'expiring' | 'expired' | 'malformed' | 'invalid';

export interface CookieRow {
  /** Masked unless --reveal. */
  cookie: string;
  userId: string | null;
  form: string | null;
  exp: number | null;
  state: CookieState;
}

/** Describe a stored cookie for `cookies list` / `invalid list` (identities listed invalid marked so). */
export function cookieRow(io: IO, raw: string, nowSec: number, invalidIds?: ReadonlySet<string>): CookieRow {
  const p = parseCookie(raw);
  if (!p.ok) return { cookie: io.cookie(raw), userId: null, form: null, exp: null, state: 'malformed' };
  const { userId, form, exp } = p.cookie;
  let state: CookieState = 'ok';
  if (invalidIds?.has(cookieIdentity(raw))) state = 'invalid';
  else if (isExpired(p.cookie, nowSec)) state = 'expired';
  else if (exp !== undefined && exp <= nowSec + EXPIRING_SOON_SEC) state = 'expiring';
  return { cookie: io.cookie(raw), userId: userId ?? null, form, exp: exp ?? null, state };
}

export function formatExp(exp: number | null): string {
  if (exp === null) return '-';
  const date = new Date(exp * 1000);
  // Beyond what a Date can hold (parseCookie refuses such an `exp`; this keeps a table from dying).
  if (Number.isNaN(date.getTime())) return '?';
  return date.toISOString().replace('T', ' ').slice(0, 16);
}

export function colourState(io: IO, state: CookieState): string {
  const { c } = io;
  switch (state) {
    case 'ok':
      return c.green(state);
    case 'expiring':
      return c.yellow(state);
    default:
      return c.red(state);
  }
}

/** A numbered table of cookies. */
export function cookieTable(io: IO, rows: CookieRow[], opts: { state?: boolean } = {}): string {
  const withState = opts.state ?? true;
  const head = ['#', 'COOKIE', 'USER', 'EXPIRES (UTC)', ...(withState ? ['STATE'] : [])];
  const body = rows.map((r, i) => [
    String(i + 1),
    r.cookie,
    r.userId ?? '-',
    formatExp(r.exp),
    ...(withState ? [colourState(io, r.state)] : []),
  ]);
  return renderTable(head, body, { align: ['right', 'left', 'left', 'left', 'left'], color: io.c.level > 0 });
}

/** `1 expired, 2 malformed` (only non-zero counts). */
export function rejectedSummary(rejected: Record<RefusalReason, number>): string {
  return REFUSAL_REASONS.filter((r) => rejected[r] > 0)
    .map((r) => `${rejected[r]} ${r}`)
    .join(', ');
}

/** `; refused 2 (1 duplicate, 1 expired)`, or nothing when none was refused. */
export function refusedSuffix(r: { refusals: readonly unknown[]; rejected: Record<RefusalReason, number> }): string {
  return r.refusals.length ? `; refused ${r.refusals.length} (${rejectedSummary(r.rejected)})` : '';
}

/** An api key name for output: masked like a cookie when it is one (a legacy key named by a secret). */
export function keyName(io: IO, apiKey: string): string {
  return looksLikeCookie(apiKey) ? io.cookie(apiKey) : apiKey;
}

export function refusalsJson(
  io: IO,
  refusals: readonly Refusal[],
): { cookie: string; reason: RefusalReason; detail: string; apiKey?: string; heldBy?: string }[] {
  return refusals.map((r) => ({
    ...r,
    cookie: io.cookie(r.cookie),
    ...(r.apiKey !== undefined ? { apiKey: keyName(io, r.apiKey) } : {}),
    ...(r.heldBy !== undefined ? { heldBy: keyName(io, r.heldBy) } : {}),
  }));
}

/** One stderr line per refused candidate, with its reason. */
export function printRefusals(io: IO, refusals: readonly Refusal[]): void {
  const { ce } = io;
  for (const r of refusals) {
    // A duplicate is only dimmed when it is nothing to do (not when another key holds it).
    const label = r.reason === 'duplicate' && r.heldBy === undefined ? ce.dim(r.reason) : ce.yellow(r.reason);
    io.infoStyled(`  ${ce.dim('refused')} ${io.cookie(r.cookie)}  ${label}: ${r.detail}${r.apiKey !== undefined ? ` (key ${keyName(io, r.apiKey)})` : ''}`);
  }
}

export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

/**
 * What a backend reports after a write (SPEC §9): cookies it dropped (the proxy filters its own
 * invalid set) and problems after the write (a failed cursor-api reload). Warns on stderr and
 * returns the exit code: 3 when a done operation was only partly applied.
 */
export function finishApplied(io: IO, applied: Applied<unknown>, code: number): number {
  for (const c of applied.dropped) io.warn(`the pool did not keep ${io.cookie(c)} (dropped by the backend, probably in its own invalid list)`);
  for (const p of applied.problems) io.warn(p);
  const partial = appliedExitCode(applied);
  return code === 0 ? partial : code;
}

/** The fields a JSON result adds for what the backend dropped or failed after writing (absent when nothing). */
export function appliedJson(io: IO, applied: Applied<unknown>): Record<string, unknown> {
  return {
    ...(applied.dropped.length ? { dropped: applied.dropped.map((c) => io.cookie(c)) } : {}),
    ...(applied.problems.length ? { problems: applied.problems } : {}),
  };
}
