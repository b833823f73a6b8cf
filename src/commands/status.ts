import { Command } from '../commander.js';
import { minCookieCount } from '../config.js';
import { contextOf, type AppContext } from '../context.js';
import { statusReport } from '../services/status.js';

export const statusCommand = (): Command =>
  new Command('status')
    .description('per key: cookies, expired, expiring within 3 days, below MIN_COOKIE_COUNT; invalid-list size')
    .action(async (_opts, cmd: Command) => {
      await printStatus(contextOf(cmd));
    });

/** The status report on stdout (also shown by the `manage` menu). */
export async function printStatus(ctx: AppContext): Promise<void> {
  const { io } = ctx;
  const min = minCookieCount(ctx.env);
  const snapshot = await ctx.pool.read();
  const report = statusReport(snapshot, min, ctx.nowSec());
  const ignored = snapshot.ignored ?? [];
  const ignoredView = ignored.length ? await import('../ui/ignored-lines.js') : undefined;
  // The forecast (SPEC §10) once the history spans two days; undefined before (no column, no field).
  const { statusForecast } = await import('../services/history.js');
  const dry = await statusForecast(ctx, Object.fromEntries(report.keys.map((k) => [k.apiKey, k.cookies])), min);
  if (io.json) {
    io.printJson({
      keys: report.keys.map(({ apiKey, cookies, expired, expiringSoon, belowMin, malformed }) => ({
        apiKey, cookies, expired, expiringSoon, belowMin, malformed,
        ...(dry ? { runsDryAt: dry.get(apiKey) ?? null } : {}),
      })),
      invalid: report.invalid,
      minCookieCount: report.minCookieCount,
      ...(ignoredView ? { ignoredLines: ignoredView.ignoredLinesJson(io, ignored) } : {}),
    });
    return;
  }
  const { c } = io;
  const { renderTable } = await import('../ui/table.js');
  if (report.keys.length === 0) {
    io.out(`No api keys in ${ctx.pool.describe().where}. Add one with: cookie-pool keys add <key> [cookie...]`);
  } else {
    const rows = report.keys.map((k) => [
      k.apiKey,
      k.belowMin ? c.red(String(k.cookies)) : c.green(String(k.cookies)),
      k.expired ? c.red(String(k.expired)) : '0',
      k.expiringSoon ? c.yellow(String(k.expiringSoon)) : '0',
      k.malformed ? c.red(String(k.malformed)) : '0',
      ...(dry ? [runsDry(dry.get(k.apiKey) ?? null, ctx.nowMs())] : []),
      k.belowMin ? c.red(`below ${min}`) : c.green('ok'),
    ]);
    const head = ['API KEY', 'COOKIES', 'EXPIRED', 'EXPIRING <3D', 'MALFORMED', ...(dry ? ['RUNS DRY'] : []), 'STATE'];
    io.out(
      renderTable(head, rows, {
        align: ['left', 'right', 'right', 'right', 'right', ...(dry ? (['left'] as const) : []), 'left'],
        color: c.level > 0,
      }),
    );
  }
  const below = report.keys.filter((k) => k.belowMin).length;
  io.out(`\n${report.keys.length} key(s), ${below} below minimum ${min}; ${report.invalid} cookie(s) in the invalid list.`);
  if (dry && report.keys.length) io.out('RUNS DRY: when each key falls below the minimum at its retirement rate of the last 7 days (UTC; see cookie-pool history).');
  ignoredView?.printIgnoredLines(io, ignored);
}

/** The forecast cell: `2026-04-10 14:00` (UTC), `now` when already below, `-` when no cookie retired. */
function runsDry(at: string | null, nowMs: number): string {
  if (at === null) return '-';
  return Date.parse(at) <= nowMs ? 'now' : `${at.slice(0, 16).replace('T', ' ')}`;
}
