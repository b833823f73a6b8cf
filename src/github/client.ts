/**
 * The GitHub REST client: @octokit/core with the REST endpoint methods, pagination, retries of
 * transient failures (5xx, network) and throttling (primary and secondary rate limits are waited
 * out, `Retry-After` honoured, a bounded number of times, with a line on stderr).
 *
 * Octokit and its plugins are imported lazily (only commands that talk to GitHub load them).
 * The token goes only to GITHUB_API_URL; it is never printed: request logs (--verbose) carry the
 * method, path and status, never headers.
 */
import type { Octokit as CoreOctokit } from '@octokit/core';
import type { PaginateInterface } from '@octokit/plugin-paginate-rest';
import type { Api } from '@octokit/plugin-rest-endpoint-methods';
import { envString, envUrl, type Env } from '../config.js';
import type { IOPort } from '../core/io-port.js';
import { CliError, InterruptedError, OperationalError, UsageError } from '../errors.js';

export type Octokit = CoreOctokit & Api & { paginate: PaginateInterface };

export interface GitHubSettings {
  token: string;
  owner: string;
  repo: string;
  /** Workflow file name or numeric id. */
  workflowId: string;
  /** API base URL without a trailing slash. */
  apiUrl: string;
  /** GITHUB_REF when set; otherwise the repository's default branch is used. */
  ref: string | undefined;
}

/** Read the GitHub variables of SPEC §3; missing required ones are usage errors naming them. */
export function githubSettings(env: Env): GitHubSettings {
  const token = envString(env, 'GITHUB_TOKEN');
  if (!token) {
    throw new UsageError(
      'GITHUB_TOKEN is not set',
      'create a token with the repo + workflow scopes (or a fine-grained one with Actions read/write, Contents read) and put GITHUB_TOKEN=... in .env',
    );
  }
  const owner = envString(env, 'GITHUB_OWNER');
  if (!owner) throw new UsageError('GITHUB_OWNER is not set', 'set GITHUB_OWNER to the account that owns your Cursor-Register fork');
  const apiUrl = envUrl(env, 'GITHUB_API_URL', 'https://api.github.com').replace(/\/+$/, '');
  return {
    token,
    owner,
    repo: envString(env, 'GITHUB_REPO', 'Cursor-Register'),
    workflowId: envString(env, 'GITHUB_WORKFLOW_ID', 'cursor_register.yml'),
    apiUrl,
    ref: envString(env, 'GITHUB_REF'),
  };
}

export interface ClientOptions {
  io: IOPort;
  /** Aborts every request (SIGINT/SIGTERM). */
  signal?: AbortSignal;
  /** Base of the retry back-off for 5xx/network failures, in ms (1 s by default: waits 1, 4, 9 s). */
  retryBaseMs?: number;
  /** Rate-limit retries per request (default 3). */
  maxRateLimitRetries?: number;
  /** Longest primary rate-limit wait that is sat out, in seconds (default 15 min). */
  maxRateLimitWaitSec?: number;
  /** Per-request timeout, ms (default 60 s). */
  requestTimeoutMs?: number;
  /** Called for each HTTP response (status), for statistics. */
  onResponse?: (method: string, path: string, status: number) => void;
}

export interface GitHubClient {
  octokit: Octokit;
  settings: GitHubSettings;
  /** `{owner, repo}` for REST calls. */
  repo: { owner: string; repo: string };
  io: IOPort;
  signal: AbortSignal | undefined;
  /** Run a request, turning its failure into a clear CliError. `what` names the thing asked for. */
  call<T>(what: string, fn: () => Promise<T>): Promise<T>;
}

/** Hidden knob for tests and benchmarks: COOKIE_POOL_RETRY_BASE_MS scales the 5xx back-off. */
export function retryBaseFromEnv(env: Env): number | undefined {
  const raw = envString(env, 'COOKIE_POOL_RETRY_BASE_MS');
  if (raw === undefined) return undefined;
  const n = Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function pathOf(url: string): string {
  try {
    const u = new URL(url);
    return u.pathname + u.search;
  } catch {
    return url;
  }
}

export async function createGitHubClient(settings: GitHubSettings, opts: ClientOptions): Promise<GitHubClient> {
  const [{ Octokit }, { restEndpointMethods }, { paginateRest }, { retry }, { throttling }] = await Promise.all([
    import('@octokit/core'),
    import('@octokit/plugin-rest-endpoint-methods'),
    import('@octokit/plugin-paginate-rest'),
    import('@octokit/plugin-retry'),
    import('@octokit/plugin-throttling'),
  ]);
  const { io } = opts;
  const maxRetries = opts.maxRateLimitRetries ?? 3;
  const maxWait = opts.maxRateLimitWaitSec ?? 15 * 60;
  const timeoutMs = opts.requestTimeoutMs ?? 60_000;

  // Every HTTP attempt (retries included) goes through here: a per-request timeout, the abort
  // signal, and a --verbose log line without headers.
  const loggingFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const method = (init.method ?? 'GET').toUpperCase();
    const path = pathOf(url);
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (init.signal) signals.push(init.signal);
    if (opts.signal) signals.push(opts.signal);
    const started = performance.now();
    try {
      const res = await fetch(input, { ...init, signal: AbortSignal.any(signals) });
      const ms = Math.round(performance.now() - started);
      io.debug(`github: ${method} ${path} → ${res.status} (${ms} ms)`);
      opts.onResponse?.(method, path, res.status);
      if (res.status >= 500) io.warn(`GitHub answered ${res.status} to ${method} ${path}; retrying`);
      return res;
    } catch (e) {
      if (opts.signal?.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : e;
      io.debug(`github: ${method} ${path} failed: ${(e as Error).message}`);
      throw e;
    }
  };

  const MyOctokit = Octokit.plugin(restEndpointMethods, paginateRest, retry, throttling);
  const noop = () => undefined;
  const octokit = new MyOctokit({
    auth: settings.token,
    baseUrl: settings.apiUrl,
    userAgent: 'cookie-pool/0.1.0',
    log: { debug: noop, info: noop, warn: (m: string) => io.debug(`octokit: ${m}`), error: (m: string) => io.debug(`octokit: ${m}`) },
    request: { fetch: loggingFetch, ...(opts.signal ? { signal: opts.signal } : {}) },
    retry: { retries: 3, ...(opts.retryBaseMs !== undefined ? { retryAfterBaseValue: opts.retryBaseMs } : {}) },
    throttle: {
      onRateLimit: (retryAfter: number, options: { method?: string; url?: string }, _o: unknown, retryCount: number) => {
        if (retryCount >= maxRetries || retryAfter > maxWait) {
          io.warn(`GitHub rate limit exhausted for ${options.method} ${options.url}; reset in ${retryAfter} s — giving up`);
          return false;
        }
        io.warn(`GitHub rate limit reached; waiting ${retryAfter} s before retrying ${options.method} ${options.url}`);
        return true;
      },
      onSecondaryRateLimit: (retryAfter: number, options: { method?: string; url?: string }, _o: unknown, retryCount: number) => {
        if (retryCount >= maxRetries || retryAfter > maxWait) {
          io.warn(`GitHub secondary rate limit on ${options.method} ${options.url}; giving up after ${retryCount} retries`);
          return false;
        }
        io.warn(`GitHub secondary rate limit; waiting ${retryAfter} s before retrying ${options.method} ${options.url}`);
        return true;
      },
    },
  }) as unknown as Octokit;

  const repo = { owner: settings.owner, repo: settings.repo };
  return {
    octokit,
    settings,
    repo,
    io,
    signal: opts.signal,
    async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
      try {
        return await fn();
      } catch (e) {
        throw githubError(e, what, settings, opts.signal);
      }
    },
  };
}

