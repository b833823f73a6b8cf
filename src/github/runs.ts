/**
 * Workflow runs (SPEC §5.3–4): dispatch and identify the new run, pick an existing one, wait
 * for completion with conditional polling (ETag / If-None-Match: a 304 does not count against
 * the rate limit) and progress on stderr.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { OperationalError } from '../errors.js';
import { statusOf, type GitHubClient } from './client.js';
import type { PreparedDispatch } from './workflow.js';

export interface RunInfo {
  id: number;
  name: string;
  runNumber: number;
  status: string;
  conclusion: string | null;
  event: string;
  headBranch: string;
  createdAt: string;
  updatedAt: string;
  htmlUrl: string;
}

interface RawRun {
  id: number;
  name?: string | null;
  run_number?: number;
  status: string | null;
  conclusion: string | null;
  event: string;
  head_branch: string | null;
  created_at: string;
  updated_at?: string;
  html_url: string;
}

export function toRunInfo(r: RawRun): RunInfo {
  return {
    id: r.id,
    name: r.name ?? '',
    runNumber: r.run_number ?? 0,
    status: r.status ?? 'unknown',
    conclusion: r.conclusion ?? null,
    event: r.event,
    headBranch: r.head_branch ?? '',
    createdAt: r.created_at,
    updatedAt: r.updated_at ?? r.created_at,
    htmlUrl: r.html_url,
  };
}

/** A branch name from a ref (`refs/heads/dev` → `dev`). */
export const branchOf = (ref: string): string => ref.replace(/^refs\/heads\//, '');

function abortable(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(Math.max(0, ms), undefined, abortable(signal));
  } catch (e) {
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : e;
    throw e;
  }
}

export interface ListRunsOptions {
  event?: string;
  status?: string;
  branch?: string;
  perPage?: number;
}

/** Recent runs of the configured workflow, newest first. */
export async function listWorkflowRuns(gh: GitHubClient, opts: ListRunsOptions = {}): Promise<RunInfo[]> {
  const { workflowId } = gh.settings;
  const { data } = await gh.call(`runs of workflow ${workflowId}`, () =>
    gh.octokit.request('GET /repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs', {
      ...gh.repo,
      workflow_id: workflowId,
      per_page: opts.perPage ?? 30,
      ...(opts.event ? { event: opts.event } : {}),
      ...(opts.status ? { status: opts.status as 'success' } : {}),
      ...(opts.branch ? { branch: opts.branch } : {}),
    }),
  );
  return (data.workflow_runs as RawRun[]).map(toRunInfo);
}

export async function getRun(gh: GitHubClient, runId: number): Promise<RunInfo> {
  const { data } = await gh.call(`run ${runId} in ${gh.settings.owner}/${gh.settings.repo}`, () =>
    gh.octokit.request('GET /repos/{owner}/{repo}/actions/runs/{run_id}', { ...gh.repo, run_id: runId }),
  );
  return toRunInfo(data as RawRun);
}

/** `--no-trigger`: the latest successful run of this workflow. */
export async function latestSuccessfulRun(gh: GitHubClient): Promise<RunInfo> {
  const [run] = await listWorkflowRuns(gh, { status: 'success', perPage: 1 });
  if (!run) {
    throw new OperationalError(
      `workflow ${gh.settings.workflowId} in ${gh.settings.owner}/${gh.settings.repo} has no successful run`,
      'run without --no-trigger (or TRIGGER_WORKFLOW=false) to start one',
    );
  }
  return run;
}

export interface DispatchResult {
  runId: number;
  htmlUrl: string;
  /** How the run was identified. */
  via: 'run-details' | 'run-list';
}

export interface DispatchOptions {
  /** How often to look for the new run when the server did not return run details (s). */
  pollIntervalSec: number;
  /** How long to look for it (s, default 120). */
  findTimeoutSec?: number;
  /** Tolerated difference between this machine's clock and GitHub's (ms, default 60 s). */
  clockSkewMs?: number;
}

