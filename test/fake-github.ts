/**
 * A loopback fake of the GitHub REST API (plain node:http on 127.0.0.1, port 0) plus a second loopback
 * "storage" server that artifact downloads redirect to. Used through the REAL octokit client: point the
 * CLI at it with GITHUB_API_URL=fake.apiUrl.
 *
 * Agreed API: /work/notes/FAKE_GITHUB.md (names listed there are never renamed or removed).
 *
 * Behaviour follows GitHub's REST API (response shapes from @octokit/openapi-types):
 * - auth: `Authorization: token X` / `Bearer X`; wrong token → 401 "Bad credentials", none → 401
 *   "Requires authentication"; X-OAuth-Scopes on authenticated responses; a token whose scopes lack
 *   `repo` sees 404 for repository endpoints (as for a private repository).
 * - every JSON GET carries a weak ETag computed from the exact body, so it changes exactly when the JSON
 *   changes; `If-None-Match` with the current ETag → 304 without a body, not counted against the rate limit.
 * - x-ratelimit-limit/remaining/reset/used/resource on every API response; exhausting the primary limit
 *   answers 403 with x-ratelimit-remaining: 0 until the window resets.
 * - workflow_dispatch validation from the workflow YAML (parsed with `yaml`), with GitHub's 422 messages.
 * - runs advance on wall-clock time: queued → in_progress (jobs and steps advance) → completed.
 * - artifacts appear after completion (empty for the first `artifactDelayListings` listings); download
 *   answers 302 to the storage server with a short-lived signed URL; the storage server answers 400 when
 *   an Authorization header arrives (the token must not leak to another host).
 * - injected failures: failNext (5xx or a dropped connection), rateLimitNext (secondary or primary).
 *
 * Also exported: zip builders producing REAL zip bytes, including malicious ones (zip-slip, absolute
 * path, symlink, many entries, zip bomb), and Cursor-Register artifact file builders.
 *
 * Usage:
 *   const gh = await FakeGitHub.start({ runTimeline: { queuedMs: 50, inProgressMs: 150 }, artifactDelayListings: 2 });
 *   // env for the CLI: GITHUB_API_URL=gh.apiUrl GITHUB_TOKEN=gh.token GITHUB_OWNER=gh.owner GITHUB_REPO=gh.repo
 *   ... run the CLI ...
 *   gh.dispatches[0].inputs          // exactly what was sent;  gh.lastRun!.inputs: as the workflow sees them
 *   gh.lastRun!.cookies              // the cookies inside the default "Account Info" artifact
 *   gh.requestsTo(/\/runs\/\d+$/)     // recorded requests (status 304 for conditional hits)
 *   await gh.close();
 * Knobs in gh.options (workflowYaml, conclusion, returnRunDetails, runTimeline, artifactDelayListings,
 * artifactsForRun, scopes, runListDelayMs, latencyMs, …) may be changed between steps of a test.
 * Timestamps are whole seconds like GitHub's: a run created at 12:00:00.700 says created_at 12:00:00Z.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import zlib from 'node:zlib';
import AdmZip from 'adm-zip';
import { parse as parseYaml } from 'yaml';
import { makeCookie } from './helpers/cookies.js';

// ───────────────────────────── types ─────────────────────────────

export type RunStatus = 'queued' | 'in_progress' | 'completed';
export type Conclusion =
  | 'success'
  | 'failure'
  | 'cancelled'
  | 'timed_out'
  | 'skipped'
  | 'neutral'
  | 'action_required'
  | 'startup_failure';

export interface RunTimeline {
  /** Time spent queued after creation. */
  queuedMs: number;
  /** Time spent in progress (jobs and steps advance evenly over it). */
  inProgressMs: number;
}

/** An artifact to attach to a run: either files (zipped with adm-zip) or a hand-made zip. */
export interface ArtifactSpec {
  name: string;
  files?: Record<string, string | Buffer>;
  zip?: Buffer;
  /** Listed as expired; download answers 410. */
  expired?: boolean;
  /** Reported size_in_bytes (default: the zip's real length) — e.g. to claim an oversized artifact. */
  sizeInBytes?: number;
}

export interface FakeArtifact {
  id: number;
  runId: number;
  name: string;
  zip: Buffer;
  expired: boolean;
  sizeInBytes: number;
  /** How many times the storage server served its bytes. */
  downloads: number;
}

export interface DispatchInput {
  name: string;
  type: 'string' | 'choice' | 'boolean' | 'number' | 'environment';
  required: boolean;
  default?: string | boolean | number;
  options?: string[];
  description?: string;
}

export interface StepDef {
  name: string;
  kind: 'setup' | 'uses' | 'run' | 'post' | 'complete';
  if?: string;
}

export interface JobDef {
  id: string;
  name: string;
  runsOn: string;
  if?: string;
  steps: StepDef[];
}

export interface ParsedWorkflow {
  name: string | undefined;
  hasDispatch: boolean;
  inputs: DispatchInput[];
  jobs: JobDef[];
}

export interface FakeGitHubOptions {
  /** The only accepted token (Authorization: token X / Bearer X). */
  token?: string;
  owner?: string;
  repo?: string;
  defaultBranch?: string;
  /** Other known branches (default ['dev']). */
  branches?: string[];
  /** Known tags (default none). */
  tags?: string[];
  workflowFile?: string;
  /** Numeric workflow id (default 161335). */
  workflowId?: number;
  /** Workflow YAML (default: test/fixtures/cursor_register.upstream.yml). */
  workflowYaml?: string;
  workflowState?: 'active' | 'disabled_manually' | 'disabled_inactivity' | 'disabled_fork' | 'deleted';
  /**
   * true: `return_run_details: true` → 200 {workflow_run_id, run_url, html_url} (without it: 204);
   * false: always 204 (older servers ignore the parameter);
   * 'reject': a server that does not know the parameter answers 422 when it is sent.
   */
  returnRunDetails?: boolean | 'reject';
  runTimeline?: RunTimeline;
  /** Conclusion of dispatched runs, or a function of the run (called at dispatch). */
  conclusion?: Conclusion | ((run: FakeRun) => Conclusion);
  /** The artifacts list is empty for the first N listings after a dispatched run completes (default 0). */
  artifactDelayListings?: number;
  /**
   * Artifacts of a dispatched run (called at dispatch). Default: for a successful run, one "Account Info"
   * artifact holding Cursor-Register's token_<date>.csv and output_<date>.csv with `inputs.number` fresh
   * cookies (see `run.cookies`); none for other conclusions.
   */
  artifactsForRun?: (run: FakeRun) => ArtifactSpec[];
  /** X-OAuth-Scopes header value; null omits the header (fine-grained tokens). Default 'repo, workflow'. */
  scopes?: string | null;
  login?: string;
  /** A dispatched run is absent from listings and GET until this many ms after the dispatch (default 0). */
  runListDelayMs?: number;
  /** Delay before every response, api and storage (default 0). */
  latencyMs?: number;
  /** Primary rate limit: requests per window (default 5000 per hour). */
  rateLimit?: { limit?: number; windowMs?: number };
  /** Base of html_url links (default https://github.com). */
  htmlBase?: string;
  /** Lifetime of the signed storage URL in seconds (default 60). */
  storageUrlTtlSec?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  body: unknown;
  status: number;
  host: 'api' | 'storage';
  at: number;
}

export interface Dispatch {
  ref: string;
  inputs: Record<string, unknown>;
  returnRunDetails: boolean | undefined;
  runId: number;
  at: number;
}

export interface FailRule {
  /** Matched against the request path (no query string). */
  path: RegExp;
  /** 500 | 502 | 503 | 504 … (ignored when `reset`). */
  status?: number;
  times?: number;
  method?: string;
  host?: 'api' | 'storage';
  /** Destroy the connection without answering (a network error) instead of a status. */
  reset?: boolean;
  /** Response body (default JSON {"message": reason phrase}). */
  body?: string;
}

export interface RateLimitRule {
  path: RegExp;
  status?: 403 | 429;
  /** Retry-After seconds; null omits the header (default 1). */
  retryAfter?: number | null;
  times?: number;
  method?: string;
  /** A primary rate limit (x-ratelimit-remaining: 0, reset in retryAfter s) instead of a secondary one. */
  primary?: boolean;
}

export interface RunOptions {
  createdAt?: string | number | Date;
  runTimeline?: RunTimeline;
  conclusion?: Conclusion;
  event?: string;
  headBranch?: string;
  inputs?: Record<string, string>;
  /** Artifacts; default: artifactsForRun(run). */
  artifacts?: ArtifactSpec[];
  artifactDelayListings?: number;
}

// ───────────────────────────── small helpers ─────────────────────────────

const DEFAULT_YAML_URL = new URL('./fixtures/cursor_register.upstream.yml', import.meta.url);
let defaultYamlCache: string | undefined;
export function upstreamWorkflowYaml(): string {
  return (defaultYamlCache ??= readFileSync(DEFAULT_YAML_URL, 'utf8'));
}
export function forkWorkflowYaml(): string {
  return readFileSync(new URL('./fixtures/cursor_register.fix.yml', import.meta.url), 'utf8');
}

/** GitHub timestamps: ISO 8601, seconds precision, Z. */
export const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

