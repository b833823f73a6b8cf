/**
 * The refresh pipeline of SPEC §5: targets → inputs → run → wait → artifact → download →
 * unzip → extract → merge. One function for the `refresh` command, the menu and the scheduler.
 *
 * A refresh holds the refresh lock (DATA_DIR/.refresh.lock, separate from the store lock) from
 * start to end and fails at once (exit 75) when another refresh holds it. The store lock is only
 * taken for the final merge (mergeIntoStore), never while waiting on GitHub.
 */
import { join } from 'node:path';
import { envBool, envString, minCookieCount, refreshMode } from '../config.js';
import type { AppContext } from '../context.js';
import type { RefreshMode } from '../core/merge.js';
import { keyCookies } from '../core/key-map.js';
import { OperationalError } from '../errors.js';
import type { Snapshot } from '../store/pool.js';
import { acquireLock } from '../store/lock.js';
import { requireMultiKey } from '../store/open.js';
import type { MergeReport } from './merge.js';
import { assertNewKeyName } from './pool.js';
import type { ScheduleInfo } from './sizing.js';

export interface RefreshOptions {
  /** Only these keys (created when absent). Empty: every key in the store. */
  keys?: string[];
  /** Refresh the targets even when they hold enough cookies. */
  force?: boolean;
  mode?: RefreshMode;
  minCount?: number;
  share?: boolean;
  /** false: use the latest successful run (default: TRIGGER_WORKFLOW, true). */
  trigger?: boolean;
  /** Harvest this run (waiting for it when it has not completed). */
  runId?: number;
  /** `--input k=v` pairs. */
  inputs?: string[];
  dryRun?: boolean;
  /** Minutes to wait for the run (default 60). */
  timeoutMin?: number;
  /** Seconds between polls (default 10). */
  pollIntervalSec?: number;
  /** Seconds to keep listing artifacts while none has appeared (default 60). */
  artifactWaitSec?: number;
  /** The schedule that runs this refresh (`schedule`), for `number=auto`: default REFRESH_CRON. */
  schedule?: ScheduleInfo;
}

export interface TargetInfo {
  apiKey: string;
  cookies: number;
}

export type RefreshOutcome =
  | { status: 'skipped'; reason: string }
  | {
      status: 'dry-run';
      targets: TargetInfo[];
      mode: RefreshMode;
      share: boolean;
      workflow: { path: string; name: string; state: string } | undefined;
      ref: string | undefined;
      /** Inputs after validation, as shown: free-text and secret-named values hidden. */
      inputs: Record<string, string> | undefined;
      dropped: string[];
      /** What would be harvested: a new run, or this existing one. */
      run: { id: number; url: string; conclusion: string | null } | 'dispatch';
    }
  | {
      status: 'merged';
      targets: TargetInfo[];
      runId: number;
      runUrl: string;
      artifactId: number;
      artifactName: string;
      files: string[];
      report: MergeReport;
    };

export const DEFAULT_TIMEOUT_MIN = 60;
export const DEFAULT_POLL_INTERVAL_SEC = 10;
export const DEFAULT_ARTIFACT_WAIT_SEC = 60;

/** Step 1: the keys to fill, decided from the store as it is now. */
export function decideTargets(
  snapshot: Snapshot,
  opts: { keys?: string[]; force?: boolean; minCount: number },
): { targets: TargetInfo[]; reason?: string } {
  const named = [...new Set(opts.keys ?? [])];
  // A named key the store lacks will be created: refuse a bad name before any workflow runs.
  for (const k of named) if (!Object.hasOwn(snapshot.keys, k)) assertNewKeyName(k, '--key');
  const candidates = named.length ? named : Object.keys(snapshot.keys);
  if (candidates.length === 0) {
    return { targets: [], reason: 'the store has no api keys (add one with `cookie-pool keys add <key>`, or pass --key)' };
  }
  const targets = candidates
    .map((apiKey) => ({ apiKey, cookies: keyCookies(snapshot.keys, apiKey)?.length ?? 0 }))
    .filter((t) => opts.force || t.cookies < opts.minCount);
  if (targets.length === 0) {
    const which = named.length ? (named.length === 1 ? `key ${named[0]} holds` : 'the given keys hold') : 'every key holds';
    return { targets, reason: `${which} at least ${opts.minCount} cookie(s) (MIN_COOKIE_COUNT); nothing to refresh` };
  }
  return { targets };
}

function abortCheck(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
}

/** What a refresh had reached when it failed, for its alert (SPEC §11). */
export interface RefreshTrace {
  targets?: string[];
  runUrl?: string;
}

/**
 * The pipeline with its alerts (SPEC §11, src/services/notify.ts): with NOTIFY_URL set, a failed
 * refresh, keys still short after it and its first success after failures are sent to the
 * webhooks. A bad alert setting stops the refresh before it starts (exit 2); a delivery failure
 * never changes its outcome.
 */
