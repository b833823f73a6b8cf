/**
 * `doctor` through the built CLI against the loopback fake GitHub (real octokit) and, with
 * --online, the loopback fake Cursor endpoint: a good setup is all ok; each broken setup makes
 * the right line fail (or warn), the checks behind it are skipped, and no secret is printed.
 */
import { chmodSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { startFakeCursor, type FakeCursor } from './fake-cursor.js';
import { FakeGitHub, type FakeGitHubOptions } from './fake-github.js';
import { leakedSecrets, TempStore, type RunResult } from './helpers/cli.js';
import { makeCookie } from './helpers/cookies.js';

const CHECKS = [
  'node',
  'env-file',
  'keys-file',
  'invalid-file',
  'live-proxy',
  'permissions',
  'settings',
  'refresh-cron',
  'github-token',
  'github-auth',
  'repository',
  'workflow',
  'ref',
  'inputs',
  'artifact',
  'cursor-web',
  'notify',
  'metrics',
];

type Status = 'ok' | 'warn' | 'fail' | 'skip';
interface Check {
  name: string;
  status: Status;
  detail: string;
  hint?: string;
}
interface Report {
  ok: boolean;
  checks: Check[];
}

/** Everything any run printed, and every secret that must never appear in it. */
const printed: string[] = [];
const secrets = new Set<string>();

interface Setup {
  gh: FakeGitHub;
  store: TempStore;
  envFile: string;
  /** Rewrite .env (mode 0600) with the good variables plus `extra` (undefined removes one). */
  writeEnv(extra?: Record<string, string | undefined>): void;
  run(args: string[], env?: Record<string, string>): Promise<RunResult>;
  json(args?: string[], env?: Record<string, string>): Promise<{ res: RunResult; report: Report; check: (name: string) => Check }>;
}

let current: Setup | undefined;
let cursor: FakeCursor | undefined;
afterEach(async () => {
  if (current) {
    await current.gh.close();
    current.store.cleanup();
    current = undefined;
  }
});
afterAll(async () => {
  await cursor?.close();
  // The leak check over every run of this file.
  const text = printed.join('\n');
  for (const s of secrets) expect(text.includes(s), 'a secret was printed').toBe(false);
});

/**
 * A healthy installation: private store with one key of two cookies, a private .env with the
 * GitHub settings, a fake GitHub whose workflow has one successful run with "Account Info".
 */
async function setup(opts: FakeGitHubOptions = {}, envExtra: Record<string, string | undefined> = {}, { completedRun = true } = {}): Promise<Setup> {
  const gh = await FakeGitHub.start(opts);
  if (completedRun) gh.addCompletedRun();
  const store = new TempStore('cookie-pool-doctor-');
  const cookies = [makeCookie(), makeCookie()];
  cookies.forEach((c) => secrets.add(c));
  secrets.add(gh.token);
  store.writeKeys({ 'sk-a': cookies });
  store.writeInvalid([]);
  chmodSync(store.keysFile, 0o600);
  chmodSync(store.invalidFile, 0o600);
  chmodSync(store.dataDir, 0o700);
  const envFile = join(store.dir, '.env');
  const writeEnv = (extra: Record<string, string | undefined> = {}): void => {
    const vars: Record<string, string | undefined> = {
      GITHUB_TOKEN: gh.token,
      GITHUB_OWNER: gh.owner,
      GITHUB_API_URL: gh.apiUrl,
      REGISTER_NUMBER: '3',
      REGISTER_EMAIL_SERVER: 'TempEmail',
      ...(cursor ? { CURSOR_WEB_URL: cursor.url } : {}),
      ...extra,
    };
    const text = Object.entries(vars)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}='${v}'`)
      .join('\n');
    writeFileSync(envFile, `${text}\n`, { mode: 0o600 });
    chmodSync(envFile, 0o600);
  };
  writeEnv(envExtra);
  const s: Setup = {
    gh,
    store,
    envFile,
    writeEnv,
    async run(args, env = {}) {
      const res = await store.run(args, { env: { COOKIE_POOL_RETRY_BASE_MS: '20', ...env } });
      printed.push(res.stdout, res.stderr);
      return res;
    },
    async json(args = ['doctor'], env = {}) {
      const res = await s.run([...args, '--json'], env);
      let report: Report;
      try {
        report = JSON.parse(res.stdout) as Report;
      } catch {
        throw new Error(`not one JSON document on stdout:\n${res.stdout}\nstderr:\n${res.stderr}`);
      }
      const check = (name: string): Check => {
        const c = report.checks.find((x) => x.name === name);
        if (!c) throw new Error(`no check ${name} in ${JSON.stringify(report.checks.map((x) => x.name))}`);
        return c;
      };
      return { res, report, check };
    },
  };
  current = s;
  return s;
}

/** The human line of a check: `<status> <name>  <detail>`. */
function line(stdout: string, name: string): string {
  const l = stdout.split('\n').find((x) => new RegExp(`^(ok|warn|fail|skip)\\s+${name}\\s`).test(x));
  if (!l) throw new Error(`no line for ${name} in:\n${stdout}`);
  return l;
}

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const statuses = (r: Report): Record<string, Status> => Object.fromEntries(r.checks.map((c) => [c.name, c.status]));

describe('doctor: a good setup', () => {
  it('passes every check with --online (exit 0); JSON is {ok, checks:[{name,status,detail,hint?}]}', async () => {
    cursor ??= await startFakeCursor();
    const s = await setup();
    const { res, report, check } = await s.json(['doctor', '--online']);
    expect(res.code, res.stderr).toBe(0);
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.name)).toEqual(CHECKS);
    expect(report.checks.filter((c) => c.status !== 'ok')).toEqual([]);
    for (const c of report.checks) {
      expect(Object.keys(c).sort()).toEqual(c.hint === undefined ? ['detail', 'name', 'status'] : ['detail', 'hint', 'name', 'status']);
      expect(typeof c.detail).toBe('string');
    }
    expect(Object.keys(report).sort()).toEqual(['checks', 'ok']);
    // What the details tell.
    expect(check('env-file').detail).toContain(s.envFile);
    expect(check('keys-file').detail).toContain('1 api key, 2 cookies');
    expect(check('github-token').detail).toMatch(/classic personal access token \(ghp_…\), 19 characters/);
    expect(check('github-auth').detail).toContain('acme-bot');
    expect(check('github-auth').detail).toContain('scopes: repo, workflow');
    expect(check('repository').detail).toContain('acme/Cursor-Register');
    expect(check('repository').detail).toContain('default branch main');
    expect(check('workflow').detail).toContain('active');
    expect(check('inputs').detail).toMatch(/sending number, email_server/);
    expect(check('artifact').detail).toContain('"Account Info"');
    expect(check('cursor-web').detail).toContain(`${cursor.url}/api/usage answers`);
    // Only reads: nothing dispatched, nothing but GETs.
    expect(s.gh.dispatches).toEqual([]);
    expect(s.gh.requests.every((r) => r.method === 'GET')).toBe(true);
  });

  it('prints one line per check with the summary; without --online the Cursor check is skipped, still exit 0', async () => {
    const s = await setup();
    const res = await s.run(['doctor']);
    expect(res.code, res.stderr).toBe(0);
    for (const name of CHECKS.filter((n) => n !== 'cursor-web')) expect(line(res.stdout, name)).toMatch(/^ok /);
    expect(line(res.stdout, 'cursor-web')).toMatch(/^skip .*--online/);
    expect(res.stdout).toMatch(/doctor: 17 ok, 0 warnings, 0 failed, 1 skipped — all good/);
    expect(res.stdout).not.toContain('hint:');
  });
});

describe('doctor: GitHub problems', () => {
  it('a refused token (401) fails github-auth; the GitHub checks behind it are skipped', async () => {
    const s = await setup();
    const bad = 'ghp_wrongtoken0000000000000000000000000';
    secrets.add(bad);
    const { res, report, check } = await s.json(['doctor'], { GITHUB_TOKEN: bad });
    expect(res.code).toBe(1);
    expect(report.ok).toBe(false);
    expect(check('github-token').status).toBe('ok');
    expect(check('github-auth')).toMatchObject({ status: 'fail' });
    expect(check('github-auth').detail).toMatch(/401/);
    expect(check('github-auth').hint).toMatch(/GITHUB_TOKEN/);
    for (const n of ['repository', 'workflow', 'ref', 'inputs', 'artifact']) {
      expect(check(n)).toMatchObject({ status: 'skip', detail: 'skipped: github-auth failed' });
    }
    // The local checks still ran.
    expect(check('keys-file').status).toBe('ok');
    // Human output: the failing line and its hint below it.
    const human = await s.run(['doctor'], { GITHUB_TOKEN: bad });
    expect(line(human.stdout, 'github-auth')).toMatch(/^fail github-auth\s+GitHub refused the token \(401/);
    const lines = human.stdout.split('\n');
    const i = lines.findIndex((l) => l.startsWith('fail github-auth'));
    expect(lines[i + 1]).toMatch(/^\s+hint: check GITHUB_TOKEN/);
    expect(human.stdout).toMatch(/1 failed/);
  });

  it('a missing GITHUB_TOKEN fails github-token with a hint about scopes, and GitHub is never asked', async () => {
    const s = await setup();
    s.writeEnv({ GITHUB_TOKEN: undefined });
    const { res, check } = await s.json();
    expect(res.code).toBe(1);
    expect(check('github-token')).toMatchObject({ status: 'fail', detail: 'GITHUB_TOKEN is not set' });
    expect(check('github-token').hint).toMatch(/repo \+ workflow scopes/);
    for (const n of ['github-auth', 'repository', 'workflow', 'ref', 'inputs', 'artifact']) {
      expect(check(n)).toMatchObject({ status: 'skip', detail: 'skipped: github-token failed' });
    }
    expect(s.gh.requests).toEqual([]);
  });

  it('a workflow that does not exist (404) fails the workflow line; inputs and artifact are skipped', async () => {
    const s = await setup({}, { GITHUB_WORKFLOW_ID: 'missing.yml' });
    const { res, check } = await s.json();
    expect(res.code).toBe(1);
    expect(check('repository').status).toBe('ok');
    expect(check('workflow').status).toBe('fail');
    expect(check('workflow').detail).toMatch(/workflow missing\.yml in acme\/Cursor-Register was not found \(404/);
    expect(check('workflow').hint).toMatch(/GITHUB_WORKFLOW_ID \(missing\.yml\)/);
    expect(check('inputs')).toMatchObject({ status: 'skip', detail: 'skipped: workflow failed' });
    expect(check('artifact')).toMatchObject({ status: 'skip', detail: 'skipped: workflow failed' });
  });

  it('a repository the token cannot see (404) fails the repository line', async () => {
    const s = await setup({}, { GITHUB_REPO: 'Other-Repo' });
    const { res, check } = await s.json();
    expect(res.code).toBe(1);
    expect(check('github-auth').status).toBe('ok');
    expect(check('repository').status).toBe('fail');
    expect(check('repository').detail).toMatch(/repository acme\/Other-Repo was not found \(404/);
    expect(check('workflow')).toMatchObject({ status: 'skip', detail: 'skipped: repository failed' });
  });

  it('a disabled workflow fails (refresh cannot dispatch it); with TRIGGER_WORKFLOW=false it is only a warning', async () => {
    const s = await setup({ workflowState: 'disabled_manually' });
    const a = await s.json();
    expect(a.res.code).toBe(1);
    expect(a.check('workflow').status).toBe('fail');
    expect(a.check('workflow').detail).toMatch(/is disabled manually: refresh cannot dispatch it/);
    expect(a.check('workflow').hint).toMatch(/enable it in the Actions tab/);
    // Inputs and the artifact are still checked: the workflow exists.
    expect(a.check('inputs').status).toBe('ok');
    expect(a.check('artifact').status).toBe('ok');

    const b = await s.json(['doctor'], { TRIGGER_WORKFLOW: 'false' });
    expect(b.res.code).toBe(0);
    expect(b.check('workflow').status).toBe('warn');
    expect(b.check('workflow').detail).toMatch(/TRIGGER_WORKFLOW=false/);
  });

  it('a classic token without the workflow scope warns; a fine-grained token (no scopes reported) is ok with a note', async () => {
    const s = await setup({ scopes: 'repo' });
    const a = await s.json();
    expect(a.res.code).toBe(0);
    expect(a.check('github-auth').status).toBe('warn');
    expect(a.check('github-auth').detail).toMatch(/lacks workflow \(scopes: repo\)/);
    await s.gh.close();
    s.store.cleanup();
    current = undefined;

    const fine = 'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRS';
    const t = await setup({ scopes: null, token: fine });
    const b = await t.json();
    expect(b.res.code, JSON.stringify(b.report)).toBe(0);
    expect(b.check('github-token').detail).toBe(`set: fine-grained personal access token (github_pat_…), ${fine.length} characters`);
    expect(b.check('github-auth').status).toBe('ok');
    expect(b.check('github-auth').detail).toMatch(/reports no scopes \(fine-grained/);
    expect(b.check('github-auth').hint).toMatch(/Actions read\/write/);
  });

  it('an unreachable GitHub API fails github-auth (after quick retries)', async () => {
    const s = await setup();
    const port = await closedPort();
    const { res, check } = await s.json(['doctor'], { GITHUB_API_URL: `http://127.0.0.1:${port}` });
    expect(res.code).toBe(1);
    expect(check('github-auth').status).toBe('fail');
    expect(check('github-auth').detail).toMatch(new RegExp(`cannot reach the GitHub API at http://127\\.0\\.0\\.1:${port}`));
    expect(check('repository')).toMatchObject({ status: 'skip', detail: 'skipped: github-auth failed' });
  });

  it('GITHUB_REF: an existing branch is ok, an unknown one fails', async () => {
    const s = await setup({}, { GITHUB_REF: 'dev' });
    const a = await s.json();
    expect(a.check('ref')).toMatchObject({ status: 'ok', detail: 'branch dev exists' });
    const b = await s.json(['doctor'], { GITHUB_REF: 'nope' });
    expect(b.res.code).toBe(1);
    expect(b.check('ref').status).toBe('fail');
    expect(b.check('ref').detail).toMatch(/GITHUB_REF=nope: no such branch or tag in acme\/Cursor-Register/);
    expect(b.check('inputs')).toMatchObject({ status: 'skip', detail: 'skipped: ref failed' });
  });
});