/** HTTP status of an octokit RequestError (undefined for other errors). */
export function statusOf(e: unknown): number | undefined {
  const s = (e as { status?: unknown } | null)?.status;
  return typeof s === 'number' ? s : undefined;
}

/**
 * GitHub's own message from an error response, without the documentation URL, on one line (it is
 * quoted inside our messages: a line break in it must not start a line of its own).
 */
export function githubMessage(e: unknown): string {
  return rawGithubMessage(e).replace(/\s+/g, ' ').trim();
}

function rawGithubMessage(e: unknown): string {
  const data = (e as { response?: { data?: unknown } } | null)?.response?.data;
  if (data && typeof data === 'object' && 'message' in data && typeof (data as { message: unknown }).message === 'string') {
    const d = data as { message: string; errors?: unknown[] };
    const extra = Array.isArray(d.errors)
      ? d.errors.map((x) => (typeof x === 'string' ? x : ((x as { message?: string }).message ?? JSON.stringify(x)))).join('; ')
      : '';
    return extra ? `${d.message}: ${extra}` : d.message;
  }
  if (typeof data === 'string' && data.trim() !== '' && data.length < 300) return data.trim();
  return e instanceof Error ? e.message.replace(/ - https:\/\/docs\.github\.com\S*$/, '') : String(e);
}

/** Validation messages of the dispatch endpoint that are the user's to fix (exit 2). */
const INPUT_PROBLEM = /\binputs?\b|allowed values|no ref found|required/i;

/** Turn a failed request into a clear message. */
export function githubError(e: unknown, what: string, settings: GitHubSettings, signal?: AbortSignal): Error {
  if (e instanceof CliError) return e;
  if (signal?.aborted) return signal.reason instanceof Error ? signal.reason : new InterruptedError('interrupted', 130);
  const status = statusOf(e);
  const msg = githubMessage(e);
  const repoName = `${settings.owner}/${settings.repo}`;
  switch (status) {
    case 401:
      return new OperationalError(
        `GitHub refused the token (401 ${msg}) while asking for ${what}`,
        'check GITHUB_TOKEN: it may be mistyped, expired or revoked',
      );
    case 403:
      return new OperationalError(
        `GitHub refused access to ${what} (403: ${msg})`,
        'the token needs the repo + workflow scopes (classic) or Actions read/write and Contents read on ' + repoName + ' (fine-grained)',
      );
    case 404:
      return new OperationalError(
        `${what} was not found (404${/^not found$/i.test(msg) ? '' : `: ${msg}`}) — it does not exist, or the token cannot see it`,
        `check GITHUB_OWNER (${settings.owner}), GITHUB_REPO (${settings.repo}) and GITHUB_WORKFLOW_ID (${settings.workflowId}); a private fork needs a token with access to it`,
      );
    case 410:
      return new OperationalError(`${what} is gone (410: ${msg})`);
    case 422:
      return INPUT_PROBLEM.test(msg)
        ? new UsageError(`GitHub rejected ${what}: ${msg}`)
        : new OperationalError(`GitHub rejected ${what} (422): ${msg}`);
    case undefined:
      return new OperationalError(`GitHub request for ${what} failed: ${msg}`);
    default: {
      const response = (e as { response?: unknown }).response;
      if (status === 500 && !response) {
        return new OperationalError(`cannot reach the GitHub API at ${settings.apiUrl} (${what}): ${msg}`);
      }
      if (status === 429) return new OperationalError(`GitHub rate limit on ${what} (429: ${msg}); try again later`);
      return new OperationalError(`GitHub answered ${status} for ${what}${status >= 500 ? ' after retries' : ''}: ${msg}`);
    }
  }
}