export async function runRefresh(ctx: AppContext, opts: RefreshOptions = {}, signal?: AbortSignal): Promise<RefreshOutcome> {
  const { notifierFor } = await import('./notify.js');
  // Checked even for a dry run, which otherwise sends nothing.
  const notifier = notifierFor(ctx);
  if (!notifier || opts.dryRun) return recordedRefresh(ctx, opts, signal);
  const scope = { keys: opts.keys, minCount: opts.minCount ?? minCookieCount(ctx.env) };
  const trace: RefreshTrace = {};
  let outcome: RefreshOutcome;
  try {
    outcome = await recordedRefresh(ctx, opts, signal, trace);
  } catch (e) {
    await notifier.afterRefreshFailure(e, trace, scope, signal);
    throw e;
  }
  await notifier.afterRefresh(outcome, scope, signal);
  return outcome;
}

/**
 * The refresh, recorded in the history (SPEC §10): one `refresh` event with the run id, what was
 * harvested, added and retired, the duration, or `ok:false` and the error. A refresh with nothing
 * to do, a dry run and one that found the refresh lock taken (another run's) record nothing.
 */
async function recordedRefresh(ctx: AppContext, opts: RefreshOptions, signal?: AbortSignal, trace: RefreshTrace = {}): Promise<RefreshOutcome> {
  const { recordRun } = await import('./history.js');
  return recordRun(ctx, 'refresh', (c) => refreshPipeline(c, opts, signal, trace), (outcome) => {
    if (outcome.status !== 'merged') return undefined;
    const r = outcome.report;
    return {
      facts: { runId: outcome.runId, runUrl: outcome.runUrl, harvested: r.harvested, added: r.added, retired: r.keys.reduce((n, k) => n + k.retired, 0) },
      // Replace mode retires and adds at once: the counts alone would not show what left.
      keys: (keys) => {
        for (const k of r.keys) if (k.retired > 0 && keys[k.apiKey]) keys[k.apiKey]!.retired = k.retired;
      },
    };
  });
}

