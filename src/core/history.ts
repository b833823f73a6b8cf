/**
 * The pool's history (SPEC §10), the pure part: what one line of `history.jsonl` holds, how a line
 * is read back (a damaged one is refused, never a crash), and what the lines add up to — each
 * key's cookie count over time, cookies retired per day, refresh statistics and the forecast of
 * when a key falls below MIN_COOKIE_COUNT. No I/O here: src/services/history.ts reads and writes.
 *
 * Retirements are counted from the counts alone (the file never holds a cookie):
 * - within an event, a key that lost cookies retired them (`before − after`), unless the event
 *   says otherwise (`retired`, from a refresh in replace mode that also added cookies) or removed
 *   the whole key (`removed`: an operator's choice, not wear);
 * - between two events, a key that holds fewer cookies than the previous event left it with lost
 *   them outside cookie-pool (the proxy retires failing cookies by itself): those count too.
 */

export const HISTORY_EVENTS = ['refresh', 'check', 'import', 'add', 'remove', 'purge', 'invalid'] as const;
export type HistoryEventName = (typeof HISTORY_EVENTS)[number];

/** One key's cookie count around an event. */
export interface KeyCounts {
  before: number;
  after: number;
  /** Cookies this event retired from the key when the counts alone do not tell (replace mode). */
  retired?: number;
  /** The event removed the key itself. */
  removed?: true;
}

/** One line of the history file. `time` is when the counts in `keys` were taken. */
export interface HistoryEntry {
  time: string;
  event: HistoryEventName;
  ok: boolean;
  keys: Record<string, KeyCounts>;
  runId?: number;
  runUrl?: string;
  /** The `number` input sent to the workflow. */
  number?: number;
  harvested?: number;
  added?: number;
  retired?: number;
  checked?: number;
  valid?: number;
  invalid?: number;
  expired?: number;
  unknown?: number;
  marked?: number;
  durationSec?: number;
  /** Why the refresh or check failed (never a secret: CliError messages carry none). */
  error?: string;
}

export const DAY_MS = 24 * 3600 * 1000;
/** The window of `history`, `status` and `--number auto` unless `--since` says otherwise. */
export const DEFAULT_WINDOW_DAYS = 7;
/** A forecast needs this much history (SPEC §10: "at least two days"). */
export const FORECAST_MIN_DAYS = 2;

const EVENT_SET: ReadonlySet<string> = new Set(HISTORY_EVENTS);

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** A line read back: the entry and its time in ms. */
export interface ParsedEntry {
  timeMs: number;
  entry: HistoryEntry;
}

/** One line of the file, or undefined when it is damaged (not JSON, or not an entry). */
export function parseEntry(line: string): ParsedEntry | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const e = v as Record<string, unknown>;
  if (typeof e.time !== 'string' || typeof e.event !== 'string' || !EVENT_SET.has(e.event)) return undefined;
  const timeMs = Date.parse(e.time);
  if (!Number.isFinite(timeMs)) return undefined;
  if (e.ok !== undefined && typeof e.ok !== 'boolean') return undefined;
  const keys = e.keys ?? {};
  if (keys === null || typeof keys !== 'object' || Array.isArray(keys)) return undefined;
  for (const c of Object.values(keys as Record<string, unknown>)) {
    if (c === null || typeof c !== 'object') return undefined;
    const k = c as Record<string, unknown>;
    if (!isCount(k.before) || !isCount(k.after) || (k.retired !== undefined && !isCount(k.retired))) return undefined;
  }
  return { timeMs, entry: { ...(e as unknown as HistoryEntry), ok: e.ok !== false, keys: keys as Record<string, KeyCounts> } };
}

/**
 * `--since`: `7d`, `12h`, `2w` (before `nowMs`) or a date (`2026-04-01`, or a full ISO time).
 * Returns ms, or undefined for an unparseable value.
 */
