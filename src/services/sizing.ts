/**
 * `refresh --number auto` / `REGISTER_NUMBER=auto` (SPEC §10): how many accounts to ask the
 * workflow for — the deficit of the keys being topped up plus the retirements the history expects
 * until the next scheduled run (REFRESH_CRON, or the scheduler's own expression), at least 1, at
 * most REGISTER_MAX_NUMBER (default 10). Used by refresh (dispatch, dry run) and doctor.
 */
import { envInt, envString } from '../config.js';
import type { AppContext } from '../context.js';
import { autoNumber, DAY_MS, type AutoNumber } from '../core/history.js';
import { UsageError } from '../errors.js';
import { summarizeHistory } from './history.js';

/** SPEC §3's default REFRESH_CRON (the scheduler's too: commands/schedule.ts). */
const DEFAULT_REFRESH_CRON = '0 */6 * * *';
export const DEFAULT_REGISTER_MAX_NUMBER = 10;

export interface ScheduleInfo {
  cron: string;
  timezone?: string;
  /** Where the expression came from, for messages: `REFRESH_CRON`, `--cron`. */
  source: string;
}

export interface Sizing extends AutoNumber {
  max: number;
  nextRun: Date;
  schedule: ScheduleInfo;
  /** Whether the history was long enough to expect retirements (else `expected` is 0). */
  forecast: boolean;
}

/** The next run of a cron expression after `nowMs` (cron-parser: the clock is ours, so tests can move it). */
export async function nextRunAfter(schedule: ScheduleInfo, nowMs: number): Promise<Date> {
  const { validateCron } = await import('./scheduler.js');
  // node-cron runs the schedule: its validation (and messages) decide what is a valid expression.
  await validateCron(schedule.cron, schedule.source);
  const { CronExpressionParser } = await import('cron-parser');
  try {
    const expr = CronExpressionParser.parse(schedule.cron.trim(), { currentDate: new Date(nowMs), ...(schedule.timezone ? { tz: schedule.timezone } : {}) });
    return expr.next().toDate();
  } catch (e) {
    throw new UsageError(`${schedule.source}: cannot tell the next run of "${schedule.cron}": ${(e as Error).message}`);
  }
}

export async function sizeRefresh(
  ctx: AppContext,
  targets: readonly { apiKey: string; cookies: number }[],
  opts: { share: boolean; minCount: number; schedule?: ScheduleInfo },
): Promise<Sizing> {
  const max = envInt(ctx.env, 'REGISTER_MAX_NUMBER', DEFAULT_REGISTER_MAX_NUMBER, 1);
  const raw = envString(ctx.env, 'REFRESH_CRON');
  const schedule = opts.schedule ?? { cron: raw ?? DEFAULT_REFRESH_CRON, source: raw === undefined ? 'the default REFRESH_CRON' : 'REFRESH_CRON' };
  const nowMs = ctx.nowMs();
  const nextRun = await nextRunAfter(schedule, nowMs);
  const { summary } = await summarizeHistory(ctx, {
    minCookieCount: opts.minCount,
    keys: targets.map((t) => t.apiKey),
    current: Object.fromEntries(targets.map((t) => [t.apiKey, t.cookies])),
  });
  const rate = new Map(summary.keys.map((k) => [k.apiKey, summary.forecast ? k.rate : 0]));
  const sized = autoNumber({
    targets: targets.map((t) => ({ ...t, retiredPerDay: rate.get(t.apiKey) ?? 0 })),
    minCookieCount: opts.minCount,
    daysToNextRun: (nextRun.getTime() - nowMs) / DAY_MS,
    share: opts.share,
    max,
  });
  return { ...sized, max, nextRun, schedule, forecast: summary.forecast };
}

/** `4 = deficit 3 + 1 expected retirement(s) before the next run (2026-04-08 18:00 UTC)`, with the bounds when they applied. */
export function describeSizing(s: Sizing): string {
  const when = `${s.nextRun.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${s.schedule.source} "${s.schedule.cron}"`;
  let text = s.forecast
    ? `${s.number} = deficit ${s.deficit} + ${s.expected} expected retirement(s) before the next run (${when})`
    : `${s.number} = deficit ${s.deficit} (no retirements expected yet: under 2 days of history)`;
  if (s.wanted > s.max) text += `; capped at REGISTER_MAX_NUMBER=${s.max} (wanted ${s.wanted})`;
  else if (s.wanted < 1) text += '; at least 1';
  return text;
}