async function refreshPipeline(ctx: AppContext, opts: RefreshOptions, signal?: AbortSignal, trace: RefreshTrace = {}): Promise<RefreshOutcome> {
  const { io, env } = ctx;
  const mode = opts.mode ?? refreshMode(env);
  const minCount = opts.minCount ?? minCookieCount(env);
  const share = Boolean(opts.share);
  const trigger = opts.runId !== undefined ? false : (opts.trigger ?? envBool(env, 'TRIGGER_WORKFLOW', true));
  const timeoutMin = opts.timeoutMin ?? DEFAULT_TIMEOUT_MIN;
  const pollIntervalSec = opts.pollIntervalSec ?? DEFAULT_POLL_INTERVAL_SEC;
  const artifactWaitSec = opts.artifactWaitSec ?? DEFAULT_ARTIFACT_WAIT_SEC;
  const artifactName = envString(env, 'ARTIFACT_NAME');

  // 1. Targets.
  const snapshot = await ctx.pool.read();
  // A one-pool backend (cursor-api) cannot create a named key: say so before a run is dispatched.
  const absent = (opts.keys ?? []).find((k) => !Object.hasOwn(snapshot.keys, k));
  if (absent !== undefined) requireMultiKey(ctx.pool, `creating api key "${absent}"`);
  const { targets, reason } = decideTargets(snapshot, { keys: opts.keys, force: opts.force, minCount });
  if (targets.length === 0) return { status: 'skipped', reason: reason ?? 'nothing to refresh' };
  trace.targets = targets.map((t) => t.apiKey);
  io.info(
    `Refreshing ${targets.length} key(s): ${targets.map((t) => `${t.apiKey} (${t.cookies})`).join(', ')}` +
      (opts.force ? ' [--force]' : ` — below ${minCount}`),
  );

  const { githubSettings, createGitHubClient, retryBaseFromEnv } = await import('../github/client.js');
  const settings = githubSettings(env);
  if (!trigger && opts.inputs?.length) io.warn('--input is ignored: no run is dispatched (--no-trigger / --run-id)');

  const release = opts.dryRun
    ? undefined
    : await acquireLock(join(ctx.stateDir, '.refresh.lock'), {
        wait: false,
        busyMessage: `another refresh is running (lock ${join(ctx.stateDir, '.refresh.lock')})`,
      });
  try {
    abortCheck(signal);
    const retryBaseMs = retryBaseFromEnv(env);
    const gh = await createGitHubClient(settings, { io, signal, ...(retryBaseMs !== undefined ? { retryBaseMs } : {}) });
    const { prepareDispatch } = await import('../github/workflow.js');
    const runs = await import('../github/runs.js');
    // number=auto (SPEC §10): sized for these targets when the workflow is about to be dispatched.
    const dispatchOptions = {
      autoNumber: async () => {
        const { describeSizing, sizeRefresh } = await import('./sizing.js');
        const sized = await sizeRefresh(ctx, targets, { share, minCount, schedule: opts.schedule });
        return { number: sized.number, why: describeSizing(sized) };
      },
    };

    // 2–3. Inputs and the run.
    if (opts.dryRun) {
      let run: { id: number; url: string; conclusion: string | null } | 'dispatch' = 'dispatch';
      let prepared;
      if (opts.runId !== undefined) {
        const r = await runs.getRun(gh, opts.runId);
        run = { id: r.id, url: r.htmlUrl, conclusion: r.conclusion };
      } else if (!trigger) {
        const r = await runs.latestSuccessfulRun(gh);
        run = { id: r.id, url: r.htmlUrl, conclusion: r.conclusion };
      } else {
        prepared = await prepareDispatch(gh, env, opts.inputs ?? [], undefined, dispatchOptions);
      }
      return {
        status: 'dry-run',
        targets,
        mode,
        share,
        workflow: prepared ? { path: prepared.workflow.path, name: prepared.workflow.name, state: prepared.workflow.state } : undefined,
        ref: prepared?.ref,
        inputs: prepared?.shown,
        dropped: prepared?.dropped ?? [],
        run,
      };
    }

    let runId: number;
    let runUrl: string;
    if (opts.runId !== undefined) {
      const run = await runs.getRun(gh, opts.runId);
      runId = run.id;
      runUrl = trace.runUrl = run.htmlUrl;
      io.info(`Using run ${runId}: ${runUrl}`);
      if (run.status !== 'completed') await runs.waitForRun(gh, runId, { timeoutMin, pollIntervalSec });
      else runs.assertSucceeded(run);
    } else if (!trigger) {
      const run = await runs.latestSuccessfulRun(gh);
      runId = run.id;
      runUrl = trace.runUrl = run.htmlUrl;
      io.info(`Using the latest successful run ${runId} (${run.createdAt}): ${runUrl}`);
    } else {
      const prepared = await prepareDispatch(gh, env, opts.inputs ?? [], undefined, dispatchOptions);
      const shown = Object.entries(prepared.shown).map(([k, v]) => `${k}=${v}`).join(' ');
      io.info(`Dispatching ${prepared.workflow.path} on ${prepared.ref}${shown ? ` with ${shown}` : ''}`);
      abortCheck(signal);
      const dispatched = await runs.dispatchRun(gh, prepared, { pollIntervalSec });
      runId = dispatched.runId;
      runUrl = trace.runUrl = dispatched.htmlUrl;
      io.info(`Run ${runId}: ${runUrl}`);
      // 4. Wait.
      const done = await runs.waitForRun(gh, runId, { timeoutMin, pollIntervalSec });
      runUrl = trace.runUrl = done.htmlUrl || runUrl;
    }

    // 5–6. Artifact, download, unzip.
    const { chooseArtifact, downloadArtifact, DEFAULT_ARTIFACT_NAME } = await import('../github/artifacts.js');
    const artifact = await chooseArtifact(gh, runId, {
      name: artifactName ?? DEFAULT_ARTIFACT_NAME,
      waitSec: artifactWaitSec,
      everySec: Math.min(pollIntervalSec, 5),
      runUrl,
    });
    io.info(`Downloading artifact "${artifact.name}" (id ${artifact.id}, ${(artifact.sizeInBytes / 1024).toFixed(1)} KiB)`);
    const zip = await downloadArtifact(gh, artifact, retryBaseMs !== undefined ? { retryBaseMs } : {});
    abortCheck(signal);

    // 7. Extract.
    const { harvestZip } = await import('./harvest.js');
    const harvest = await harvestZip(zip, `artifact "${artifact.name}"`, {}, { labels: ctx.pool.keepsLabels });
    io.debug(`scanned: ${harvest.files.join(', ') || '(none)'}`);
    if (harvest.cookies.length === 0) {
      throw new OperationalError(
        `artifact "${artifact.name}" of run ${runId} holds no cookies (${harvest.files.length} CSV/TXT file(s) scanned): ${runUrl}`,
        'the run may have registered no account; see its log',
      );
    }
    io.info(`Harvested ${harvest.cookies.length} cookie(s) from ${harvest.files.length} file(s)`);

    // 8. Merge, under the store lock, with the targets re-checked against the store as it is now.
    const { mergeIntoStore } = await import('./merge.js');
    const named = new Set(opts.keys ?? []);
    const report = await mergeIntoStore(
      ctx.pool,
      {
        candidates: harvest.cookies,
        ...(harvest.index ? { candidateIndex: harvest.index } : {}),
        labels: harvest.labels,
        targets: (snapshot) => {
          const still = targets.map((t) => t.apiKey).filter((k) => named.has(k) || Object.hasOwn(snapshot.keys, k));
          const gone = targets.map((t) => t.apiKey).filter((k) => !still.includes(k));
          if (gone.length) io.warn(`key(s) removed during the refresh, not filled: ${gone.join(', ')}`);
          if (still.length === 0) {
            throw new OperationalError(
              `every target key was removed during the refresh; the ${harvest.cookies.length} harvested cookie(s) were not merged`,
              `keep them with: cookie-pool workflow download ${runId} --out DIR`,
            );
          }
          return still;
        },
        mode,
        share,
      },
      ctx.nowSec(),
    );
    return { status: 'merged', targets, runId, runUrl, artifactId: artifact.id, artifactName: artifact.name, files: harvest.files, report };
  } finally {
    await release?.();
  }
}
