/**
 * `doctor` (SPEC §4): what is misconfigured, one check per line.
 *
 * Checks run in order; each names the checks it depends on and is skipped (status `skip`) when
 * one of them failed or was skipped. Nothing is written: the store files are only read (a corrupt
 * one is reported, never touched), GitHub is only asked with GETs, and the Cursor web URL is only
 * contacted with `--online` (a GET without any cookie).
 *
 * Secrets are never part of a check's detail: the GitHub token shows only that it is set, its
 * kind (from its prefix) and its length; configured input values are not shown (an
 * `email_configs` value may hold mail passwords), only their names.
 */
import { constants } from 'node:fs';
import { access, readFile, stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { envBool, envJson, envString, minCookieCount, refreshMode, storePaths } from '../config.js';
import type { AppContext } from '../context.js';
import { CliError } from '../errors.js';
import { parseInvalid, parseKeys } from '../store/format.js';
import type { GitHubClient, GitHubSettings } from '../github/client.js';
import type { WorkflowInfo } from '../github/workflow.js';

export type DoctorStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface DoctorCheck {
  name: string;
  status: DoctorStatus;
  detail: string;
  hint?: string;
}

export interface DoctorReport {
  ok: boolean;
  checks: DoctorCheck[];
}

export interface DoctorOptions {
  /** Also contact the Cursor web URL. */
  online?: boolean;
  /** Called as each check completes (for streaming output). */
  onCheck?: (check: DoctorCheck) => void;
  /** Test seam: the Node version to judge (default process.versions.node). */
  nodeVersion?: string;
  /** Per-request timeout for GitHub and Cursor, ms (default 20 s). */
  requestTimeoutMs?: number;
}

/** The oldest Node.js this tool supports (package.json engines). */
export const MIN_NODE: readonly [number, number] = [20, 12];

type Outcome = Omit<DoctorCheck, 'name'>;

interface Step {
  name: string;
  /** Checks that must have passed (ok or warn) for this one to run. */
  needs?: string[];
  run: () => Promise<Outcome>;
}

const ok = (detail: string, hint?: string): Outcome => ({ status: 'ok', detail, ...(hint ? { hint } : {}) });
const warn = (detail: string, hint?: string): Outcome => ({ status: 'warn', detail, ...(hint ? { hint } : {}) });
const fail = (detail: string, hint?: string): Outcome => ({ status: 'fail', detail, ...(hint ? { hint } : {}) });
const skip = (detail: string): Outcome => ({ status: 'skip', detail });

/** A failed operation as a `fail` outcome (a CliError keeps its message and hint). */
function failFrom(e: unknown, prefix = ''): Outcome {
  if (e instanceof CliError) return fail(prefix + e.message, e.hint);
  return fail(prefix + (e instanceof Error ? e.message : String(e)));
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** What kind of token this is, from its documented prefix; never any of its secret part. */
export function describeToken(token: string): string {
  const kinds: [string, string][] = [
    ['github_pat_', 'fine-grained personal access token'],
    ['ghp_', 'classic personal access token'],
    ['gho_', 'OAuth token'],
    ['ghu_', 'GitHub App user token'],
    ['ghs_', 'GitHub App installation token'],
    ['ghr_', 'refresh token'],
  ];
  const found = kinds.find(([prefix]) => token.startsWith(prefix));
  const kind = found ? `${found[1]} (${found[0]}…)` : 'token of unrecognised format';
  return `set: ${kind}, ${token.length} characters`;
}

function nodeCheck(version: string): Outcome {
  const [major = 0, minor = 0] = version.replace(/^v/, '').split('.').map((p) => Number.parseInt(p, 10) || 0);
  const good = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return good
    ? ok(`v${version.replace(/^v/, '')}`)
    : fail(`v${version.replace(/^v/, '')} is older than the required ${MIN_NODE.join('.')}`, 'install Node.js 20.12 or newer (an LTS release)');
}

async function storeFileCheck(file: string, kind: 'keys' | 'invalid'): Promise<Outcome> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return kind === 'keys'
        ? warn(`${file}: absent, no api keys yet (created on first write)`, 'add a key: cookie-pool keys add <key> [cookie...]')
        : ok(`${file}: absent, will be created on first write`);
    }
    if (code === 'EACCES' || code === 'EPERM') return fail(`${file}: cannot be read (${code})`, `give your user read and write access: chmod 600 ${file}`);
    if (code === 'EISDIR') return fail(`${file}: is a directory, expected a JSON file`);
    return fail(`${file}: cannot be read (${(e as Error).message})`);
  }
  try {
    if (kind === 'keys') {
      const keys = parseKeys(text, file);
      const names = Object.keys(keys);
      const cookies = names.reduce((n, k) => n + (keys[k]?.length ?? 0), 0);
      if (names.length === 0) return warn(`${file}: well-formed, but holds no api keys`, 'add a key: cookie-pool keys add <key> [cookie...]');
      return ok(`${file}: ${plural(names.length, 'api key')}, ${plural(cookies, 'cookie')}`);
    }
    const list = parseInvalid(text, file);
    return ok(`${file}: ${plural(list.length, 'cookie')} in the invalid list`);
  } catch (e) {
    return failFrom(e);
  }
}

