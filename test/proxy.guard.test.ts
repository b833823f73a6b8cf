/**
 * SPEC §9.1 next to a running proxy, through the built CLI, with the fake proxy running as a real
 * process laid out like Cursor-To-OpenAI (`node src/app.js` in its project folder, pool in ./data):
 * the lost update of the file backend (reproduced with --force-file), the guard that refuses it,
 * and the same change through the proxy backend, which loses nothing.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { leakedSecrets, TempStore } from './helpers/cli.js';
import { makeCookie } from './helpers/cookies.js';
import { adminCall, startProxyProcess, type ProxyProcess } from './helpers/proxy-process.js';

const ADMIN = { username: 'admin', password: 'admin-password' };
let store: TempStore | undefined;
let proxy: ProxyProcess | undefined;

afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
  store?.cleanup();
  store = undefined;
});

/** The proxy's project folder with its pool in data/, and the proxy running in it. */
async function proxyFolder(pool: Record<string, string[]>, opts: Parameters<typeof startProxyProcess>[1] = {}): Promise<{ s: TempStore; p: ProxyProcess }> {
  store = new TempStore('cookie-pool-guard-');
  store.writeKeys(pool);
  store.writeInvalid([]);
  proxy = await startProxyProcess(store.dir, opts);
  return { s: store, p: proxy };
}

const servedCount = async (url: string, key: string): Promise<number> => {
  const body = (await adminCall(url, 'GET', '/v1/api-keys')) as { apiKeys: { key: string; cookieCount: number }[] };
  return body.apiKeys.find((k) => k.key === key)?.cookieCount ?? 0;
};

describe('file backend next to a running proxy', () => {
  it('refuses to write (exit 2) naming the process and PROXY_ADMIN_URL; store bytes untouched; reads still work', async () => {
    const old = makeCookie();
    const { s, p } = await proxyFolder({ 'sk-a': [old] });
    const keysBefore = readFileSync(s.keysFile);
    const invalidBefore = readFileSync(s.invalidFile);
    const fresh = [makeCookie(), makeCookie(), makeCookie()];

    const res = await s.run(['cookies', 'add', 'sk-a', ...fresh]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`pid ${p.pid}`);
    expect(res.stderr).toContain('src/app.js');
    expect(res.stderr).toContain('PROXY_ADMIN_URL');
    expect(res.stderr).toContain('--force-file');
    expect(readFileSync(s.keysFile)).toEqual(keysBefore);
    expect(readFileSync(s.invalidFile)).toEqual(invalidBefore);

    // Every writing command is refused the same way, in JSON too.
    const inv = await s.run(['invalid', 'add', old, '--json']);
    expect(inv.code).toBe(2);
    expect(JSON.parse(inv.stdout)).toMatchObject({ ok: false, exitCode: 2 });
    expect(readFileSync(s.invalidFile)).toEqual(invalidBefore);

    const status = await s.run(['status', '--json']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).keys).toMatchObject([{ apiKey: 'sk-a', cookies: 1, expired: 0, expiringSoon: 0, belowMin: true }]);
    expect(leakedSecrets(res.stdout + res.stderr + inv.stdout + inv.stderr, [old, ...fresh])).toEqual([]);
  });

  it('(a) the lost update, reproduced with --force-file: never served, erased by the proxy\'s next save', async () => {
    const old = makeCookie();
    const { s, p } = await proxyFolder({ 'sk-a': [old] });
    const fresh = [makeCookie(), makeCookie(), makeCookie()];
    const res = await s.run(['--force-file', 'cookies', 'add', 'sk-a', ...fresh, '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ apiKey: 'sk-a', before: 1, added: 3, after: 4 });
    expect(s.keys()['sk-a']).toEqual([old, ...fresh]);

    // The proxy still serves its old pool...
    expect(await servedCount(p.url, 'sk-a')).toBe(1);
    // ...and its next save (here an admin change to another key) rewrites the file from memory.
    await adminCall(p.url, 'POST', '/v1/api-keys', { apiKey: 'sk-other', cookieValues: [makeCookie()] });
    expect(s.keys()['sk-a']).toEqual([old]);
  });

  it('(b) the same change through the proxy backend: served at once, and still there after the next save', async () => {
    const old = makeCookie();
    const { s, p } = await proxyFolder({ 'sk-a': [old] });
    const fresh = [makeCookie(), makeCookie(), makeCookie()];
    const res = await s.run(['cookies', 'add', 'sk-a', ...fresh, '--json'], {
      env: { PROXY_ADMIN_URL: `${p.url}/`, PROXY_ADMIN_USER: ADMIN.username, PROXY_ADMIN_PASSWORD: ADMIN.password },
    });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ apiKey: 'sk-a', before: 1, added: 3, after: 4 });
    expect(await servedCount(p.url, 'sk-a')).toBe(4);
    await adminCall(p.url, 'POST', '/v1/api-keys', { apiKey: 'sk-other', cookieValues: [makeCookie()] });
    expect(s.keys()['sk-a']).toEqual([old, ...fresh]);
    expect(leakedSecrets(res.stdout + res.stderr, [old, ...fresh, ADMIN.password])).toEqual([]);
  });

  it('doctor fails the live-proxy line with the fix on the file backend, and passes it once the proxy is gone', async () => {
    const { s, p } = await proxyFolder({ 'sk-a': [makeCookie()] });
    const line = async () => {
      const res = await s.run(['doctor', '--json']);
      return (JSON.parse(res.stdout) as { checks: { name: string; status: string; detail: string; hint?: string }[] }).checks.find((c) => c.name === 'live-proxy')!;
    };
    const found = await line();
    expect(found.status).toBe('fail');
    expect(found.detail).toContain(`pid ${p.pid}`);
    expect(found.hint).toContain('PROXY_ADMIN_URL');
    await p.stop();
    const gone = await line();
    expect(gone.status).toBe('ok');
    // With the proxy gone, the file backend writes again.
    const res = await s.run(['keys', 'add', 'sk-b']);
    expect(res.code).toBe(0);
    expect(Object.keys(s.keys())).toEqual(['sk-a', 'sk-b']);
  });

  it('a node src/app.js of another project in the same folder is not taken for the proxy', async () => {
    const { s } = await proxyFolder({ 'sk-a': [] }, { packageName: 'my-other-app' });
    const res = await s.run(['keys', 'add', 'sk-b']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(Object.keys(s.keys())).toEqual(['sk-a', 'sk-b']);
  });

  it('an older proxy started as node src/index.js is detected too', async () => {
    const { s, p } = await proxyFolder({ 'sk-a': [] }, { script: 'src/index.js' });
    const before = readFileSync(s.keysFile);
    const res = await s.run(['keys', 'add', 'sk-b']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`pid ${p.pid}`);
    expect(readFileSync(s.keysFile)).toEqual(before);
  });
});
