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
  if (io.json) {
    io.printJson({
      keys: report.keys.map(({ apiKey, cookies, expired, expiringSoon, belowMin, malformed }) => ({
        apiKey, cookies, expired, expiringSoon, belowMin, malformed,
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
      k.belowMin ? c.red(`below ${min}`) : c.green('ok'),
    ]);
    io.out(
      renderTable(['API KEY', 'COOKIES', 'EXPIRED', 'EXPIRING <3D', 'MALFORMED', 'STATE'], rows, {
        align: ['left', 'right', 'right', 'right', 'right', 'left'],
        color: c.level > 0,
      }),
    );
  }
  const below = report.keys.filter((k) => k.belowMin).length;
  io.out(`\n${report.keys.length} key(s), ${below} below minimum ${min}; ${report.invalid} cookie(s) in the invalid list.`);
  ignoredView?.printIgnoredLines(io, ignored);
}
