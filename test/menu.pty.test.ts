/**
 * The interactive menu (`manage`, `manage-invalid-cookies`) driven for real in a pseudo-terminal
 * (python3 pty driver): keystrokes in, screen text out, then the store files are checked.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { cookieIdentity } from '../src/core/cookie.js';
import { leakedSecrets, MENU_BIN, runCli, TempStore } from './helpers/cli.js';
import { makeCookie, makeJwt } from './helpers/cookies.js';
import { down, KEY, runPty, type Step } from './helpers/pty.js';

const temps: TempStore[] = [];
afterEach(() => {
  while (temps.length) temps.pop()!.cleanup();
});
function store(keys: Record<string, string[]>, invalid: string[]): TempStore {
  const t = new TempStore('cookie-pool-menu-');
  temps.push(t);
  t.writeKeys(keys);
  t.writeInvalid(invalid);
  return t;
}
const mask = (c: string) => `${c.slice(0, 8)}…${c.slice(-4)}`;

const MENU = 'What do you want to do\\?';
/** Choose the n-th menu entry (1-based) from the top. */
const choose = (n: number): Step[] => [{ expect: MENU }, ...down(n - 1), { send: KEY.enter }];
const QUIT = choose(10);

function menu(t: TempStore, steps: Step[]) {
  return runPty([], [...steps, { expect: 'Bye\\.' }], { bin: MENU_BIN, cwd: t.dir, env: { DATA_DIR: t.dataDir } });
}

