import { Command } from '../commander.js';
import { refreshMode } from '../config.js';
import { contextOf } from '../context.js';
import type { RefreshMode } from '../core/merge.js';
import { UsageError } from '../errors.js';
import { readStdinText } from '../stdio.js';
import { collect, modeArg } from './options.js';

interface ImportOptions {
  key: string[];
  mode?: RefreshMode;
  share?: boolean;
  dryRun?: boolean;
}

export const importCommand = (): Command =>
  new Command('import')
    .description('merge cookies from artifact zips, CSV/TXT files or folders (- reads stdin) into the store')
    .argument('<path...>', 'zip, csv, txt files or folders')
    .option('--key <key>', 'target api key (repeatable; created if absent). Default: every key, fewest cookies first', collect, [])
    .option('--mode <mode>', 'append | replace (default: $COOKIE_REFRESH_MODE or append)', modeArg)
    .option('--share', 'every target key gets every new cookie')
    .option('--dry-run', 'report what would change, write nothing')
    .addHelpText(
      'after',
      '\nExamples:\n  cookie-pool import ~/Downloads/Account-Info.zip --key sk-team\n  cookie-pool import ./artifacts/ --mode replace\n  cat tokens.txt | cookie-pool import - --key sk-team',
    )
    .action(async (paths: string[], opts: ImportOptions, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const mode = opts.mode ?? refreshMode(ctx.env);
      const { harvestPaths } = await import('../services/harvest.js');
      const { mergeIntoStore, mergeResultJson } = await import('../services/merge.js');
      const { CSV_LIMITS } = await import('../core/extract.js');
      // The e-mails beside the cookies only matter to a store that writes them (the token backends).
      const harvest = await harvestPaths(paths, () => readStdinText(io.stdin, CSV_LIMITS.maxFileBytes), {}, { labels: ctx.pool.keepsLabels });
      io.debug(`scanned: ${harvest.files.join(', ') || '(none)'}`);
      if (harvest.cookies.length === 0) {
        // As for `cookies add` with input that holds none: "no cookies given" is a usage error.
        throw new UsageError(
          `no cookies given: no cookies found in ${paths.map((p) => (p === '-' ? 'standard input' : p)).join(', ')} (${harvest.files.length} CSV/TXT file(s) scanned)`,
          'give zips, CSV/TXT files or folders that hold cookies (a CSV field or a line that is a cookie)',
        );
      }
      const report = await mergeIntoStore(
        ctx.pool,
        {
          candidates: harvest.cookies,
          ...(harvest.index ? { candidateIndex: harvest.index } : {}),
          labels: harvest.labels,
          targets: (snapshot) => {
            const targets = opts.key.length ? opts.key : Object.keys(snapshot.keys);
            if (targets.length === 0) throw new UsageError('the store has no api keys: pass --key <key> to import into one');
            return targets;
          },
          mode,
          share: Boolean(opts.share),
          dryRun: opts.dryRun,
        },
        ctx.nowSec(),
      );
      const { mergeReportExit, renderMergeReport } = await import('../ui/merge-report.js');
      if (io.json) io.printJson({ ...mergeResultJson(report, {}, (c) => io.cookie(c)), ...(opts.dryRun ? { dryRun: true } : {}) });
      else renderMergeReport(io, report, { dryRun: opts.dryRun });
      process.exitCode = mergeReportExit(io, report);
    });
