/** Human rendering of a merge result (import, refresh). */
import { REFUSAL_REASONS } from '../core/cookie.js';
import type { MergeReport } from '../services/merge.js';
import type { IO } from './io.js';
import { renderTable } from './table.js';

export function renderMergeReport(io: IO, report: MergeReport, opts: { dryRun?: boolean } = {}): void {
  const { c } = io;
  const refused = REFUSAL_REASONS.filter((r) => report.rejected[r] > 0).map((r) => `${r} ${report.rejected[r]}`);
  const verb = opts.dryRun ? 'would add' : 'added';
  io.out(
    `Harvested ${report.harvested} cookie(s); ${verb} ${c.green(String(report.added))}` +
      (refused.length ? `; refused ${refused.join(', ')}` : '') +
      '.',
  );
  if (report.keys.length) {
    io.out(
      renderTable(
        ['API KEY', 'BEFORE', 'ADDED', 'RETIRED', 'AFTER'],
        report.keys.map((k) => [k.apiKey, k.before, k.added, k.retired, k.after]),
        { align: ['left', 'right', 'right', 'right', 'right'], color: c.level > 0 },
      ),
    );
  }
  if (io.verbose) for (const r of report.refusals) io.debug(`refused ${io.cookie(r.cookie)}: ${r.reason}`);
}

/** Warn about what the backend dropped or failed after writing; the exit code (3 when any, else 0). */
export function mergeReportExit(io: IO, report: MergeReport): 0 | 3 {
  for (const c of report.dropped) io.warn(`the pool did not keep ${io.cookie(c)} (dropped by the backend, probably in its own invalid list)`);
  for (const p of report.problems) io.warn(p);
  return report.dropped.length || report.problems.length ? 3 : 0;
}
