/**
 * The fake GitHub server, exercised through the REAL octokit client (@octokit/core + rest endpoint methods,
 * plus the retry and throttling plugins), so that tests built on it see what the real API would answer.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import AdmZip from 'adm-zip';
import { parse as parseYaml } from 'yaml';
import { Octokit } from '@octokit/core';
import { restEndpointMethods } from '@octokit/plugin-rest-endpoint-methods';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import {
  FakeGitHub,
  buildAbsolutePathZip,
  buildManyEntriesZip,
  buildRawZip,
  buildSymlinkZip,
  buildZip,
  buildZipBomb,
  buildZipSlip,
  cursorRegisterFiles,
  forkWorkflowYaml,
  parseWorkflow,
  type FakeRun,
} from './fake-github.js';
import { makeCookie } from './helpers/cookies.js';

const TOKEN = 'ghp_testtoken123456';
const UPSTREAM = readFileSync(new URL('./fixtures/cursor_register.upstream.yml', import.meta.url), 'utf8');
const RestOctokit = Octokit.plugin(restEndpointMethods);
const RobustOctokit = Octokit.plugin(restEndpointMethods, retry, throttling);

type Rest = InstanceType<typeof RestOctokit>;
const client = (gh: FakeGitHub, token = TOKEN): Rest => new RestOctokit({ auth: token, baseUrl: gh.apiUrl });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, stepMs = 15): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(stepMs);
  }
}
/** The status of a failed octokit call (RequestError). */
async function statusOf(p: Promise<unknown>): Promise<{ status: number; message: string; headers: Record<string, string | undefined> }> {
  try {
    await p;
  } catch (e) {
    const err = e as { status: number; message: string; response?: { headers: Record<string, string | undefined> } };
    return { status: err.status, message: err.message, headers: err.response?.headers ?? {} };
  }
  throw new Error('expected the request to fail');
}

const repo = { owner: 'acme', repo: 'Cursor-Register' };
const wf = { ...repo, workflow_id: 'cursor_register.yml' };

