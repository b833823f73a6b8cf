import { Command, InvalidArgumentError, Option } from '../commander.js';
import { contextOf } from '../context.js';
import type { RefreshMode } from '../core/merge.js';
import type { RefreshOptions } from '../services/refresh.js';
import { printable } from '../ui/text.js';
import { collect, modeArg, positiveNumber, wholeNumber } from './options.js';

interface RefreshFlags {
  key: string[];
  force?: boolean;
  mode?: RefreshMode;
  minCount?: number;
  share?: boolean;
  trigger: boolean;
  runId?: number;
  input: string[];
  number?: string;
  dryRun?: boolean;
  timeout?: number;
  pollInterval?: number;
  artifactWait?: number;
}

/** `--number`: a whole number ≥ 1, or `auto` (SPEC §10). */
export function numberArg(value: string): string {
  const v = value.trim().toLowerCase();
  if (v === 'auto' || (/^\d+$/.test(v) && Number(v) >= 1)) return v;
  throw new InvalidArgumentError('expected a whole number ≥ 1 or "auto".');
}

/** Seconds ≥ 0, fractions allowed. */
export function seconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of seconds ≥ 0.');
  return n;
}

/** The flags `refresh` shares with `schedule`, as RefreshOptions. */
export type SharedRefreshFlags = Pick<
  RefreshFlags,
  'key' | 'force' | 'mode' | 'minCount' | 'share' | 'trigger' | 'timeout' | 'pollInterval' | 'artifactWait'
>;

export function refreshOptions(flags: SharedRefreshFlags, cmd: Command): RefreshOptions {
  return {
    keys: flags.key,
    force: flags.force,
    mode: flags.mode,
    minCount: flags.minCount,
    share: flags.share,
    // --no-trigger only when given: otherwise TRIGGER_WORKFLOW decides.
    trigger: cmd.getOptionValueSource('trigger') === 'cli' ? flags.trigger : undefined,
    timeoutMin: flags.timeout,
    pollIntervalSec: flags.pollInterval,
    artifactWaitSec: flags.artifactWait,
  };
}