/**
 * Dispatch the workflow and identify its run: from the response when the server returns run
 * details (200), otherwise (204, older servers) the `workflow_dispatch` run on the ref that was
 * absent before the dispatch and created after it.
 */
export async function dispatchRun(gh: GitHubClient, prepared: PreparedDispatch, opts: DispatchOptions): Promise<DispatchResult> {
  const { workflowId, owner, repo } = gh.settings;
  const branch = branchOf(prepared.ref);
  const before = new Set((await listWorkflowRuns(gh, { event: 'workflow_dispatch', perPage: 50 })).map((r) => r.id));
  const dispatchedAt = Date.now();
  const what = `the dispatch of ${prepared.workflow.path} on ${prepared.ref} in ${owner}/${repo}`;
  const post = (details: boolean) =>
    gh.octokit.request('POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches', {
      ...gh.repo,
      workflow_id: workflowId,
      ref: prepared.ref,
      inputs: prepared.inputs,
      ...(details ? { return_run_details: true } : {}),
    });
  const res = await gh.call(what, async () => {
    try {
      return await post(true);
    } catch (e) {
      // A server that predates return_run_details may reject the parameter: send it without.
      if ((statusOf(e) === 422 || statusOf(e) === 400) && /return_run_details/i.test(String((e as Error).message))) return post(false);
      throw e;
    }
  });
  const data = res.data as { workflow_run_id?: number; html_url?: string } | undefined;
  if (res.status === 200 && data && typeof data.workflow_run_id === 'number') {
    return {
      runId: data.workflow_run_id,
      htmlUrl: data.html_url ?? `https://github.com/${owner}/${repo}/actions/runs/${data.workflow_run_id}`,
      via: 'run-details',
    };
  }

  // 204: look for the new run.
  const skew = opts.clockSkewMs ?? 60_000;
  const deadline = Date.now() + (opts.findTimeoutSec ?? 120) * 1000;
  const everyMs = Math.min(opts.pollIntervalSec, 3) * 1000;
  gh.io.debug('dispatch answered without run details; looking for the new run');
  for (;;) {
    const runs = await listWorkflowRuns(gh, { event: 'workflow_dispatch', perPage: 50 });
    const fresh = runs
      .filter((r) => !before.has(r.id) && Date.parse(r.createdAt) >= dispatchedAt - skew && (r.headBranch === '' || r.headBranch === branch))
      .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.id - b.id);
    const run = fresh[0];
    if (run) return { runId: run.id, htmlUrl: run.htmlUrl, via: 'run-list' };
    if (Date.now() >= deadline) {
      throw new OperationalError(
        `the workflow was dispatched but its run did not appear within ${opts.findTimeoutSec ?? 120} s`,
        `look at ${prepared.workflow.htmlUrl || `https://github.com/${owner}/${repo}/actions`} and harvest the run later with: cookie-pool refresh --run-id <id>`,
      );
    }
    await pause(everyMs, gh.signal);
  }
}

interface RawJob {
  name: string;
  status: string;
  conclusion: string | null;
  steps?: { name: string; status: string; conclusion: string | null; number: number }[];
}

/** A conditional GET: sends If-None-Match with the last ETag, reuses the cached body on 304. */
export class Conditional<T> {
  etag: string | undefined;
  data: T | undefined;
  /** Responses that carried a body (not 304). */
  full = 0;
  notModified = 0;

  async get(gh: GitHubClient, what: string, route: string, params: Record<string, unknown>): Promise<{ data: T; changed: boolean }> {
    return gh.call(what, async () => {
      try {
        const res = await gh.octokit.request(route, {
          ...params,
          headers: this.etag && this.data !== undefined ? { 'if-none-match': this.etag } : {},
        });
        this.full++;
        this.etag = typeof res.headers.etag === 'string' ? res.headers.etag : undefined;
        this.data = res.data as T;
        return { data: this.data, changed: true };
      } catch (e) {
        if (statusOf(e) === 304 && this.data !== undefined) {
          this.notModified++;
          return { data: this.data, changed: false };
        }
        throw e;
      }
    });
  }
}

