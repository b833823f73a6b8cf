/**
 * Alerts of SPEC §11, the pure part: which alerts a pool or a check calls for, their webhook
 * body, and the masking that keeps secrets out of them. No I/O; delivery, cool-downs and state
 * are in src/services/notify.ts.
 *
 * Secrets: a payload names api keys only masked (like cookies), never holds a cookie or a token,
 * and error texts pass through `scrubSecrets` before they go into one.
 */
import { maskSecret } from './cookie.js';

export const ALERT_EVENTS = ['refresh-failed', 'key-below-min', 'key-empty', 'mass-invalidation', 'recovered'] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number] | 'test';
export type Severity = 'info' | 'warning' | 'critical';

export const SEVERITY: Record<AlertEvent, Severity> = {
  'refresh-failed': 'critical',
  'key-empty': 'critical',
  'key-below-min': 'warning',
  'mass-invalidation': 'warning',
  recovered: 'info',
  test: 'info',
};

/**
 * An alert as data; its text is rendered when it is sent, from the api keys it still names once
 * the cool-downs have taken out the keys alerted recently. `apiKeys` are unmasked here (cool-downs
 * are kept per key); the body masks them. No `apiKeys` (or none left): the alert is about the pool
 * as a whole.
 */
export type Alert =
  | { event: 'key-empty'; apiKeys: string[] }
  | { event: 'key-below-min'; apiKeys: string[]; counts: Record<string, number>; minCount: number }
  | { event: 'mass-invalidation'; apiKeys: string[]; checked: number; marked: number; ratio: number }
  | { event: 'refresh-failed'; apiKeys: string[]; error: string; runUrl?: string }
  | { event: 'recovered'; apiKeys: string[]; since: string; runUrl?: string }
  | { event: 'test'; apiKeys: string[] };

/** The JSON body POSTed to every NOTIFY_URL: a valid Slack incoming-webhook message thanks to `text`. */
export interface AlertBody {
  event: AlertEvent;
  severity: Severity;
  text: string;
  time: string;
  apiKeys?: string[];
  runUrl?: string;
}

const keyList = (keys: readonly string[]): string => keys.map(maskSecret).join(', ');
const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** What happened, in one line, api keys masked. */
export function alertSummary(a: Alert): string {
  switch (a.event) {
    case 'key-empty':
      return `${plural(a.apiKeys.length, 'api key')} without any cookie: ${keyList(a.apiKeys)}`;
    case 'key-below-min':
      return `${plural(a.apiKeys.length, 'api key')} still below the minimum of ${a.minCount} cookies: ${a.apiKeys
        .map((k) => `${maskSecret(k)} (${a.counts[k] ?? 0})`)
        .join(', ')}`;
    case 'mass-invalidation': {
      const pct = (n: number) => `${Math.round(n * 100)}%`;
      const from = a.apiKeys.length ? ` from ${keyList(a.apiKeys)}` : '';
      return `a check retired ${a.marked} of ${a.checked} cookies (${pct(a.marked / a.checked)}, above ${pct(a.ratio)})${from}: were the accounts revoked?`;
    }
    case 'refresh-failed':
      return `refresh failed${a.apiKeys.length ? ` for ${keyList(a.apiKeys)}` : ''}: ${scrubSecrets(a.error)}`;
    case 'recovered':
      return `refresh works again (failing since ${a.since})${a.apiKeys.length ? `; topped up ${keyList(a.apiKeys)}` : ''}`;
    case 'test':
      return 'test notification: alerts reach this channel';
  }
}

export function alertBody(alert: Alert, now: Date, host: string): AlertBody {
  const severity = SEVERITY[alert.event];
  const summary = alertSummary(alert);
  const runUrl = 'runUrl' in alert ? alert.runUrl : undefined;
  return {
    event: alert.event,
    severity,
    // Plain text (no Slack-only link or emoji syntax): Discord's /slack endpoint shows it as is.
    // The run's URL once: error messages often end with it already.
    text: `[${severity}] cookie-pool on ${host}: ${summary}${runUrl && !summary.includes(runUrl) ? ` ${runUrl}` : ''}`,
    time: now.toISOString(),
    ...(alert.apiKeys.length ? { apiKeys: alert.apiKeys.map(maskSecret) } : {}),
    ...(runUrl ? { runUrl } : {}),
  };
}

/**
 * `key-empty` for keys without a cookie, `key-below-min` for the others under the minimum (an
 * empty key gets only the critical one). `keys`: the api keys in scope (default: every key).
 */
export function poolAlerts(pool: Readonly<Record<string, readonly string[]>>, minCount: number, keys?: readonly string[]): Alert[] {
  const scope = keys?.length ? [...new Set(keys)].filter((k) => Object.hasOwn(pool, k)) : Object.keys(pool);
  const count = (k: string) => pool[k]?.length ?? 0;
  const empty = scope.filter((k) => count(k) === 0);
  const low = scope.filter((k) => count(k) > 0 && count(k) < minCount);
  const alerts: Alert[] = [];
  if (empty.length) alerts.push({ event: 'key-empty', apiKeys: empty });
  if (low.length) alerts.push({ event: 'key-below-min', apiKeys: low, counts: Object.fromEntries(low.map((k) => [k, count(k)])), minCount });
  return alerts;
}

/** `mass-invalidation` when a check marked more than `ratio` of the cookies it checked. */
export function massInvalidationAlert(checked: number, marked: number, ratio: number, apiKeys: readonly string[]): Alert | undefined {
  if (checked <= 0 || marked / checked <= ratio) return undefined;
  return { event: 'mass-invalidation', apiKeys: [...apiKeys], checked, marked, ratio };
}

const JWT = /eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;
const SESSION = /user_[A-Za-z0-9]+(?:%3A%3A|::)/gi;
const GITHUB_TOKEN = /\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g;
const URL_USERINFO = /(\bhttps?:\/\/)[^\s/@]+@/gi;

/**
 * Mask what looks like a cookie, a JWT, a GitHub token or URL credentials in a free text (an error
 * message) before it leaves the machine. Error messages are written to be printable already; this
 * is the second line of defence.
 */
export function scrubSecrets(text: string): string {
  return text
    .replace(SESSION, '')
    .replace(JWT, (m) => maskSecret(m))
    .replace(GITHUB_TOKEN, (m) => `${m.slice(0, 4)}…`)
    .replace(URL_USERINFO, '$1…@');
}

/** A webhook URL for messages: its secret path is never shown (`https://hooks.slack.com/…`). */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}/…`;
  } catch {
    return '(not a URL)';
  }
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `30m`, `6h`, `1d`, `90s`, `1.5h` (or `0`) in milliseconds; undefined when it is none of those. */
export function parseDuration(raw: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhd])?\s*$/i.exec(raw);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = m[2]?.toLowerCase() as keyof typeof UNIT_MS | undefined;
  if (unit === undefined) return n === 0 ? 0 : undefined;
  return Math.round(n * UNIT_MS[unit]);
}
