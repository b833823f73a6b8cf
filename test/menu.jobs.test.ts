/**
 * The menu's check and refresh entries, in a pseudo-terminal, against the fake Cursor usage
 * endpoint and the fake GitHub: the same services as `check --mark-invalid` and `refresh`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeCursor, type FakeCursor } from './fake-cursor.js';
import { leakedSecrets, MENU_BIN } from './helpers/cli.js';
import { expiredCookie, makeCookie } from './helpers/cookies.js';
import { down, KEY, runPty, type Step } from './helpers/pty.js';
import { rig, type Rig } from './helpers/refresh-rig.js';

let r: Rig | undefined;
let cursor: FakeCursor | undefined;
afterEach(async () => {
  await r?.close();
  await cursor?.close();
  r = undefined;
  cursor = undefined;
});

const MENU = 'What do you want to do\\?';
const choose = (n: number): Step[] => [{ expect: MENU }, ...down(n - 1), { send: KEY.enter }];
const QUIT = choose(10);

describe('menu: check and refresh', () => {
  it('checks online and, once confirmed, moves the dead cookies to the invalid list', async () => {
    cursor = await startFakeCursor();
    r = await rig({}, { CURSOR_WEB_URL: cursor.url });
    const good = makeCookie();
    const revoked = makeCookie('encoded', { extra: { fake: 'revoked' } });
    const old = expiredCookie();
    r.store.writeKeys({ k: [good, revoked, old] });
    const res = await runPty(
      [],
      [...choose(8), { expect: '3 checked: 1 valid, 1 invalid, 1 expired, 0 unknown' }, { expect: 'Move 2 dead cookies' }, { send: 'y' }, { send: KEY.enter },
        { expect: 'Moved 2 cookies to the invalid list' }, ...QUIT, { expect: 'Bye\\.' }],
      { bin: MENU_BIN, cwd: r.store.dir, env: { DATA_DIR: r.store.dataDir, ...r.env } },
    );
    expect(res.failed, res.transcript).toBeNull();
    expect(res.exitCode).toBe(0);
    expect(r.store.keys()).toEqual({ k: [good] });
    expect(r.store.invalid()).toEqual(expect.arrayContaining([revoked, old]));
    expect(leakedSecrets(res.raw, [good, revoked, old])).toEqual([]);
  });

  it('runs the refresh pipeline for the keys below the minimum and shows the merge', async () => {
    r = await rig({ runTimeline: { queuedMs: 50, inProgressMs: 200 } }, { REGISTER_NUMBER: '2' });
    const keep = makeCookie();
    r.store.writeKeys({ 'sk-a': [keep] });
    const res = await runPty(
      [],
      [...choose(9), { expect: 'Run the Cursor-Register workflow for the keys below 2 cookies' }, { send: KEY.enter },
        { expect: 'Harvested 2 cookie\\(s\\); added 2', timeout: 30 }, { expect: 'Run \\d+: http' }, ...QUIT, { expect: 'Bye\\.' }],
      { bin: MENU_BIN, cwd: r.store.dir, env: { DATA_DIR: r.store.dataDir, ...r.env }, timeout: 40 },
    );
    expect(res.failed, res.transcript).toBeNull();
    expect(res.exitCode).toBe(0);
    expect(r.store.keys()['sk-a']).toEqual([keep, ...r.gh.lastRun!.cookies]);
    expect(res.raw).not.toContain(r.gh.token);
    expect(leakedSecrets(res.raw, [keep, ...r.gh.lastRun!.cookies])).toEqual([]);
  });
});
