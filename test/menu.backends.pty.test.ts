/**
 * The interactive menu on the backends where the pool is not the two JSON files: a running proxy
 * (its admin API) and cursor-api's token files (with cursor-api reloaded), driven for real in a
 * pseudo-terminal as in menu.pty.test.ts. The menu runs the same flows on every backend: purging
 * the listed-invalid cookies from the pool changes the pool where it lives, and nothing is written
 * where it does not.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cookieIdentity } from '../src/core/cookie.js';
import { FakeCursorApi } from './fake-cursor-api.js';
import { FakeProxy } from './fake-proxy.js';
import { leakedSecrets, MENU_BIN, TempStore } from './helpers/cli.js';
import { makeCookie } from './helpers/cookies.js';
import { down, KEY, runPty, type Step } from './helpers/pty.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const MENU = 'What do you want to do\\?';
const choose = (n: number): Step[] => [{ expect: MENU }, ...down(n - 1), { send: KEY.enter }];
const STATUS = choose(1);
const PURGE = choose(6);
const QUIT = choose(10);

function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

describe('menu in a pseudo-terminal, on the other backends', () => {
  it('proxy: purges through the admin API, writes no local store', async () => {
    const [live, dead] = [makeCookie(), makeCookie()];
    const proxyDir = new TempStore('cookie-pool-menu-proxy-');
    cleanups.push(() => proxyDir.cleanup());
    proxyDir.writeKeys({ 'sk-a': [live, dead] });
    proxyDir.writeInvalid([dead]);
    const fake = await FakeProxy.start({ dir: proxyDir.dir, jwtSecret: 'test-jwt-secret' });
    cleanups.push(() => fake.close());
    const work = tempDir('cookie-pool-menu-work-');
    const state = tempDir('cookie-pool-menu-state-');

    const r = await runPty([], [{ expect: 'proxy pool' }, ...STATUS, { expect: 'sk-a' }, ...PURGE, { expect: 'Purged 1 invalid cookie from 1 api key' }, ...QUIT, { expect: 'Bye\\.' }], {
      bin: MENU_BIN,
      cwd: work,
      env: { ...fake.env(), XDG_STATE_HOME: state },
    });
    expect(r.failed, r.transcript).toBeNull();
    expect(r.exitCode).toBe(0);
    // The running proxy's pool changed (and it saved its own file); nothing was written here.
    expect(fake.keys.get('sk-a')).toEqual([live]);
    expect(JSON.parse(readFileSync(fake.keysFile, 'utf8'))).toEqual({ 'sk-a': [live] });
    expect(existsSync(join(work, 'data'))).toBe(false);
    expect(leakedSecrets(r.raw, [live, dead, cookieIdentity(live), cookieIdentity(dead)])).toEqual([]);
    expect(r.raw).not.toContain(fake.admin!.password);
  });

  it('token-file: purges from .token (comments and aliases kept) and has cursor-api reload it', async () => {
    const [live, dead] = [makeCookie(), makeCookie()];
    const store = new TempStore('cookie-pool-menu-token-');
    cleanups.push(() => store.cleanup());
    const tokenFile = join(store.dir, '.token');
    const tokenListFile = join(store.dir, '.token-list');
    writeFileSync(tokenFile, `# team pool\nlive@x.io::${live}\ndead@x.io::${dead}\n`);
    writeFileSync(tokenListFile, `${live},CS-LIVE\n${dead},CS-DEAD\n`);
    store.writeInvalid([dead]);
    const api = await FakeCursorApi.start({ tokenFile, tokenListFile });
    cleanups.push(() => api.close());

    const r = await runPty([], [{ expect: 'token-file pool' }, ...PURGE, { expect: 'Purged 1 invalid cookie from 1 api key' }, ...QUIT, { expect: 'Bye\\.' }], {
      bin: MENU_BIN,
      cwd: store.dir,
      env: { POOL_BACKEND: 'token-file', CURSOR_API_URL: api.url, DATA_DIR: store.dataDir },
    });
    expect(r.failed, r.transcript).toBeNull();
    expect(r.exitCode).toBe(0);
    expect(readFileSync(tokenFile, 'utf8')).toBe(`# team pool\nlive@x.io::${live}\n`);
    expect(readFileSync(tokenListFile, 'utf8')).not.toContain(dead);
    expect(readFileSync(tokenListFile, 'utf8')).toContain(`${live},CS-LIVE`);
    // cursor-api was told to reload the files it serves.
    expect(api.calls.map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual(['GET /update-tokeninfo 200']);
    expect(store.invalid()).toEqual([dead]);
    expect(leakedSecrets(r.raw, [live, dead, cookieIdentity(live), cookieIdentity(dead)])).toEqual([]);
    expect(r.raw).not.toContain(api.authToken);
  });
});
