/**
 * Webhook alerts (SPEC §11): settings, delivery, cool-downs, and the hooks that refresh and
 * check call so that every way of running them (the commands, the menu, `schedule`) alerts.
 *
 * - NOTIFY_URL (comma-separated) turns alerts on; without it nothing here runs and nothing is kept.
 * - Each alert is POSTed to every URL at once: 10 s per try, 3 tries with back-off (5xx, 429,
 *   network errors, timeouts; another 4xx is final). A delivery failure is logged on stderr with the
 *   URL masked (scheme + host) and never changes the exit code or fails a scheduler job.
 * - Cool-down per event and api key (NOTIFY_COOLDOWN, default 6h): the state sits beside the
 *   history in `<state dir>/.cookie-pool/notify-state.json` (written atomically under its own lock,
 *   api keys only as hashes), with whether refresh is failing (for `recovered`). A key is reserved
 *   before the POST so that two processes do not both send it, and released again when no URL took it.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { checkUrl, envString, type Env } from '../config.js';
import type { AppContext } from '../context.js';
import { alertBody, maskUrl, massInvalidationAlert, parseDuration, poolAlerts, scrubSecrets, type Alert, type AlertBody } from '../core/alerts.js';
import { cookieIdentity } from '../core/cookie.js';
import { LockedError, UsageError } from '../errors.js';
import { writeAtomic } from '../store/atomic.js';
import { withLock } from '../store/lock.js';
import type { CheckResult } from './check.js';
import type { RefreshOutcome, RefreshTrace } from './refresh.js';

export const DEFAULT_COOLDOWN = '6h';
export const DEFAULT_INVALID_RATIO = 0.3;
export const DELIVERY_TIMEOUT_MS = 10_000;
export const DELIVERY_TRIES = 3;
const DEFAULT_BACKOFF_MS = 1000;
/** A Retry-After longer than this is not waited for (the next run will alert again). */
const MAX_RETRY_AFTER_MS = 10_000;

export interface NotifySettings {
  /** Whole URLs: secrets, never printed (see maskUrl). */
  urls: string[];
  cooldownMs: number;
  /** NOTIFY_COOLDOWN as written (or the default), for messages. */
  cooldown: string;
  invalidRatio: number;
  /** Per try. */
  timeoutMs: number;
  backoffMs: number;
}

/** NOTIFY_URL split and checked; each entry named by its position, never printed. */
export function notifyUrls(env: Env): string[] | undefined {
  const raw = envString(env, 'NOTIFY_URL');
  if (raw === undefined) return undefined;
  const parts = raw.split(',').map((s) => s.trim());
  const urls = parts.filter(Boolean);
  if (urls.length === 0) throw new UsageError('NOTIFY_URL holds no URL', 'set it to one webhook URL, or several separated by commas');
  urls.forEach((u, i) => {
    const which = urls.length > 1 ? `NOTIFY_URL entry ${i + 1} of ${urls.length}` : 'NOTIFY_URL';
    // https, or http to a loopback host; no credentials in the URL (the shared URL rule).
    checkUrl(u, which);
  });
  return urls;
}