const sha1 = (s: string | Buffer): string => createHash('sha1').update(s).digest('hex');
const etagOf = (body: string): string => `W/"${createHash('sha256').update(body).digest('hex')}"`;

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  410: 'Gone',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const DOCS = 'https://docs.github.com/rest';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly docs: string = DOCS,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

// ───────────────────────────── workflow YAML ─────────────────────────────

/** Parse a workflow file: its name, `workflow_dispatch` inputs and jobs/steps (for progress). */
export function parseWorkflow(yamlText: string): ParsedWorkflow {
  const doc = parseYaml(yamlText) as Record<string, unknown> | null;
  if (!doc || typeof doc !== 'object') return { name: undefined, hasDispatch: false, inputs: [], jobs: [] };
  // YAML 1.1 parsers read a bare `on` key as boolean true; accept both spellings.
  const on = doc['on'] ?? (doc as Record<string, unknown>)['true'];
  let hasDispatch = false;
  let dispatch: unknown;
  if (typeof on === 'string') hasDispatch = on === 'workflow_dispatch';
  else if (Array.isArray(on)) hasDispatch = on.includes('workflow_dispatch');
  else if (on && typeof on === 'object' && 'workflow_dispatch' in on) {
    hasDispatch = true;
    dispatch = (on as Record<string, unknown>)['workflow_dispatch'];
  }
  const inputs: DispatchInput[] = [];
  const rawInputs = dispatch && typeof dispatch === 'object' ? (dispatch as Record<string, unknown>)['inputs'] : undefined;
  if (rawInputs && typeof rawInputs === 'object') {
    for (const [name, spec] of Object.entries(rawInputs as Record<string, unknown>)) {
      const s = (spec && typeof spec === 'object' ? spec : {}) as Record<string, unknown>;
      const type = (typeof s.type === 'string' ? s.type : 'string') as DispatchInput['type'];
      const input: DispatchInput = { name, type, required: s.required === true || s.required === 'true' };
      if (s.default !== undefined && s.default !== null) input.default = s.default as string | boolean | number;
      if (Array.isArray(s.options)) input.options = s.options.map((o) => String(o));
      if (typeof s.description === 'string') input.description = s.description;
      inputs.push(input);
    }
  }
  const jobs: JobDef[] = [];
  const rawJobs = doc['jobs'];
  if (rawJobs && typeof rawJobs === 'object') {
    for (const [id, job] of Object.entries(rawJobs as Record<string, unknown>)) {
      const j = (job && typeof job === 'object' ? job : {}) as Record<string, unknown>;
      const steps: StepDef[] = [{ name: 'Set up job', kind: 'setup' }];
      const posts: StepDef[] = [];
      const rawSteps = Array.isArray(j.steps) ? (j.steps as unknown[]) : [];
      for (const raw of rawSteps) {
        const st = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
        const uses = typeof st.uses === 'string' ? st.uses : undefined;
        const run = typeof st.run === 'string' ? st.run : undefined;
        const name =
          typeof st.name === 'string'
            ? st.name
            : uses
              ? `Run ${uses}`
              : `Run ${(run ?? '').trim().split('\n')[0] ?? ''}`;
        const def: StepDef = { name, kind: uses ? 'uses' : 'run' };
        if (st.if !== undefined) def.if = String(st.if);
        steps.push(def);
        // actions/checkout has a post step, as on GitHub ("Post Run actions/checkout@v3").
        if (uses && /^actions\/checkout@/.test(uses)) {
          const post: StepDef = { name: `Post ${name}`, kind: 'post' };
          if (def.if !== undefined) post.if = def.if;
          posts.unshift(post);
        }
      }
      steps.push(...posts, { name: 'Complete job', kind: 'complete' });
      const runsOn = Array.isArray(j['runs-on']) ? String((j['runs-on'] as unknown[])[0]) : String(j['runs-on'] ?? 'ubuntu-latest');
      const def: JobDef = { id, name: typeof j.name === 'string' ? j.name : id, runsOn, steps };
      if (j.if !== undefined) def.if = String(j.if);
      jobs.push(def);
    }
  }
  return { name: typeof doc.name === 'string' ? doc.name : undefined, hasDispatch, inputs, jobs };
}

/**
 * Evaluate a step/job `if:` for the fake's progress display. Understands `&&`/`||` of comparisons
 * `github.event.inputs.X == 'v'` / `inputs.X != 'v'` and bare `inputs.X`; anything else counts as true.
 */
export function evalIf(expr: string | undefined, inputs: Record<string, string>): boolean {
  if (expr === undefined) return true;
  let e = expr.trim();
  const wrapped = /^\$\{\{([\s\S]*)\}\}$/.exec(e);
  if (wrapped) e = (wrapped[1] ?? '').trim();
  const clause = (c: string): boolean => {
    const cmp = /^(?:github\.event\.inputs|inputs)\.([A-Za-z0-9_-]+)\s*(==|!=)\s*'([^']*)'$/.exec(c);
    if (cmp) {
      const eq = (inputs[cmp[1]!] ?? '').toLowerCase() === cmp[3]!.toLowerCase();
      return cmp[2] === '==' ? eq : !eq;
    }
    const bare = /^(?:github\.event\.inputs|inputs)\.([A-Za-z0-9_-]+)$/.exec(c);
    if (bare) {
      const v = inputs[bare[1]!] ?? '';
      return v !== '' && v !== 'false' && v !== '0';
    }
    return true;
  };
  return e.split('||').some((or) => or.split('&&').every((c) => clause(c.trim())));
}

const describe = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/**
 * Validate dispatch inputs like GitHub does; returns GitHub's 422 message or undefined when valid.
 * Values must be strings, numbers or booleans.
 */
export function validateDispatchInputs(wf: ParsedWorkflow, inputs: unknown): string | undefined {
  if (inputs === undefined) inputs = {};
  if (inputs === null || typeof inputs !== 'object' || Array.isArray(inputs)) {
    return `Invalid request.\n\nFor 'properties/inputs', ${JSON.stringify(inputs)} is not an object.`;
  }
  const given = inputs as Record<string, unknown>;
  const keys = Object.keys(given);
  if (keys.length > 25) return 'you may only define up to 25 `inputs` for a `workflow_dispatch` event';
  const declared = new Map(wf.inputs.map((i) => [i.name, i]));
  const unexpected = keys.filter((k) => !declared.has(k));
  if (unexpected.length) return `Unexpected inputs provided: ${JSON.stringify(unexpected)}`;
  for (const k of keys) {
    const v = given[k];
    if (!['string', 'number', 'boolean'].includes(typeof v)) {
      return `Invalid request.\n\nFor 'properties/${k}', ${JSON.stringify(v)} is not a string, number or boolean.`;
    }
  }
  for (const input of wf.inputs) {
    const has = Object.prototype.hasOwnProperty.call(given, input.name);
    const v = given[input.name];
    if (!has) {
      if (input.required && (input.default === undefined || input.default === '')) return `Required input '${input.name}' not provided`;
      continue;
    }
    const s = String(v);
    if (input.type === 'choice' && !(input.options ?? []).includes(s)) {
      return `Provided value '${describe(v)}' for input '${input.name}' not in the list of allowed values`;
    }
    if (input.type === 'boolean' && s !== 'true' && s !== 'false') {
      return `Provided value '${describe(v)}' for input '${input.name}' not in the list of allowed values`;
    }
    if (input.type === 'number' && (s.trim() === '' || !Number.isFinite(Number(s)))) {
      return `Provided value '${describe(v)}' for input '${input.name}' is not a valid number`;
    }
    if (input.required && s === '') return `Required input '${input.name}' not provided`;
  }
  return undefined;
}

/** The inputs as the workflow sees them (`github.event.inputs`): declared inputs, strings, defaults applied. */
export function resolveInputs(wf: ParsedWorkflow, given: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const input of wf.inputs) {
    const v = given[input.name];
    if (v !== undefined) out[input.name] = String(v);
    else if (input.default !== undefined) out[input.name] = String(input.default);
    else if (input.type === 'boolean') out[input.name] = 'false';
    else if (input.type === 'choice') out[input.name] = input.options?.[0] ?? '';
    else out[input.name] = '';
  }
  return out;
}

// ───────────────────────────── runs ─────────────────────────────

interface StepSlot {
  name: string;
  kind: StepDef['kind'];
  start: number;
  end: number;
  /** Outcome when the run ends as planned. */
  planned: 'success' | 'failure' | 'cancelled' | 'skipped';
}

interface JobSlot {
  id: number;
  name: string;
  runsOn: string;
  steps: StepSlot[];
  planned: Conclusion;
}

export class FakeRun {
  readonly id: number;
  readonly run_number: number;
  readonly event: string;
  readonly head_branch: string;
  readonly head_sha: string;
  /** Inputs as the workflow sees them (declared inputs as strings, defaults applied). */
  readonly inputs: Record<string, string>;
  /** Inputs exactly as sent in the dispatch body. */
  readonly dispatchInputs: Record<string, unknown>;
  readonly createdMs: number;
  readonly startMs: number;
  /** When the run completes (moved earlier by cancel()/finishRun()). */
  endMs: number;
  /** The conclusion it will have (or has) when completed. */
  finalConclusion: Conclusion;
  /** Dispatched runs are invisible until this time (runListDelayMs). */
  visibleFromMs: number;
  /** Materialised artifacts (visible only after completion and the listing delay). */
  artifacts: FakeArtifact[] = [];
  /** The artifact listing is empty for this many listings after completion. */
  artifactDelayListings: number;
  /** Listings answered since completion. */
  artifactListings = 0;
  /** Cookies written into the default artifact (empty when artifactsForRun was given). */
  cookies: string[] = [];
  /** @internal */ jobs: JobSlot[] = [];
  private readonly gh: FakeGitHub;

