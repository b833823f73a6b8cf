/**
 * The Cursor usage endpoint (SPEC §6): `GET $CURSOR_WEB_URL/api/usage?user=<userId>` with the
 * session cookie. It answers 200 with per-model usage for a live session and 401/403 for a dead
 * one, which makes it a cheap validity probe.
 *
 * Uses the global fetch (undici): its default agent keeps connections alive and pools them per
 * origin without a connection limit, so N concurrent workers settle on N reused sockets. Every
 * response body is read to the end so its socket goes back to the pool.
 */
import { sessionTokenHeaderValue, type Cookie } from '../core/cookie.js';

export type UsageStatus = 'valid' | 'invalid' | 'unknown';

export interface UsageResult {
  status: UsageStatus;
  /** `maxRequestUsage - numRequests` of the `gpt-4` entry, when the answer carries both. */
  remaining?: number;
  /** Last HTTP status seen, when there was a response. */
  httpStatus?: number;
  /** Why the result is `invalid` or `unknown` (short, no secrets). */
  reason?: string;
  /** Requests sent (1 + retries after 429). */
  attempts: number;
}

export interface UsageClientOptions {
  /** Base URL of the Cursor web app (CURSOR_WEB_URL), e.g. `https://www.cursor.com`. */
  baseUrl: string;
  /** Per-request timeout (headers and body), ms. */
  timeoutMs: number;
  /** Requests in all when the server answers 429 (SPEC: 3). */
  maxTries?: number;
  /** Longest wait honoured from a Retry-After header, ms. */
  maxRetryAfterMs?: number;
  /** Wait when a 429 carries no usable Retry-After, ms (doubled on each retry). */
  defaultRetryAfterMs?: number;
  /** Aborts the request in flight (a stopping scheduler). */
  signal?: AbortSignal;
  /** Injectable for tests. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export const DEFAULT_REQUEST_TIMEOUT_SEC = 15;
export const DEFAULT_MAX_TRIES = 3;
export const DEFAULT_MAX_RETRY_AFTER_MS = 30_000;
export const DEFAULT_RETRY_AFTER_MS = 1_000;

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The usage URL for a user id (base URL may carry a path prefix). */
export function usageUrl(baseUrl: string, userId: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/api/usage?user=${encodeURIComponent(userId)}`;
}

/**
 * Retry-After as milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined when
 * absent or unparseable; never negative.
 */
export function parseRetryAfter(value: string | null | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/** `remaining` from a usage answer: `{"gpt-4":{"numRequests":12,"maxRequestUsage":500},...}`. */
export function remainingFromUsage(body: unknown): number | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const entry = (body as Record<string, unknown>)['gpt-4'];
  if (entry === null || typeof entry !== 'object') return undefined;
  const { numRequests, maxRequestUsage } = entry as Record<string, unknown>;
  if (typeof numRequests !== 'number' || typeof maxRequestUsage !== 'number') return undefined;
  if (!Number.isFinite(numRequests) || !Number.isFinite(maxRequestUsage)) return undefined;
  return maxRequestUsage - numRequests;
}

function describeFetchError(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') return `timed out after ${timeoutMs / 1000}s`;
  const cause = err?.cause;
  if (cause?.code) return `network error: ${cause.code}`;
  if (cause?.message) return `network error: ${cause.message}`;
  return `network error: ${err?.message ?? String(e)}`;
}

/** Drain a body we do not need so the socket returns to the keep-alive pool. */
async function drain(res: Response): Promise<void> {
  try {
    await res.arrayBuffer();
  } catch {
    // The connection is gone anyway.
  }
}

/** Ask the usage endpoint about one (well-formed, unexpired) cookie. Never throws. */
export async function checkUsage(cookie: Cookie, opts: UsageClientOptions): Promise<UsageResult> {
  const header = sessionTokenHeaderValue(cookie);
  if (!cookie.userId || !header) return { status: 'unknown', reason: 'no user id in the cookie to ask about', attempts: 0 };
  const doFetch = opts.fetch ?? fetch;
  const sleep = opts.sleep ?? sleepMs;
  const now = opts.now ?? Date.now;
  const maxTries = Math.max(1, opts.maxTries ?? DEFAULT_MAX_TRIES);
  const maxWait = opts.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
  const url = usageUrl(opts.baseUrl, cookie.userId);
  let attempts = 0;
  for (;;) {
    attempts++;
    let res: Response;
    try {
      res = await doFetch(url, {
        method: 'GET',
        headers: { Cookie: `WorkosCursorSessionToken=${header}`, Accept: 'application/json' },
        // A redirect to another origin would drop the cookie and read as "revoked": never follow.
        redirect: 'manual',
        signal: opts.signal ? AbortSignal.any([opts.signal, AbortSignal.timeout(opts.timeoutMs)]) : AbortSignal.timeout(opts.timeoutMs),
      });
    } catch (e) {
      opts.signal?.throwIfAborted();
      return { status: 'unknown', reason: describeFetchError(e, opts.timeoutMs), attempts };
    }
    const httpStatus = res.status;
    try {
      if (httpStatus === 429) {
        await drain(res);
        if (attempts >= maxTries) return { status: 'unknown', httpStatus, reason: `rate limited (429) ${attempts} times`, attempts };
        const asked = parseRetryAfter(res.headers.get('retry-after'), now());
        const wait = asked ?? (opts.defaultRetryAfterMs ?? DEFAULT_RETRY_AFTER_MS) * 2 ** (attempts - 1);
        await sleep(Math.min(wait, maxWait));
        continue;
      }
      if (httpStatus === 401 || httpStatus === 403) {
        await drain(res);
        return { status: 'invalid', httpStatus, reason: httpStatus === 401 ? 'rejected (401)' : 'forbidden (403)', attempts };
      }
      if (httpStatus >= 300 && httpStatus < 400) {
        await drain(res);
        const to = res.headers.get('location');
        let where = '';
        if (to) {
          try {
            where = ` to ${new URL(to, url).origin}`;
          } catch {
            where = '';
          }
        }
        return { status: 'unknown', httpStatus, reason: `redirected (${httpStatus})${where}; check CURSOR_WEB_URL`, attempts };
      }
      if (httpStatus !== 200) {
        await drain(res);
        return { status: 'unknown', httpStatus, reason: `HTTP ${httpStatus}`, attempts };
      }
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return { status: 'unknown', httpStatus, reason: 'answer is not JSON', attempts };
      }
      if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        return { status: 'unknown', httpStatus, reason: 'answer is not a usage object', attempts };
      }
      const remaining = remainingFromUsage(body);
      return remaining === undefined ? { status: 'valid', httpStatus, attempts } : { status: 'valid', httpStatus, remaining, attempts };
    } catch (e) {
      // Reading the body failed (timeout or reset mid-body).
      return { status: 'unknown', httpStatus, reason: describeFetchError(e, opts.timeoutMs), attempts };
    }
  }
}