/** Test seams: per-try timeout and back-off base, in ms. */
function msFromEnv(env: Env, name: string): number | undefined {
  const raw = envString(env, name);
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

/**
 * The alert settings, or undefined when NOTIFY_URL is not set (alerts off: the other variables are
 * then unused and not checked). A bad value is exit 2 naming the variable.
 */
export function notifySettings(env: Env): NotifySettings | undefined {
  const urls = notifyUrls(env);
  if (!urls) return undefined;
  const cooldown = envString(env, 'NOTIFY_COOLDOWN', DEFAULT_COOLDOWN);
  const cooldownMs = parseDuration(cooldown);
  if (cooldownMs === undefined) throw new UsageError(`NOTIFY_COOLDOWN must be a duration such as 30m, 6h or 1d, got "${cooldown}"`);
  const ratioRaw = envString(env, 'NOTIFY_INVALID_RATIO');
  const invalidRatio = ratioRaw === undefined ? DEFAULT_INVALID_RATIO : Number(ratioRaw);
  if (ratioRaw !== undefined && (!/^\s*\d*\.?\d+\s*$/.test(ratioRaw) || invalidRatio > 1)) {
    throw new UsageError(`NOTIFY_INVALID_RATIO must be a fraction from 0 to 1 (0.3 = 30%), got "${ratioRaw}"`);
  }
  return {
    urls,
    cooldownMs,
    cooldown,
    invalidRatio,
    timeoutMs: msFromEnv(env, 'COOKIE_POOL_NOTIFY_TIMEOUT_MS') ?? DELIVERY_TIMEOUT_MS,
    backoffMs: msFromEnv(env, 'COOKIE_POOL_RETRY_BASE_MS') ?? DEFAULT_BACKOFF_MS,
  };
}

// ---------------------------------------------------------------------------------------------
// Delivery

export interface Delivery {
  /** Masked: scheme and host only. */
  url: string;
  ok: boolean;
  status?: number;
  error?: string;
  tries: number;
}

/** The start of an error answer (Slack says `invalid_payload`, `no_service`...), on one line. */
async function answerSnippet(res: Response): Promise<string> {
  try {
    const text = (await res.text()).replace(/\s+/g, ' ').trim();
    return text ? ` (${scrubSecrets(text.slice(0, 120))})` : '';
  } catch {
    return '';
  }
}

function retryAfterMs(res: Response): number | undefined {
  const h = res.headers.get('retry-after');
  if (h === null) return undefined;
  const sec = Number(h);
  if (Number.isFinite(sec)) return Math.max(0, sec * 1000);
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function networkReason(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError') return `no answer within ${timeoutMs / 1000} s`;
  return err.cause?.code ?? err.cause?.message ?? err.message;
}

/** POST `body` to `url`: up to DELIVERY_TRIES tries, each bounded by the timeout. Never throws. */
export async function deliver(
  url: string,
  body: AlertBody,
  s: Pick<NotifySettings, 'timeoutMs' | 'backoffMs'>,
  signal?: AbortSignal,
): Promise<Delivery> {
  const shown = maskUrl(url);
  let last: { status?: number; error: string } = { error: 'not sent' };
  let tries = 0;
  while (tries < DELIVERY_TRIES) {
    if (signal?.aborted) return { url: shown, ok: false, error: 'stopped', tries };
    tries++;
    let wait = s.backoffMs * 2 ** (tries - 1);
    try {
      const timeout = AbortSignal.timeout(s.timeoutMs);
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'cookie-pool/0.1.0' },
        body: JSON.stringify(body),
        // A webhook that redirects is misconfigured; following would turn the POST into a GET.
        redirect: 'manual',
        signal: signal ? AbortSignal.any([timeout, signal]) : timeout,
      });
      if (res.status >= 200 && res.status < 300) {
        await res.body?.cancel().catch(() => undefined);
        return { url: shown, ok: true, status: res.status, tries };
      }
      last = { status: res.status, error: `HTTP ${res.status}${await answerSnippet(res)}` };
      // Another 4xx (wrong URL, bad payload) will not get better by asking again.
      if (res.status !== 429 && res.status < 500) break;
      const after = retryAfterMs(res);
      if (after !== undefined) {
        if (after > MAX_RETRY_AFTER_MS) break;
        wait = after;
      }
    } catch (e) {
      if (signal?.aborted) return { url: shown, ok: false, error: 'stopped', tries };
      last = { error: networkReason(e, s.timeoutMs) };
    }
    if (tries < DELIVERY_TRIES) {
      try {
        await sleep(wait, undefined, signal ? { signal } : {});
      } catch {
        return { url: shown, ok: false, ...last, tries };
      }
    }
  }
  return { url: shown, ok: false, ...last, tries };
}

// ---------------------------------------------------------------------------------------------
// State: cool-downs and whether refresh is failing

interface NotifyState {
  /** `<event>:<scope>` → ISO time it was sent (scope: a hash of the api key, or `*`). */
  sent: Record<string, string>;
  /** Set while refresh is failing: when the first failure happened. */
  refreshFailingSince?: string;
}

export function notifyStatePath(stateDir: string): string {
  return join(stateDir, '.cookie-pool', 'notify-state.json');
}

/** Api keys are secrets: the state file holds only a short hash of each. */
const scopeOf = (apiKey: string | undefined): string =>
  apiKey === undefined ? '*' : createHash('sha256').update(apiKey).digest('hex').slice(0, 16);

