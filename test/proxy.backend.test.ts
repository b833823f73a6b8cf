/**
 * The `proxy` backend (SPEC §9, §9.1) through the built CLI against the loopback fake proxy
 * (test/fake-proxy.ts): the same output and JSON shapes as the file backend for every pool command,
 * no lost update against the proxy's own retirements, read-back of what it dropped, one re-login on
 * 401, clear one-line failures, and no secret in any output.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cookieIdentity } from '../src/core/cookie.js';
import { buildZip, cursorRegisterFiles } from './fake-github.js';
import { startFakeCursor } from './fake-cursor.js';
import { FakeProxy, type FakeProxyOptions } from './fake-proxy.js';
import { leakedSecrets, runCli, TempStore, type RunResult } from './helpers/cli.js';
import { expiredCookie, makeCookie } from './helpers/cookies.js';
import { FAST, useRig } from './helpers/refresh-rig.js';

interface Setup {
  fake: FakeProxy;
  /** The proxy's project folder (its files in data/). */
  proxyDir: TempStore;
  /** cookie-pool's working directory: must stay without a ./data. */
  work: string;
  output: string[];
  run(args: string[], env?: Record<string, string | undefined>, input?: string): Promise<RunResult>;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(pool: Record<string, string[]>, invalid: string[] = [], opts: Partial<FakeProxyOptions> = {}): Promise<Setup> {
  const proxyDir = new TempStore('cookie-pool-proxy-');
  proxyDir.writeKeys(pool);
  proxyDir.writeInvalid(invalid);
  const fake = await FakeProxy.start({ dir: proxyDir.dir, jwtSecret: 'test-jwt-secret', ...opts });
  const work = mkdtempSync(join(tmpdir(), 'cookie-pool-work-'));
  const state = mkdtempSync(join(tmpdir(), 'cookie-pool-state-'));
  const output: string[] = [];
  cleanups.push(async () => {
    expect(existsSync(join(work, 'data')), 'the proxy backend never creates a local ./data').toBe(false);
    await fake.close();
    proxyDir.cleanup();
    rmSync(work, { recursive: true, force: true });
    rmSync(state, { recursive: true, force: true });
  });
  return {
    fake,
    proxyDir,
    work,
    output,
    async run(args, env = {}, input) {
      const res = await runCli(args, { cwd: work, input, env: { ...fake.env(), XDG_STATE_HOME: state, ...env } });
      output.push(res.stdout, res.stderr);
      return res;
    },
  };
}

/** The file backend with the same pool, for comparing outputs. */
function fileTwin(pool: Record<string, string[]>, invalid: string[]): TempStore {
  const s = new TempStore('cookie-pool-twin-');
  s.writeKeys(pool);
  s.writeInvalid(invalid);
  cleanups.push(() => s.cleanup());
  return s;
}

const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

