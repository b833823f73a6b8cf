/**
 * Merging harvested cookies into the store (SPEC §5.8), shared by `import` and `refresh`:
 * under the store lock, re-reading the store at that moment, with the plan of src/core/merge.
 */
import { maskSecret, type RefusalReason } from '../core/cookie.js';
import type { IdentityIndex } from '../core/identity.js';
import { planMerge, type KeyOutcome, type RefreshMode } from '../core/merge.js';
import type { Pool, Snapshot } from '../store/pool.js';
import { assertNewKeyName } from './pool.js';

export interface MergeRequest {
  candidates: string[];
  /** The candidates' index from the harvest that found them (see MergeInput.candidateIndex). */
  candidateIndex?: IdentityIndex;
  /** Keys to fill; when a function, decided from the store as read under the lock. */
  targets: string[] | ((snapshot: Snapshot) => string[]);
  mode: RefreshMode;
  share: boolean;
  /** Plan and report, write nothing. */
  dryRun?: boolean;
  /** The account email beside a cookie, by identity: written as its alias by the token backends. */
  labels?: ReadonlyMap<string, string>;
}

export interface MergeReport {
  harvested: number;
  added: number;
  rejected: Record<RefusalReason, number>;
  keys: KeyOutcome[];
  refusals: { cookie: string; reason: RefusalReason }[];
  /** Cookies the backend did not keep (the proxy drops values in its own invalid set). */
  dropped: string[];
  /** What failed after the pool was written (a cursor-api reload). */
  problems: string[];
}

export async function mergeIntoStore(store: Pool, req: MergeRequest, nowSec: number): Promise<MergeReport> {
  const decide = (snapshot: Snapshot) => {
    const targets = typeof req.targets === 'function' ? req.targets(snapshot) : req.targets;
    // A target the store lacks is created by the merge: the key-name rule applies to it.
    for (const t of targets) if (!Object.hasOwn(snapshot.keys, t)) assertNewKeyName(t);
    const plan = planMerge({
      ...snapshot,
      candidates: req.candidates,
      ...(req.candidateIndex ? { candidateIndex: req.candidateIndex } : {}),
      targets,
      mode: req.mode,
      share: req.share,
      nowSec,
    });
    const result: MergeReport = {
      harvested: req.candidates.length,
      added: plan.added,
      rejected: plan.rejected,
      keys: plan.perKey,
      refusals: plan.refusals,
      dropped: [],
      problems: [],
    };
    return {
      result,
      keys: plan.keysChanged ? plan.keys : undefined,
      invalid: plan.invalidChanged ? plan.invalid : undefined,
      ...(req.labels?.size ? { labels: req.labels } : {}),
    };
  };
  if (req.dryRun) return decide(await store.read()).result;
  const applied = await store.update(decide);
  return { ...applied.result, dropped: applied.dropped, problems: applied.problems };
}

/** The merge-result JSON of SPEC §4 (fields may be added, not renamed). */
export function mergeResultJson(
  report: MergeReport,
  extra: { runId?: number; artifactId?: number } = {},
  mask: (cookie: string) => string = maskSecret,
): Record<string, unknown> {
  return {
    ok: true,
    ...(extra.runId !== undefined ? { runId: extra.runId } : {}),
    ...(extra.artifactId !== undefined ? { artifactId: extra.artifactId } : {}),
    harvested: report.harvested,
    added: report.added,
    rejected: report.rejected,
    keys: report.keys,
    ...(report.dropped.length ? { dropped: report.dropped.map(mask) } : {}),
    ...(report.problems.length ? { problems: report.problems } : {}),
  };
}
