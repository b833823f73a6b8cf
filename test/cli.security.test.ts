/**
 * Settings and files that every command reads (issue 13 #8, #9, #10): URL settings with
 * credentials or plain http to another host are refused without printing the URL; `.env` and the
 * data dir writable by others are warned about once on every command; JSON mistakes are reported
 * by position, never by quoting the text (cookies, passwords).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TempStore } from './helpers/cli.js';
import { makeCookie } from './helpers/cookies.js';

const stores: TempStore[] = [];
afterEach(() => {
  while (stores.length) stores.pop()!.cleanup();
});

function store(): TempStore {
  const t = new TempStore('cookie-pool-cli-sec-');
  stores.push(t);
  mkdirSync(t.dataDir, { mode: 0o700 });
  return t;
}

const TOKEN = 'ghp_' + 'Z9y8X7w6'.repeat(5);

describe('URL settings', () => {
  it('a GITHUB_API_URL with credentials is refused with exit 2, and neither the URL nor the password is printed, -v and --json included', async () => {
    const t = store();
    t.writeKeys({ k: [] });
    const env = { GITHUB_TOKEN: TOKEN, GITHUB_OWNER: 'acme', GITHUB_API_URL: `http://user:${TOKEN}@127.0.0.1:9/api` };
    for (const args of [['workflow', 'runs'], ['workflow', 'runs', '-v'], ['refresh', '--json'], ['doctor']]) {
      const res = await t.run(args, { env });
      const text = res.stdout + res.stderr;
      expect(res.code, `${args.join(' ')}\n${text}`).toBe(args[0] === 'doctor' ? 1 : 2);
      expect(text).toMatch(/GITHUB_API_URL must not contain a user name or password/);
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain('@127.0.0.1');
    }
  });

  it('plain http is refused for any host but loopback, naming only the scheme and host', async () => {
    const t = store();
    t.writeKeys({ k: [makeCookie()] });
    const gh = await t.run(['workflow', 'runs'], {
      env: { GITHUB_TOKEN: TOKEN, GITHUB_OWNER: 'acme', GITHUB_API_URL: 'http://ghe.cookie-pool-test.invalid/api/v3?secret=1' },
    });
    expect(gh.code).toBe(2);
    expect(gh.stderr).toMatch(/GITHUB_API_URL must use https: plain http is only accepted for a loopback host .*got http:\/\/ghe\.cookie-pool-test\.invalid\/…/);
    expect(gh.stderr).not.toContain('secret=1');

    const web = await t.run(['check'], { env: { CURSOR_WEB_URL: 'http://www.cookie-pool-test.invalid' } });
    expect(web.code).toBe(2);
    expect(web.stderr).toMatch(/CURSOR_WEB_URL must use https/);
    const webCreds = await t.run(['check'], { env: { CURSOR_WEB_URL: 'https://me:hunter2@www.cursor.com' } });
    expect(webCreds.code).toBe(2);
    expect(webCreds.stderr).toMatch(/CURSOR_WEB_URL must not contain a user name or password/);
    expect(webCreds.stderr).not.toContain('hunter2');

    const admin = await t.run(['team', 'members'], { env: { CURSOR_ADMIN_API_KEY: 'key_x', CURSOR_ADMIN_API_URL: 'http://api.cookie-pool-test.invalid' } });
    expect(admin.code).toBe(2);
    expect(admin.stderr).toMatch(/CURSOR_ADMIN_API_URL must use https/);
  });
});

describe('permissions of .env and the data dir', () => {
  it('every command warns once when .env or the data dir is writable by group/others; --json keeps stdout one document', async () => {
    const t = store();
    t.writeKeys({ k: [] });
    writeFileSync(join(t.dir, '.env'), 'MIN_COOKIE_COUNT=1\n');
    chmodSync(join(t.dir, '.env'), 0o666);
    chmodSync(t.dataDir, 0o775);
    for (const args of [['status'], ['status', '--json'], ['keys', 'list', '-q'], ['invalid', 'list']]) {
      const res = await t.run(args);
      expect(res.code, res.stderr).toBe(0);
      const env = res.stderr.match(/\.env is writable by group\/others \(mode 0666\).*GITHUB_API_URL.*chmod 600/g) ?? [];
      const dir = res.stderr.match(/data\/ is writable by group\/others \(mode 0775\).*chmod 700/g) ?? [];
      expect(env, `${args.join(' ')}\n${res.stderr}`).toHaveLength(1);
      expect(dir, `${args.join(' ')}\n${res.stderr}`).toHaveLength(1);
      if (args.includes('--json')) expect(JSON.parse(res.stdout).minCookieCount).toBe(1);
    }
    chmodSync(join(t.dir, '.env'), 0o600);
    chmodSync(t.dataDir, 0o755);
    const quiet = await t.run(['status']);
    expect(quiet.stderr).not.toMatch(/writable by group/);
  });

  it('doctor reports a .env that others may write (even if they cannot read it)', async () => {
    const t = store();
    t.writeKeys({ k: [] });
    chmodSync(t.keysFile, 0o600);
    writeFileSync(join(t.dir, '.env'), 'MIN_COOKIE_COUNT=1\n');
    chmodSync(join(t.dir, '.env'), 0o620);
    const res = await t.run(['doctor', '--json']);
    const perm = (JSON.parse(res.stdout).checks as { name: string; status: string; detail: string; hint?: string }[]).find((c) => c.name === 'permissions')!;
    expect(perm.status).toBe('warn');
    expect(perm.detail).toMatch(/readable or writable by group\/others: .*\.env is 0620/);
    expect(perm.hint).toMatch(/chmod 600 .*\.env/);
  });
});

describe('JSON mistakes are located, never quoted', () => {
  it('API_KEYS: position only, not a character of the cookies around it', async () => {
    const t = store();
    t.writeKeys({ k: [] });
    const c = makeCookie('decoded');
    const res = await t.run(['keys', 'import-env'], { env: { API_KEYS: `{"k": ${c}}` } });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/API_KEYS is not valid JSON: unexpected character at line 1, column 7 \(character 7\)/);
    expect(res.stderr).not.toContain(c.slice(0, 10));
    expect(res.stderr).not.toContain('user_');
  });

  it('WORKFLOW_INPUTS and a store file: line and column, no text', async () => {
    const t = store();
    const c = makeCookie();
    writeFileSync(t.keysFile, `{\n  "k": [\n    "${c}"\n    "${makeCookie()}"\n  ]\n}\n`);
    const status = await t.run(['status']);
    expect(status.code).toBe(2);
    expect(status.stderr).toMatch(/api_keys\.json: not valid JSON \(expected ',' or ']' after array element at line 4, column 5/);
    expect(status.stderr).not.toContain(c.slice(0, 12));

    const inputs = await t.run(['doctor', '--json'], { env: { WORKFLOW_INPUTS: '{"email_configs": [{"password": hunter2}]}' } });
    expect(inputs.stdout).toMatch(/WORKFLOW_INPUTS is not valid JSON: unexpected character at line 1, column 33 \(character 33\)/);
    expect(inputs.stdout + inputs.stderr).not.toContain('hunter2');
  });
});