export const refreshCommand = (): Command =>
  new Command('refresh')
    .description('top up keys below MIN_COOKIE_COUNT: run the Cursor-Register workflow, harvest its artifact, merge the cookies')
    .option('--key <key>', 'refresh only this key (repeatable; created if absent)', collect, [])
    .option('--force', 'refresh the targets even when they hold enough cookies (all keys without --key)')
    .option('--mode <mode>', 'append | replace (default: $COOKIE_REFRESH_MODE or append)', modeArg)
    .option('--min-count <n>', 'a key with fewer cookies needs a refresh (default: $MIN_COOKIE_COUNT or 2)', wholeNumber(0))
    .option('--share', 'every target key gets every new cookie (default: dealt round-robin, fewest first)')
    .option('--no-trigger', 'do not dispatch: harvest the latest successful run (also TRIGGER_WORKFLOW=false)')
    .option('--run-id <id>', 'harvest this run (waits for it if it is still running)', wholeNumber(1))
    .option('--input <name=value>', 'workflow input (repeatable; over REGISTER_* and WORKFLOW_INPUTS)', collect, [])
    .option(
      '--number <n|auto>',
      'accounts to register (the `number` input, over --input); auto: the targets\' deficit + retirements expected before the next REFRESH_CRON run (also REGISTER_NUMBER=auto)',
      numberArg,
    )
    .option('--dry-run', 'show targets, ref and validated inputs; dispatch and write nothing')
    .option('--timeout <min>', 'minutes to wait for the run', positiveNumber, 60)
    .option('--poll-interval <sec>', 'seconds between status polls (fractions allowed)', positiveNumber, 10)
    .addOption(new Option('--artifact-wait <sec>', 'seconds to wait for the artifact to appear').argParser(seconds).default(60).hideHelp())
    .addHelpText(
      'after',
      `
Steps: targets → validate inputs → dispatch (or --no-trigger / --run-id) → wait → download the
artifact → unzip → extract cookies → merge under the store lock.

Examples:
  cookie-pool refresh                         # keys below MIN_COOKIE_COUNT
  cookie-pool refresh --force --key sk-team   # this key, whatever it holds
  cookie-pool refresh --input number=5 --input email_server=IMAP
  cookie-pool refresh --number auto           # sized from the deficit and the history (SPEC §10)
  cookie-pool refresh --no-trigger            # harvest the latest successful run
  cookie-pool refresh --dry-run --json

Exit codes: 0 done or nothing to do, 1 GitHub/run/download failure or nothing harvested,
2 bad flags/configuration/inputs, 75 another refresh is running, 130/143 interrupted.`,
    )
    .action(async (flags: RefreshFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const { runRefresh } = await import('../services/refresh.js');
      const { withInterrupts } = await import('../services/interrupt.js');
      const outcome = await withInterrupts((signal) =>
        runRefresh(
          ctx,
          {
            ...refreshOptions(flags, cmd),
            runId: flags.runId,
            inputs: flags.number === undefined ? flags.input : [...flags.input, `number=${flags.number}`],
            dryRun: flags.dryRun,
          },
          signal,
        ),
      );

      if (outcome.status === 'skipped') {
        if (io.json) io.printJson({ ok: true, skipped: true, reason: outcome.reason });
        else io.out(`Nothing to refresh: ${outcome.reason}.`);
        return;
      }

      if (outcome.status === 'dry-run') {
        if (io.json) {
          io.printJson({
            ok: true,
            dryRun: true,
            targets: outcome.targets,
            mode: outcome.mode,
            share: outcome.share,
            ...(outcome.workflow ? { workflow: outcome.workflow } : {}),
            ...(outcome.ref !== undefined ? { ref: outcome.ref } : {}),
            ...(outcome.inputs ? { inputs: outcome.inputs } : {}),
            dropped: outcome.dropped,
            run: outcome.run,
          });
          return;
        }
        io.out('Dry run: nothing dispatched, nothing written.');
        io.out(`Targets (${outcome.mode}${outcome.share ? ', shared' : ''}): ${outcome.targets.map((t) => `${t.apiKey} (${t.cookies} cookie(s))`).join(', ')}`);
        if (outcome.run === 'dispatch') {
          io.out(printable(`Would dispatch ${outcome.workflow?.path ?? '?'} ("${outcome.workflow?.name ?? ''}") on ${outcome.ref}`));
          // Names, and only the values of closed sets (choices, booleans, numbers): see inputsForDisplay.
          const inputs = Object.entries(outcome.inputs ?? {});
          io.out(inputs.length ? `Inputs: ${inputs.map(([k, v]) => `${k}=${v}`).join(' ')}` : 'Inputs: none (workflow defaults)');
          if (outcome.dropped.length) io.out(`Dropped (not declared by the workflow): ${outcome.dropped.join(', ')}`);
        } else {
          io.out(printable(`Would harvest run ${outcome.run.id} (${outcome.run.conclusion ?? 'running'}): ${outcome.run.url}`));
        }
        return;
      }

      const { mergeResultJson } = await import('../services/merge.js');
      const { mergeReportExit } = await import('../ui/merge-report.js');
      if (io.json) {
        io.printJson({
          ...mergeResultJson(outcome.report, { runId: outcome.runId, artifactId: outcome.artifactId }, (c) => io.cookie(c)),
          runUrl: outcome.runUrl,
        });
      } else {
        const { renderMergeReport } = await import('../ui/merge-report.js');
        renderMergeReport(io, outcome.report);
        io.out(printable(`Run ${outcome.runId}: ${outcome.runUrl}`));
      }
      if (outcome.report.added === 0) io.warn('no new cookie was accepted (see the refusal counts)');
      process.exitCode = mergeReportExit(io, outcome.report);
    });
