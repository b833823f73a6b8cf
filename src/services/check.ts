/**
 * `check` (SPEC §6): validity of the pool's cookies.
 *
 * Offline: structure and `exp`. Online (default): well-formed, unexpired cookies are also sent
 * to the Cursor usage endpoint by a fixed pool of workers (`concurrency`), once per identity even
 * when a cookie sits under several keys. Results are per (apiKey, cookie).
 *
 * `markInvalid` moves `invalid` and `expired` cookies to the invalid list in ONE store update,
 * taken after every network answer is in (the lock is never held across the network), on the
 * store as it is at that moment; `unknown` is never marked.
 */
import { cookieIdentity, isExpired, parseCookie, type Cookie } from '../core/cookie.js';
import { keyNameForDisplay } from '../core/key-name.js';
import { keyCookies, newKeyMap } from '../core/key-map.js';
import { checkUrl, envString, minCookieCount } from '../config.js';
import type { AppContext } from '../context.js';
import { checkUsage, DEFAULT_REQUEST_TIMEOUT_SEC, type UsageClientOptions, type UsageResult } from '../cursor/usage.js';
import { UsageError } from '../errors.js';

export type CheckStatus = 'valid' | 'invalid' | 'expired' | 'unknown';

export interface CheckResult {
  apiKey: string;
  /** The cookie as stored (unmasked: mask it when printing). */
  cookie: string;
  status: CheckStatus;
  remaining?: number;
  /** Why it is not valid: `malformed: ...`, `expired`, `rejected (401)`, `timed out after 15s`, ... */
  reason?: string;
}

export interface CheckReport {
  checked: number;
  valid: number;
  invalid: number;
  expired: number;
  unknown: number;
  /** Distinct cookies moved to the invalid list by `markInvalid`. */
  marked: number;
  results: CheckResult[];
  /** Requests answered by the usage endpoint (distinct cookies asked), 0 offline. */
  asked: number;
  online: boolean;
}

export interface CheckOptions {
  /** Limit to these api keys (each must exist). */
  keys?: string[];
  offline?: boolean;
  /** Workers asking the usage endpoint at once (default 8). */
  concurrency?: number;
  markInvalid?: boolean;
  /** Per-request timeout in seconds (default 15). */
  requestTimeoutSec?: number;
  /** Overrides CURSOR_WEB_URL. */
  baseUrl?: string;
  /** Stops the check between requests (the scheduler's stop); nothing is marked then. */
  signal?: AbortSignal;
  /** What the low-pool alert after marking measures keys against (default MIN_COOKIE_COUNT; `schedule --min-count`). */
  minCount?: number;
  /** Test seams for the usage client (fetch, sleep, retry caps). */
  client?: Partial<Omit<UsageClientOptions, 'baseUrl' | 'timeoutMs'>>;
}

/** Called after each online answer: `done` of `total` distinct cookies asked. */
export type CheckProgress = (done: number, total: number) => void;

export const DEFAULT_CONCURRENCY = 8;
export const MAX_CONCURRENCY = 1000;
export const DEFAULT_CURSOR_WEB_URL = 'https://www.cursor.com';

/** CURSOR_WEB_URL (or an override), validated: an http(s) URL, else exit 2 naming the variable. */
export function cursorWebUrl(ctx: Pick<AppContext, 'env'>, override?: string): string {
  const raw = override ?? envString(ctx.env, 'CURSOR_WEB_URL', DEFAULT_CURSOR_WEB_URL);
  const what = override !== undefined ? 'the Cursor web URL' : 'CURSOR_WEB_URL';
  const url = checkUrl(raw, what);
  if (url.search || url.hash) throw new UsageError(`${what} must not carry a query or fragment`, 'expected something like https://www.cursor.com');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

function validateOptions(options: CheckOptions): { concurrency: number; timeoutMs: number } {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY) {
    throw new UsageError(`--concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}, got ${concurrency}`);
  }
  const sec = options.requestTimeoutSec ?? DEFAULT_REQUEST_TIMEOUT_SEC;
  if (!Number.isFinite(sec) || sec <= 0) throw new UsageError(`--request-timeout must be a positive number of seconds, got ${sec}`);
  return { concurrency, timeoutMs: Math.round(sec * 1000) };
}

/** Run `worker` over `items` with at most `concurrency` in flight (a fixed pool pulling an index). */
export async function mapPool<T, R>(items: readonly T[], concurrency: number, worker: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await worker(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, run));
  return out;
}

interface Entry {
  apiKey: string;
  cookie: string;
  /** Index into `probes` when the cookie goes online. */
  probe?: number;
  result?: Omit<CheckResult, 'apiKey' | 'cookie'>;
}

/**
 * The check, recorded in the history (SPEC §10): one `check` event with the counts it saw (after
 * `markInvalid`'s write when it moved cookies), its tallies and duration, or `ok:false`.
 */
export async function runCheck(ctx: AppContext, options: CheckOptions = {}, progress?: CheckProgress): Promise<CheckReport> {
  const { concurrency, timeoutMs } = validateOptions(options);
  // A bad alert setting stops a retiring check before it asks anything (exit 2).
  if (options.markInvalid) (await import('./notify.js')).notifySettings(ctx.env);
  const { recordRun } = await import('./history.js');
  return recordRun(ctx, 'check', (c) => checkPool(c, options, progress, concurrency, timeoutMs), (r) => ({
    facts: { checked: r.checked, valid: r.valid, invalid: r.invalid, expired: r.expired, unknown: r.unknown, marked: r.marked },
  }));
}

