import { Command } from '../commander.js';
import { contextOf } from '../context.js';
import { EXIT } from '../errors.js';
import type { DoctorCheck } from '../services/doctor.js';
import { printable } from '../ui/text.js';
import type { IO } from '../ui/io.js';

interface DoctorFlags {
  online?: boolean;
}

/** Every check name, for the column width (kept in step with services/doctor.ts). */
const NAME_WIDTH = 'invalid-file'.length;

export const doctorCommand = (): Command =>
  new Command('doctor')
    .description('check configuration, store, GitHub token, repository, workflow and its inputs: ok/warn/fail per line')
    .option('--online', 'also check that the Cursor web URL (CURSOR_WEB_URL) and the NOTIFY_URL hosts answer')
    .addHelpText(
      'after',
      `
Checks, in order (a check whose prerequisite failed is skipped):
  node, env-file, keys-file, invalid-file, live-proxy (a running proxy with the store loaded),
  proxy-config, proxy-reach, proxy-login, proxy-token, proxy-keys, proxy-secret (backend proxy),
  token-file, token-list, cursor-api (backend token-file) | cursor-api, token-lines (backend token-api),
  permissions, settings, refresh-cron,
  github-token, github-auth, repository, workflow, ref, inputs, artifact, cursor-web (--online),
  notify (NOTIFY_URL; reachable with --online), metrics (METRICS_PORT, METRICS_HOST)

Only reads: the store is never written, GitHub and the proxy are only asked with GETs (and one
proxy login), no workflow is started. (With the token-file backend and CURSOR_API_URL, cursor-api
is asked to reload its token files, the request every write ends with.)
Exit 0 when nothing failed (warnings allowed), 1 when a check failed.

Examples:
  cookie-pool doctor
  cookie-pool doctor --online --json`,
    )
    .action(async (flags: DoctorFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const { runDoctor } = await import('../services/doctor.js');
      const report = await runDoctor(ctx, {
        online: flags.online === true,
        ...(io.json ? {} : { onCheck: (check: DoctorCheck) => printCheck(io, check) }),
      });
      if (io.json) {
        io.printJson({ ok: report.ok, checks: report.checks.map(({ name, status, detail, hint }) => ({ name, status, detail, ...(hint ? { hint } : {}) })) });
      } else {
        io.out();
        io.out(summary(io, report.checks));
      }
      process.exitCode = report.ok ? EXIT.OK : EXIT.FAILURE;
    });

function printCheck(io: IO, raw: DoctorCheck): void {
  const { c } = io;
  // Details quote GitHub (its messages, workflow and artifact names): sanitised before colouring.
  const check = { ...raw, detail: printable(raw.detail), ...(raw.hint ? { hint: printable(raw.hint) } : {}) };
  const label = check.status.padEnd(4);
  const name = check.name.padEnd(NAME_WIDTH);
  switch (check.status) {
    case 'ok':
      io.out(`${c.green(label)} ${name}  ${check.detail}`);
      break;
    case 'warn':
      io.out(`${c.yellow(label)} ${c.bold(name)}  ${check.detail}`);
      break;
    case 'fail':
      io.out(`${c.red(label)} ${c.bold(name)}  ${check.detail}`);
      break;
    default:
      io.out(c.dim(`${label} ${name}  ${check.detail}`));
  }
  if (check.hint && (check.status === 'warn' || check.status === 'fail')) {
    io.out(`${' '.repeat(5 + NAME_WIDTH + 2)}${c.dim('hint:')} ${check.hint}`);
  }
}

function summary(io: IO, checks: DoctorCheck[]): string {
  const { c } = io;
  const count = (s: DoctorCheck['status']) => checks.filter((x) => x.status === s).length;
  const [okN, warnN, failN, skipN] = [count('ok'), count('warn'), count('fail'), count('skip')];
  const parts = [
    c.green(`${okN} ok`),
    warnN ? c.yellow(`${warnN} warning${warnN === 1 ? '' : 's'}`) : `${warnN} warnings`,
    failN ? c.red(`${failN} failed`) : '0 failed',
    ...(skipN ? [c.dim(`${skipN} skipped`)] : []),
  ];
  const verdict = failN ? c.red('problems found') : warnN ? c.yellow('usable, with warnings') : c.green('all good');
  return `doctor: ${parts.join(', ')} — ${verdict}`;
}