function parseState(text: string): NotifyState {
  const v = JSON.parse(text) as Partial<NotifyState>;
  if (!v || typeof v !== 'object' || typeof v.sent !== 'object' || v.sent === null) throw new Error('unexpected shape');
  return { sent: { ...v.sent }, ...(typeof v.refreshFailingSince === 'string' ? { refreshFailingSince: v.refreshFailingSince } : {}) };
}

// ---------------------------------------------------------------------------------------------
// The notifier

export interface RefreshScope {
  /** The `--key` keys, else every key. */
  keys?: string[];
  minCount?: number;
}

export class Notifier {
  private readonly host = hostname();

  constructor(
    private readonly ctx: Pick<AppContext, 'io' | 'stateDir' | 'pool' | 'env'>,
    readonly settings: NotifySettings,
  ) {}

  private get statePath(): string {
    return notifyStatePath(this.ctx.stateDir);
  }

  /** Read-modify-write of the state under its lock. A damaged file is reported and started afresh. */
  private async updateState<T>(fn: (s: NotifyState) => T): Promise<T> {
    const file = this.statePath;
    return withLock(`${file}.lock`, { wait: true }, async () => {
      let state: NotifyState = { sent: {} };
      try {
        state = parseState(await readFile(file, 'utf8'));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.ctx.io.warn(`notify: ${file} is damaged (${(e as Error).message}); cool-downs start afresh`);
        }
      }
      const before = JSON.stringify(state);
      const result = fn(state);
      const after = JSON.stringify(state, null, 2);
      if (JSON.stringify(state) !== before) await writeAtomic(file, [after, '\n']);
      return result;
    });
  }

  /**
   * Send `alerts`, each to every URL, minus the api keys alerted for the same event within the
   * cool-down. Logs what happened; never throws.
   */
  async send(alerts: readonly Alert[], signal?: AbortSignal): Promise<void> {
    if (alerts.length === 0) return;
    const { io } = this.ctx;
    const now = Date.now();
    let due: { alert: Alert; scopes: string[] }[];
    try {
      due = await this.updateState((state) => {
        // Entries past the cool-down no longer matter.
        for (const [k, t] of Object.entries(state.sent)) if (now - Date.parse(t) >= this.settings.cooldownMs || Number.isNaN(Date.parse(t))) delete state.sent[k];
        const out: { alert: Alert; scopes: string[] }[] = [];
        for (const alert of alerts) {
          const isDue = (key: string | undefined) => !Object.hasOwn(state.sent, `${alert.event}:${scopeOf(key)}`);
          const keys = alert.apiKeys.filter(isDue);
          if (alert.apiKeys.length ? keys.length === 0 : !isDue(undefined)) {
            io.debug(`notify: ${alert.event} not sent again within NOTIFY_COOLDOWN (${this.settings.cooldown})`);
            continue;
          }
          const narrowed = { ...alert, apiKeys: keys } as Alert;
          const scopes = alert.apiKeys.length ? keys.map((k) => `${alert.event}:${scopeOf(k)}`) : [`${alert.event}:*`];
          for (const s of scopes) state.sent[s] = new Date(now).toISOString();
          out.push({ alert: narrowed, scopes });
        }
        return out;
      });
    } catch (e) {
      io.warn(`notify: alert state unavailable (${(e as Error).message}); nothing sent`);
      return;
    }
    if (due.length === 0) return;

    const results = await Promise.all(
      due.map(async ({ alert, scopes }) => {
        const body = alertBody(alert, new Date(now), this.host);
        const deliveries = await Promise.all(this.settings.urls.map((u) => deliver(u, body, this.settings, signal)));
        for (const d of deliveries) {
          if (d.ok) io.debug(`notify: ${alert.event} delivered to ${d.url} (HTTP ${d.status})`);
          else io.warn(`notify: ${alert.event} not delivered to ${d.url}: ${d.error} (${d.tries} ${d.tries === 1 ? 'try' : 'tries'})`);
        }
        const sent = deliveries.filter((d) => d.ok).length;
        if (sent) io.info(`notify: sent ${alert.event} to ${sent} of ${deliveries.length} URL(s)`);
        return { scopes, sent };
      }),
    );
    // Nobody got it: give the keys back, so the next run tries again rather than staying silent.
    const unsent = results.filter((r) => r.sent === 0).flatMap((r) => r.scopes);
    if (unsent.length) {
      await this.updateState((state) => {
        for (const s of unsent) delete state.sent[s];
      }).catch((e: Error) => io.warn(`notify: alert state unavailable (${e.message})`));
    }
  }

  /** Alerts for the keys in scope as the pool is now; a pool that cannot be read sends none. */
  private async poolAlerts(keys: readonly string[] | undefined, minCount: number): Promise<Alert[]> {
    try {
      const snapshot = await this.ctx.pool.read();
      return poolAlerts(snapshot.keys, minCount, keys);
    } catch (e) {
      this.ctx.io.debug(`notify: pool not read for alerts (${(e as Error).message})`);
      return [];
    }
  }

  /** After a refresh that ran to its end: `recovered` after failures, keys still short. */
  async afterRefresh(outcome: RefreshOutcome, scope: RefreshScope & { minCount: number }, signal?: AbortSignal): Promise<void> {
    try {
      if (outcome.status !== 'merged') return;
      const since = await this.updateState((state) => {
        const s = state.refreshFailingSince;
        delete state.refreshFailingSince;
        return s;
      });
      const alerts: Alert[] = [];
      const runUrl = outcome.runUrl;
      if (since) alerts.push({ event: 'recovered', apiKeys: [], since, runUrl });
      alerts.push(...(await this.poolAlerts(scope.keys, scope.minCount)));
      await this.send(alerts, signal);
    } catch (e) {
      this.ctx.io.warn(`notify: ${(e as Error).message}`);
    }
  }

  /** After a refresh that failed (not one stopped by a signal or refused by the refresh lock). */
  async afterRefreshFailure(error: unknown, trace: RefreshTrace, scope: RefreshScope & { minCount: number }, signal?: AbortSignal): Promise<void> {
    if (error instanceof LockedError || signal?.aborted) return;
    try {
      await this.updateState((state) => {
        state.refreshFailingSince ??= new Date().toISOString();
      });
      const message = error instanceof Error ? error.message : String(error);
      const failed: Alert = { event: 'refresh-failed', apiKeys: trace.targets ?? [], error: message, ...(trace.runUrl ? { runUrl: trace.runUrl } : {}) };
      await this.send([failed, ...(await this.poolAlerts(scope.keys, scope.minCount))], signal);
    } catch (e) {
      this.ctx.io.warn(`notify: ${(e as Error).message}`);
    }
  }

  /**
   * After `check --mark-invalid` (or the menu's retirement): `mass-invalidation` when more than
   * NOTIFY_INVALID_RATIO of the distinct cookies checked were retired, keys left short.
   */
  async afterCheck(results: readonly CheckResult[], marked: number, scope: RefreshScope & { minCount: number }, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return;
    try {
      const checked = new Set(results.map((r) => cookieIdentity(r.cookie))).size;
      const deadKeys = [...new Set(results.filter((r) => r.status === 'invalid' || r.status === 'expired').map((r) => r.apiKey))];
      const mass = massInvalidationAlert(checked, marked, this.settings.invalidRatio, deadKeys);
      await this.send([...(mass ? [mass] : []), ...(await this.poolAlerts(scope.keys, scope.minCount))], signal);
    } catch (e) {
      this.ctx.io.warn(`notify: ${(e as Error).message}`);
    }
  }
}

/** The notifier of this context, or undefined when NOTIFY_URL is not set. Exit 2 on a bad setting. */
export function notifierFor(ctx: Pick<AppContext, 'io' | 'stateDir' | 'pool' | 'env'>): Notifier | undefined {
  const settings = notifySettings(ctx.env);
  return settings ? new Notifier(ctx, settings) : undefined;
}

/** `notify test`: one `test` alert to every URL, no cool-down; the answer of each. */
export async function sendTest(ctx: Pick<AppContext, 'env'>): Promise<Delivery[]> {
  const settings = notifySettings(ctx.env);
  if (!settings) throw new UsageError('NOTIFY_URL is not set', 'set NOTIFY_URL to a Slack or Discord (…/slack) webhook URL in .env');
  const body = alertBody({ event: 'test', apiKeys: [] }, new Date(), hostname());
  return Promise.all(settings.urls.map((u) => deliver(u, body, settings)));
}