  /** @internal */
  constructor(
    gh: FakeGitHub,
    init: {
      id: number;
      runNumber: number;
      event: string;
      headBranch: string;
      inputs: Record<string, string>;
      dispatchInputs: Record<string, unknown>;
      createdMs: number;
      timeline: RunTimeline;
      conclusion: Conclusion;
      visibleFromMs: number;
      artifactDelayListings: number;
    },
  ) {
    this.gh = gh;
    this.id = init.id;
    this.run_number = init.runNumber;
    this.event = init.event;
    this.head_branch = init.headBranch;
    this.head_sha = sha1(`${init.headBranch}:${gh.owner}/${gh.repo}`);
    this.inputs = init.inputs;
    this.dispatchInputs = init.dispatchInputs;
    this.createdMs = init.createdMs;
    this.startMs = init.createdMs + Math.max(0, init.timeline.queuedMs);
    this.endMs = this.startMs + Math.max(0, init.timeline.inProgressMs);
    this.finalConclusion = init.conclusion;
    this.visibleFromMs = init.visibleFromMs;
    this.artifactDelayListings = init.artifactDelayListings;
  }

  statusAt(t: number): RunStatus {
    if (t >= this.endMs) return 'completed';
    if (t >= this.startMs) return 'in_progress';
    return 'queued';
  }
  get status(): RunStatus {
    return this.statusAt(Date.now());
  }
  get conclusion(): Conclusion | null {
    return this.status === 'completed' ? this.finalConclusion : null;
  }
  get created_at(): string {
    return isoSeconds(this.createdMs);
  }
  get run_started_at(): string {
    return isoSeconds(this.createdMs);
  }
  updatedAtMs(t: number): number {
    const s = this.statusAt(t);
    return s === 'completed' ? this.endMs : s === 'in_progress' ? this.startMs : this.createdMs;
  }
  get updated_at(): string {
    return isoSeconds(this.updatedAtMs(Date.now()));
  }
  get html_url(): string {
    return `${this.gh.htmlBase}/${this.gh.owner}/${this.gh.repo}/actions/runs/${this.id}`;
  }
  get url(): string {
    return `${this.gh.apiUrl}/repos/${this.gh.owner}/${this.gh.repo}/actions/runs/${this.id}`;
  }
  get workflow_id(): number {
    return this.gh.workflowId;
  }
}

// ───────────────────────────── the servers ─────────────────────────────

export class FakeGitHub {
  readonly token: string;
  readonly owner: string;
  readonly repo: string;
  readonly defaultBranch: string;
  readonly workflowFile: string;
  readonly workflowId: number;
  readonly htmlBase: string;
  /** Mutable behaviour knobs (change between steps of a test). */
  readonly options: {
    workflowYaml: string;
    workflowState: NonNullable<FakeGitHubOptions['workflowState']>;
    returnRunDetails: boolean | 'reject';
    runTimeline: RunTimeline;
    conclusion: NonNullable<FakeGitHubOptions['conclusion']>;
    artifactDelayListings: number;
    artifactsForRun: ((run: FakeRun) => ArtifactSpec[]) | undefined;
    scopes: string | null;
    login: string;
    runListDelayMs: number;
    latencyMs: number;
    branches: string[];
    tags: string[];
    storageUrlTtlSec: number;
  };
  apiUrl = '';
  storageUrl = '';
  readonly requests: RecordedRequest[] = [];
  readonly runs: FakeRun[] = [];
  readonly dispatches: Dispatch[] = [];
  readonly artifacts: FakeArtifact[] = [];

  private api!: Server;
  private storage!: Server;
  private readonly failRules: (FailRule & { left: number })[] = [];
  private readonly rateRules: (RateLimitRule & { left: number })[] = [];
  private readonly secret = randomBytes(16);
  private nextRunId = 19_000_000_001;
  private nextRunNumber = 1;
  private nextArtifactId = 3_000_000_001;
  private nextJobId = 51_000_000_001;
  private readonly rate: { limit: number; windowMs: number; used: number; resetMs: number };
  private readonly workflowCreatedMs = Date.now() - 30 * 24 * 3600_000;
  private requestSeq = 0;

  private constructor(o: FakeGitHubOptions) {
    this.token = o.token ?? 'ghp_testtoken123456';
    this.owner = o.owner ?? 'acme';
    this.repo = o.repo ?? 'Cursor-Register';
    this.defaultBranch = o.defaultBranch ?? 'main';
    this.workflowFile = o.workflowFile ?? 'cursor_register.yml';
    this.workflowId = o.workflowId ?? 161335;
    this.htmlBase = (o.htmlBase ?? 'https://github.com').replace(/\/+$/, '');
    this.options = {
      workflowYaml: o.workflowYaml ?? upstreamWorkflowYaml(),
      workflowState: o.workflowState ?? 'active',
      returnRunDetails: o.returnRunDetails ?? true,
      runTimeline: o.runTimeline ?? { queuedMs: 100, inProgressMs: 300 },
      conclusion: o.conclusion ?? 'success',
      artifactDelayListings: o.artifactDelayListings ?? 0,
      artifactsForRun: o.artifactsForRun,
      scopes: o.scopes === undefined ? 'repo, workflow' : o.scopes,
      login: o.login ?? 'acme-bot',
      runListDelayMs: o.runListDelayMs ?? 0,
      latencyMs: o.latencyMs ?? 0,
      branches: o.branches ?? ['dev'],
      tags: o.tags ?? [],
      storageUrlTtlSec: o.storageUrlTtlSec ?? 60,
    };
    const windowMs = o.rateLimit?.windowMs ?? 3600_000;
    this.rate = { limit: o.rateLimit?.limit ?? 5000, windowMs, used: 0, resetMs: Date.now() + windowMs };
  }

