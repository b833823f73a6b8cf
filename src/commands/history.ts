import { Command } from '../commander.js';
import { minCookieCount } from '../config.js';
import { contextOf } from '../context.js';
import { DEFAULT_WINDOW_DAYS, parseSince } from '../core/history.js';
import { UsageError } from '../errors.js';
import { collect } from './options.js';

interface HistoryFlags {
  key: string[];
  since?: string;
}

export const historyCommand = (): Command =>
  new Command('history')
    .description('the pool over time: cookie count per key (chart), cookies retired per day, refresh runs, and when each key runs dry')
    .option('--key <key>', 'only this api key (repeatable)', collect, [])
    .option('--since <when>', `window: 7d, 12h, 2w or a date (YYYY-MM-DD or ISO time); default ${DEFAULT_WINDOW_DAYS}d`)
    .addHelpText(
      'after',
      `
Reads $DATA_DIR/.cookie-pool/history.jsonl (HISTORY_FILE overrides) and its rotated files, where
every pool change, check and refresh is recorded. The forecast needs two days of history: it
projects each key's retirement rate over the window from its last recorded count to
MIN_COOKIE_COUNT. Times are UTC.

Examples:
  cookie-pool history
  cookie-pool history --key sk-team --since 30d
  cookie-pool history --since 2026-04-01 --json`,
    )
    .action(async (flags: HistoryFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const nowMs = ctx.nowMs();
      let sinceMs: number | undefined;
      if (flags.since !== undefined) {
        sinceMs = parseSince(flags.since, nowMs);
        if (sinceMs === undefined) throw new UsageError(`--since must be like 7d, 12h, 2w or a date (YYYY-MM-DD), got "${flags.since}"`);
      }
      const min = minCookieCount(ctx.env);
      const { summarizeHistory } = await import('../services/history.js');
      const keys = flags.key.length ? [...new Set(flags.key)] : undefined;
      const { summary, file } = await summarizeHistory(ctx, { minCookieCount: min, ...(sinceMs !== undefined ? { sinceMs } : {}), ...(keys ? { keys } : {}) });
      if (io.json) {
        // Exactly the shape of SPEC §10.
        io.printJson({
          keys: summary.keys.map((k) => ({ apiKey: k.apiKey, series: k.series, retiredPerDay: k.retiredPerDay, runsDryAt: k.runsDryAt })),
          refresh: summary.refresh,
        });
        return;
      }
      const { renderHistory } = await import('../ui/history.js');
      renderHistory(io, summary, { file, minCookieCount: min });
    });