export function parseSince(raw: string, nowMs: number): number | undefined {
  const v = raw.trim();
  const rel = /^(\d+(?:\.\d+)?)\s*([hdw])$/i.exec(v);
  if (rel) {
    const hours = { h: 1, d: 24, w: 24 * 7 }[rel[2]!.toLowerCase() as 'h' | 'd' | 'w'];
    return nowMs - Number(rel[1]) * hours * 3600 * 1000;
  }
  if (!/^\d{4}-\d{2}-\d{2}/.test(v)) return undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

interface Observation {
  t: number;
  before: number;
  after: number;
  retired?: number;
  removed: boolean;
}

interface RefreshRun {
  ok: boolean;
  harvested: number;
  durationSec: number | undefined;
}

export interface SeriesPoint {
  time: string;
  cookies: number;
}

export interface KeyHistory {
  apiKey: string;
  /**
   * The count over the window, in time order: at the window's start (when known), after every
   * event that changed it, and at the latest event (so the series ends where the history does).
   */
  series: SeriesPoint[];
  /** The count before the first point of the window (undefined: no history for the key). */
  start: number | undefined;
  /** Cookies retired in the window. */
  retired: number;
  /** Cookies retired per day in the window (the forecast's rate); a window under a day counts as one day. */
  rate: number;
  /** `rate` rounded to 2 decimals, for display and JSON. */
  retiredPerDay: number;
  /** Retirements by UTC day (`YYYY-MM-DD`), for the days of the window that had any. */
  retiredByDay: Map<string, number>;
  /** The count the forecast starts from: the live one when given, else the last recorded. */
  current: number;
  /** When the key falls below the minimum at this rate (already below: now); null: no forecast. */
  runsDryAt: string | null;
  /** The last event removed the key. */
  removed: boolean;
}

export interface RefreshStats {
  runs: number;
  succeeded: number;
  /** Mean cookies harvested by a successful run. */
  harvestedPerRun: number;
  /** Mean duration of a successful run, seconds. */
  meanSeconds: number;
}

export interface HistorySummary {
  /** Start of the window: `--since`, or the first event when the history is younger. */
  windowStartMs: number;
  nowMs: number;
  /** Time of the first event in the file (NaN when there is none). */
  firstMs: number;
  /** Days of history (now − first event). */
  historyDays: number;
  /** Whether there is enough history for a forecast (FORECAST_MIN_DAYS). */
  forecast: boolean;
  keys: KeyHistory[];
  refresh: RefreshStats;
  /** Events in the window. */
  events: number;
}

export interface SummaryOptions {
  nowMs: number;
  minCookieCount: number;
  /** Only these keys (in this order; a key without history is listed empty). */
  keys?: readonly string[];
  /** Live counts to forecast from (status), by key; keys absent here keep their last recorded count. */
  current?: Readonly<Record<string, number>>;
  /** Include keys whose last event removed them (default: only when named in `keys`). */
  includeRemoved?: boolean;
}

const round = (n: number, digits: number): number => {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
};

/**
 * Adds up history entries as they stream past (in any order: each key's observations are sorted
 * by time at the end). Holds the observations inside the window and, per key, only the latest one
 * before it, so memory follows the window rather than the file.
 */
export class HistoryAggregator {
  private firstMs = Number.NaN;
  private events = 0;
  private readonly inWindow = new Map<string, Observation[]>();
  private readonly beforeWindow = new Map<string, Observation>();
  private readonly runs: RefreshRun[] = [];

  constructor(private readonly sinceMs: number | undefined) {}

  /** The time of an entry not added (from a file skipped as wholly before the window): only where the history starts. */
  noteTime(timeMs: number): void {
    if (!(timeMs >= this.firstMs)) this.firstMs = timeMs;
  }

  add({ timeMs, entry }: ParsedEntry): void {
    this.noteTime(timeMs);
    const inside = this.sinceMs === undefined || timeMs >= this.sinceMs;
    if (inside) this.events++;
    if (inside && entry.event === 'refresh') {
      this.runs.push({
        ok: entry.ok,
        harvested: isCount(entry.harvested) ? entry.harvested : 0,
        durationSec: typeof entry.durationSec === 'number' && entry.durationSec >= 0 ? entry.durationSec : undefined,
      });
    }
    for (const [apiKey, c] of Object.entries(entry.keys)) {
      const obs: Observation = { t: timeMs, before: c.before, after: c.after, removed: c.removed === true };
      if (c.retired !== undefined) obs.retired = c.retired;
      if (inside) {
        let list = this.inWindow.get(apiKey);
        if (!list) this.inWindow.set(apiKey, (list = []));
        list.push(obs);
      } else {
        const last = this.beforeWindow.get(apiKey);
        if (!last || last.t <= timeMs) this.beforeWindow.set(apiKey, obs);
      }
    }
  }

  summarize(opts: SummaryOptions): HistorySummary {
    const { nowMs } = opts;
    const windowStartMs = Number.isNaN(this.firstMs) ? (this.sinceMs ?? nowMs) : Math.max(this.sinceMs ?? -Infinity, this.firstMs);
    const windowDays = Math.max(0, nowMs - windowStartMs) / DAY_MS;
    const historyDays = Number.isNaN(this.firstMs) ? 0 : Math.max(0, nowMs - this.firstMs) / DAY_MS;
    const forecast = historyDays >= FORECAST_MIN_DAYS;

    const names = opts.keys ?? [...new Set([...this.beforeWindow.keys(), ...this.inWindow.keys()])];
    const keys: KeyHistory[] = [];
    for (const apiKey of names) {
      const k = this.keyHistory(apiKey, windowStartMs, windowDays, forecast, opts);
      if (k.removed && !opts.includeRemoved && !opts.keys) continue;
      keys.push(k);
    }

    const good = this.runs.filter((r) => r.ok);
    const timed = good.filter((r) => r.durationSec !== undefined);
    const refresh: RefreshStats = {
      runs: this.runs.length,
      succeeded: good.length,
      harvestedPerRun: good.length ? round(good.reduce((n, r) => n + r.harvested, 0) / good.length, 2) : 0,
      meanSeconds: timed.length ? round(timed.reduce((n, r) => n + (r.durationSec ?? 0), 0) / timed.length, 1) : 0,
    };
    return { windowStartMs, nowMs, firstMs: this.firstMs, historyDays, forecast, keys, refresh, events: this.events };
  }

  private keyHistory(apiKey: string, windowStartMs: number, windowDays: number, forecast: boolean, opts: SummaryOptions): KeyHistory {
    // Stable sort: entries with the same time keep the file's order.
    const list = (this.inWindow.get(apiKey) ?? []).slice().sort((a, b) => a.t - b.t);
    const carry = this.beforeWindow.get(apiKey);
    const series: SeriesPoint[] = [];
    const retiredByDay = new Map<string, number>();
    let prev: number | undefined;
    if (carry && !carry.removed) {
      prev = carry.after;
      series.push({ time: new Date(windowStartMs).toISOString(), cookies: carry.after });
    }
    let retired = 0;
    let removed = carry?.removed ?? false;
    const count = (t: number, n: number): void => {
      if (n <= 0) return;
      retired += n;
      const day = new Date(t).toISOString().slice(0, 10);
      retiredByDay.set(day, (retiredByDay.get(day) ?? 0) + n);
    };
    let shown = series[0]?.cookies;
    for (const [i, o] of list.entries()) {
      // Lost between two events: retired outside cookie-pool (the proxy, a hand edit).
      if (prev !== undefined && o.before < prev) count(o.t, prev - o.before);
      count(o.t, o.retired ?? (o.removed ? 0 : o.before - o.after));
      prev = o.removed ? undefined : o.after;
      removed = o.removed;
      // The series is the count's steps: a point where it changes, and the latest observation.
      if (o.after !== shown || i === list.length - 1) {
        series.push({ time: new Date(o.t).toISOString(), cookies: o.after });
        shown = o.after;
      }
    }
    const recorded = removed ? 0 : (prev ?? 0);
    const current = opts.current && Object.hasOwn(opts.current, apiKey) ? opts.current[apiKey]! : recorded;
    // Per day: a window shorter than a day counts as one (a few hours must not read as a daily rate).
    const rate = retired / Math.max(1, windowDays);
    let runsDryAt: string | null = null;
    if (forecast && !removed && rate > 0) {
      const spare = current - opts.minCookieCount + 1;
      // Whole seconds: a forecast has no millisecond precision to offer.
      const at = spare <= 0 ? opts.nowMs : opts.nowMs + (spare / rate) * DAY_MS;
      runsDryAt = new Date(Math.round(at / 1000) * 1000).toISOString();
    }
    const start = carry && !carry.removed ? carry.after : list[0]?.before;
    return { apiKey, series, start, retired, rate, retiredPerDay: round(rate, 2), retiredByDay, current, runsDryAt, removed };
  }
}

/**
 * The `number` input of `refresh --number auto` (SPEC §10): the deficit of the keys being topped
 * up plus the retirements expected until the next scheduled run, at least 1, at most `max`.
 * With `share` every target gets every cookie, so the largest need counts, not the sum.
 */
export interface AutoNumberInput {
  targets: { apiKey: string; cookies: number; retiredPerDay: number }[];
  minCookieCount: number;
  /** Days until the next scheduled refresh. */
  daysToNextRun: number;
  share: boolean;
  max: number;
}

export interface AutoNumber {
  number: number;
  deficit: number;
  expected: number;
  /** The sum (or maximum) before the bounds. */
  wanted: number;
}

export function autoNumber(input: AutoNumberInput): AutoNumber {
  const needs = input.targets.map((t) => {
    const deficit = Math.max(0, input.minCookieCount - t.cookies);
    // Whole cookies: a fraction of an expected retirement still needs an account.
    const expected = Math.ceil(round(t.retiredPerDay * Math.max(0, input.daysToNextRun), 6));
    return { deficit, expected };
  });
  let deficit = 0;
  let expected = 0;
  if (input.share) {
    // The neediest key decides; the others get the same cookies.
    for (const n of needs) {
      if (n.deficit + n.expected > deficit + expected) ({ deficit, expected } = n);
    }
  } else {
    for (const n of needs) {
      deficit += n.deficit;
      expected += n.expected;
    }
  }
  const wanted = deficit + expected;
  return { number: Math.min(input.max, Math.max(1, wanted)), deficit, expected, wanted };
}