function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  const m = Math.floor(s / 60);
  return m ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

/** `run 42 in_progress · job "build" · step 4/9 "Run script"` */
export function describeProgress(run: RunInfo, jobs: RawJob[] | undefined): string {
  let text = `run ${run.id}: ${run.status.replace(/_/g, ' ')}`;
  const job = jobs?.find((j) => j.status === 'in_progress') ?? jobs?.find((j) => j.status === 'queued');
  if (job) {
    text += ` · job "${job.name}"`;
    const steps = job.steps ?? [];
    const step = steps.find((s) => s.status === 'in_progress') ?? steps.find((s) => s.status === 'queued' || s.status === 'pending');
    if (step) text += ` · step ${steps.indexOf(step) + 1}/${steps.length} "${step.name}"`;
  }
  return text;
}

export interface WaitOptions {
  timeoutMin: number;
  pollIntervalSec: number;
}

export interface WaitStats {
  polls: number;
  /** Requests answered with a body (counted against the rate limit). */
  fullResponses: number;
  notModified: number;
}

/**
 * Wait until the run completes. Resolves with the run when it succeeded; a failed, cancelled or
 * timed-out run (or our own timeout) is an OperationalError (exit 1) with the conclusion and URL.
 */
export async function waitForRun(gh: GitHubClient, runId: number, opts: WaitOptions, stats?: WaitStats): Promise<RunInfo> {
  const { io } = gh;
  const started = Date.now();
  const deadline = started + opts.timeoutMin * 60_000;
  const pollMs = opts.pollIntervalSec * 1000;
  const runReq = new Conditional<RawRun>();
  const jobsReq = new Conditional<{ jobs: RawJob[] }>();
  const progress = io.statusLine();
  const what = `run ${runId} in ${gh.settings.owner}/${gh.settings.repo}`;
  let run: RunInfo | undefined;
  try {
    for (;;) {
      const { data } = await runReq.get(gh, what, 'GET /repos/{owner}/{repo}/actions/runs/{run_id}', { ...gh.repo, run_id: runId });
      run = toRunInfo(data);
      if (stats) stats.polls++;
      if (run.status === 'completed') break;
      let jobs: RawJob[] | undefined;
      if (run.status === 'in_progress') {
        jobs = (
          await jobsReq.get(gh, `jobs of ${what}`, 'GET /repos/{owner}/{repo}/actions/runs/{run_id}/jobs', {
            ...gh.repo,
            run_id: runId,
            per_page: 100,
          })
        ).data.jobs;
      }
      if (stats) {
        stats.fullResponses = runReq.full + jobsReq.full;
        stats.notModified = runReq.notModified + jobsReq.notModified;
      }
      progress.update(describeProgress(run, jobs), ` (${formatDuration(Date.now() - started)})`);
      const left = deadline - Date.now();
      if (left <= 0) {
        progress.done();
        throw new OperationalError(
          `run ${runId} did not complete within ${opts.timeoutMin} min (still ${run.status.replace(/_/g, ' ')}): ${run.htmlUrl}`,
          `it keeps running on GitHub; harvest it later with: cookie-pool refresh --run-id ${runId}`,
        );
      }
      await pause(Math.min(pollMs, left), gh.signal);
    }
  } finally {
    progress.done();
    if (stats) {
      stats.fullResponses = runReq.full + jobsReq.full;
      stats.notModified = runReq.notModified + jobsReq.notModified;
    }
  }
  assertSucceeded(run);
  io.info(`run ${run.id} completed: ${run.conclusion} (${formatDuration(Date.now() - started)})`);
  return run;
}

/** A completed run that did not succeed is an OperationalError naming its conclusion and URL. */
export function assertSucceeded(run: RunInfo): void {
  if (run.status !== 'completed') return;
  if (run.conclusion !== 'success') {
    throw new OperationalError(
      `run ${run.id} ended with conclusion "${run.conclusion ?? 'unknown'}": ${run.htmlUrl}`,
      'open the run on GitHub to see its log',
    );
  }
}