  static async start(o: FakeGitHubOptions = {}): Promise<FakeGitHub> {
    const gh = new FakeGitHub(o);
    gh.api = createServer((req, res) => void gh.handle('api', req, res));
    gh.storage = createServer((req, res) => void gh.handle('storage', req, res));
    gh.api.keepAliveTimeout = 1000;
    gh.storage.keepAliveTimeout = 1000;
    const listen = (s: Server) =>
      new Promise<number>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port));
      });
    gh.apiUrl = `http://127.0.0.1:${await listen(gh.api)}`;
    gh.storageUrl = `http://127.0.0.1:${await listen(gh.storage)}`;
    return gh;
  }

  async close(): Promise<void> {
    const stop = (s: Server) =>
      new Promise<void>((resolve) => {
        s.close(() => resolve());
        s.closeAllConnections();
      });
    await Promise.all([stop(this.api), stop(this.storage)]);
  }

  // ── test controls ──

  /** The parsed workflow file (current options.workflowYaml). */
  get workflow(): ParsedWorkflow {
    return parseWorkflow(this.options.workflowYaml);
  }
  get workflowPath(): string {
    return `.github/workflows/${this.workflowFile}`;
  }
  /** A run by id. */
  run(id: number): FakeRun | undefined {
    return this.runs.find((r) => r.id === id);
  }
  /** The most recently created run. */
  get lastRun(): FakeRun | undefined {
    return [...this.runs].sort((a, b) => b.createdMs - a.createdMs || b.id - a.id)[0];
  }
  /** Recorded requests whose path matches (and optionally method / host). */
  requestsTo(path: RegExp, method?: string, host?: 'api' | 'storage'): RecordedRequest[] {
    return this.requests.filter(
      (r) => path.test(r.path) && (!method || r.method === method.toUpperCase()) && (!host || r.host === host),
    );
  }
  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Answer the next `times` matching requests with `status` (or drop the connection with reset: true). */
  failNext(rule: FailRule): void {
    this.failRules.push({ ...rule, left: rule.times ?? 1 });
  }

  /** Answer the next `times` matching API requests with a rate-limit error (secondary by default). */
  rateLimitNext(rule: RateLimitRule): void {
    this.rateRules.push({ ...rule, left: rule.times ?? 1 });
  }

  /** A run that progresses from createdAt (default now) along its own timeline. */
  addRun(o: RunOptions = {}): FakeRun {
    const createdMs = o.createdAt === undefined ? Date.now() : new Date(o.createdAt).getTime();
    const wf = this.workflow;
    const run = new FakeRun(this, {
      id: this.allocRunId(),
      runNumber: this.nextRunNumber++,
      event: o.event ?? 'workflow_dispatch',
      headBranch: o.headBranch ?? this.defaultBranch,
      inputs: { ...resolveInputs(wf, o.inputs ?? {}), ...(o.inputs ?? {}) },
      dispatchInputs: o.inputs ?? {},
      createdMs,
      timeline: o.runTimeline ?? this.options.runTimeline,
      conclusion: o.conclusion ?? 'success',
      visibleFromMs: createdMs,
      artifactDelayListings: o.artifactDelayListings ?? 0,
    });
    this.attach(run, wf, o.artifacts);
    return run;
  }

  /** A run that is already completed (for --no-trigger / --run-id). Default createdAt: 10 minutes ago. */
  addCompletedRun(o: RunOptions & { conclusion?: Conclusion } = {}): FakeRun {
    const now = Date.now();
    const createdMs = o.createdAt === undefined ? now - 10 * 60_000 : new Date(o.createdAt).getTime();
    const span = Math.max(0, now - createdMs);
    const timeline = o.runTimeline ?? { queuedMs: Math.floor(span / 10), inProgressMs: Math.floor(span / 2) };
    const run = this.addRun({ ...o, createdAt: createdMs, runTimeline: timeline, conclusion: o.conclusion ?? 'success' });
    if (run.endMs > now) run.endMs = Math.max(createdMs, now);
    return run;
  }

  /** Complete a run now (as if it ended early), with the given conclusion (default: its planned one). */
  finishRun(id: number, conclusion?: Conclusion): void {
    const run = this.mustRun(id);
    const now = Date.now();
    if (conclusion) {
      run.finalConclusion = conclusion;
      this.planJobs(run, this.workflow); // relabel steps for the new conclusion (same time slots)
      if (conclusion !== 'success') {
        run.artifacts = [];
      }
    }
    if (run.endMs > now) run.endMs = now;
  }

  // ── internals: runs ──

  private allocRunId(): number {
    const id = this.nextRunId;
    this.nextRunId += 1 + Math.floor(Math.random() * 7);
    return id;
  }

  private mustRun(id: number): FakeRun {
    const run = this.run(id);
    if (!run) throw new Error(`no run ${id}`);
    return run;
  }

  private attach(run: FakeRun, wf: ParsedWorkflow, specs: ArtifactSpec[] | undefined): void {
    this.planJobs(run, wf);
    const list = specs ?? (this.options.artifactsForRun ? this.options.artifactsForRun(run) : this.defaultArtifacts(run));
    for (const spec of list) {
      const zip = spec.zip ?? buildZip(spec.files ?? {});
      const art: FakeArtifact = {
        id: this.nextArtifactId++,
        runId: run.id,
        name: spec.name,
        zip,
        expired: spec.expired ?? false,
        sizeInBytes: spec.sizeInBytes ?? zip.length,
        downloads: 0,
      };
      run.artifacts.push(art);
      this.artifacts.push(art);
    }
    this.runs.push(run);
  }

  private defaultArtifacts(run: FakeRun): ArtifactSpec[] {
    if (run.finalConclusion !== 'success') return [];
    if (run.inputs.upload_artifact === 'false') return [];
    const n = Math.max(1, Math.min(50, Number.parseInt(run.inputs.number ?? '2', 10) || 2));
    run.cookies = Array.from({ length: n }, () => makeCookie('encoded'));
    return [{ name: 'Account Info', files: cursorRegisterFiles(run.cookies, new Date(run.createdMs)) }];
  }

  /** Lay the workflow's jobs and steps over the run's in-progress window. */
  private planJobs(run: FakeRun, wf: ParsedWorkflow): void {
    const jobsDefs = wf.jobs.length ? wf.jobs : [{ id: 'build', name: 'build', runsOn: 'ubuntu-latest', steps: [{ name: 'Set up job', kind: 'setup' as const }, { name: 'Complete job', kind: 'complete' as const }] }];
    const plan = jobsDefs.map((j) => {
      const jobRuns = evalIf(j.if, run.inputs);
      return { j, steps: j.steps.map((s) => ({ s, runs: jobRuns && evalIf(s.if, run.inputs) })) };
    });
    const executed = plan.reduce((n, p) => n + p.steps.filter((x) => x.runs).length, 0) || 1;
    const plannedEnd = Math.max(run.endMs, run.startMs);
    const slice = (plannedEnd - run.startMs) / executed;
    // The failing step for an unsuccessful run: the last executed `run:` step (else `uses:`) of all jobs.
    let failAt: { job: number; step: number } | undefined;
    if (run.finalConclusion !== 'success' && run.finalConclusion !== 'skipped' && run.finalConclusion !== 'neutral') {
      for (const kind of ['run', 'uses', 'setup'] as const) {
        plan.forEach((p, ji) =>
          p.steps.forEach((x, si) => {
            if (x.runs && x.s.kind === kind) failAt = { job: ji, step: si };
          }),
        );
        if (failAt) break;
      }
    }
    const failLabel: StepSlot['planned'] = run.finalConclusion === 'cancelled' ? 'cancelled' : 'failure';
    let t = run.startMs;
    const old = run.jobs;
    run.jobs = plan.map((p, ji) => {
      let jobPlanned: Conclusion = p.steps.some((x) => x.runs) ? 'success' : 'skipped';
      if (failAt && ji > failAt.job) jobPlanned = 'skipped';
      if (failAt && ji === failAt.job) jobPlanned = run.finalConclusion;
      const steps: StepSlot[] = p.steps.map((x, si) => {
        const start = t;
        if (x.runs) t += slice;
        let planned: StepSlot['planned'] = x.runs ? 'success' : 'skipped';
        if (failAt && (ji > failAt.job || (ji === failAt.job && si > failAt.step && x.s.kind !== 'post' && x.s.kind !== 'complete'))) planned = 'skipped';
        if (failAt && ji === failAt.job && si === failAt.step) planned = failLabel;
        return { name: x.s.name, kind: x.s.kind, start, end: t, planned };
      });
      return { id: old[ji]?.id ?? this.nextJobId++, name: p.j.name, runsOn: p.j.runsOn, steps, planned: jobPlanned };
    });
  }

  /**
   * A step at time t. Steps whose slot ends by the run's end behave as planned. A step cut short by an early
   * end (cancel/finishRun) completes at the end: the first one cut gets the run's conclusion
   * (cancelled/failure; success when finished successfully), later ones are skipped.
   */
  private stepView(run: FakeRun, st: StepSlot, t: number, firstCut: boolean): { status: 'queued' | 'in_progress' | 'completed'; conclusion: string | null; started: number | null; completed: number | null } {
    const E = run.endMs;
    if (st.end <= E) {
      if (t >= st.end) return { status: 'completed', conclusion: st.planned, started: st.start, completed: st.end };
      if (t >= st.start) return { status: 'in_progress', conclusion: null, started: st.start, completed: null };
      return { status: 'queued', conclusion: null, started: null, completed: null };
    }
    if (t >= E) {
      const c = run.finalConclusion;
      let conclusion: string = 'skipped';
      if (st.planned !== 'skipped' && c === 'success') conclusion = 'success';
      else if (firstCut) conclusion = c === 'cancelled' ? 'cancelled' : 'failure';
      return { status: 'completed', conclusion, started: Math.min(st.start, E), completed: E };
    }
    if (t >= st.start) return { status: 'in_progress', conclusion: null, started: st.start, completed: null };
    return { status: 'queued', conclusion: null, started: null, completed: null };
  }

  // ── internals: JSON ──

  private repoBase(): string {
    return `${this.apiUrl}/repos/${this.owner}/${this.repo}`;
  }

  private actor() {
    return {
      login: this.options.login,
      id: 4242,
      node_id: 'MDQ6VXNlcjQyNDI=',
      avatar_url: 'https://avatars.githubusercontent.com/u/4242?v=4',
      url: `${this.apiUrl}/users/${this.options.login}`,
      html_url: `${this.htmlBase}/${this.options.login}`,
      type: 'User',
      site_admin: false,
    };
  }

  private minimalRepo() {
    return {
      id: 777001,
      node_id: 'R_kgDOfake',
      name: this.repo,
      full_name: `${this.owner}/${this.repo}`,
      private: true,
      owner: { ...this.actor(), login: this.owner, url: `${this.apiUrl}/users/${this.owner}`, html_url: `${this.htmlBase}/${this.owner}` },
      html_url: `${this.htmlBase}/${this.owner}/${this.repo}`,
      url: this.repoBase(),
      fork: true,
    };
  }

  private repoJson() {
    return {
      ...this.minimalRepo(),
      description: 'Cursor account registration workflow',
      default_branch: this.defaultBranch,
      visibility: 'private',
      archived: false,
      disabled: false,
      permissions: { admin: true, maintain: true, push: true, triage: true, pull: true },
      created_at: isoSeconds(this.workflowCreatedMs),
      updated_at: isoSeconds(this.workflowCreatedMs),
      pushed_at: isoSeconds(this.workflowCreatedMs),
    };
  }

  private workflowJson() {
    const wf = this.workflow;
    return {
      id: this.workflowId,
      node_id: `W_kwDO${this.workflowId}`,
      name: wf.name ?? this.workflowPath,
      path: this.workflowPath,
      state: this.options.workflowState,
      created_at: isoSeconds(this.workflowCreatedMs),
      updated_at: isoSeconds(this.workflowCreatedMs),
      url: `${this.repoBase()}/actions/workflows/${this.workflowId}`,
      html_url: `${this.htmlBase}/${this.owner}/${this.repo}/blob/${this.defaultBranch}/${this.workflowPath}`,
      badge_url: `${this.htmlBase}/${this.owner}/${this.repo}/workflows/${encodeURIComponent(wf.name ?? this.workflowFile)}/badge.svg`,
    };
  }

  private runJson(run: FakeRun, t: number) {
    const status = run.statusAt(t);
    const base = run.url;
    const name = this.workflow.name ?? this.workflowPath;
    return {
      id: run.id,
      name,
      node_id: `WFR_kwLO${run.id}`,
      head_branch: run.head_branch,
      head_sha: run.head_sha,
      path: this.workflowPath,
      display_title: name,
      run_number: run.run_number,
      event: run.event,
      status,
      conclusion: status === 'completed' ? run.finalConclusion : null,
      workflow_id: this.workflowId,
      check_suite_id: run.id + 7,
      check_suite_node_id: `CS_kwDO${run.id + 7}`,
      url: base,
      html_url: run.html_url,
      pull_requests: [],
      created_at: isoSeconds(run.createdMs),
      updated_at: isoSeconds(run.updatedAtMs(t)),
      actor: this.actor(),
      run_attempt: 1,
      referenced_workflows: [],
      run_started_at: isoSeconds(run.createdMs),
      triggering_actor: this.actor(),
      jobs_url: `${base}/jobs`,
      logs_url: `${base}/logs`,
      check_suite_url: `${this.repoBase()}/check-suites/${run.id + 7}`,
      artifacts_url: `${base}/artifacts`,
      cancel_url: `${base}/cancel`,
      rerun_url: `${base}/rerun`,
      previous_attempt_url: null,
      workflow_url: `${this.repoBase()}/actions/workflows/${this.workflowId}`,
      head_commit: {
        id: run.head_sha,
        tree_id: sha1(run.head_sha),
        message: 'Update cursor_register.yml',
        timestamp: isoSeconds(this.workflowCreatedMs),
        author: { name: this.options.login, email: `${this.options.login}@users.noreply.github.com` },
        committer: { name: 'GitHub', email: 'noreply@github.com' },
      },
      repository: this.minimalRepo(),
      head_repository: this.minimalRepo(),
    };
  }

  private jobsJson(run: FakeRun, t: number) {
    const status = run.statusAt(t);
    let cut = false; // the first step cut short by an early end, over all jobs
    return run.jobs.map((job) => {
      const steps = job.steps.map((st, i) => {
        const isCut = st.end > run.endMs && st.end > st.start && st.planned !== 'skipped';
        const v = status === 'queued' ? this.stepView(run, st, -Infinity, false) : this.stepView(run, st, t, isCut && !cut);
        if (isCut) cut = true;
        return {
          name: st.name,
          status: v.status,
          conclusion: v.conclusion,
          number: i + 1,
          started_at: v.started === null ? null : isoSeconds(v.started),
          completed_at: v.completed === null ? null : isoSeconds(v.completed),
        };
      });
      // As on GitHub, a job that has not started yet lists no steps.
      if (status === 'queued' || (status === 'in_progress' && t < (job.steps[0]?.start ?? run.startMs))) steps.length = 0;
      const first = job.steps[0]?.start ?? run.startMs;
      const plannedLast = job.steps[job.steps.length - 1]?.end ?? run.endMs;
      const last = Math.min(plannedLast, run.endMs);
      let jobStatus: RunStatus = 'queued';
      let jobConclusion: string | null = null;
      if (status === 'completed' || (status === 'in_progress' && t >= last)) {
        jobStatus = 'completed';
        if (plannedLast <= run.endMs) jobConclusion = job.planned;
        else if (steps.some((s) => s.conclusion === 'cancelled')) jobConclusion = 'cancelled';
        else if (steps.some((s) => s.conclusion === 'failure')) jobConclusion = 'failure';
        else if (steps.some((s) => s.conclusion === 'success')) jobConclusion = 'success';
        else jobConclusion = 'skipped';
      } else if (status === 'in_progress' && t >= first) jobStatus = 'in_progress';
      const jobUrl = `${this.repoBase()}/actions/jobs/${job.id}`;
      const assigned = jobStatus !== 'queued';
      return {
        id: job.id,
        run_id: run.id,
        workflow_name: this.workflow.name ?? this.workflowPath,
        head_branch: run.head_branch,
        run_url: run.url,
        run_attempt: 1,
        node_id: `CR_kwDO${job.id}`,
        head_sha: run.head_sha,
        url: jobUrl,
        html_url: `${run.html_url}/job/${job.id}`,
        status: jobStatus,
        conclusion: jobConclusion,
        created_at: isoSeconds(run.createdMs),
        started_at: isoSeconds(assigned ? Math.min(first, run.endMs) : run.createdMs),
        completed_at: jobStatus === 'completed' ? isoSeconds(last) : null,
        name: job.name,
        steps,
        check_run_url: `${this.repoBase()}/check-runs/${job.id}`,
        labels: [job.runsOn],
        runner_id: assigned ? 7 : null,
        runner_name: assigned ? 'GitHub Actions 7' : null,
        runner_group_id: assigned ? 0 : null,
        runner_group_name: assigned ? 'GitHub Actions' : null,
      };
    });
  }

  private artifactJson(a: FakeArtifact) {
    const run = this.mustRun(a.runId);
    return {
      id: a.id,
      node_id: `MDg6QXJ0aWZhY3Q${a.id}`,
      name: a.name,
      size_in_bytes: a.sizeInBytes,
      url: `${this.repoBase()}/actions/artifacts/${a.id}`,
      archive_download_url: `${this.repoBase()}/actions/artifacts/${a.id}/zip`,
      expired: a.expired,
      digest: `sha256:${createHash('sha256').update(a.zip).digest('hex')}`,
      created_at: isoSeconds(run.endMs),
      updated_at: isoSeconds(run.endMs),
      expires_at: isoSeconds(a.expired ? run.endMs : run.endMs + 90 * 24 * 3600_000),
      workflow_run: { id: run.id, repository_id: 777001, head_repository_id: 777001, head_branch: run.head_branch, head_sha: run.head_sha },
    };
  }

  // ── internals: HTTP ──

  private async handle(host: 'api' | 'storage', req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
    const rec: RecordedRequest = {
      method: (req.method ?? 'GET').toUpperCase(),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body: undefined,
      status: 0,
      host,
      at: Date.now(),
    };
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    rec.body = raw;
    if (raw && /json/.test(headers['content-type'] ?? '')) {
      try {
        rec.body = JSON.parse(raw);
      } catch {
        /* keep raw */
      }
    }
    this.requests.push(rec);
    if (this.options.latencyMs > 0) await new Promise((r) => setTimeout(r, this.options.latencyMs));

    // Injected failures come first (an edge proxy answers before auth).
    const fail = this.takeRule(this.failRules, rec, (r) => !r.host || r.host === host);
    if (fail) {
      if (fail.reset) {
        rec.status = -1;
        req.socket.destroy();
        return;
      }
      const status = fail.status ?? 502;
      rec.status = status;
      const body = fail.body ?? JSON.stringify({ message: REASONS[status] ?? 'Error' });
      res.writeHead(status, { 'content-type': fail.body ? 'text/plain' : 'application/json; charset=utf-8', ...(host === 'api' ? this.rateHeaders(false) : {}) });
      res.end(body);
      return;
    }
    if (host === 'storage') return this.handleStorage(rec, url, res);

    const requestId = `F${(++this.requestSeq).toString(16).toUpperCase().padStart(4, '0')}:${randomBytes(3).toString('hex').toUpperCase()}`;
    const common: Record<string, string> = {
      'x-github-api-version-selected': '2022-11-28',
      'x-github-media-type': 'github.v3; format=json',
      'x-github-request-id': requestId,
      'access-control-expose-headers': 'ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, X-Accepted-OAuth-Scopes, X-GitHub-Request-Id',
    };
    const send = (status: number, body: unknown, extra: Record<string, string> = {}): void => {
      rec.status = status;
      const counted = status !== 304 && rec.path !== '/rate_limit';
      const h: Record<string, string> = { ...common, ...this.rateHeaders(counted), ...extra };
      if (status === 204 || status === 304 || status === 302 || body === undefined) {
        res.writeHead(status, h);
        res.end();
        return;
      }
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= 'application/json; charset=utf-8';
      res.writeHead(status, h);
      res.end(text);
    };
    const error = (e: HttpError): void => {
      send(e.status, { message: e.message, documentation_url: e.docs, status: String(e.status) }, e.headers);
    };

    try {
      // Authentication.
      const auth = headers['authorization'];
      const m = auth ? /^(?:token|bearer)\s+(\S+)\s*$/i.exec(auth) : null;
      if (!auth) throw new HttpError(401, 'Requires authentication');
      if (!m || m[1] !== this.token) throw new HttpError(401, 'Bad credentials');
      if (this.options.scopes !== null) {
        common['x-oauth-scopes'] = this.options.scopes;
        if (rec.path.startsWith('/repos/')) common['x-accepted-oauth-scopes'] = 'repo';
      }
      // Primary rate limit exhausted (real or injected)?
      this.refreshRateWindow();
      const rl = this.takeRule(this.rateRules, rec, () => true);
      if (rl) {
        const status = rl.status ?? 403;
        if (rl.primary) {
          const secs = rl.retryAfter ?? 60;
          rec.status = status;
          throw new HttpError(
            status,
            `API rate limit exceeded for user ID 4242. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`,
            'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
            {
              'x-ratelimit-limit': String(this.rate.limit),
              'x-ratelimit-remaining': '0',
              'x-ratelimit-used': String(this.rate.limit),
              'x-ratelimit-reset': String(Math.ceil((Date.now() + secs * 1000) / 1000)),
            },
          );
        }
        const extra: Record<string, string> = {};
        if (rl.retryAfter !== null) extra['retry-after'] = String(rl.retryAfter ?? 1);
        throw new HttpError(
          status,
          `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`,
          'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
          extra,
        );
      }
      if (rec.path !== '/rate_limit' && this.rate.used >= this.rate.limit) {
        throw new HttpError(
          403,
          `API rate limit exceeded for user ID 4242. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`,
          'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api',
        );
      }

      const out = this.route(rec, url);
      if (out.status === 200 && rec.method === 'GET' && out.body !== undefined) {
        const text = typeof out.body === 'string' && out.raw ? out.body : JSON.stringify(out.body);
        const etag = etagOf(text);
        const extra = { etag, 'cache-control': 'private, max-age=60, s-maxage=60', vary: 'Accept, Authorization, Cookie, X-GitHub-OTP', ...(out.headers ?? {}) };
        if (ifNoneMatch(headers['if-none-match'], etag)) return send(304, undefined, extra);
        return send(200, text, extra);
      }
      return send(out.status, out.body, out.headers ?? {});
    } catch (e) {
      if (e instanceof HttpError) return error(e);
      rec.status = 500;
      return send(500, { message: `fake-github internal error: ${(e as Error).message}` });
    }
  }

  private takeRule<R extends { path: RegExp; method?: string; left: number }>(rules: R[], rec: RecordedRequest, extra: (r: R) => boolean): R | undefined {
    const i = rules.findIndex((r) => r.left > 0 && r.path.test(rec.path) && (!r.method || r.method.toUpperCase() === rec.method) && extra(r));
    if (i < 0) return undefined;
    const r = rules[i]!;
    r.left -= 1;
    if (r.left <= 0) rules.splice(i, 1);
    return r;
  }

  private refreshRateWindow(): void {
    if (Date.now() >= this.rate.resetMs) {
      this.rate.used = 0;
      this.rate.resetMs = Date.now() + this.rate.windowMs;
    }
  }

  private rateHeaders(count: boolean): Record<string, string> {
    this.refreshRateWindow();
    if (count && this.rate.used < this.rate.limit) this.rate.used += 1;
    return {
      'x-ratelimit-limit': String(this.rate.limit),
      'x-ratelimit-remaining': String(Math.max(0, this.rate.limit - this.rate.used)),
      'x-ratelimit-reset': String(Math.ceil(this.rate.resetMs / 1000)),
      'x-ratelimit-used': String(this.rate.used),
      'x-ratelimit-resource': 'core',
    };
  }

  private route(rec: RecordedRequest, url: URL): { status: number; body?: unknown; headers?: Record<string, string>; raw?: boolean } {
    const { method, path } = rec;
    const q = url.searchParams;
    const now = Date.now();
    if (method === 'GET' && path === '/user') {
      return {
        status: 200,
        body: { ...this.actor(), name: 'Acme Bot', public_repos: 1, created_at: isoSeconds(this.workflowCreatedMs), updated_at: isoSeconds(this.workflowCreatedMs) },
      };
    }
    if (method === 'GET' && path === '/rate_limit') {
      const core = { limit: this.rate.limit, used: this.rate.used, remaining: this.rate.limit - this.rate.used, reset: Math.ceil(this.rate.resetMs / 1000) };
      return { status: 200, body: { resources: { core }, rate: core } };
    }
    const rm = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(path);
    if (!rm) throw new HttpError(404, 'Not Found');
    if (rm[1]!.toLowerCase() !== this.owner.toLowerCase() || rm[2]!.toLowerCase() !== this.repo.toLowerCase()) throw new HttpError(404, 'Not Found');
    if (this.options.scopes !== null && !this.options.scopes.split(/\s*,\s*/).includes('repo')) throw new HttpError(404, 'Not Found');
    const rest = rm[3] ?? '';
    let m: RegExpExecArray | null;

    if (method === 'GET' && rest === '') return { status: 200, body: this.repoJson() };

    if (method === 'GET' && (m = /^\/branches\/(.+)$/.exec(rest))) {
      const b = decodeURIComponent(m[1]!);
      if (!this.branchNames().includes(b)) throw new HttpError(404, 'Branch not found');
      return { status: 200, body: { name: b, commit: { sha: sha1(`${b}:${this.owner}/${this.repo}`) }, protected: false } };
    }

    if (method === 'GET' && (m = /^\/contents(?:\/(.*))?$/.exec(rest))) {
      const p = decodeURIComponent(m[1] ?? '').replace(/^\/+|\/+$/g, '');
      const ref = q.get('ref');
      if (ref && !this.resolveRef(ref)) throw new HttpError(404, `No commit found for the ref ${ref}`);
      const r = ref ?? this.defaultBranch;
      const wfPath = this.workflowPath;
      if (p === wfPath) {
        const content = Buffer.from(this.options.workflowYaml, 'utf8');
        const accept = rec.headers['accept'] ?? '';
        if (/vnd\.github(\.v3)?\.raw/.test(accept)) return { status: 200, body: this.options.workflowYaml, raw: true, headers: { 'content-type': 'text/plain; charset=utf-8' } };
        const sha = sha1(Buffer.concat([Buffer.from(`blob ${content.length}\0`), content]));
        return {
          status: 200,
          body: {
            type: 'file',
            encoding: 'base64',
            size: content.length,
            name: this.workflowFile,
            path: wfPath,
            content: content.toString('base64').replace(/(.{60})/g, '$1\n') + '\n',
            sha,
            url: `${this.repoBase()}/contents/${wfPath}?ref=${encodeURIComponent(r)}`,
            git_url: `${this.repoBase()}/git/blobs/${sha}`,
            html_url: `${this.htmlBase}/${this.owner}/${this.repo}/blob/${r}/${wfPath}`,
            download_url: `https://raw.githubusercontent.com/${this.owner}/${this.repo}/${r}/${wfPath}`,
            _links: { self: `${this.repoBase()}/contents/${wfPath}?ref=${encodeURIComponent(r)}`, git: `${this.repoBase()}/git/blobs/${sha}`, html: `${this.htmlBase}/${this.owner}/${this.repo}/blob/${r}/${wfPath}` },
          },
        };
      }
      if (p === '.github/workflows') {
        const content = Buffer.from(this.options.workflowYaml, 'utf8');
        const sha = sha1(Buffer.concat([Buffer.from(`blob ${content.length}\0`), content]));
        return { status: 200, body: [{ type: 'file', size: content.length, name: this.workflowFile, path: wfPath, sha, url: `${this.repoBase()}/contents/${wfPath}?ref=${encodeURIComponent(r)}` }] };
      }
      throw new HttpError(404, 'Not Found', 'https://docs.github.com/rest/repos/contents#get-repository-content');
    }

    if (method === 'GET' && rest === '/actions/workflows') {
      return { status: 200, body: { total_count: 1, workflows: [this.workflowJson()] } };
    }

    if ((m = /^\/actions\/workflows\/([^/]+)(\/.*)?$/.exec(rest))) {
      const wid = decodeURIComponent(m[1]!);
      if (wid !== String(this.workflowId) && wid !== this.workflowFile) throw new HttpError(404, 'Not Found', 'https://docs.github.com/rest/actions/workflows#get-a-workflow');
      const sub = m[2] ?? '';
      if (method === 'GET' && sub === '') return { status: 200, body: this.workflowJson() };
      if (method === 'PUT' && sub === '/enable') {
        this.options.workflowState = 'active';
        return { status: 204 };
      }
      if (method === 'PUT' && sub === '/disable') {
        this.options.workflowState = 'disabled_manually';
        return { status: 204 };
      }
      if (method === 'POST' && sub === '/dispatches') return this.dispatch(rec);
      if (method === 'GET' && sub === '/runs') {
        return this.listRuns(q, now, rec.path);
      }
      throw new HttpError(404, 'Not Found');
    }

    if (method === 'GET' && rest === '/actions/runs') return this.listRuns(q, now, rec.path);

    if ((m = /^\/actions\/runs\/(\d+)(\/.*)?$/.exec(rest))) {
      const run = this.run(Number(m[1]));
      if (!run || run.visibleFromMs > now) throw new HttpError(404, 'Not Found', 'https://docs.github.com/rest/actions/workflow-runs#get-a-workflow-run');
      const sub = m[2] ?? '';
      if (method === 'GET' && sub === '') return { status: 200, body: this.runJson(run, now) };
      if (method === 'GET' && sub === '/jobs') {
        return this.page(q, this.jobsJson(run, now), 'jobs', rec.path);
      }
      if (method === 'GET' && sub === '/artifacts') {
        let list: FakeArtifact[] = [];
        if (run.statusAt(now) === 'completed') {
          run.artifactListings += 1;
          if (run.artifactListings > run.artifactDelayListings) list = run.artifacts;
        }
        const name = q.get('name');
        if (name) list = list.filter((a) => a.name === name);
        return this.page(q, list.map((a) => this.artifactJson(a)), 'artifacts', rec.path);
      }
      if (method === 'POST' && sub === '/cancel') {
        if (run.statusAt(now) === 'completed') throw new HttpError(409, 'Cannot cancel a workflow run that is completed.');
        run.finalConclusion = 'cancelled';
        run.artifacts = [];
        run.endMs = now + 50;
        return { status: 202, body: {} };
      }
      throw new HttpError(404, 'Not Found');
    }

    if (method === 'GET' && rest === '/actions/artifacts') {
      const visible = this.artifacts.filter((a) => {
        const run = this.mustRun(a.runId);
        return run.statusAt(now) === 'completed' && run.artifactListings > run.artifactDelayListings && run.artifacts.includes(a);
      });
      const name = q.get('name');
      return this.page(q, visible.filter((a) => !name || a.name === name).reverse().map((a) => this.artifactJson(a)), 'artifacts', rec.path);
    }

    if ((m = /^\/actions\/artifacts\/(\d+)(?:\/([^/]+))?$/.exec(rest))) {
      const art = this.artifacts.find((a) => a.id === Number(m![1]));
      const run = art ? this.mustRun(art.runId) : undefined;
      if (!art || !run || run.statusAt(now) !== 'completed' || !run.artifacts.includes(art)) throw new HttpError(404, 'Not Found', 'https://docs.github.com/rest/actions/artifacts#download-an-artifact');
      if (method === 'GET' && m[2] === undefined) return { status: 200, body: this.artifactJson(art) };
      if (method === 'GET' && m[2] !== undefined) {
        if (m[2] !== 'zip') throw new HttpError(404, 'Not Found');
        if (art.expired) throw new HttpError(410, 'Artifact has expired', 'https://docs.github.com/rest/actions/artifacts#download-an-artifact');
        const se = Math.floor(now / 1000) + this.options.storageUrlTtlSec;
        const sig = this.sign(art.id, se);
        return { status: 302, headers: { location: `${this.storageUrl}/blob/${art.id}/${encodeURIComponent(art.name)}.zip?se=${se}&sp=r&sig=${sig}` } };
      }
    }
    throw new HttpError(404, 'Not Found');
  }

  private branchNames(): string[] {
    return [this.defaultBranch, ...this.options.branches];
  }

  /** Short branch/tag name for a ref, or undefined when unknown. */
  private resolveRef(ref: string): string | undefined {
    const r = ref.replace(/^refs\/(heads|tags)\//, '');
    if (ref.startsWith('refs/tags/')) return this.options.tags.includes(r) ? r : undefined;
    if (ref.startsWith('refs/heads/')) return this.branchNames().includes(r) ? r : undefined;
    return this.branchNames().includes(r) || this.options.tags.includes(r) ? r : undefined;
  }

  private dispatch(rec: RecordedRequest): { status: number; body?: unknown } {
    const body = rec.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      if (typeof rec.body === 'string' && rec.body.trim() !== '') throw new HttpError(400, 'Problems parsing JSON');
      throw new HttpError(422, 'Invalid request.\n\n"ref" wasn\'t supplied.');
    }
    const b = body as Record<string, unknown>;
    if (typeof b.ref !== 'string' || b.ref === '') throw new HttpError(422, 'Invalid request.\n\n"ref" wasn\'t supplied.');
    const allowed = new Set(['ref', 'inputs', 'return_run_details']);
    if (this.options.returnRunDetails === 'reject') allowed.delete('return_run_details');
    const extra = Object.keys(b).filter((k) => !allowed.has(k));
    if (extra.length) throw new HttpError(422, `Invalid request.\n\n${extra.map((k) => `"${k}" is not a permitted key.`).join('\n')}`);
    if (b.return_run_details !== undefined && typeof b.return_run_details !== 'boolean') {
      throw new HttpError(422, `Invalid request.\n\nFor 'properties/return_run_details', ${JSON.stringify(b.return_run_details)} is not a boolean.`);
    }
    if (this.options.workflowState !== 'active') throw new HttpError(422, "Cannot trigger a 'workflow_dispatch' on a disabled workflow");
    const wf = this.workflow;
    if (!wf.hasDispatch) throw new HttpError(422, "Workflow does not have 'workflow_dispatch' trigger");
    const branch = this.resolveRef(b.ref);
    if (!branch) throw new HttpError(422, `No ref found for: ${b.ref}`);
    const problem = validateDispatchInputs(wf, b.inputs);
    if (problem) throw new HttpError(422, problem, 'https://docs.github.com/rest/actions/workflows#create-a-workflow-dispatch-event');

    const now = Date.now();
    const given = (b.inputs ?? {}) as Record<string, unknown>;
    const run = new FakeRun(this, {
      id: this.allocRunId(),
      runNumber: this.nextRunNumber++,
      event: 'workflow_dispatch',
      headBranch: branch,
      inputs: resolveInputs(wf, given),
      dispatchInputs: given,
      createdMs: now,
      timeline: this.options.runTimeline,
      conclusion: 'success',
      visibleFromMs: now + this.options.runListDelayMs,
      artifactDelayListings: this.options.artifactDelayListings,
    });
    const c = this.options.conclusion;
    run.finalConclusion = typeof c === 'function' ? c(run) : c;
    this.attach(run, wf, undefined);
    this.dispatches.push({ ref: b.ref, inputs: given, returnRunDetails: b.return_run_details as boolean | undefined, runId: run.id, at: now });
    if (b.return_run_details === true && this.options.returnRunDetails === true) {
      return { status: 200, body: { workflow_run_id: run.id, run_url: run.url, html_url: run.html_url } };
    }
    return { status: 204 };
  }

  private listRuns(q: URLSearchParams, now: number, path: string) {
    let runs = this.runs.filter((r) => r.visibleFromMs <= now);
    const event = q.get('event');
    if (event) runs = runs.filter((r) => r.event === event);
    const branch = q.get('branch');
    if (branch) runs = runs.filter((r) => r.head_branch === branch);
    const status = q.get('status');
    if (status) {
      runs = runs.filter((r) => {
        const s = r.statusAt(now);
        if (['queued', 'in_progress', 'completed', 'requested', 'waiting', 'pending'].includes(status)) return s === status;
        return s === 'completed' && r.finalConclusion === status;
      });
    }
    const headSha = q.get('head_sha');
    if (headSha) runs = runs.filter((r) => r.head_sha === headSha);
    const actor = q.get('actor');
    if (actor) runs = runs.filter(() => actor.toLowerCase() === this.options.login.toLowerCase());
    const created = q.get('created');
    if (created) {
      const test = createdFilter(created);
      runs = runs.filter((r) => test(Math.floor(r.createdMs / 1000) * 1000));
    }
    runs = [...runs].sort((a, b) => b.createdMs - a.createdMs || b.id - a.id);
    return this.page(q, runs.map((r) => this.runJson(r, now)), 'workflow_runs', path);
  }

  private page<T>(q: URLSearchParams, items: T[], key: string, path: string) {
    const perPage = Math.min(100, Math.max(1, Number(q.get('per_page') ?? 30) || 30));
    const page = Math.max(1, Number(q.get('page') ?? 1) || 1);
    const slice = items.slice((page - 1) * perPage, page * perPage);
    const headers: Record<string, string> = {};
    const last = Math.max(1, Math.ceil(items.length / perPage));
    if (last > 1) {
      const link = (p: number, rel: string) => {
        const u = new URLSearchParams(q);
        u.set('page', String(p));
        u.set('per_page', String(perPage));
        return `<${this.apiUrl}${path}?${u}>; rel="${rel}"`;
      };
      const rels: string[] = [];
      if (page < last) rels.push(link(page + 1, 'next'), link(last, 'last'));
      if (page > 1) rels.push(link(1, 'first'), link(page - 1, 'prev'));
      headers.link = rels.join(', ');
    }
    return { status: 200, body: { total_count: items.length, [key]: slice }, headers };
  }

  private sign(id: number, se: number): string {
    return createHmac('sha256', this.secret).update(`${id}:${se}`).digest('hex');
  }

  private handleStorage(rec: RecordedRequest, url: URL, res: ServerResponse): void {
    const xml = (status: number, code: string, message: string) => {
      rec.status = status;
      res.writeHead(status, { 'content-type': 'application/xml', 'x-ms-error-code': code });
      res.end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
    };
    // The GitHub token must never reach the storage host.
    if (rec.headers['authorization'] !== undefined) {
      return xml(400, 'InvalidAuthenticationInfo', 'Authentication information is not given in the correct format. Check the value of Authorization header.');
    }
    const m = /^\/blob\/(\d+)(?:\/[^/]*)?$/.exec(rec.path);
    const art = m ? this.artifacts.find((a) => a.id === Number(m[1])) : undefined;
    if (rec.method !== 'GET' || !m || !art) return xml(404, 'BlobNotFound', 'The specified blob does not exist.');
    const se = Number(url.searchParams.get('se'));
    const sig = url.searchParams.get('sig') ?? '';
    const want = this.sign(art.id, se);
    if (sig.length !== want.length || !timingSafeEqual(Buffer.from(sig), Buffer.from(want))) {
      return xml(403, 'AuthenticationFailed', 'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.');
    }
    if (Date.now() / 1000 > se) return xml(403, 'AuthenticationFailed', 'Signed expiry time has to be after signed start time');
    art.downloads += 1;
    rec.status = 200;
    res.writeHead(200, {
      'content-type': 'application/zip',
      'content-length': String(art.zip.length),
      'content-disposition': `attachment; filename=${art.name}.zip; filename*=UTF-8''${encodeURIComponent(art.name)}.zip`,
      etag: `"0x${sha1(art.zip).slice(0, 16).toUpperCase()}"`,
    });
    res.end(art.zip);
  }
}

function ifNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  const weak = (s: string) => s.trim().replace(/^W\//, '');
  return header.split(',').some((t) => t.trim() === '*' || weak(t) === weak(etag));
}

/** GitHub's `created` qualifier: `>=T`, `>T`, `<=T`, `<T`, `A..B`, `A..*`, `*..B`, or a date/time. */
function createdFilter(spec: string): (ms: number) => boolean {
  const parse = (s: string, end: boolean): number => {
    const t = s.trim();
    if (t === '*') return end ? Infinity : -Infinity;
    if (/^\d{4}-\d{2}-\d{2}$/.test(t)) return Date.parse(`${t}T00:00:00Z`) + (end ? 24 * 3600_000 - 1 : 0);
    const v = Date.parse(t);
    return Number.isNaN(v) ? (end ? Infinity : -Infinity) : v;
  };
  let m: RegExpExecArray | null;
  if ((m = /^(>=|<=|>|<)(.+)$/.exec(spec))) {
    const op = m[1];
    const v = parse(m[2]!, op === '<=' || op === '>');
    if (op === '>=') return (ms) => ms >= v;
    if (op === '>') return (ms) => ms > v;
    if (op === '<=') return (ms) => ms <= v;
    return (ms) => ms < v;
  }
  if ((m = /^(.+)\.\.(.+)$/.exec(spec))) {
    const a = parse(m[1]!, false);
    const b = parse(m[2]!, true);
    return (ms) => ms >= a && ms <= b;
  }
  const a = parse(spec, false);
  const b = parse(spec, true);
  return (ms) => ms >= a && ms <= b;
}

