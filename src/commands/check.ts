import { Command } from '../commander.js';
import { contextOf } from '../context.js';
import { EXIT } from '../errors.js';
import { collect, positiveNumber, wholeNumber } from './options.js';

interface CheckFlags {
  key: string[];
  offline?: boolean;
  concurrency?: number;
  markInvalid?: boolean;
  requestTimeout?: number;
}

/** Online checks of at least this many cookies get a progress bar (on a TTY). */
const PROGRESS_MIN = 8;

export const checkCommand = (): Command =>
  new Command('check')
    .description('check which cookies are alive: offline (structure, exp) or online via the Cursor usage endpoint')
    .option('--key <key>', 'only this api key (repeatable)', collect, [])
    .option('--offline', 'only structure and expiry, no network')
    .option('--concurrency <n>', 'requests in flight at once (default 8)', wholeNumber(1))
    .option('--mark-invalid', 'move invalid and expired cookies to the invalid list (unknown ones are kept)')
    .option('--request-timeout <sec>', 'timeout of each request in seconds (default 15)', positiveNumber)
    .addHelpText(
      'after',
      [
        '',
        'Statuses: valid, invalid (401/403 or malformed), expired (exp passed; never sent), unknown',
        '(5xx, timeout, network error, non-JSON answer, still 429 after 3 tries: never marked).',
        'Exit 3 when some results are unknown.',
        '',
        'Examples:',
        '  cookie-pool check --offline',
        '  cookie-pool check --key sk-team --concurrency 16',
        '  cookie-pool check --mark-invalid --json',
      ].join('\n'),
    )
    .action(async (opts: CheckFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const { runCheck } = await import('../services/check.js');

      let bar: { update(done: number, total: number): void; done(): void } | undefined;
      const wantBar = !opts.offline && io.stderrIsTTY && !io.quiet;
      let progress: ((done: number, total: number) => void) | undefined;
      if (wantBar) {
        const { createProgressBar } = await import('../ui/progress.js');
        progress = (done, total) => {
          if (total < PROGRESS_MIN) return;
          bar ??= createProgressBar(io.stderr, 'checking');
          bar.update(done, total);
        };
      }
      let report;
      try {
        report = await runCheck(
          ctx,
          {
            keys: opts.key,
            offline: opts.offline,
            concurrency: opts.concurrency,
            markInvalid: opts.markInvalid,
            requestTimeoutSec: opts.requestTimeout,
          },
          progress,
        );
      } finally {
        bar?.done();
      }

      for (const r of report.results) {
        if (r.status !== 'valid') io.debug(`${r.apiKey} ${io.cookie(r.cookie)}: ${r.status}${r.reason ? ` (${r.reason})` : ''}`);
      }

      if (io.json) {
        io.printJson({
          checked: report.checked,
          valid: report.valid,
          invalid: report.invalid,
          expired: report.expired,
          unknown: report.unknown,
          marked: report.marked,
          results: report.results.map((r) => ({
            apiKey: r.apiKey,
            cookie: io.cookie(r.cookie),
            status: r.status,
            ...(r.remaining !== undefined ? { remaining: r.remaining } : {}),
            ...(r.reason !== undefined ? { reason: r.reason } : {}),
          })),
        });
      } else {
        const { c } = io;
        const paint = { valid: c.green, invalid: c.red, expired: c.red, unknown: c.yellow } as const;
        if (report.results.length === 0) io.out('No cookies to check.');
        else {
          const rows = report.results.map((r) => [
            r.apiKey,
            io.cookie(r.cookie),
            r.status,
            r.remaining === undefined ? '' : String(r.remaining),
            r.reason ?? '',
          ]);
          io.out(
            alignedTable(['API KEY', 'COOKIE', 'STATUS', 'REMAINING', 'REASON'], rows, ['left', 'left', 'left', 'right', 'left'], {
              2: (cell, row) => paint[report.results[row]?.status ?? 'valid'](cell),
              head: c.level > 0 ? c.bold : undefined,
            }),
          );
          io.out('');
        }
        const parts = [
          `${report.valid} valid`,
          `${report.invalid} invalid`,
          `${report.expired} expired`,
          `${report.unknown} unknown`,
        ];
        const how = report.online ? `online, ${report.asked} asked` : 'offline';
        io.out(`Checked ${report.checked} cookie(s) (${how}): ${parts.join(', ')}${opts.markInvalid ? `; ${report.marked} moved to the invalid list` : ''}.`);
        if (!opts.markInvalid && report.invalid + report.expired > 0) {
          io.info('Run again with --mark-invalid to move the invalid and expired ones to the invalid list.');
        }
      }
      if (report.unknown > 0) {
        io.warn(`${report.unknown} result(s) unknown: kept in the pool, never marked; see the reasons above or in the JSON.`);
        process.exitCode = EXIT.PARTIAL;
      }
    });

/**
 * The same borderless layout as ui/table.ts (two spaces between columns, no trailing blanks),
 * built with padding alone: cli-table3 measures every cell and takes seconds for 10k rows.
 * Cells are padded before they are coloured, so colour codes do not upset the widths.
 */
function alignedTable(
  head: string[],
  rows: string[][],
  align: ('left' | 'right')[],
  paint: { [col: number]: (cell: string, row: number) => string; head?: (s: string) => string },
): string {
  const width = head.map((h, i) => rows.reduce((w, r) => Math.max(w, [...(r[i] ?? '')].length), [...h].length));
  const line = (cells: string[], colour: (cell: string, col: number) => string) =>
    cells
      .map((cell, i) => {
        const pad = ' '.repeat(Math.max(0, (width[i] ?? 0) - [...cell].length));
        const text = colour(cell, i);
        return align[i] === 'right' ? pad + text : text + pad;
      })
      .join('  ')
      .trimEnd();
  const out = [line(head, (h) => (paint.head ? paint.head(h) : h))];
  rows.forEach((r, row) => out.push(line(r, (cell, col) => (paint[col] && cell ? paint[col](cell, row) : cell))));
  return out.join('\n');
}