describe('doctor: workflow inputs and the artifact', () => {
  it('undeclared inputs warn, naming each (they would be dropped); exit 0', async () => {
    const s = await setup({}, { REGISTER_USE_CONFIG_FILE: 'true', WORKFLOW_INPUTS: '{"foo":"1"}' });
    const { res, check } = await s.json();
    expect(res.code, res.stdout).toBe(0);
    expect(check('inputs').status).toBe('warn');
    expect(check('inputs').detail).toContain('use_config_file (from REGISTER_USE_CONFIG_FILE)');
    expect(check('inputs').detail).toContain('foo (from WORKFLOW_INPUTS)');
    expect(check('inputs').detail).toMatch(/refresh drops them/);
  });

  it('a choice value the workflow does not allow fails, listing the allowed values', async () => {
    const s = await setup({}, { REGISTER_EMAIL_SERVER: 'Gmail' });
    const { res, check } = await s.json();
    expect(res.code).toBe(1);
    expect(check('inputs').status).toBe('fail');
    expect(check('inputs').detail).toMatch(/input "email_server" \(from REGISTER_EMAIL_SERVER\) must be one of "TempEmail", "IMAP"; got "Gmail"/);
    // Not dispatching (TRIGGER_WORKFLOW=false): the inputs are never sent, so only a warning.
    const b = await s.json(['doctor'], { TRIGGER_WORKFLOW: 'false' });
    expect(b.res.code).toBe(0);
    expect(b.check('inputs').status).toBe('warn');
    expect(b.check('inputs').detail).toMatch(/^TRIGGER_WORKFLOW=false, so not sent for now: input "email_server"/);
  });

  it('upload_artifact=false warns: there would be nothing to harvest', async () => {
    const s = await setup({}, { REGISTER_UPLOAD_ARTIFACT: 'false' });
    const { check } = await s.json();
    expect(check('inputs').status).toBe('warn');
    expect(check('inputs').detail).toMatch(/upload_artifact will be false/);
  });

  it('bad WORKFLOW_INPUTS JSON fails the settings line and skips the inputs check', async () => {
    const s = await setup({}, { WORKFLOW_INPUTS: '{nope' });
    const { res, check } = await s.json();
    expect(res.code).toBe(1);
    expect(check('settings').status).toBe('fail');
    expect(check('settings').detail).toMatch(/WORKFLOW_INPUTS is not valid JSON/);
    expect(check('inputs')).toMatchObject({ status: 'skip', detail: 'skipped: settings failed' });
  });

  it('ARTIFACT_NAME not among the latest successful run\'s artifacts warns, listing the names seen', async () => {
    const s = await setup({}, { ARTIFACT_NAME: 'Cookies' });
    const { res, check } = await s.json();
    expect(res.code).toBe(0);
    expect(check('artifact').status).toBe('warn');
    expect(check('artifact').detail).toMatch(/"Cookies" not among the artifacts of the latest successful run \d+ .*: "Account Info"/);
    expect(check('artifact').hint).toMatch(/ARTIFACT_NAME/);
    // Case-insensitive, as refresh matches it.
    const ok = await s.json(['doctor'], { ARTIFACT_NAME: 'account info' });
    expect(ok.check('artifact').status).toBe('ok');
  });

  it('no successful run yet warns (fails with TRIGGER_WORKFLOW=false)', async () => {
    const s = await setup({}, {}, { completedRun: false });
    s.gh.addCompletedRun({ conclusion: 'failure' });
    const { res, check } = await s.json();
    expect(res.code).toBe(0);
    expect(check('artifact').status).toBe('warn');
    expect(check('artifact').detail).toMatch(/no successful run/);
    // ...but it fails when refresh relies on that run (TRIGGER_WORKFLOW=false).
    const b = await s.json(['doctor'], { TRIGGER_WORKFLOW: 'false' });
    expect(b.res.code).toBe(1);
    expect(b.check('artifact').status).toBe('fail');
    expect(b.check('artifact').detail).toMatch(/TRIGGER_WORKFLOW=false: refresh has nothing to harvest/);
  });
});