const octal = (mode: number): string => `0${(mode & 0o777).toString(8)}`;

/** Store files, the data dir and the env file must be neither readable nor writable by group or others. */
/**
 * The folder and files on this machine that hold the pool or cookie-pool's own state, by backend:
 * the key store for `file`; for `proxy` only the state folder (the pool lives in the proxy); for
 * cursor-api's backends the invalid list, and for `token-file` its two files.
 */
async function localPaths(ctx: AppContext): Promise<{ dir: string; files: string[] }> {
  const { dataDir, keysFile, invalidFile } = storePaths(ctx.env, ctx.dataDirFlag);
  switch (ctx.pool.backend) {
    case 'file':
      return { dir: dataDir, files: [keysFile, invalidFile] };
    case 'proxy':
      return { dir: ctx.stateDir, files: [] };
    case 'token-file': {
      const { tokenFilePaths } = await import('../store/token-file.js');
      const { tokenFile, tokenListFile } = tokenFilePaths(ctx.env);
      return { dir: dataDir, files: [invalidFile, tokenFile, tokenListFile] };
    }
    case 'token-api':
      return { dir: dataDir, files: [invalidFile] };
  }
}

async function permissionsCheck(ctx: AppContext): Promise<Outcome> {
  if (process.platform === 'win32') return skip('file modes are not checked on Windows');
  const { dir: dataDir, files } = await localPaths(ctx);
  const open: string[] = [];
  const chmodFiles: string[] = [];
  const chmodDirs: string[] = [];
  const unwritable: string[] = [];
  const seen: string[] = [];
  const inspect = async (path: string, isDir: boolean, label: string): Promise<void> => {
    let st;
    try {
      st = await stat(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      unwritable.push(`${label} (${(e as NodeJS.ErrnoException).code ?? 'unreadable'})`);
      return;
    }
    seen.push(label);
    if ((st.mode & 0o066) !== 0) {
      open.push(`${label} is ${octal(st.mode)}`);
      (isDir ? chmodDirs : chmodFiles).push(path);
    }
    try {
      await access(path, constants.W_OK | (isDir ? constants.X_OK : 0));
    } catch {
      unwritable.push(label);
    }
  };
  await inspect(dataDir, true, `${dataDir}/`);
  for (const f of files) await inspect(f, false, f);
  // The env file holds GITHUB_TOKEN: it leaks just the same when others can read it.
  if (ctx.envFile) {
    try {
      const st = await stat(ctx.envFile);
      seen.push(ctx.envFile);
      // Writable by others is worse than readable: they can point GITHUB_API_URL at their host.
      if ((st.mode & 0o066) !== 0) {
        open.push(`${ctx.envFile} is ${octal(st.mode)}`);
        chmodFiles.push(ctx.envFile);
      }
    } catch {
      /* vanished since it was loaded: nothing to judge */
    }
  }
  if (unwritable.length) {
    return fail(`cookie-pool cannot write ${unwritable.join(', ')}`, `run as the user that owns the store, or give it write access (chmod u+rw; u+rwx on ${dataDir})`);
  }
  if (open.length) {
    const cmds = [chmodFiles.length ? `chmod 600 ${chmodFiles.join(' ')}` : '', chmodDirs.length ? `chmod 700 ${chmodDirs.join(' ')}` : '']
      .filter(Boolean)
      .join(' && ');
    return warn(`readable or writable by group/others: ${open.join(', ')}`, `cookies and tokens are secrets: ${cmds}`);
  }
  if (seen.length === 0) return ok(`${dataDir} does not exist yet (created with private modes on first write)`);
  return ok(`private to your user: ${seen.map((p) => (p.endsWith('/') ? p : basename(p))).join(', ')}`);
}

function settingsCheck(ctx: AppContext): Outcome {
  const problems: string[] = [];
  const shown: string[] = [];
  const attempt = (name: string, read: () => unknown): void => {
    try {
      const v = read();
      if (v !== undefined) shown.push(`${name}=${String(v)}`);
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
  };
  attempt('MIN_COOKIE_COUNT', () => minCookieCount(ctx.env));
  attempt('COOKIE_REFRESH_MODE', () => refreshMode(ctx.env));
  attempt('TRIGGER_WORKFLOW', () => envBool(ctx.env, 'TRIGGER_WORKFLOW', true));
  attempt('WORKFLOW_INPUTS', () => {
    const v = envJson(ctx.env, 'WORKFLOW_INPUTS');
    if (v === undefined) return undefined;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('WORKFLOW_INPUTS must be a JSON object of input names to values');
    for (const [name, raw] of Object.entries(v as Record<string, unknown>)) {
      if (raw !== null && !['string', 'number', 'boolean'].includes(typeof raw)) {
        throw new Error(`WORKFLOW_INPUTS: input "${name}" must be a string, number or boolean`);
      }
    }
    return `{${Object.keys(v).join(', ')}}`;
  });
  if (problems.length) return fail(problems.join('; '), 'fix the variable in .env or the environment (see .env.example)');
  return ok(shown.join(', '));
}

async function cronCheck(ctx: AppContext): Promise<Outcome> {
  const raw = envString(ctx.env, 'REFRESH_CRON');
  const expr = raw ?? '0 */6 * * *';
  const { validateCron } = await import('./scheduler.js');
  try {
    await validateCron(expr, 'REFRESH_CRON');
  } catch (e) {
    return failFrom(e);
  }
  return ok(`"${expr}"${raw === undefined ? ' (default)' : ''}`);
}

/**
 * The scopes a classic token lacks for refresh. `public_repo` is enough only for a public fork,
 * so it turns the missing `repo` into a softer note.
 */
function missingScopes(scopes: string[]): string[] {
  const has = (s: string) => scopes.includes(s);
  const missing: string[] = [];
  if (!has('repo')) missing.push(has('public_repo') ? 'repo (public_repo covers public forks only)' : 'repo');
  if (!has('workflow')) missing.push('workflow');
  return missing;
}

async function cursorCheck(ctx: AppContext, online: boolean, timeoutMs: number): Promise<Outcome> {
  const { cursorWebUrl } = await import('./check.js');
  let base: string;
  try {
    base = cursorWebUrl(ctx);
  } catch (e) {
    return failFrom(e);
  }
  if (!online) return skip(`${base} not contacted (pass --online to test it)`);
  const url = `${base}/api/usage`;
  try {
    // No cookie: only whether something answers HTTP at that address matters here.
    const res = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(timeoutMs), headers: { 'user-agent': 'cookie-pool/0.1.0 doctor' } });
    await res.body?.cancel().catch(() => undefined);
    return ok(`${url} answers (HTTP ${res.status} without a cookie)`);
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no answer within ${Math.round(timeoutMs / 1000)} s` : (err.cause?.code ?? err.cause?.message ?? err.message);
    return fail(`cannot reach ${url}: ${why}`, 'check CURSOR_WEB_URL, DNS, proxies and the firewall of this machine');
  }
}

/**
 * What `refresh` would send for `number=auto` now: sized for the keys below MIN_COOKIE_COUNT
 * (undefined when none is: refresh would have nothing to do).
 */
async function autoNumberNow(ctx: AppContext): Promise<{ number: number | undefined; text: string }> {
  const { decideTargets } = await import('./refresh.js');
  const { describeSizing, sizeRefresh } = await import('./sizing.js');
  const minCount = minCookieCount(ctx.env);
  const { targets } = decideTargets(await ctx.pool.read(), { minCount });
  if (targets.length === 0) return { number: undefined, text: `no key is below ${minCount} now, so refresh would dispatch nothing` };
  const sized = await sizeRefresh(ctx, targets, { share: false, minCount });
  return { number: sized.number, text: `refresh would ask for ${describeSizing(sized)} (for ${targets.map((t) => t.apiKey).join(', ')})` };
}

/** A running Cursor-To-OpenAI proxy that has the store loaded (SPEC §9.1): file writes would be lost. */
async function liveProxyCheck(ctx: AppContext): Promise<Outcome> {
  if (process.platform !== 'linux') return skip('running processes are only inspected on Linux');
  const paths = storePaths(ctx.env, ctx.dataDirFlag);
  const { runningProxiesFor } = await import('../store/proxy-guard.js');
  const found = await runningProxiesFor(paths);
  if (found.length === 0) return ok(`no running Cursor-To-OpenAI proxy has ${paths.dataDir} loaded`);
  const list = found.map((p) => `pid ${p.pid} (${p.command}) in ${p.folder}`).join('; ');
  if (ctx.pool.backend === 'proxy') return ok(`${list}: changes go through its admin API (proxy backend)`);
  return fail(
    `a running proxy has this store loaded: ${list}; it keeps the pool in memory, so file writes would be erased by its next save (cookie-pool refuses them)`,
    'set PROXY_ADMIN_URL, PROXY_ADMIN_USER and PROXY_ADMIN_PASSWORD in .env to use the proxy backend',
  );
}

/** How long before its expiry a PROXY_ADMIN_TOKEN is worth a warning. */
const TOKEN_WARN_SEC = 3 * 3600;

/**
 * The proxy backend (SPEC §9.1): configuration, reachable, login accepted, keys readable, the
 * given token's expiry, and whether the proxy still accepts tokens signed with its public default
 * JWT_SECRET. Only reads: one login, GETs.
 */
function proxySteps(ctx: AppContext, timeoutMs: number): Step[] {
  type ProxyModule = typeof import('../store/proxy.js');
  let mod: ProxyModule | undefined;
  let client: InstanceType<ProxyModule['ProxyAdminClient']> | undefined;
  const load = async () => (mod ??= await import('../store/proxy.js'));
  const hours = (sec: number) => (sec >= 5400 ? `${Math.round(sec / 3600)} h` : `${Math.max(1, Math.round(sec / 60))} min`);
  const steps: Step[] = [
    {
      name: 'proxy-config',
      run: async () => {
        const { proxySettings, ProxyAdminClient } = await load();
        let settings;
        try {
          settings = proxySettings(ctx.env);
        } catch (e) {
          return failFrom(e);
        }
        client = new ProxyAdminClient(settings, timeoutMs);
        const how = settings.user && settings.password ? `logs in as ${settings.user}` : 'uses PROXY_ADMIN_TOKEN as is (no password to log in again)';
        return ok(`PROXY_ADMIN_URL=${client.where}; ${how}`);
      },
    },
    {
      name: 'proxy-reach',
      needs: ['proxy-config'],
      run: async () => {
        // /v1/admin/check needs no login and says whether an admin account exists.
        const res = await client!.send('GET', '/v1/admin/check', { label: 'GET /v1/admin/check' });
        const body: unknown = await res.json().catch(() => undefined);
        const exists = body && typeof body === 'object' ? (body as { exists?: unknown }).exists : undefined;
        if (res.status >= 500) return fail(`${client!.where} answers HTTP ${res.status}`, 'look at the proxy\'s log');
        if (exists === false) {
          return fail(`${client!.where} answers, but the proxy has no admin account yet`, `create one on ${client!.where}login.html, then put it in PROXY_ADMIN_USER / PROXY_ADMIN_PASSWORD`);
        }
        return ok(`${client!.where} answers (HTTP ${res.status}${exists === true ? ', admin account exists' : ''})`);
      },
    },
    {
      name: 'proxy-login',
      needs: ['proxy-reach'],
      run: async () => {
        const { settings } = client!;
        const canLogin = Boolean(settings.user && settings.password);
        try {
          // Without a token this logs in first; with one, it is tried and (with a password) replaced when refused.
          await client!.call('GET', '/v1/api-keys', { label: 'GET /v1/api-keys' });
        } catch (e) {
          return failFrom(e);
        }
        if (!settings.token) return ok(`login accepted for ${settings.user}`);
        return ok(canLogin ? `accepted (PROXY_ADMIN_TOKEN, or a fresh login as ${settings.user} when the token is refused)` : 'PROXY_ADMIN_TOKEN accepted');
      },
    },
    {
      name: 'proxy-keys',
      needs: ['proxy-login'],
      run: async () => {
        const { ProxyPool } = await load();
        let snap;
        try {
          snap = await new ProxyPool(client!).read();
        } catch (e) {
          return failFrom(e);
        }
        const names = Object.keys(snap.keys);
        const cookies = names.reduce((n, k) => n + (snap.keys[k]?.length ?? 0), 0);
        const detail = `${plural(names.length, 'api key')}, ${plural(cookies, 'cookie')}, ${plural(snap.invalid.length, 'cookie')} in the invalid list`;
        if (names.length === 0) return warn(`readable, but ${detail}`, 'add a key: cookie-pool keys add <key> [cookie...]');
        return ok(`readable: ${detail}`);
      },
    },
    {
      name: 'proxy-secret',
      needs: ['proxy-reach'],
      run: async () => {
        const { signHs256 } = await load();
        // A token as the proxy's own login signs it (jsonwebtoken: {username, iat, exp}, HS256),
        // but with the public default secret of its models/admin.js.
        const iat = Math.floor(Date.now() / 1000);
        const forged = await signHs256({ username: client!.settings.user ?? 'admin', iat, exp: iat + 300 }, 'your-secret-key');
        const res = await client!.send('GET', '/v1/api-keys', { label: 'GET /v1/api-keys', bearer: forged });
        await res.body?.cancel().catch(() => undefined);
        if (res.ok) {
          return fail(
            'the proxy accepts admin tokens signed with its public default JWT_SECRET ("your-secret-key"): anyone who can reach it can read and change the pool',
            "set JWT_SECRET to a long random value in the proxy's .env (e.g. openssl rand -hex 32) and restart it",
          );
        }
        if (res.status === 401 || res.status === 403) return ok('tokens signed with the default JWT_SECRET are refused');
        return warn(`could not tell whether the default JWT_SECRET is in use (HTTP ${res.status} to a token signed with it)`);
      },
    },
  ];
  if (envString(ctx.env, 'PROXY_ADMIN_TOKEN') !== undefined) {
    steps.splice(3, 0, {
      name: 'proxy-token',
      needs: ['proxy-config'],
      run: async () => {
        const { tokenExpiry } = await load();
        const { settings } = client!;
        const exp = tokenExpiry(settings.token!);
        const fallback = settings.user && settings.password ? `; cookie-pool logs in as ${settings.user} when it is refused` : '';
        const hint = settings.user && settings.password ? undefined : 'set PROXY_ADMIN_USER + PROXY_ADMIN_PASSWORD so cookie-pool can log in by itself';
        if (exp === undefined) return warn(`PROXY_ADMIN_TOKEN has no expiry that can be read (not a JWT?)${fallback}`, hint);
        const left = exp - Math.floor(Date.now() / 1000);
        if (left <= 0) return warn(`PROXY_ADMIN_TOKEN expired ${hours(-left)} ago${fallback}`, hint);
        if (left <= TOKEN_WARN_SEC) return warn(`PROXY_ADMIN_TOKEN expires in ${hours(left)}${fallback}`, hint);
        return ok(`PROXY_ADMIN_TOKEN expires in ${hours(left)}${fallback}`);
      },
    });
  }
  return steps;
}

/** Run every check in order and return the report (`ok` false when any check failed). */
export async function runDoctor(ctx: AppContext, opts: DoctorOptions = {}): Promise<DoctorReport> {
  const { env } = ctx;
  const timeoutMs = opts.requestTimeoutMs ?? 20_000;
  const trigger = (() => {
    try {
      return envBool(env, 'TRIGGER_WORKFLOW', true);
    } catch {
      return true;
    }
  })();

  // State shared by the GitHub checks.
  let settings: GitHubSettings | undefined;
  let gh: GitHubClient | undefined;
  let defaultBranch: string | undefined;
  let workflow: WorkflowInfo | undefined;

  const client = async (): Promise<GitHubClient> => {
    if (gh) return gh;
    const { createGitHubClient, retryBaseFromEnv } = await import('../github/client.js');
    // A diagnosis should answer quickly: transient failures are retried with a short back-off
    // (0.25, 1, 2.25 s) rather than refresh's patient one.
    gh = await createGitHubClient(settings!, {
      io: ctx.io,
      requestTimeoutMs: timeoutMs,
      maxRateLimitRetries: 1,
      maxRateLimitWaitSec: 60,
      retryBaseMs: retryBaseFromEnv(env) ?? 250,
    });
    return gh;
  };

  const steps: Step[] = [
    { name: 'node', run: async () => nodeCheck(opts.nodeVersion ?? process.versions.node) },
    {
      name: 'env-file',
      run: async () => {
        if (ctx.envFile) return ok(`loaded ${ctx.envFile}`);
        const looked = resolve(process.cwd(), '.env');
        return warn(`no .env found (looked for ${looked}); using the environment only`, 'cp .env.example .env and fill it in, or pass --env-file PATH');
      },
    },
    ...(ctx.pool.backend === 'file' ? [{ name: 'keys-file', run: () => storeFileCheck(storePaths(ctx.env, ctx.dataDirFlag).keysFile, 'keys') }] : []),
    ...(ctx.pool.backend !== 'proxy'
      ? [{ name: 'invalid-file', run: () => storeFileCheck(storePaths(ctx.env, ctx.dataDirFlag).invalidFile, 'invalid') }]
      : []),
    ...(ctx.pool.backend === 'file' || ctx.pool.backend === 'proxy' ? [{ name: 'live-proxy', run: () => liveProxyCheck(ctx) }] : []),
    ...(ctx.pool.backend === 'proxy' ? proxySteps(ctx, timeoutMs) : []),
    // cursor-api's backends: their files or endpoint (src/services/doctor-token.ts).
    ...(ctx.pool.backend === 'token-file' || ctx.pool.backend === 'token-api' ? await (await import('./doctor-token.js')).tokenBackendChecks(ctx) : []),
    { name: 'permissions', run: () => permissionsCheck(ctx) },
    { name: 'settings', run: async () => settingsCheck(ctx) },
    { name: 'refresh-cron', run: () => cronCheck(ctx) },
    {
      name: 'github-token',
      run: async () => {
        const token = envString(env, 'GITHUB_TOKEN');
        if (!token) {
          return fail(
            'GITHUB_TOKEN is not set',
            'create a classic token with the repo + workflow scopes (or a fine-grained one with Actions read/write and Contents read on your fork) and put GITHUB_TOKEN=... in .env',
          );
        }
        return ok(describeToken(token));
      },
    },
    {
      name: 'github-auth',
      needs: ['github-token'],
      run: async () => {
        const { githubSettings } = await import('../github/client.js');
        try {
          // GITHUB_OWNER is not needed to ask who the token belongs to; the repository check reports it.
          settings = githubSettings({ ...env, GITHUB_OWNER: envString(env, 'GITHUB_OWNER') ?? '-' });
        } catch (e) {
          return failFrom(e);
        }
        const c = await client();
        let res;
        try {
          res = await c.call('the authenticated user (GET /user)', () => c.octokit.request('GET /user'));
        } catch (e) {
          return failFrom(e);
        }
        const login = (res.data as { login?: string }).login ?? '(unknown)';
        const header = res.headers['x-oauth-scopes'];
        const token = settings.token;
        const at = settings.apiUrl === 'https://api.github.com' ? '' : ` at ${settings.apiUrl}`;
        if (typeof header !== 'string' || token.startsWith('github_pat_') || token.startsWith('ghs_')) {
          return ok(
            `accepted${at} as ${login}; the server reports no scopes (fine-grained or app token)`,
            'fine-grained tokens need Actions read/write and Contents read on the fork; the checks below show whether it can see it',
          );
        }
        const scopes = header.split(',').map((s) => s.trim()).filter(Boolean);
        const missing = missingScopes(scopes);
        const list = scopes.length ? scopes.join(', ') : 'none';
        if (missing.length) {
          return warn(
            `accepted${at} as ${login}, but the classic token lacks ${missing.join(' and ')} (scopes: ${list})`,
            `regenerate the token with the repo and workflow scopes: without ${missing.map((m) => m.split(' ')[0]).join(' and ')} refresh cannot ${[
              scopes.includes('repo') ? '' : 'read a private fork',
              scopes.includes('workflow') ? '' : 'dispatch the workflow',
            ]
              .filter(Boolean)
              .join(' or ')}`,
          );
        }
        return ok(`accepted${at} as ${login}; scopes: ${list}`);
      },
    },
    {
      name: 'repository',
      needs: ['github-auth'],
      run: async () => {
        if (!envString(env, 'GITHUB_OWNER')) {
          return fail('GITHUB_OWNER is not set', 'set GITHUB_OWNER to the account that owns your Cursor-Register fork');
        }
        const c = await client();
        const { owner, repo } = c.settings;
        let data;
        try {
          ({ data } = await c.call(`repository ${owner}/${repo}`, () => c.octokit.request('GET /repos/{owner}/{repo}', c.repo)));
        } catch (e) {
          return failFrom(e);
        }
        defaultBranch = data.default_branch;
        const vis = data.private ? 'private' : 'public';
        const detail = `${data.full_name} (${vis}), default branch ${data.default_branch}`;
        if (data.archived) return fail(`${detail} is archived: workflows cannot run`, 'unarchive it in the repository settings, or point GITHUB_OWNER/GITHUB_REPO at an active fork');
        if (data.permissions && data.permissions.push === false && trigger) {
          return warn(`${detail}; the token's user has read-only access`, 'dispatching a workflow needs write access to the repository');
        }
        return ok(detail);
      },
    },
    {
      name: 'workflow',
      needs: ['repository'],
      run: async () => {
        const c = await client();
        const { getWorkflow } = await import('../github/workflow.js');
        try {
          workflow = await getWorkflow(c);
        } catch (e) {
          return failFrom(e);
        }
        const detail = `${workflow.name} (${workflow.path})`;
        if (workflow.state === 'active') return ok(`${detail}, active`);
        const state = workflow.state.replace(/_/g, ' ');
        const hint = `enable it in the Actions tab of ${c.settings.owner}/${c.settings.repo} (${workflow.htmlUrl})${
          workflow.state === 'disabled_inactivity' ? '; GitHub disables workflows of repositories without activity for 60 days' : ''
        }`;
        // Harvesting the latest run (TRIGGER_WORKFLOW=false) still works on a disabled workflow.
        return trigger ? fail(`${detail} is ${state}: refresh cannot dispatch it`, hint) : warn(`${detail} is ${state} (TRIGGER_WORKFLOW=false: only existing runs can be harvested)`, hint);
      },
    },
    {
      name: 'ref',
      needs: ['repository'],
      run: async () => {
        const c = await client();
        const ref = c.settings.ref;
        if (!ref) return ok(`GITHUB_REF not set: dispatching on the default branch ${defaultBranch ?? ''}`.trimEnd());
        const { statusOf } = await import('../github/client.js');
        const branch = ref.replace(/^refs\/heads\//, '');
        const isTag = ref.startsWith('refs/tags/');
        const tag = ref.replace(/^refs\/tags\//, '');
        try {
          if (!isTag) {
            try {
              await c.octokit.request('GET /repos/{owner}/{repo}/branches/{branch}', { ...c.repo, branch });
              return ok(`branch ${branch} exists`);
            } catch (e) {
              if (statusOf(e) !== 404) throw e;
            }
          }
          try {
            await c.octokit.request('GET /repos/{owner}/{repo}/git/ref/{ref}', { ...c.repo, ref: `tags/${tag}` });
            return ok(`tag ${tag} exists`);
          } catch (e) {
            if (statusOf(e) !== 404) throw e;
          }
        } catch (e) {
          const { githubError } = await import('../github/client.js');
          return failFrom(githubError(e, `ref ${ref}`, c.settings));
        }
        return fail(
          `GITHUB_REF=${ref}: no such ${isTag ? 'tag' : 'branch or tag'} in ${c.settings.owner}/${c.settings.repo}`,
          `unset GITHUB_REF to use the default branch (${defaultBranch ?? 'see the repository'}), or name an existing branch`,
        );
      },
    },
    {
      name: 'inputs',
      needs: ['settings', 'repository', 'ref'],
      run: async () => {
        if (!workflow) return skip('skipped: workflow failed');
        const c = await client();
        const ref = c.settings.ref ?? defaultBranch!;
        const { declaredInputs } = await import('../github/workflow.js');
        const { collectInputs, checkInputs } = await import('../core/inputs.js');
        let declared;
        try {
          declared = await declaredInputs(c, workflow!, ref);
        } catch (e) {
          return failFrom(e);
        }
        let configured;
        try {
          configured = collectInputs(env, envJson(env, 'WORKFLOW_INPUTS'), []);
        } catch (e) {
          return failFrom(e);
        }
        // number=auto (SPEC §10): the number refresh would ask for now.
        let autoNote = '';
        const { autoNumberInput } = await import('../core/inputs.js');
        const auto = autoNumberInput(configured);
        if (auto) {
          try {
            const { requireNumberInput } = await import('../github/workflow.js');
            requireNumberInput(declared, auto, `${workflow!.path} at ${ref}`);
            const sized = await autoNumberNow(ctx);
            autoNote = `; number=auto: ${sized.text}`;
            if (sized.number === undefined) delete configured.number;
            else configured.number = { value: String(sized.number), source: `${auto.source}=auto` };
          } catch (e) {
            return failFrom(e);
          }
        }
        const result = checkInputs(declared, configured);
        const declaredNames = Object.keys(declared);
        const declaredText = declaredNames.length ? `declared: ${declaredNames.join(', ')}` : 'the workflow declares no inputs';
        const dropped = result.droppedNames.length
          ? `not declared by ${workflow!.path} at ${ref}, so refresh drops them: ${result.droppedNames.join(', ')}`
          : '';
        if (result.errors.length) {
          const detail = [...result.errors, dropped].filter(Boolean).join('; ');
          const hint = `fix the REGISTER_* variables / WORKFLOW_INPUTS (${declaredText})`;
          // Without dispatching (TRIGGER_WORKFLOW=false) the inputs are never sent.
          return trigger ? fail(detail, hint) : warn(`TRIGGER_WORKFLOW=false, so not sent for now: ${detail}`, hint);
        }
        if (dropped) {
          return warn(dropped + autoNote, `remove them from .env / WORKFLOW_INPUTS, or use a fork whose workflow declares them (${declaredText})`);
        }
        // Cursor-Register uploads the CSV files only when upload_artifact is true.
        if (declared.upload_artifact && (result.inputs.upload_artifact ?? declared.upload_artifact.default) === 'false') {
          return warn(
            'upload_artifact will be false: the run will upload no artifact for cookie-pool to harvest',
            'set REGISTER_UPLOAD_ARTIFACT=true',
          );
        }
        const sent = Object.keys(result.inputs);
        return ok(`${sent.length ? `sending ${sent.join(', ')}` : 'none configured (workflow defaults apply)'}; ${declaredText}${autoNote}`);
      },
    },
    {
      name: 'artifact',
      needs: ['repository'],
      run: async () => {
        if (!workflow) return skip('skipped: workflow failed');
        const c = await client();
        const { latestSuccessfulRun } = await import('../github/runs.js');
        const { listArtifacts, pickArtifact, DEFAULT_ARTIFACT_NAME } = await import('../github/artifacts.js');
        const configured = envString(env, 'ARTIFACT_NAME');
        const name = configured ?? DEFAULT_ARTIFACT_NAME;
        let run;
        try {
          run = await latestSuccessfulRun(c);
        } catch (e) {
          if (e instanceof CliError && /has no successful run/.test(e.message)) {
            // With TRIGGER_WORKFLOW=false refresh harvests that run: without one it cannot work.
            return trigger
              ? warn(`no successful run of ${workflow!.path} yet, so "${name}" cannot be confirmed`, 'run cookie-pool refresh once (or start the workflow from the Actions tab), then run doctor again')
              : fail(`no successful run of ${workflow!.path}, and TRIGGER_WORKFLOW=false: refresh has nothing to harvest`, 'start the workflow from the Actions tab, or set TRIGGER_WORKFLOW=true');
          }
          return failFrom(e);
        }
        let list;
        try {
          list = await listArtifacts(c, run.id);
        } catch (e) {
          return failFrom(e);
        }
        const where = `latest successful run ${run.id} (${run.createdAt})`;
        const names = list.map((a) => `"${a.name}"`).join(', ');
        const picked = pickArtifact(list, name);
        const matched = picked !== undefined && picked.name.toLowerCase() === name.toLowerCase();
        if (!matched) {
          // No match: refresh falls back to a run's only artifact, but the name is still wrong.
          const fallback = picked ? `; refresh would fall back to the run's only artifact "${picked.name}"` : '';
          return (trigger || picked ? warn : fail)(
            list.length ? `"${name}" not among the artifacts of the ${where}: ${names}${fallback}` : `the ${where} has no artifacts (looked for "${name}")`,
            list.length
              ? `set ARTIFACT_NAME to the artifact that holds the account CSV files`
              : 'the workflow must upload its CSV files: set REGISTER_UPLOAD_ARTIFACT=true',
          );
        }
        const how = `"${picked.name}"`;
        if (picked.expired) {
          return trigger
            ? warn(`${how} of the ${where} has expired`, 'artifacts expire after the retention period; the next refresh makes a new one')
            : fail(`${how} of the ${where} has expired, and TRIGGER_WORKFLOW=false: refresh has nothing to harvest`, 'start the workflow from the Actions tab, or set TRIGGER_WORKFLOW=true');
        }
        return ok(`${how} found in the ${where}`);
      },
    },
    { name: 'cursor-web', run: () => cursorCheck(ctx, opts.online === true, timeoutMs) },
    // Alerts and metrics (SPEC §11), in services/doctor-monitoring.ts.
    { name: 'notify', run: async () => (await import('./doctor-monitoring.js')).notifyCheck(ctx, opts.online === true, timeoutMs) },
    { name: 'metrics', run: async () => (await import('./doctor-monitoring.js')).metricsCheck(ctx) },
  ];

  const checks: DoctorCheck[] = [];
  const byName = new Map<string, DoctorCheck>();
  // The failed check at the root of each skip, so every skipped line names the real cause.
  const rootCause = new Map<string, string[]>();
  for (const step of steps) {
    const causes = [
      ...new Set(
        (step.needs ?? []).flatMap((n) => {
          const s = byName.get(n)?.status;
          if (s === 'fail') return [n];
          if (s === 'skip') return rootCause.get(n) ?? [n];
          return [];
        }),
      ),
    ];
    let outcome: Outcome;
    if (causes.length) {
      rootCause.set(step.name, causes);
      outcome = skip(`skipped: ${causes.join(', ')} failed`);
    } else {
      try {
        outcome = await step.run();
      } catch (e) {
        outcome = failFrom(e);
      }
    }
    const check: DoctorCheck = { name: step.name, ...outcome };
    checks.push(check);
    byName.set(step.name, check);
    opts.onCheck?.(check);
  }
  return { ok: checks.every((c) => c.status !== 'fail'), checks };
}