describe('menu in a pseudo-terminal', () => {
  it('purges invalid cookies from every key (manage-invalid-cookies)', async () => {
    const dead1 = makeCookie('encoded');
    const dead2 = makeCookie('jwt');
    const live = [makeCookie(), makeCookie()];
    const t = store({ a: [live[0]!, dead1], b: [`user_01B::${dead2}`, live[1]!] }, [dead1, dead2]);
    const r = await menu(t, [...choose(6), { expect: 'Purged 2 invalid cookies from 2 api keys' }, ...QUIT]);
    expect(r.failed, r.transcript).toBeNull();
    expect(r.exitCode).toBe(0);
    expect(r.transcript).toMatch(/a\s+2\s+1\s+1/);
    expect(t.keys()).toEqual({ a: [live[0]], b: [live[1]] });
    expect(t.invalid()).toEqual([dead1, dead2]);
    expect(leakedSecrets(r.raw, [dead1, dead2, ...live, cookieIdentity(dead1)])).toEqual([]);
  });

  it('shows status and the invalid list masked, and removes the one chosen cookie', async () => {
    const inv = [makeCookie(), makeCookie(), makeCookie()];
    const t = store({ k: [makeCookie()] }, inv);
    const r = await menu(t, [
      ...choose(1),
      { expect: 'below minimum' },
      ...choose(2),
      { expect: '3 cookies in the invalid list' },
      ...choose(4),
      { expect: 'Remove which cookie' },
      { expect: 'Cancel' },
      ...down(1),
      { send: KEY.enter },
      { expect: 'Removed .* from the invalid list \\(now 2\\)' },
      ...QUIT,
    ]);
    expect(r.failed, r.transcript).toBeNull();
    expect(r.exitCode).toBe(0);
    expect(r.transcript).toContain(mask(inv[1]!));
    expect(r.transcript).toMatch(/API KEY\s+COOKIES/);
    expect(t.invalid()).toEqual([inv[0], inv[2]]);
    expect(leakedSecrets(r.raw, inv)).toEqual([]);
  });

  it('clears only after confirmation; Ctrl-C leaves cleanly with exit 130', async () => {
    const inv = [makeCookie(), makeCookie()];
    const t = store({ k: [] }, inv);
    const before = readFileSync(t.invalidFile, 'utf8');
    const r = await menu(t, [
      ...choose(5),
      { expect: 'Clear the whole invalid list \\(2 cookies\\)\\?' },
      { send: 'n' },
      { send: KEY.enter },
      { expect: 'Nothing cleared' },
      ...choose(5),
      { expect: 'Clear the whole invalid list' },
      { send: 'y' },
      { send: KEY.enter },
      { expect: 'Cleared the invalid list \\(2 cookies removed\\)' },
      { expect: MENU },
      { send: KEY.ctrlC },
    ]);
    expect(r.failed, r.transcript).toBeNull();
    // 130: the status of a program interrupted by SIGINT, so a wrapping script can tell.
    expect(r.exitCode).toBe(130);
    expect(r.transcript).not.toMatch(/ExitPromptError|at .*\.js:\d+/);
    expect(before).not.toBe('[]');
    expect(readFileSync(t.invalidFile, 'utf8')).toBe('[]');
  });

  it('adds invalid cookies and cookies to a key from masked input', async () => {
    const dead = makeCookie();
    const fresh = makeCookie('decoded');
    const t = store({ k: [dead] }, []);
    const r = await runPty(['manage'], [
      ...choose(3),
      { expect: 'Paste the invalid cookie' },
      { send: `${dead}\r` },
      { expect: 'Added 1 cookie to the invalid list' },
      { expect: 'Removed 1 cookie from api keys' },
      ...choose(7),
      { expect: 'Add cookies to which api key' },
      { send: KEY.enter },
      { expect: 'Paste the cookie\\(s\\) for k' },
      { send: `${fresh} junk\r` },
      { expect: 'Added 1 cookie to k \\(now 1\\); refused 1 \\(1 malformed\\)' },
      ...QUIT,
      { expect: 'Bye' },
    ], { cwd: t.dir, env: { DATA_DIR: t.dataDir } });
    expect(r.failed, r.transcript).toBeNull();
    expect(r.exitCode).toBe(0);
    expect(t.invalid()).toEqual([dead]);
    expect(t.keys()).toEqual({ k: [fresh] });
    // Pasted secrets are not echoed.
    expect(leakedSecrets(r.raw, [dead, fresh])).toEqual([]);
  });

  it('lists a cookie whose `exp` is beyond a Date (1e15) as malformed instead of dying', async () => {
    const user = 'user_01FARFUTURE';
    const far = `${user}::${makeJwt({ sub: `auth0|${user}`, exp: 1e15 })}`;
    const t = store({ k: [far] }, [far, makeCookie()]);
    const r = await menu(t, [...choose(2), { expect: '2 cookies in the invalid list' }, ...choose(1), { expect: 'below minimum' }, ...QUIT]);
    expect(r.failed, r.transcript).toBeNull();
    expect(r.exitCode).toBe(0);
    expect(r.transcript).toMatch(/user_01F…\S+\s+-\s+-/);
    expect(r.transcript).not.toMatch(/Invalid time value/);
  });

  it('`invalid clear` in a terminal asks first (prompt on stderr)', async () => {
    const t = store({}, [makeCookie(), makeCookie(), makeCookie()]);
    const opts = { cwd: t.dir, env: { DATA_DIR: t.dataDir } };
    const no = await runPty(['invalid', 'clear'], [{ expect: 'Clear the invalid list \\(3 cookies\\)\\?' }, { send: KEY.enter }, { expect: 'Nothing cleared' }], opts);
    expect(no.failed, no.transcript).toBeNull();
    expect(no.exitCode).toBe(0);
    expect(t.invalid()).toHaveLength(3);
    const yes = await runPty(['invalid', 'clear'], [{ expect: 'Clear the invalid list' }, { send: 'y\r' }, { expect: 'Cleared the invalid list \\(3 cookies removed\\)' }], opts);
    expect(yes.failed, yes.transcript).toBeNull();
    expect(yes.exitCode).toBe(0);
    expect(t.invalid()).toEqual([]);
  });

  it('colours human output in a terminal unless --no-color', async () => {
    const t = store({ k: [makeCookie()] }, []);
    const coloured = await runPty(['cookies', 'list'], [], { cwd: t.dir, env: { DATA_DIR: t.dataDir, NO_COLOR: undefined } });
    expect(coloured.exitCode).toBe(0);
    expect(coloured.raw).toMatch(/\u001b\[3\dm/);
    const plain = await runPty(['cookies', 'list', '--no-color'], [], { cwd: t.dir, env: { DATA_DIR: t.dataDir, NO_COLOR: undefined } });
    expect(plain.exitCode).toBe(0);
    expect(plain.transcript).toMatch(/ok/);
    expect(plain.raw).not.toMatch(/\u001b\[3\dm/);
  });

  it('a corrupt store stops the menu at once (exit 2, file untouched)', async () => {
    const t = store({}, []);
    t.writeKeys('["not", "an", "object"]');
    const r = await runPty(['manage'], [{ expect: 'api_keys\\.json: expected an object' }], { cwd: t.dir, env: { DATA_DIR: t.dataDir } });
    expect(r.failed, r.transcript).toBeNull();
    expect(r.exitCode).toBe(2);
    expect(readFileSync(t.keysFile, 'utf8')).toBe('["not", "an", "object"]');
  });

  it('without a TTY the menu exits 2 and points at the commands', async () => {
    const t = store({}, []);
    const r = await runCli([], { bin: MENU_BIN, cwd: t.dir, env: { DATA_DIR: t.dataDir } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/interactive terminal/);
    expect(r.stderr).toMatch(/cookie-pool invalid list/);
    expect(r.stderr).toMatch(/clear --yes/);
  });
});