describe('fake GitHub: auth, repository, contents, workflow', () => {
  let gh: FakeGitHub;
  beforeAll(async () => {
    gh = await FakeGitHub.start({ scopes: 'repo, workflow', login: 'acme-bot' });
  });
  afterAll(() => gh.close());

  it('rejects a wrong token with 401 Bad credentials and a missing one with 401', async () => {
    const bad = await statusOf(client(gh, 'ghp_wrong').rest.users.getAuthenticated());
    expect(bad.status).toBe(401);
    expect(bad.message).toContain('Bad credentials');
    const none = await statusOf(new RestOctokit({ baseUrl: gh.apiUrl }).rest.repos.get(repo));
    expect(none.status).toBe(401);
    expect(none.message).toContain('Requires authentication');
  });

  it('accepts `token X` and `Bearer X`, reports scopes and rate-limit headers', async () => {
    const me = await client(gh).rest.users.getAuthenticated();
    expect(me.data.login).toBe('acme-bot');
    expect(me.headers['x-oauth-scopes']).toBe('repo, workflow');
    const first = Number(me.headers['x-ratelimit-remaining']);
    expect(me.headers['x-ratelimit-limit']).toBe('5000');
    expect(Number(me.headers['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
    const bearer = await fetch(`${gh.apiUrl}/user`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    expect(Number(bearer.headers.get('x-ratelimit-remaining'))).toBe(first - 1);
    expect(gh.requestsTo(/^\/user$/).at(-1)?.headers['authorization']).toBe(`Bearer ${TOKEN}`);
  });

  it('serves the repository (default branch) and 404s other repositories', async () => {
    const r = await client(gh).rest.repos.get(repo);
    expect(r.data.default_branch).toBe('main');
    expect(r.data.full_name).toBe('acme/Cursor-Register');
    expect((await statusOf(client(gh).rest.repos.get({ owner: 'acme', repo: 'other' }))).status).toBe(404);
  });

  it('hides repositories from a token without the repo scope (404, as for a private repo)', async () => {
    const weak = await FakeGitHub.start({ scopes: 'read:user' });
    try {
      const e = await statusOf(client(weak).rest.repos.get(repo));
      expect(e.status).toBe(404);
      expect((await client(weak).rest.users.getAuthenticated()).headers['x-oauth-scopes']).toBe('read:user');
    } finally {
      await weak.close();
    }
  });

  it('serves the workflow YAML through the contents API (base64), also raw and per ref', async () => {
    const c = await client(gh).rest.repos.getContent({ ...repo, path: '.github/workflows/cursor_register.yml', ref: 'main' });
    const data = c.data as { type: string; encoding: string; content: string; sha: string; path: string };
    expect(data.type).toBe('file');
    expect(data.encoding).toBe('base64');
    expect(data.path).toBe('.github/workflows/cursor_register.yml');
    expect(data.sha).toMatch(/^[0-9a-f]{40}$/);
    const yaml = Buffer.from(data.content, 'base64').toString('utf8');
    expect(yaml).toBe(UPSTREAM);
    const inputs = (parseYaml(yaml) as { on: { workflow_dispatch: { inputs: Record<string, unknown> } } }).on.workflow_dispatch.inputs;
    expect(Object.keys(inputs)).toEqual(['number', 'max_workers', 'email_server', 'ingest_to_oneapi', 'upload_artifact']);

    const raw = await client(gh).request('GET /repos/{owner}/{repo}/contents/{path}', {
      ...repo,
      path: '.github/workflows/cursor_register.yml',
      headers: { accept: 'application/vnd.github.raw+json' },
    });
    expect(String(raw.data)).toBe(UPSTREAM);
    await client(gh).rest.repos.getContent({ ...repo, path: '.github/workflows/cursor_register.yml', ref: 'dev' });
    expect((await statusOf(client(gh).rest.repos.getContent({ ...repo, path: '.github/workflows/cursor_register.yml', ref: 'nope' }))).status).toBe(404);
    expect((await statusOf(client(gh).rest.repos.getContent({ ...repo, path: '.github/workflows/other.yml' }))).status).toBe(404);
  });

  it('serves the workflow by file name and by numeric id', async () => {
    const byFile = await client(gh).rest.actions.getWorkflow(wf);
    expect(byFile.data).toMatchObject({ id: gh.workflowId, name: 'Cursor Register', path: '.github/workflows/cursor_register.yml', state: 'active' });
    const byId = await client(gh).rest.actions.getWorkflow({ ...repo, workflow_id: gh.workflowId });
    expect(byId.data.id).toBe(gh.workflowId);
    expect((await statusOf(client(gh).rest.actions.getWorkflow({ ...repo, workflow_id: 'nope.yml' }))).status).toBe(404);
  });
});

describe('fake GitHub: dispatch', () => {
  let gh: FakeGitHub;
  beforeAll(async () => {
    gh = await FakeGitHub.start({ runTimeline: { queuedMs: 50, inProgressMs: 100 } });
  });
  afterAll(() => gh.close());

  it('answers 200 with run details when return_run_details is true', async () => {
    const before = gh.runs.length;
    const r = await client(gh).rest.actions.createWorkflowDispatch({
      ...wf,
      ref: 'main',
      inputs: { number: '3', email_server: 'TempEmail', upload_artifact: true },
      return_run_details: true,
    } as Parameters<Rest['rest']['actions']['createWorkflowDispatch']>[0]);
    expect(r.status).toBe(200);
    const data = r.data as unknown as { workflow_run_id: number; run_url: string; html_url: string };
    expect(gh.runs.length).toBe(before + 1);
    const run = gh.run(data.workflow_run_id)!;
    expect(run).toBeDefined();
    expect(data.run_url).toBe(`${gh.apiUrl}/repos/acme/Cursor-Register/actions/runs/${run.id}`);
    expect(data.html_url).toBe(`https://github.com/acme/Cursor-Register/actions/runs/${run.id}`);
    expect(run.event).toBe('workflow_dispatch');
    expect(run.head_branch).toBe('main');
    expect(run.inputs).toMatchObject({ number: '3', email_server: 'TempEmail', upload_artifact: 'true', ingest_to_oneapi: 'false', max_workers: '1' });
    expect(gh.dispatches.at(-1)).toMatchObject({ ref: 'main', inputs: { number: '3', email_server: 'TempEmail', upload_artifact: true }, runId: run.id });
    const fetched = await client(gh).rest.actions.getWorkflowRun({ ...repo, run_id: run.id });
    expect(fetched.data.id).toBe(run.id);
    expect(Number.isSafeInteger(fetched.data.id) && fetched.data.id > 2 ** 32).toBe(true);
  });

  it('answers 204 without return_run_details; the run is found among workflow_dispatch runs', async () => {
    const since = new Date(Date.now() - 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const r = await client(gh).rest.actions.createWorkflowDispatch({ ...wf, ref: 'dev', inputs: { email_server: 'IMAP' } });
    expect(r.status).toBe(204);
    expect(r.data || undefined).toBeUndefined(); // no body
    const runs = await client(gh).rest.actions.listWorkflowRuns({ ...wf, event: 'workflow_dispatch', branch: 'dev', created: `>=${since}`, per_page: 10 });
    expect(runs.data.total_count).toBe(1);
    expect(runs.data.workflow_runs[0]!.id).toBe(gh.dispatches.at(-1)!.runId);
    expect(runs.data.workflow_runs[0]!.head_branch).toBe('dev');
  });

  it('answers 204 from a server without the feature, and 422 from one that rejects the parameter', async () => {
    gh.options.returnRunDetails = false;
    try {
      const r = await client(gh).request('POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches', { ...wf, ref: 'main', return_run_details: true });
      expect(r.status).toBe(204);
      gh.options.returnRunDetails = 'reject';
      const n = gh.runs.length;
      const e = await statusOf(client(gh).request('POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches', { ...wf, ref: 'main', return_run_details: true }));
      expect(e.status).toBe(422);
      expect(e.message).toContain('"return_run_details" is not a permitted key');
      expect(gh.runs.length).toBe(n);
    } finally {
      gh.options.returnRunDetails = true;
    }
  });

  it('keeps a 204-dispatched run out of listings until runListDelayMs passed', async () => {
    gh.options.runListDelayMs = 250;
    try {
      await client(gh).rest.actions.createWorkflowDispatch({ ...wf, ref: 'main' });
      const id = gh.dispatches.at(-1)!.runId;
      const early = await client(gh).rest.actions.listWorkflowRuns({ ...wf, event: 'workflow_dispatch' });
      expect(early.data.workflow_runs.map((r) => r.id)).not.toContain(id);
      expect((await statusOf(client(gh).rest.actions.getWorkflowRun({ ...repo, run_id: id }))).status).toBe(404);
      const later = await until(async () => {
        const l = await client(gh).rest.actions.listWorkflowRuns({ ...wf, event: 'workflow_dispatch' });
        return l.data.workflow_runs.some((r) => r.id === id) ? l : undefined;
      });
      expect(later.data.workflow_runs[0]!.id).toBe(id); // newest first
    } finally {
      gh.options.runListDelayMs = 0;
    }
  });

  const rejects: [string, Record<string, unknown>, string, string][] = [
    ['an undeclared input', { foo: 'bar', number: '2' }, 'main', 'Unexpected inputs provided: ["foo"]'],
    ['a choice outside the options', { email_server: 'Gmail' }, 'main', "Provided value 'Gmail' for input 'email_server' not in the list of allowed values"],
    ['a non-boolean for a boolean', { upload_artifact: 'yes' }, 'main', "Provided value 'yes' for input 'upload_artifact' not in the list of allowed values"],
    ['a non-number for a number', { number: 'many' }, 'main', "Provided value 'many' for input 'number' is not a valid number"],
    ['an object value', { number: { n: 1 } }, 'main', "For 'properties/number'"],
    ['an unknown ref', {}, 'feature-x', 'No ref found for: feature-x'],
  ];
  it.each(rejects)('answers 422 for %s and creates no run', async (_what, inputs, ref, message) => {
    const n = gh.runs.length;
    const d = gh.dispatches.length;
    const e = await statusOf(client(gh).rest.actions.createWorkflowDispatch({ ...wf, ref, inputs }));
    expect(e.status).toBe(422);
    expect(e.message).toContain(message);
    expect(gh.runs.length).toBe(n);
    expect(gh.dispatches.length).toBe(d);
  });

  it('answers 422 for a missing required input, a disabled workflow, and a workflow without workflow_dispatch', async () => {
    const yaml = `name: Req\non:\n  workflow_dispatch:\n    inputs:\n      who:\n        required: true\n        type: string\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo hi\n`;
    const g = await FakeGitHub.start({ workflowYaml: yaml, workflowState: 'disabled_manually' });
    try {
      const disabled = await statusOf(client(g).rest.actions.createWorkflowDispatch({ ...wf, ref: 'main', inputs: { who: 'x' } }));
      expect(disabled.status).toBe(422);
      expect(disabled.message).toContain("Cannot trigger a 'workflow_dispatch' on a disabled workflow");
      expect((await client(g).rest.actions.getWorkflow(wf)).data.state).toBe('disabled_manually');
      await client(g).rest.actions.enableWorkflow(wf);
      const missing = await statusOf(client(g).rest.actions.createWorkflowDispatch({ ...wf, ref: 'main' }));
      expect(missing.status).toBe(422);
      expect(missing.message).toContain("Required input 'who' not provided");
      const ok = await client(g).rest.actions.createWorkflowDispatch({ ...wf, ref: 'refs/heads/main', inputs: { who: 'x' } });
      expect(ok.status).toBe(204);
      g.options.workflowYaml = 'name: Push only\non: push\njobs: {}\n';
      const noTrigger = await statusOf(client(g).rest.actions.createWorkflowDispatch({ ...wf, ref: 'main' }));
      expect(noTrigger.status).toBe(422);
      expect(noTrigger.message).toContain("Workflow does not have 'workflow_dispatch' trigger");
    } finally {
      await g.close();
    }
  });

  it('accepts the fork workflow (same inputs) and ignores its descriptions', async () => {
    const g = await FakeGitHub.start({ workflowYaml: forkWorkflowYaml() });
    try {
      expect(g.workflow.inputs.map((i) => i.name)).toEqual(['number', 'max_workers', 'email_server', 'ingest_to_oneapi', 'upload_artifact']);
      const r = await client(g).rest.actions.createWorkflowDispatch({ ...wf, ref: 'main', inputs: { number: 5, email_server: 'IMAP', ingest_to_oneapi: false } });
      expect(r.status).toBe(204);
      expect(g.lastRun!.inputs).toMatchObject({ number: '5', email_server: 'IMAP', ingest_to_oneapi: 'false' });
      const steps = g.lastRun!.jobs[0]!.steps;
      expect(steps.find((s) => s.name === '[IMAP] Update email configuration')?.planned).toBe('success');
      expect(steps.find((s) => s.name === '[TempEmail][CSV] Run script')?.planned).toBe('skipped');
    } finally {
      await g.close();
    }
  });
});

describe('fake GitHub: runs, jobs, ETags', () => {
  let gh: FakeGitHub;
  beforeAll(async () => {
    gh = await FakeGitHub.start({ runTimeline: { queuedMs: 250, inProgressMs: 600 } });
  });
  afterAll(() => gh.close());

  async function dispatch(inputs: Record<string, unknown> = { email_server: 'TempEmail' }): Promise<FakeRun> {
    const r = await client(gh).request('POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches', { ...wf, ref: 'main', inputs, return_run_details: true });
    return gh.run((r.data as { workflow_run_id: number }).workflow_run_id)!;
  }

  it('moves a run queued → in_progress → completed with jobs and steps advancing', async () => {
    const run = await dispatch();
    const statuses: string[] = [];
    const currentSteps = new Set<string>();
    let lastJobs: Awaited<ReturnType<Rest['rest']['actions']['listJobsForWorkflowRun']>>['data'] | undefined;
    let queuedJob: unknown;
    await until(async () => {
      const r = await client(gh).rest.actions.getWorkflowRun({ ...repo, run_id: run.id });
      if (statuses.at(-1) !== r.data.status) statuses.push(r.data.status!);
      const jobs = await client(gh).rest.actions.listJobsForWorkflowRun({ ...repo, run_id: run.id });
      lastJobs = jobs.data;
      if (r.data.status === 'queued' && queuedJob === undefined) queuedJob = jobs.data.jobs[0];
      const current = jobs.data.jobs[0]?.steps?.find((s) => s.status === 'in_progress');
      if (current) currentSteps.add(current.name);
      return r.data.status === 'completed' ? r.data : undefined;
    });
    expect(statuses[0]).toBe('queued');
    if (queuedJob !== undefined) expect(queuedJob).toMatchObject({ status: 'queued', conclusion: null, steps: [] });
    expect(statuses).toContain('in_progress');
    expect(statuses.at(-1)).toBe('completed');
    expect(statuses).toEqual([...new Set(statuses)]); // never goes back
    expect(currentSteps.size).toBeGreaterThan(1); // progress visible step by step
    const job = lastJobs!.jobs[0]!;
    expect(job).toMatchObject({ name: 'build', status: 'completed', conclusion: 'success', labels: ['windows-latest'] });
    const steps = job.steps!;
    expect(steps[0]!.name).toBe('Set up job');
    expect(steps.at(-1)!.name).toBe('Complete job');
    expect(steps.every((s) => s.status === 'completed')).toBe(true);
    expect(steps.find((s) => s.name === '[TempEmail][CSV] Run script')?.conclusion).toBe('success');
    expect(steps.find((s) => s.name === '[IMAP][CSV] Run script')?.conclusion).toBe('skipped');
    expect(steps.find((s) => s.name === 'Upload csv files to artifact')?.conclusion).toBe('success');
    expect(steps.find((s) => s.name === 'Run actions/checkout@v3')).toBeDefined();
    const final = await client(gh).rest.actions.getWorkflowRun({ ...repo, run_id: run.id });
    expect(final.data).toMatchObject({ status: 'completed', conclusion: 'success', event: 'workflow_dispatch', html_url: run.html_url, run_started_at: run.created_at });
  });

  it('answers 304 to If-None-Match while the run is unchanged; ETags change exactly when the JSON changes', async () => {
    const run = await dispatch();
    const bodyByEtag = new Map<string, string>();
    let etag: string | undefined;
    let notModified = 0;
    let remainingAt304: string | undefined;
    let remainingBefore: string | undefined;
    await until(async () => {
      const res = await fetch(`${gh.apiUrl}/repos/acme/Cursor-Register/actions/runs/${run.id}`, {
        headers: { authorization: `token ${TOKEN}`, ...(etag ? { 'if-none-match': etag } : {}) },
      });
      if (res.status === 304) {
        notModified += 1;
        expect(await res.text()).toBe('');
        expect(res.headers.get('etag')).toBe(etag);
        remainingAt304 = res.headers.get('x-ratelimit-remaining') ?? undefined;
        return undefined;
      }
      expect(res.status).toBe(200);
      const text = await res.text();
      const tag = res.headers.get('etag')!;
      expect(tag).toMatch(/^W\/"[0-9a-f]{64}"$/);
      // One ETag ↔ one body.
      if (bodyByEtag.has(tag)) expect(bodyByEtag.get(tag)).toBe(text);
      for (const [t, b] of bodyByEtag) if (b === text) expect(t).toBe(tag);
      bodyByEtag.set(tag, text);
      etag = tag;
      remainingBefore = res.headers.get('x-ratelimit-remaining') ?? undefined;
      return (JSON.parse(text) as { status: string }).status === 'completed' ? true : undefined;
    });
    expect(notModified).toBeGreaterThan(0);
    // 304s are not counted against the rate limit: remaining stays where the last 200 left it.
    expect(remainingAt304).toBeDefined();
    expect(bodyByEtag.size).toBe(3); // queued, in_progress, completed
    expect(remainingBefore).toBeDefined();

    // Through octokit: a 304 surfaces as a RequestError with status 304.
    const r = await client(gh).rest.actions.getWorkflowRun({ ...repo, run_id: run.id });
    const e = await statusOf(client(gh).rest.actions.getWorkflowRun({ ...repo, run_id: run.id, headers: { 'if-none-match': r.headers.etag! } }));
    expect(e.status).toBe(304);
    expect(e.headers['x-ratelimit-remaining']).toBe(r.headers['x-ratelimit-remaining']);
    const rec = gh.requestsTo(new RegExp(`/actions/runs/${run.id}$`)).at(-1)!;
    expect(rec.status).toBe(304);
  });

  it('lists runs newest first with filters, pagination and completed runs added by the test', async () => {
    const old = gh.addCompletedRun({ conclusion: 'failure', createdAt: Date.now() - 3 * 3600_000 });
    const good = gh.addCompletedRun({ conclusion: 'success', createdAt: Date.now() - 2 * 3600_000 });
    const sched = gh.addCompletedRun({ conclusion: 'success', event: 'schedule', createdAt: Date.now() - 3600_000 });
    expect(old.status).toBe('completed');
    const ok = await client(gh).rest.actions.listWorkflowRuns({ ...wf, status: 'success', event: 'workflow_dispatch', per_page: 100 });
    const ids = ok.data.workflow_runs.map((r) => r.id);
    expect(ids).toContain(good.id);
    expect(ids).not.toContain(old.id);
    expect(ids).not.toContain(sched.id);
    const times = ok.data.workflow_runs.map((r) => Date.parse(r.created_at));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const failed = await client(gh).rest.actions.listWorkflowRuns({ ...wf, status: 'failure' });
    expect(failed.data.workflow_runs.map((r) => r.id)).toEqual([old.id]);
    const page1 = await client(gh).rest.actions.listWorkflowRuns({ ...wf, per_page: 2 });
    expect(page1.data.workflow_runs).toHaveLength(2);
    expect(page1.data.total_count).toBe(gh.runs.length);
    expect(page1.headers.link).toContain('rel="next"');
    const window = `${new Date(Date.now() - 2.5 * 3600_000).toISOString()}..${new Date(Date.now() - 1.5 * 3600_000).toISOString()}`;
    const inWindow = await client(gh).rest.actions.listWorkflowRuns({ ...wf, created: window });
    expect(inWindow.data.workflow_runs.map((r) => r.id)).toEqual([good.id]);
  });

  it('cancels an in-progress run: completed/cancelled with the current step cancelled', async () => {
    const run = await dispatch();
    await until(() => (run.status === 'in_progress' ? true : undefined));
    const c = await client(gh).rest.actions.cancelWorkflowRun({ ...repo, run_id: run.id });
    expect(c.status).toBe(202);
    const done = await until(async () => {
      const r = await client(gh).rest.actions.getWorkflowRun({ ...repo, run_id: run.id });
      return r.data.status === 'completed' ? r.data : undefined;
    });
    expect(done.conclusion).toBe('cancelled');
    const jobs = await client(gh).rest.actions.listJobsForWorkflowRun({ ...repo, run_id: run.id });
    const steps = jobs.data.jobs[0]!.steps!;
    expect(jobs.data.jobs[0]!.conclusion).toBe('cancelled');
    expect(steps.filter((s) => s.conclusion === 'cancelled')).toHaveLength(1);
    expect(steps.every((s) => s.status === 'completed')).toBe(true);
    expect((await statusOf(client(gh).rest.actions.cancelWorkflowRun({ ...repo, run_id: run.id }))).status).toBe(409);
    const arts = await client(gh).rest.actions.listWorkflowRunArtifacts({ ...repo, run_id: run.id });
    expect(arts.data.total_count).toBe(0);
  });

  it('fails a run as configured: the script step fails, later steps are skipped, no artifact', async () => {
    gh.options.conclusion = 'failure';
    try {
      const run = await dispatch();
      gh.finishRun(run.id);
      const r = await client(gh).rest.actions.getWorkflowRun({ ...repo, run_id: run.id });
      expect(r.data).toMatchObject({ status: 'completed', conclusion: 'failure' });
      const jobs = await client(gh).rest.actions.listJobsForWorkflowRun({ ...repo, run_id: run.id });
      expect(jobs.data.jobs[0]!.conclusion).toBe('failure');
      const failed = jobs.data.jobs[0]!.steps!.filter((s) => s.conclusion === 'failure');
      expect(failed).toHaveLength(1);
      expect(run.artifacts).toHaveLength(0);
    } finally {
      gh.options.conclusion = 'success';
    }
  });
});

describe('fake GitHub: artifacts and storage', () => {
  let gh: FakeGitHub;
  beforeAll(async () => {
    gh = await FakeGitHub.start({ runTimeline: { queuedMs: 20, inProgressMs: 60 }, artifactDelayListings: 2 });
  });
  afterAll(() => gh.close());

  async function completedRun(inputs: Record<string, unknown> = { number: '3' }): Promise<FakeRun> {
    await client(gh).rest.actions.createWorkflowDispatch({ ...wf, ref: 'main', inputs });
    const run = gh.lastRun!;
    await until(() => (run.status === 'completed' ? true : undefined));
    return run;
  }

  it('lists no artifacts before completion nor for the first N listings after it', async () => {
    await client(gh).rest.actions.createWorkflowDispatch({ ...wf, ref: 'main', inputs: { number: '3' } });
    const run = gh.lastRun!;
    const before = await client(gh).rest.actions.listWorkflowRunArtifacts({ ...repo, run_id: run.id });
    if (run.status !== 'completed') expect(before.data.total_count).toBe(0);
    await until(() => (run.status === 'completed' ? true : undefined));
    const seen: number[] = [];
    for (let i = 0; i < 3; i++) seen.push((await client(gh).rest.actions.listWorkflowRunArtifacts({ ...repo, run_id: run.id })).data.total_count);
    expect(seen.slice(-3)).toEqual([0, 0, 1].slice(3 - seen.length));
    const list = await client(gh).rest.actions.listWorkflowRunArtifacts({ ...repo, run_id: run.id });
    const a = list.data.artifacts[0]!;
    expect(a).toMatchObject({ name: 'Account Info', expired: false, archive_download_url: `${gh.apiUrl}/repos/acme/Cursor-Register/actions/artifacts/${a.id}/zip` });
    expect(a.size_in_bytes).toBe(run.artifacts[0]!.zip.length);
    expect(run.cookies).toHaveLength(3);
  });

  it('redirects downloads to storage, which serves the zip without Authorization and answers 400 with it', async () => {
    const run = await completedRun({ number: '2' });
    const art = run.artifacts[0]!;
    const r = await client(gh).rest.actions.downloadArtifact({ ...repo, artifact_id: art.id, archive_format: 'zip', request: { redirect: 'manual' } });
    expect(r.status).toBe(302);
    const location = r.headers.location!;
    expect(location.startsWith(`${gh.storageUrl}/blob/${art.id}/`)).toBe(true);
    expect(new URL(location).origin).not.toBe(new URL(gh.apiUrl).origin);

    const withAuth = await fetch(location, { headers: { authorization: `token ${TOKEN}` } });
    expect(withAuth.status).toBe(400);
    expect(await withAuth.text()).toContain('InvalidAuthenticationInfo');

    const plain = await fetch(location);
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('application/zip');
    const zip = new AdmZip(Buffer.from(await plain.arrayBuffer()));
    const names = zip.getEntries().map((e) => e.entryName).sort();
    expect(names).toHaveLength(2);
    expect(names[0]).toMatch(/^output_.*\.csv$/);
    expect(names[1]).toMatch(/^token_.*\.csv$/);
    const tokens = zip.readAsText(names[1]!);
    expect(tokens).toBe(run.cookies.map((c) => `${c}\r\n`).join(''));
    expect(zip.readAsText(names[0]!).split('\r\n').filter(Boolean).map((l) => l.split(',')[1])).toEqual(run.cookies);
    expect(art.downloads).toBe(1);

    const storageHits = gh.requests.filter((q) => q.host === 'storage');
    expect(storageHits.map((q) => q.status)).toEqual([400, 200]);
    expect(storageHits[0]!.headers['authorization']).toBeDefined();
    expect(storageHits[1]!.headers['authorization']).toBeUndefined();

    // A tampered or expired signature is refused.
    const tampered = new URL(location);
    tampered.searchParams.set('sig', '0'.repeat(64));
    expect((await fetch(tampered)).status).toBe(403);
  });

  it('lets octokit follow the redirect itself: fetch drops Authorization across origins, so storage answers 200', async () => {
    const run = await completedRun({ number: '1' });
    const art = run.artifacts[0]!;
    gh.clearRequests();
    const r = await client(gh).rest.actions.downloadArtifact({ ...repo, artifact_id: art.id, archive_format: 'zip' });
    expect(r.status).toBe(200);
    expect(Buffer.from(r.data as ArrayBuffer).equals(art.zip)).toBe(true);
    const hit = gh.requests.find((q) => q.host === 'storage')!;
    expect(hit.status).toBe(200);
    expect(hit.headers['authorization']).toBeUndefined();
  });

  it('answers 410 for an expired artifact and lists it as expired', async () => {
    const run = gh.addCompletedRun({ artifacts: [{ name: 'Account Info', files: { 'token_x.csv': 'a\r\n' }, expired: true }] });
    const list = await client(gh).rest.actions.listWorkflowRunArtifacts({ ...repo, run_id: run.id });
    expect(list.data.artifacts[0]!.expired).toBe(true);
    const e = await statusOf(client(gh).rest.actions.downloadArtifact({ ...repo, artifact_id: run.artifacts[0]!.id, archive_format: 'zip', request: { redirect: 'manual' } }));
    expect(e.status).toBe(410);
    expect(e.message).toContain('Artifact has expired');
  });

  it('expires signed storage URLs', async () => {
    const g = await FakeGitHub.start({ storageUrlTtlSec: -1 });
    try {
      const run = g.addCompletedRun({ artifacts: [{ name: 'Account Info', files: { 'a.csv': 'x' } }] });
      const r = await client(g).rest.actions.downloadArtifact({ ...repo, artifact_id: run.artifacts[0]!.id, archive_format: 'zip', request: { redirect: 'manual' } });
      expect((await fetch(r.headers.location!)).status).toBe(403);
    } finally {
      await g.close();
    }
  });

  it('serves hand-made zips, reported sizes and named artifacts as given', async () => {
    const slip = buildZipSlip();
    const run = gh.addCompletedRun({
      artifacts: [
        { name: 'Account Info', zip: slip },
        { name: 'Huge', files: { 'a.csv': 'x' }, sizeInBytes: 60 * 1024 * 1024 },
      ],
    });
    const list = await client(gh).rest.actions.listWorkflowRunArtifacts({ ...repo, run_id: run.id });
    expect(list.data.artifacts.map((a) => [a.name, a.size_in_bytes])).toEqual([
      ['Account Info', slip.length],
      ['Huge', 60 * 1024 * 1024],
    ]);
    const named = await client(gh).rest.actions.listWorkflowRunArtifacts({ ...repo, run_id: run.id, name: 'Huge' });
    expect(named.data.artifacts.map((a) => a.name)).toEqual(['Huge']);
    const r = await client(gh).rest.actions.downloadArtifact({ ...repo, artifact_id: run.artifacts[0]!.id, archive_format: 'zip' });
    expect(Buffer.from(r.data as ArrayBuffer).equals(slip)).toBe(true);
  });

  it('produces no artifact when the dispatch turned upload_artifact off', async () => {
    const g = await FakeGitHub.start({ runTimeline: { queuedMs: 0, inProgressMs: 0 } });
    try {
      await client(g).rest.actions.createWorkflowDispatch({ ...wf, ref: 'main', inputs: { upload_artifact: false } });
      const list = await client(g).rest.actions.listWorkflowRunArtifacts({ ...repo, run_id: g.lastRun!.id });
      expect(list.data.total_count).toBe(0);
      const jobs = await client(g).rest.actions.listJobsForWorkflowRun({ ...repo, run_id: g.lastRun!.id });
      expect(jobs.data.jobs[0]!.steps!.find((s) => s.name === 'Upload csv files to artifact')?.conclusion).toBe('skipped');
    } finally {
      await g.close();
    }
  });
});

describe('fake GitHub: injected failures and rate limits', () => {
  let gh: FakeGitHub;
  let run: FakeRun;
  beforeAll(async () => {
    gh = await FakeGitHub.start();
    run = gh.addCompletedRun({});
  });
  afterAll(() => gh.close());
  afterEach(() => gh.clearRequests());

  const robust = (onSecondary: (after: number) => boolean = () => true, onPrimary: (after: number) => boolean = () => true) =>
    new RobustOctokit({
      auth: TOKEN,
      baseUrl: gh.apiUrl,
      // plugin-retry would otherwise retry a 429 itself (it is not in its default doNotRetry list), with its
      // own back-off instead of Retry-After: leave 429 to plugin-throttling.
      retry: { retryAfterBaseValue: 5, doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
      throttle: {
        retryAfterBaseValue: 10,
        onSecondaryRateLimit: (after: number) => onSecondary(after),
        onRateLimit: (after: number) => onPrimary(after),
      },
    });

  it('injected 502s fail a plain client and are retried by plugin-retry', async () => {
    gh.failNext({ path: /\/actions\/runs\/\d+$/, status: 502, times: 1 });
    const plain = await statusOf(client(gh).rest.actions.getWorkflowRun({ ...repo, run_id: run.id }));
    expect(plain.status).toBe(502);
    gh.failNext({ path: /\/actions\/runs\/\d+$/, status: 502, times: 2 });
    const r = await robust().rest.actions.getWorkflowRun({ ...repo, run_id: run.id });
    expect(r.data.id).toBe(run.id);
    expect(gh.requestsTo(/\/actions\/runs\/\d+$/).map((q) => q.status)).toEqual([502, 502, 502, 200]);
  });

  it('injected failures can target the storage host and drop connections', async () => {
    gh.failNext({ path: /^\/blob\//, status: 503, host: 'storage' });
    const r = await client(gh).rest.actions.downloadArtifact({ ...repo, artifact_id: run.artifacts[0]!.id, archive_format: 'zip', request: { redirect: 'manual' } });
    expect((await fetch(r.headers.location!)).status).toBe(503);
    expect((await fetch(r.headers.location!)).status).toBe(200);
    gh.failNext({ path: /\/actions\/runs\/\d+$/, reset: true });
    await expect(fetch(`${gh.apiUrl}/repos/acme/Cursor-Register/actions/runs/${run.id}`, { headers: { authorization: `token ${TOKEN}` } })).rejects.toThrow();
  });

  it.each([403, 429] as const)('a secondary rate limit (%i) carries retry-after and is honoured by plugin-throttling', async (status) => {
    gh.rateLimitNext({ path: /\/actions\/runs\/\d+$/, status, retryAfter: 1 });
    const e = await statusOf(client(gh).rest.actions.getWorkflowRun({ ...repo, run_id: run.id }));
    expect(e.status).toBe(status);
    expect(e.message).toMatch(/secondary rate limit/);
    expect(e.headers['retry-after']).toBe('1');

    gh.rateLimitNext({ path: /\/actions\/runs\/\d+$/, status, retryAfter: 2, times: 1 });
    const waits: number[] = [];
    const r = await robust((after) => {
      waits.push(after);
      return true;
    }).rest.actions.getWorkflowRun({ ...repo, run_id: run.id });
    expect(r.data.id).toBe(run.id);
    expect(waits).toEqual([2]);
  });

  it('a primary rate limit sets x-ratelimit-remaining 0 and a reset time', async () => {
    gh.rateLimitNext({ path: /\/actions\/runs\/\d+$/, primary: true, retryAfter: 1 });
    const waits: number[] = [];
    const r = await robust(undefined, (after) => {
      waits.push(after);
      return true;
    }).rest.actions.getWorkflowRun({ ...repo, run_id: run.id });
    expect(r.data.id).toBe(run.id);
    expect(waits).toHaveLength(1);
    const first = gh.requestsTo(/\/actions\/runs\/\d+$/)[0]!;
    expect(first.status).toBe(403);
  });

  it('enforces a real primary limit window when configured small', async () => {
    const g = await FakeGitHub.start({ rateLimit: { limit: 2 } });
    try {
      await client(g).rest.users.getAuthenticated();
      await client(g).rest.users.getAuthenticated();
      const e = await statusOf(client(g).rest.users.getAuthenticated());
      expect(e.status).toBe(403);
      expect(e.headers['x-ratelimit-remaining']).toBe('0');
      expect(e.message).toContain('API rate limit exceeded');
    } finally {
      await g.close();
    }
  });
});

describe('zip builders produce real (malicious) archives', () => {
  it('buildZip makes a normal zip readable by adm-zip', () => {
    const files = cursorRegisterFiles([makeCookie(), makeCookie()]);
    const zip = new AdmZip(buildZip(files));
    for (const [name, text] of Object.entries(files)) expect(zip.readAsText(name)).toBe(text);
    expect(Object.values(files)[0]).toMatch(/\r\n$/);
  });

  it('zip-slip and absolute-path entries keep their names', () => {
    expect(new AdmZip(buildZipSlip()).getEntries().map((e) => e.entryName)).toContain('../x.csv');
    expect(new AdmZip(buildAbsolutePathZip()).getEntries().map((e) => e.entryName)).toContain('/etc/x.csv');
    const nested = buildRawZip([{ name: 'a/../../evil.csv', data: 'x' }, { name: 'dir/' }]);
    expect(new AdmZip(nested).getEntries().map((e) => e.entryName)).toEqual(['a/../../evil.csv', 'dir/']);
  });

  it('a symlink entry has Unix mode 0120777 in its external attributes', () => {
    const entry = new AdmZip(buildSymlinkZip('token_link.csv', '/etc/passwd')).getEntries()[0]!;
    expect(entry.entryName).toBe('token_link.csv');
    expect(entry.header.attr >>> 16).toBe(0o120777);
    expect(((entry.header.attr >>> 16) & 0o170000) === 0o120000).toBe(true);
    expect(entry.header.attr >>> 0).toBe(0xa1ff0000);
    expect(entry.getData().toString()).toBe('/etc/passwd');
  });

  it('many entries', () => {
    expect(new AdmZip(buildManyEntriesZip(1001)).getEntries()).toHaveLength(1001);
  });

  it('a zip bomb inflates for real to the stated size from a tiny archive', async () => {
    const small = buildZipBomb(3 * 1024 * 1024 + 17);
    const e = new AdmZip(small).getEntries()[0]!;
    expect(e.header.size).toBe(3 * 1024 * 1024 + 17);
    expect(e.getData().length).toBe(3 * 1024 * 1024 + 17); // adm-zip checks the CRC

    const size = 201 * 1024 * 1024;
    const bomb = buildZipBomb(size);
    expect(bomb.length).toBeLessThan(size / 500);
    const entry = new AdmZip(bomb).getEntries()[0]!;
    expect(entry.header.size).toBe(size);
    // Inflate the raw entry data by streaming, counting bytes, to prove the size is real.
    const localNameLen = bomb.readUInt16LE(26);
    const compressed = bomb.subarray(30 + localNameLen, 30 + localNameLen + entry.header.compressedSize);
    let total = 0;
    await pipeline(
      async function* () {
        yield compressed;
      },
      zlib.createInflateRaw(),
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          total += chunk.length;
          cb();
        },
      }),
    );
    expect(total).toBe(size);

    const liar = new AdmZip(buildZipBomb(2 * 1024 * 1024, { declaredSize: 1024 })).getEntries()[0]!;
    expect(liar.header.size).toBe(1024);
  });

  it('parseWorkflow reads the upstream inputs', () => {
    const p = parseWorkflow(UPSTREAM);
    expect(p.name).toBe('Cursor Register');
    expect(p.inputs.find((i) => i.name === 'email_server')).toMatchObject({ type: 'choice', options: ['TempEmail', 'IMAP'] });
    expect(p.inputs.find((i) => i.name === 'upload_artifact')).toMatchObject({ type: 'boolean', default: true });
    expect(p.inputs.find((i) => i.name === 'number')).toMatchObject({ type: 'number', default: '2' });
  });
});