/** A loopback port with nothing listening (fetch refuses well-known ports such as 9). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('proxy backend: same results as the file backend', () => {
  it('status, keys, cookies, invalid (add, remove, purge, clear), import-env: same exit codes, same JSON, same pool', async () => {
    const a = [makeCookie(), makeCookie('decoded'), makeCookie('jwt')];
    const b = [makeCookie(), makeCookie()];
    const listed = [makeCookie(), b[1]!];
    const pool = { 'sk-a': a, 'sk-b': b };
    const p = await setup(pool, listed);
    const twin = fileTwin(pool, listed);
    const n = [makeCookie(), makeCookie(), makeCookie(), makeCookie()];
    const steps: [string[], Record<string, string>?][] = [
      [['status', '--json']],
      [['keys', 'list', '--json']],
      [['cookies', 'list', '--json']],
      [['cookies', 'list', 'sk-b', '--json']],
      [['invalid', 'list', '--json']],
      [['cookies', 'add', 'sk-a', n[0]!, n[1]!, expiredCookie(), a[0]!.replace('%3A%3A', '::'), listed[0]!, 'not-a-cookie', '--json']],
      [['cookies', 'add', 'sk-nope', n[2]!, '--json']],
      [['keys', 'add', 'sk-new', n[2]!, '--json']],
      [['cookies', 'remove', 'sk-a', a[1]!, '--invalidate', '--json']],
      [['invalid', 'add', a[2]!, '--json']],
      [['invalid', 'remove', listed[0]!, '--json']],
      [['invalid', 'purge', '--json']],
      [['keys', 'remove', 'sk-new', '--json']],
      [['keys', 'import-env', '--json'], { API_KEYS: JSON.stringify({ 'sk-env': [n[3]!], 'sk-a': n[0]! }) }],
      [['invalid', 'clear', '--yes', '--json']],
      [['status', '--json']],
      [['keys', 'list']],
      [['cookies', 'list', 'sk-a']],
    ];
    for (const [args, env] of steps) {
      const viaProxy = await p.run(args, env);
      const viaFile = await twin.run(args, { env });
      const what = args.join(' ');
      expect(viaProxy.code, what).toBe(viaFile.code);
      expect(viaProxy.stdout, what).toBe(viaFile.stdout);
      expect(p.fake.pool(), what).toEqual(twin.keys());
      expect([...p.fake.invalid], what).toEqual(twin.invalid());
    }
    // The proxy persisted it all itself.
    expect(JSON.parse(readFileSync(p.fake.keysFile, 'utf8'))).toEqual(twin.keys());
    expect(JSON.parse(readFileSync(p.fake.invalidFile, 'utf8'))).toEqual(twin.invalid());
    expect(leakedSecrets(p.output.join('\n'), [...a, ...b, ...listed, ...n, 'admin-password'])).toEqual([]);
  });

  it('import of an artifact zip: the merge JSON of the file backend, and the proxy serves the cookies', async () => {
    const old = makeCookie();
    const p = await setup({ 'sk-a': [old], 'sk-b': [] });
    const twin = fileTwin({ 'sk-a': [old], 'sk-b': [] }, []);
    const fresh = [makeCookie(), makeCookie(), makeCookie()];
    const zip = join(p.work, 'Account Info.zip');
    writeFileSync(zip, buildZip(cursorRegisterFiles(fresh)));
    const res = await p.run(['import', zip, '--json']);
    const file = await twin.run(['import', zip, '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual(JSON.parse(file.stdout));
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: true, harvested: 3, added: 3 });
    expect(p.fake.pool()).toEqual(twin.keys());
    // replace mode retires the old cookies of the key that received new ones, through the invalid list.
    const more = [makeCookie()];
    writeFileSync(zip, buildZip(cursorRegisterFiles(more)));
    const rep = await p.run(['import', zip, '--key', 'sk-a', '--mode', 'replace', '--json']);
    expect(rep.code).toBe(0);
    expect(p.fake.keys.get('sk-a')).toEqual(more);
    expect([...p.fake.invalid]).toEqual(expect.arrayContaining([old]));
    rmSync(zip);
  });

  it('check --mark-invalid (fake Cursor): the file backend\'s JSON; dead cookies leave their key for the invalid list', async () => {
    const cursor = await startFakeCursor();
    cleanups.push(() => cursor.close());
    const good = makeCookie('encoded', { extra: { fake: 'valid' } });
    const dead = makeCookie('encoded', { extra: { fake: 'revoked' } });
    const expired = expiredCookie();
    const pool = { 'sk-a': [good, dead], 'sk-b': [expired] };
    const p = await setup(pool);
    const twin = fileTwin(pool, []);
    const env = { CURSOR_WEB_URL: cursor.url };
    const res = await p.run(['check', '--mark-invalid', '--json'], env);
    const file = await twin.run(['check', '--mark-invalid', '--json'], { env });
    expect(res.code).toBe(file.code);
    expect(JSON.parse(res.stdout)).toEqual(JSON.parse(file.stdout));
    expect(JSON.parse(res.stdout)).toMatchObject({ checked: 3, valid: 1, invalid: 1, expired: 1, marked: 2 });
    expect(p.fake.pool()).toEqual({ 'sk-a': [good], 'sk-b': [] });
    expect([...p.fake.invalid]).toEqual([dead, expired]);
  });
});

describe('proxy backend: never loses a cookie to the proxy', () => {
  it('(c) a cookie the proxy retires between our read and our write stays retired', async () => {
    const [a1, a2] = [makeCookie(), makeCookie()];
    const p = await setup({ 'sk-a': [a1!, a2!] });
    const added = makeCookie();
    let reads = 0;
    // The key's list is read twice: for the snapshot, and again right before the write.
    p.fake.onRequest = (method, path) => {
      if (method === 'GET' && path === '/v1/api-keys/sk-a/cookies' && ++reads === 2) p.fake.retire('sk-a', a1!);
    };
    const res = await p.run(['cookies', 'add', 'sk-a', added, '--json']);
    expect(res.code).toBe(0);
    expect(p.fake.keys.get('sk-a')).toEqual([a2, added]);
    expect(p.fake.invalid.has(a1!)).toBe(true);
    // Not merely filtered by the proxy: it was never sent back.
    const posts = p.fake.requests.filter((r) => r.method === 'POST' && r.path === '/v1/api-keys');
    expect(posts).toHaveLength(1);
    expect((posts[0]!.body as { cookieValues: string[] }).cookieValues).toEqual([a2, added]);
  });

  it('a cookie listed invalid meanwhile (in another form) is not written and is reported as dropped: exit 3', async () => {
    const p = await setup({ 'sk-a': [] });
    const added = [makeCookie(), makeCookie()];
    let invalidReads = 0;
    p.fake.onRequest = (method, path) => {
      // The second read of the invalid list is the one right before the keys are written.
      if (method === 'GET' && path === '/v1/invalid-cookies' && ++invalidReads === 2) p.fake.invalid.add(added[1]!.replace('%3A%3A', '::'));
    };
    const res = await p.run(['cookies', 'add', 'sk-a', ...added, '--json']);
    expect(res.code).toBe(3);
    const out = JSON.parse(res.stdout);
    expect(out.dropped).toHaveLength(1);
    expect(out).toMatchObject({ ok: false, exitCode: 3 });
    expect(added[1]!.startsWith(out.dropped[0].split('…')[0])).toBe(true);
    expect(res.stderr).toMatch(/did not keep/);
    expect(p.fake.keys.get('sk-a')).toEqual([added[0]]);
    const body = p.fake.requests.find((r) => r.method === 'POST' && r.path === '/v1/api-keys')!.body as { cookieValues: string[] };
    expect(body.cookieValues.map(cookieIdentity)).not.toContain(cookieIdentity(added[1]!));
  });

  it('read-back: a cookie the proxy silently drops on write is named as dropped, exit 3', async () => {
    const p = await setup({ 'sk-a': [] });
    const added = [makeCookie(), makeCookie()];
    // Retired by the proxy itself while our write is on its way: its POST filters it out.
    p.fake.onRequest = (method, path) => {
      if (method === 'POST' && path === '/v1/api-keys') p.fake.invalid.add(added[0]!);
    };
    const res = await p.run(['cookies', 'add', 'sk-a', ...added]);
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/warning: the pool did not keep user_01/);
    expect(p.fake.keys.get('sk-a')).toEqual([added[1]]);
    // One read-back of the written key.
    expect(p.fake.count('GET', /^\/v1\/api-keys\/sk-a\/cookies$/)).toBe(3);
  });

  it('requests grow with the keys, not the cookies: 500 new cookies into a key cost the same as 1', async () => {
    const p = await setup({ 'sk-a': [makeCookie()], 'sk-b': [makeCookie()] });
    const one = await p.run(['cookies', 'add', 'sk-a', makeCookie()]);
    expect(one.code).toBe(0);
    const few = p.fake.requests.length;
    p.fake.requests.length = 0;
    const many = Array.from({ length: 500 }, () => makeCookie());
    const res = await p.run(['cookies', 'add', 'sk-a', '--from-file', '-'], {}, many.join('\n'));
    expect(res.code).toBe(0);
    expect(p.fake.keys.get('sk-a')).toHaveLength(502);
    expect(p.fake.requests.length).toBe(few);
    // login, list, 2 key reads, invalid; invalid again, key re-read, write, read-back
    expect(few).toBe(9);
  });
});

describe('proxy backend: login and credentials', () => {
  it('(e) an expired PROXY_ADMIN_TOKEN with a password configured: one re-login, then the work is done', async () => {
    const p = await setup({ 'sk-a': [] });
    const expired = p.fake.token(-60);
    const c = makeCookie();
    const res = await p.run(['cookies', 'add', 'sk-a', c], { PROXY_ADMIN_TOKEN: expired });
    expect(res.code).toBe(0);
    expect(p.fake.count('POST', /^\/v1\/admin\/login$/)).toBe(1);
    expect(p.fake.requests[0]).toMatchObject({ method: 'GET', path: '/v1/api-keys', status: 401 });
    expect(p.fake.keys.get('sk-a')).toEqual([c]);
    expect(p.output.join('\n')).not.toContain(expired);
  });

  it('an expired PROXY_ADMIN_TOKEN alone: exit 1 saying the proxy refused the admin credentials; no re-login', async () => {
    const p = await setup({ 'sk-a': [] });
    const expired = p.fake.token(-60);
    const res = await p.run(['status', '-v'], { PROXY_ADMIN_USER: undefined, PROXY_ADMIN_PASSWORD: undefined, PROXY_ADMIN_TOKEN: expired });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/refused the admin credentials/);
    expect(res.stderr).toContain('PROXY_ADMIN_TOKEN');
    expect(res.stderr).not.toContain(expired);
    expect(p.fake.count('POST', /login/)).toBe(0);
  });

  it('a token that works: no login at all', async () => {
    const p = await setup({ 'sk-a': [] });
    const res = await p.run(['status', '--json'], { PROXY_ADMIN_USER: undefined, PROXY_ADMIN_PASSWORD: undefined, PROXY_ADMIN_TOKEN: p.fake.token() });
    expect(res.code).toBe(0);
    expect(p.fake.count('POST', /login/)).toBe(0);
  });

  it('a refused login (400) is exit 1 naming the variables, never the password', async () => {
    const p = await setup({ 'sk-a': [] });
    const res = await p.run(['keys', 'list', '--json', '-v'], { PROXY_ADMIN_PASSWORD: 'wrong-Pa55word!' });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/refused the admin credentials/);
    expect(res.stderr).toContain('PROXY_ADMIN_USER=admin');
    expect(res.stderr).toContain('PROXY_ADMIN_PASSWORD');
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: false, exitCode: 1 });
    expect(res.stdout + res.stderr).not.toContain('wrong-Pa55word!');
  });

  it('PROXY_ADMIN_URL without credentials is exit 2 naming the missing variables; POOL_BACKEND=proxy without a URL too', async () => {
    const none = await runCli(['status'], { env: { PROXY_ADMIN_URL: 'http://127.0.0.1:9/' } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/PROXY_ADMIN_USER and PROXY_ADMIN_PASSWORD are not/);
    const half = await runCli(['status'], { env: { PROXY_ADMIN_URL: 'http://127.0.0.1:9/', PROXY_ADMIN_USER: 'admin' } });
    expect(half.code).toBe(2);
    expect(half.stderr).toMatch(/PROXY_ADMIN_PASSWORD is not/);
    expect(lines(half.stderr)[0]).not.toContain('PROXY_ADMIN_USER');
    const noUrl = await runCli(['status'], { env: { POOL_BACKEND: 'proxy' } });
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain('PROXY_ADMIN_URL');
    const bad = await runCli(['status'], { env: { PROXY_ADMIN_URL: 'ftp://host/', PROXY_ADMIN_TOKEN: 'x' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('PROXY_ADMIN_URL must be an http');
  });

  it('a URL with or without a trailing slash works; one with credentials in it is refused (exit 2), never printed', async () => {
    const c = makeCookie();
    const p = await setup({ 'sk-a': [c] });
    for (const url of [p.fake.url, `${p.fake.url}/`, `${p.fake.url}//`]) {
      const res = await p.run(['status', '--json'], { PROXY_ADMIN_URL: url });
      expect(res.code, url).toBe(0);
      expect(JSON.parse(res.stdout).keys[0]).toMatchObject({ apiKey: 'sk-a', cookies: 1 });
    }
    expect(p.fake.requests.every((r) => r.path.startsWith('/v1/'))).toBe(true);
    const asked = p.fake.requests.length;
    // The shared URL rule: credentials have their own variables, and a URL is printed in errors.
    const withAuth = `http://admin:admin-password@127.0.0.1:${p.fake.port}/`;
    const res = await p.run(['status'], { PROXY_ADMIN_URL: withAuth, PROXY_ADMIN_USER: undefined, PROXY_ADMIN_PASSWORD: undefined });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/PROXY_ADMIN_URL must not contain a user name or password/);
    expect(p.fake.requests).toHaveLength(asked);
    // An unreachable one is exit 1 naming the URL.
    const down = await p.run(['status'], { PROXY_ADMIN_URL: 'http://127.0.0.1:9/' });
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('PROXY_ADMIN_URL=http://127.0.0.1:9/');
    // Plain http to another host would send the admin password in clear: refused.
    const remote = await p.run(['status'], { PROXY_ADMIN_URL: 'http://proxy.example:3010/' });
    expect(remote.code).toBe(2);
    expect(remote.stderr).toMatch(/PROXY_ADMIN_URL must use https/);
    expect(p.output.join('\n')).not.toContain('admin-password');
  });

  it('schedule with only PROXY_ADMIN_TOKEN is exit 2 (it expires after 24 h); nothing is asked of the proxy', async () => {
    const p = await setup({ 'sk-a': [] });
    const res = await p.run(['schedule', '--run-now'], { PROXY_ADMIN_USER: undefined, PROXY_ADMIN_PASSWORD: undefined, PROXY_ADMIN_TOKEN: p.fake.token() });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/PROXY_ADMIN_USER \+ PROXY_ADMIN_PASSWORD/);
    expect(p.fake.requests).toHaveLength(0);
  });
});

describe('proxy backend: secrets', () => {
  it('(g) no password, token or whole cookie in any output: human, JSON, --verbose, doctor, failures', async () => {
    const cookies = [makeCookie(), makeCookie('decoded'), makeCookie('jwt')];
    const listed = makeCookie();
    const p = await setup({ 'sk-a': cookies.slice(0, 2), 'sk-b': [cookies[2]!] }, [listed], { jwtSecret: 'your-secret-key' });
    const token = p.fake.token(-60);
    const env = { PROXY_ADMIN_TOKEN: token };
    const fresh = makeCookie();
    for (const args of [
      ['status', '-v'],
      ['cookies', 'list', '-v', '--json'],
      ['invalid', 'list', '-v'],
      ['cookies', 'add', 'sk-a', fresh, '-v'],
      ['cookies', 'add', 'sk-a', fresh, listed, '--json', '-v'],
      ['invalid', 'add', cookies[0]!, '-v'],
      ['doctor', '-v'],
      ['doctor', '--json'],
    ]) {
      await p.run(args, env);
    }
    p.fake.mode = '5xx';
    await p.run(['cookies', 'remove', 'sk-b', cookies[2]!, '-v'], env);
    await p.run(['status', '-v'], { PROXY_ADMIN_PASSWORD: 'Wr0ng-secret-pass' });
    const text = p.output.join('\n');
    expect(p.fake.issued.length).toBeGreaterThan(0);
    for (const secret of ['admin-password', 'Wr0ng-secret-pass', token, ...p.fake.issued]) expect(text).not.toContain(secret);
    expect(leakedSecrets(text, [...cookies, listed, fresh])).toEqual([]);
    // The cookies' JWTs alone are secrets too.
    expect(leakedSecrets(text, [...cookies, listed, fresh].map(cookieIdentity))).toEqual([]);
  });
});

describe('proxy backend: bad answers', () => {
  const expectOneLine = (res: RunResult, url: string) => {
    expect(res.code).toBe(1);
    const errs = lines(res.stderr);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toContain(`PROXY_ADMIN_URL=${url}/`);
    return errs[0]!;
  };

  it('(f) unreachable, dropped connection, 5xx, garbage, too slow: exit 1 with one line naming PROXY_ADMIN_URL', async () => {
    const p = await setup({ 'sk-a': [makeCookie()] });
    const nobody = `http://127.0.0.1:${await closedPort()}`;
    const closed = await p.run(['status'], { PROXY_ADMIN_URL: nobody });
    expect(expectOneLine(closed, nobody)).toMatch(/unreachable \(ECONNREFUSED\)/);

    p.fake.mode = 'down';
    expect(expectOneLine(await p.run(['status']), p.fake.url)).toMatch(/unreachable/);
    p.fake.mode = '5xx';
    expect(expectOneLine(await p.run(['status']), p.fake.url)).toMatch(/answered HTTP 502/);
    p.fake.mode = 'garbage';
    const garbage = await p.run(['status', '--json']);
    expect(garbage.code).toBe(1);
    expect(JSON.parse(garbage.stdout).error).toMatch(/not JSON \(HTTP 200, text\/html\)/);
    p.fake.mode = 'redirect';
    const moved = expectOneLine(await p.run(['status']), p.fake.url);
    expect(moved).toContain('redirects POST /v1/admin/login to https://proxy.example/v1/admin/login (HTTP 301)');
    p.fake.mode = 'slow';
    (p.fake.opts as FakeProxyOptions).slowMs = 3000;
    expect(expectOneLine(await p.run(['status'], { COOKIE_POOL_PROXY_TIMEOUT_MS: '300' }), p.fake.url)).toMatch(/did not answer .* within 0\.3 s/);
    expect(p.output.join('\n')).not.toContain('admin-password');
  });

  it('a failure halfway names the keys already written and those not written; a retry finishes the job', async () => {
    const dead = [makeCookie(), makeCookie(), makeCookie()];
    const keep = [makeCookie(), makeCookie(), makeCookie()];
    const p = await setup({ 'sk-a': [keep[0]!, dead[0]!], 'sk-b': [keep[1]!, dead[1]!], 'sk-c': [keep[2]!, dead[2]!] }, dead);
    p.fake.failWhen = (method, path) => (method === 'POST' && path === '/v1/api-keys' && p.fake.count('POST', /^\/v1\/api-keys$/) === 2 ? '5xx' : undefined);
    const res = await p.run(['invalid', 'purge']);
    const line = expectOneLine(res, p.fake.url);
    expect(line).toContain('answered HTTP 502 to POST /v1/api-keys (key sk-b)');
    expect(line).toContain('already written: key(s) sk-a');
    expect(line).toContain('not written: key(s) sk-b, sk-c');
    expect(p.fake.pool()).toEqual({ 'sk-a': [keep[0]], 'sk-b': [keep[1], dead[1]], 'sk-c': [keep[2], dead[2]] });
    p.fake.failWhen = undefined;
    const again = await p.run(['invalid', 'purge', '--json']);
    expect(again.code).toBe(0);
    expect(p.fake.pool()).toEqual({ 'sk-a': [keep[0]], 'sk-b': [keep[1]], 'sk-c': [keep[2]] });
  });

  it('a proxy without the admin API (404) is named as such', async () => {
    const p = await setup({});
    p.fake.failWhen = () => undefined;
    const res = await p.run(['status'], { PROXY_ADMIN_URL: `${p.fake.url}/not-here` });
    expect(expectOneLine(res, `${p.fake.url}/not-here`)).toMatch(/has no POST \/v1\/admin\/login \(HTTP 404\)/);
  });
});

describe('proxy backend: refresh against the fake GitHub', () => {
  const rigSetup = useRig();

  it('(d) refresh feeds the proxy, not the files; the run\'s cookies are served at once', async () => {
    const r = await rigSetup({ runTimeline: { queuedMs: 50, inProgressMs: 300 } });
    const keep = makeCookie();
    const p = await setup({ 'sk-a': [keep], 'sk-full': [makeCookie(), makeCookie()] });
    const res = await r.run(['refresh', '--json', ...FAST], { env: p.fake.env() });
    expect(res.stderr).not.toMatch(/error/i);
    expect(res.code).toBe(0);
    const run = r.gh.lastRun!;
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: true, runId: run.id, added: 2, keys: [{ apiKey: 'sk-a', before: 1, added: 2, after: 3 }] });
    expect(p.fake.keys.get('sk-a')).toEqual([keep, ...run.cookies]);
    expect(existsSync(r.store.keysFile)).toBe(false);
    // Nothing to do now: the pool as the proxy reports it is full.
    const again = await r.run(['refresh', '--json', ...FAST], { env: p.fake.env() });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, skipped: true });
    expect(leakedSecrets(r.output.join('\n'), [...run.cookies, keep, 'admin-password', ...p.fake.issued])).toEqual([]);
  });
});

describe('proxy backend: doctor', () => {
  type Check = { name: string; status: string; detail: string; hint?: string };
  const checks = async (p: Setup, env: Record<string, string | undefined> = {}): Promise<Map<string, Check>> => {
    const res = await p.run(['doctor', '--json'], env);
    return new Map((JSON.parse(res.stdout) as { checks: Check[] }).checks.map((c) => [c.name, c]));
  };

  it('reachable, login accepted, keys readable; a proxy that accepts the default JWT_SECRET fails the security line', async () => {
    const p = await setup({ 'sk-a': [makeCookie(), makeCookie()] }, [makeCookie()], { jwtSecret: 'your-secret-key' });
    const c = await checks(p);
    expect(c.get('proxy-config')).toMatchObject({ status: 'ok' });
    expect(c.get('proxy-reach')).toMatchObject({ status: 'ok', detail: expect.stringContaining('admin account exists') });
    expect(c.get('proxy-login')).toMatchObject({ status: 'ok', detail: 'login accepted for admin' });
    expect(c.get('proxy-keys')).toMatchObject({ status: 'ok', detail: 'readable: 1 api key, 2 cookies, 1 cookie in the invalid list' });
    expect(c.get('proxy-secret')).toMatchObject({ status: 'fail', hint: expect.stringContaining('JWT_SECRET') });
    expect(c.has('keys-file')).toBe(false);
    expect(c.has('proxy-token')).toBe(false);
    // Three reads of the key list answered: the login check, the pool read, and the one with the forged token.
    expect(p.fake.requests.filter((r) => r.method === 'GET' && r.path === '/v1/api-keys' && r.status === 200)).toHaveLength(3);
    expect(p.fake.count('POST', /login/)).toBe(1);
  });

  it('the permissions line looks at the state folder, not at a key store the proxy backend never uses', async () => {
    const p = await setup({ 'sk-a': [makeCookie()] });
    await p.run(['status']); // leaves the state folder (refresh lock, history) in place
    const state = (await checks(p)).get('permissions')!;
    expect(state.status, state.detail).toBe('ok');
    expect(state.detail).toContain('cookie-pool');
    expect(state.detail).not.toContain('api_keys.json');
    expect(state.detail).not.toContain(join(p.work, 'data'));
  });

  it('a proxy with its own JWT_SECRET passes; a token close to expiry warns; a wrong password fails the login line', async () => {
    const p = await setup({ 'sk-a': [makeCookie()] });
    const soon = p.fake.token(3600);
    const c = await checks(p, { PROXY_ADMIN_TOKEN: soon });
    expect(c.get('proxy-secret')).toMatchObject({ status: 'ok' });
    expect(c.get('proxy-token')).toMatchObject({ status: 'warn', detail: expect.stringMatching(/expires in (60 min|1 h)/) });
    const expired = await checks(p, { PROXY_ADMIN_TOKEN: p.fake.token(-7200), PROXY_ADMIN_USER: undefined, PROXY_ADMIN_PASSWORD: undefined });
    expect(expired.get('proxy-token')).toMatchObject({ status: 'warn', detail: expect.stringContaining('expired') });
    expect(expired.get('proxy-login')).toMatchObject({ status: 'fail' });
    expect(expired.get('proxy-keys')).toMatchObject({ status: 'skip' });
    const wrong = await checks(p, { PROXY_ADMIN_PASSWORD: 'nope-nope-nope' });
    expect(wrong.get('proxy-login')).toMatchObject({ status: 'fail', detail: expect.stringContaining('refused the admin credentials') });
    const text = p.output.join('\n');
    expect(text).not.toContain('nope-nope-nope');
    expect(text).not.toContain(soon);
    expect(text).not.toContain('admin-password');
  });

  it('no admin account yet, or a proxy that does not answer: the reach line fails with the fix', async () => {
    const p = await setup({}, [], { admin: null });
    const c = await checks(p, { PROXY_ADMIN_USER: 'admin', PROXY_ADMIN_PASSWORD: 'x-password' });
    expect(c.get('proxy-reach')).toMatchObject({ status: 'fail', hint: expect.stringContaining('login.html') });
    expect(c.get('proxy-login')).toMatchObject({ status: 'skip' });
    const down = await checks(p, { PROXY_ADMIN_URL: `http://127.0.0.1:${await closedPort()}/`, PROXY_ADMIN_USER: 'admin', PROXY_ADMIN_PASSWORD: 'x-password' });
    expect(down.get('proxy-reach')).toMatchObject({ status: 'fail', detail: expect.stringContaining('unreachable') });
  });
});