// ───────────────────────────── artifact files ─────────────────────────────

/**
 * Cursor-Register's artifact files: `token_<date>.csv` (one token a row) and `output_<date>.csv`
 * (`email,token` rows), no header, CRLF line ends (Python's csv module).
 */
export function cursorRegisterFiles(cookies: string[], date: Date = new Date()): Record<string, string> {
  const stamp = date.toISOString().slice(0, 19).replace('T', '_').replace(/:/g, '-');
  const rows = (r: string[]) => r.map((x) => `${x}\r\n`).join('');
  return {
    [`token_${stamp}.csv`]: rows(cookies),
    [`output_${stamp}.csv`]: rows(cookies.map((c, i) => `user${i + 1}.${randomBytes(3).toString('hex')}@tempmail.example,${c}`)),
  };
}

// ───────────────────────────── zip builders ─────────────────────────────

/** A real zip of the given files, via adm-zip (which refuses unsafe names: use buildRawZip for those). */
export function buildZip(files: Record<string, string | Buffer>): Buffer {
  const zip = new AdmZip();
  for (const [name, data] of Object.entries(files)) zip.addFile(name, Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8'));
  return zip.toBuffer();
}

export interface RawZipEntry {
  /** Stored verbatim: `../x`, `/etc/x` and backslashes are kept. */
  name: string;
  data?: string | Buffer;
  /** Default 'deflate' for files. */
  method?: 'store' | 'deflate';
  /** Unix mode (file type + permissions), stored in the external attributes' high 16 bits. Default 0o100644. */
  unixMode?: number;
  /** Pre-compressed deflate data and sizes (for bombs); overrides `data`. */
  raw?: { compressed: Buffer; crc: number; size: number };
  /** Lie about the uncompressed size in the headers. */
  declaredSize?: number;
}

let crcTable: Uint32Array | undefined;
/** CRC-32 (zip), continuing from `prev`. */
export function crc32(buf: Buffer, prev = 0): number {
  const native = (zlib as unknown as { crc32?: (b: Buffer, v?: number) => number }).crc32;
  if (native) return native(buf, prev);
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = (prev ^ 0xffffffff) >>> 0;
  for (let i = 0; i < buf.length; i++) c = crcTable[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A zip written by hand (no zip64): every entry exactly as given, including unsafe names and symlinks. */
export function buildRawZip(entries: RawZipEntry[]): Buffer {
  if (entries.length > 0xffff) throw new Error('buildRawZip: too many entries for a non-zip64 archive');
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  const dosTime = 0x6000; // 12:00:00
  const dosDate = ((2026 - 1980) << 9) | (1 << 5) | 1;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    let method: number;
    let crc: number;
    let size: number;
    let body: Buffer;
    if (e.raw) {
      method = 8;
      crc = e.raw.crc;
      size = e.raw.size;
      body = e.raw.compressed;
    } else {
      const data = e.data === undefined ? Buffer.alloc(0) : Buffer.isBuffer(e.data) ? e.data : Buffer.from(e.data, 'utf8');
      crc = crc32(data);
      size = data.length;
      const isDir = e.name.endsWith('/');
      method = e.method === 'store' || isDir || data.length === 0 ? 0 : 8;
      body = method === 8 ? zlib.deflateRawSync(data) : data;
    }
    const declared = e.declaredSize ?? size;
    if (declared > 0xffffffff || body.length > 0xffffffff) throw new Error('buildRawZip: entry too large for a non-zip64 archive');
    const mode = e.unixMode ?? (e.name.endsWith('/') ? 0o40755 : 0o100644);
    const external = ((mode << 16) >>> 0) | (e.name.endsWith('/') ? 0x10 : 0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // UTF-8 names
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(dosTime, 10);
    local.writeUInt16LE(dosDate, 12);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(declared, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, body);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0 — so external attributes carry the mode
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(dosTime, 12);
    central.writeUInt16LE(dosDate, 14);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(declared, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30);
    central.writeUInt16LE(0, 32);
    central.writeUInt16LE(0, 34);
    central.writeUInt16LE(0, 36);
    central.writeUInt32LE(external >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(0, 4);
  end.writeUInt16LE(0, 6);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(0, 20);
  return Buffer.concat([...locals, cd, end]);
}

/** A zip with an entry that escapes the target directory (default `../x.csv`), plus a normal file. */
export function buildZipSlip(name = '../x.csv', content = 'pwned\r\n'): Buffer {
  return buildRawZip([{ name: 'token_ok.csv', data: 'placeholder\r\n' }, { name, data: content }]);
}

/** A zip with an absolute-path entry (default `/etc/x.csv`). */
export function buildAbsolutePathZip(name = '/etc/x.csv', content = 'pwned\r\n'): Buffer {
  return buildZipSlip(name, content);
}

/**
 * A zip whose entry is a symbolic link (Unix mode 0120777 → external attributes 0xA1FF << 16, made by Unix);
 * its data is the link target.
 */
export function buildSymlinkZip(name = 'token_link.csv', target = '/etc/passwd'): Buffer {
  return buildRawZip([{ name, data: target, method: 'store', unixMode: 0o120777 }]);
}

/** A zip with `count` small CSV entries (default 1,001: one over the limit). */
export function buildManyEntriesZip(count = 1001, content = ''): Buffer {
  return buildRawZip(Array.from({ length: count }, (_, i) => ({ name: `part_${String(i).padStart(5, '0')}.csv`, data: content, method: 'store' as const })));
}

const bombCache = new Map<string, Buffer>();
/**
 * A zip bomb: one entry (`bomb.csv`) that truly inflates to `sizeBytes` zero bytes, with honest headers,
 * while the zip itself stays about sizeBytes/1000. Built without allocating sizeBytes (repeated
 * full-flushed deflate blocks). `declaredSize` lets the headers lie (e.g. claim 1 KiB).
 */
export function buildZipBomb(sizeBytes: number, opts: { name?: string; declaredSize?: number } = {}): Buffer {
  const key = `${sizeBytes}:${opts.name ?? ''}:${opts.declaredSize ?? ''}`;
  const hit = bombCache.get(key);
  if (hit) return hit;
  const CHUNK = 1 << 20;
  const zero = Buffer.alloc(CHUNK);
  const block = zlib.deflateRawSync(zero, { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH });
  const full = Math.floor(sizeBytes / CHUNK);
  const rest = sizeBytes % CHUNK;
  const parts: Buffer[] = [];
  let crc = 0;
  for (let i = 0; i < full; i++) {
    parts.push(block);
    crc = crc32(zero, crc);
  }
  if (rest) {
    parts.push(zlib.deflateRawSync(zero.subarray(0, rest), { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH }));
    crc = crc32(zero.subarray(0, rest), crc);
  }
  parts.push(zlib.deflateRawSync(Buffer.alloc(0))); // final empty block
  const entry: RawZipEntry = { name: opts.name ?? 'bomb.csv', raw: { compressed: Buffer.concat(parts), crc, size: sizeBytes } };
  if (opts.declaredSize !== undefined) entry.declaredSize = opts.declaredSize;
  const zip = buildRawZip([entry]);
  bombCache.set(key, zip);
  return zip;
}