async function checkPool(
  ctx: AppContext,
  options: CheckOptions,
  progress: CheckProgress | undefined,
  concurrency: number,
  timeoutMs: number,
): Promise<CheckReport> {
  const online = !options.offline;
  const baseUrl = online ? cursorWebUrl(ctx, options.baseUrl) : '';
  const snapshot = await ctx.pool.read();
  const wanted = options.keys && options.keys.length > 0 ? [...new Set(options.keys)] : Object.keys(snapshot.keys);
  const missing = wanted.filter((k) => !Object.hasOwn(snapshot.keys, k));
  if (missing.length > 0) {
    throw new UsageError(`no such api key: ${missing.map((k) => `"${keyNameForDisplay(k)}"`).join(', ')}`, 'see: cookie-pool keys list');
  }

  const nowSec = ctx.nowSec();
  const entries: Entry[] = [];
  const probes: Cookie[] = [];
  const probeOf = new Map<string, number>();
  for (const apiKey of wanted) {
    for (const raw of keyCookies(snapshot.keys, apiKey) ?? []) {
      const entry: Entry = { apiKey, cookie: raw };
      entries.push(entry);
      const parsed = parseCookie(raw);
      if (!parsed.ok) entry.result = { status: 'invalid', reason: `malformed: ${parsed.detail}` };
      else if (isExpired(parsed.cookie, nowSec)) entry.result = { status: 'expired', reason: 'expired' };
      else if (!online) entry.result = { status: 'valid' };
      else {
        let i = probeOf.get(parsed.cookie.jwt);
        if (i === undefined) {
          i = probes.length;
          probes.push(parsed.cookie);
          probeOf.set(parsed.cookie.jwt, i);
        }
        entry.probe = i;
      }
    }
  }

  let answers: UsageResult[] = [];
  if (probes.length > 0) {
    const client: UsageClientOptions = { ...options.client, baseUrl, timeoutMs, signal: options.signal };
    let done = 0;
    progress?.(0, probes.length);
    answers = await mapPool(probes, concurrency, async (cookie) => {
      options.signal?.throwIfAborted();
      const r = await checkUsage(cookie, client);
      progress?.(++done, probes.length);
      // Let undici put the socket back in its pool before this worker's next request; without
      // this turn of the event loop it sees every socket busy and opens a second one (2×N sockets).
      await new Promise<void>((resolve) => setImmediate(resolve));
      return r;
    });
  }

  const results: CheckResult[] = entries.map((e) => {
    let r = e.result;
    if (!r) {
      const a = answers[e.probe as number] as UsageResult;
      r = { status: a.status };
      if (a.remaining !== undefined) r.remaining = a.remaining;
      if (a.reason !== undefined && a.status !== 'valid') r.reason = a.reason;
    }
    return { apiKey: e.apiKey, cookie: e.cookie, ...r };
  });

  const count = (s: CheckStatus) => results.filter((r) => r.status === s).length;
  const marked = options.markInvalid ? await markInvalid(ctx, results, { keys: options.keys, signal: options.signal, minCount: options.minCount }) : 0;
  return {
    checked: results.length,
    valid: count('valid'),
    invalid: count('invalid'),
    expired: count('expired'),
    unknown: count('unknown'),
    marked,
    results,
    asked: probes.length,
    online,
  };
}

/**
 * Move the `invalid` and `expired` cookies to the invalid list (see retireDead), then, with
 * NOTIFY_URL set, alert on a mass invalidation and on keys left short (SPEC §11). `keys`: the keys
 * checked (default every key). Returns how many distinct cookies were moved.
 */
export async function markInvalid(
  ctx: AppContext,
  results: readonly CheckResult[],
  scope: { keys?: string[]; signal?: AbortSignal; minCount?: number } = {},
): Promise<number> {
  const { notifierFor } = await import('./notify.js');
  const notifier = notifierFor(ctx);
  const moved = await retireDead(ctx, results);
  await notifier?.afterCheck(results, moved, { keys: scope.keys, minCount: scope.minCount ?? minCookieCount(ctx.env) }, scope.signal);
  return moved;
}

/**
 * Move the `invalid` and `expired` cookies to the invalid list in one locked write, on the store
 * as it is now: each is removed from every key by identity, and added once to the invalid list
 * (in the form found in the store) unless it is there already. A cookie that has left every key
 * in the meantime is left alone. Returns how many distinct cookies were moved.
 */
async function retireDead(ctx: Pick<AppContext, 'pool'>, results: readonly CheckResult[]): Promise<number> {
  const dead = new Set<string>();
  for (const r of results) if (r.status === 'invalid' || r.status === 'expired') dead.add(cookieIdentity(r.cookie));
  if (dead.size === 0) return 0;
  const applied = await ctx.pool.update((snap) => {
    const moved = new Map<string, string>();
    const keys = newKeyMap();
    let keysChanged = false;
    for (const [apiKey, cookies] of Object.entries(snap.keys)) {
      const kept: string[] = [];
      for (const c of cookies) {
        const id = cookieIdentity(c);
        if (dead.has(id)) {
          if (!moved.has(id)) moved.set(id, c);
        } else kept.push(c);
      }
      if (kept.length !== cookies.length) keysChanged = true;
      keys[apiKey] = kept;
    }
    if (!keysChanged) return { result: 0 };
    const known = new Set(snap.invalid.map(cookieIdentity));
    const invalid = [...snap.invalid];
    for (const [id, c] of moved) if (!known.has(id)) invalid.push(c);
    return { keys, invalid: invalid.length !== snap.invalid.length ? invalid : snap.invalid, result: moved.size };
  });
  return applied.result;
}