describe('doctor: local problems', () => {
  it('a corrupt store fails its line with the parse error and is left byte for byte as it was', async () => {
    const s = await setup();
    const corrupt = '{"sk-a": ["user_01X%3A%3Aabc", \n';
    s.store.writeKeys(corrupt);
    s.store.writeInvalid('{"not":"a list"}');
    chmodSync(s.store.keysFile, 0o600);
    chmodSync(s.store.invalidFile, 0o600);
    const before = { keys: readFileSync(s.store.keysFile), invalid: readFileSync(s.store.invalidFile), mtime: statSync(s.store.keysFile).mtimeMs };
    const { res, check } = await s.json();
    expect(res.code).toBe(1);
    expect(check('keys-file').status).toBe('fail');
    expect(check('keys-file').detail).toContain(`${s.store.keysFile}: not valid JSON`);
    expect(check('invalid-file').status).toBe('fail');
    expect(check('invalid-file').detail).toContain('expected a list of cookies, found an object');
    // GitHub checks are independent of the store.
    expect(check('workflow').status).toBe('ok');
    expect(readFileSync(s.store.keysFile).equals(before.keys)).toBe(true);
    expect(readFileSync(s.store.invalidFile).equals(before.invalid)).toBe(true);
    expect(statSync(s.store.keysFile).mtimeMs).toBe(before.mtime);
  });

  it('store files, data dir or .env readable by others warn with a chmod hint; exit 0', async () => {
    const s = await setup();
    chmodSync(s.store.keysFile, 0o644);
    chmodSync(s.envFile, 0o640);
    const { res, check } = await s.json();
    expect(res.code).toBe(0);
    const p = check('permissions');
    expect(p.status).toBe('warn');
    expect(p.detail).toContain(`${s.store.keysFile} is 0644`);
    expect(p.detail).toContain(`${s.envFile} is 0640`);
    expect(p.detail).not.toContain(s.store.invalidFile);
    expect(p.hint).toContain(`chmod 600 ${s.store.keysFile} ${s.envFile}`);
    chmodSync(s.store.keysFile, 0o600);
    chmodSync(s.envFile, 0o600);
    chmodSync(s.store.dataDir, 0o755);
    const dir = await s.json();
    expect(dir.check('permissions').status).toBe('warn');
    expect(dir.check('permissions').hint).toContain(`chmod 700 ${s.store.dataDir}`);
    // A store that cookie-pool creates itself passes: data dir 0700, files 0600.
    rmSync(s.store.dataDir, { recursive: true });
    const add = await s.run(['keys', 'add', 'sk-new']);
    expect(add.code, add.stderr).toBe(0);
    expect(statSync(s.store.dataDir).mode & 0o777).toBe(0o700);
    const fresh = await s.json();
    expect(fresh.check('permissions').status).toBe('ok');
  });

  it('an invalid REFRESH_CRON fails its line naming the variable; bad MIN_COOKIE_COUNT / mode fail settings', async () => {
    const s = await setup({}, { REFRESH_CRON: '61 * * * *' });
    const a = await s.json();
    expect(a.res.code).toBe(1);
    expect(a.check('refresh-cron').status).toBe('fail');
    expect(a.check('refresh-cron').detail).toMatch(/^REFRESH_CRON is not a valid cron expression: "61 \* \* \* \*"/);
    expect(a.check('settings').status).toBe('ok');

    const b = await s.json(['doctor'], { MIN_COOKIE_COUNT: 'two', COOKIE_REFRESH_MODE: 'merge' });
    expect(b.check('settings').status).toBe('fail');
    expect(b.check('settings').detail).toMatch(/MIN_COOKIE_COUNT must be a whole number, got "two"/);
    expect(b.check('settings').detail).toMatch(/COOKIE_REFRESH_MODE must be "append" or "replace", got "merge"/);
  });

  it('no .env warns naming where it looked; --env-file FILE is shown as loaded', async () => {
    const s = await setup();
    rmSync(s.envFile);
    const env = { GITHUB_TOKEN: s.gh.token, GITHUB_OWNER: s.gh.owner, GITHUB_API_URL: s.gh.apiUrl };
    const a = await s.json(['doctor'], env);
    expect(a.res.code).toBe(0);
    expect(a.check('env-file').status).toBe('warn');
    expect(a.check('env-file').detail).toContain(`looked for ${s.envFile}`);
    // (A missing --env-file cannot be tested through `node bin args`: Node 20 itself reads a
    // script's `--env-file` argument and exits 9 — nodejs/node#54232.)
    const prod = join(s.store.dir, 'prod.env');
    writeFileSync(prod, `GITHUB_TOKEN='${s.gh.token}'\nGITHUB_OWNER='${s.gh.owner}'\nGITHUB_API_URL='${s.gh.apiUrl}'\n`, { mode: 0o600 });
    const b = await s.json(['doctor', '--env-file', prod]);
    expect(b.check('env-file')).toMatchObject({ status: 'ok', detail: `loaded ${prod}` });
    expect(b.check('github-auth').status).toBe('ok');
  });

  it('--online with an unreachable Cursor web URL fails that line', async () => {
    const port = await closedPort();
    const s = await setup({}, { CURSOR_WEB_URL: `http://127.0.0.1:${port}` });
    const { res, check } = await s.json(['doctor', '--online']);
    expect(res.code).toBe(1);
    expect(check('cursor-web').status).toBe('fail');
    expect(check('cursor-web').detail).toMatch(new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}/api/usage: ECONNREFUSED`));
  });
});

describe('doctor: secrets', () => {
  it('never prints the GitHub token or a cookie (human, JSON, --verbose)', async () => {
    const s = await setup();
    const runs = [await s.run(['doctor', '--verbose']), await s.run(['doctor', '--json', '--verbose'])];
    for (const r of runs) {
      expect(r.stdout + r.stderr).not.toContain(s.gh.token);
      expect(leakedSecrets(r.stdout + r.stderr, [...secrets])).toEqual([]);
    }
    // --verbose does log the GitHub requests (so the check above had something to look at).
    expect(runs[0]!.stderr).toMatch(/github: GET \/user → 200/);
    expect(statuses(JSON.parse(runs[1]!.stdout) as Report)['github-auth']).toBe('ok');
  });
});
