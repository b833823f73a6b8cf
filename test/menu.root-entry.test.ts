/**
 * `node manage-invalid-cookies` from the repository root (the command the proxy's users know):
 * Node resolves the root-level `manage-invalid-cookies.js`, which defers to bin/. Run exactly
 * so — no `--`, no `.js` — in a pseudo-terminal and without one.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { baseEnv, leakedSecrets, ROOT, TempStore } from './helpers/cli.js';
import { makeCookie } from './helpers/cookies.js';
import { down, KEY, runPty } from './helpers/pty.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  while (cleanups.length) cleanups.pop()!();
});

function store(keys: Record<string, string[]>, invalid: string[]): TempStore {
  const t = new TempStore('cookie-pool-root-entry-');
  cleanups.push(() => t.cleanup());
  t.writeKeys(keys);
  t.writeInvalid(invalid);
  return t;
}

const MENU = 'What do you want to do\\?';

describe('node manage-invalid-cookies (repository root)', () => {
  it('opens the menu in a terminal: status shows the store, Quit leaves with exit 0', async () => {
    const live = makeCookie();
    const dead = makeCookie();
    const t = store({ 'sk-root': [live] }, [dead]);
    const r = await runPty(
      [],
      [
        { expect: `file pool ${t.keysFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}` },
        { expect: MENU },
        { expect: '1 keys?, 1 cookies?, 1 invalid' },
        { send: KEY.enter },
        { expect: 'sk-root\\s+1\\s+0\\s+0\\s+0\\s+below 2' },
        { expect: MENU },
        ...down(9),
        { send: KEY.enter },
        { expect: 'Bye\\.' },
      ],
      { nodeArgs: [], bin: 'manage-invalid-cookies', cwd: ROOT, env: { DATA_DIR: t.dataDir } },
    );
    expect(r.failed, r.transcript).toBeNull();
    expect(r.exitCode).toBe(0);
    expect(r.transcript).not.toMatch(/Cannot find module|at .*\.js:\d+/);
    expect(leakedSecrets(r.raw, [live, dead])).toEqual([]);
    // Looking changed nothing.
    expect(t.keys()).toEqual({ 'sk-root': [live] });
  });

  it('without a terminal exits 2 and names the commands that do the same', () => {
    const t = store({}, []);
    const r = spawnSync(process.execPath, ['manage-invalid-cookies'], {
      cwd: ROOT,
      env: baseEnv({ DATA_DIR: t.dataDir }),
      input: '',
      encoding: 'utf8',
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/manage needs an interactive terminal/);
    expect(r.stderr).toMatch(/cookie-pool invalid list \| add <cookie\.\.\.> \| remove <cookie\.\.\.> \| clear --yes \| purge/);
    expect(r.stderr).toMatch(/cookie-pool cookies add <key> <cookie\.\.\.>/);
    expect(r.stderr).not.toMatch(/Cannot find module|at .*\.js:\d+/);
  });

  it('in a clone that was never built, says to run npm ci (exit 2, no stack trace)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cookie-pool-unbuilt-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    copyFileSync(join(ROOT, 'manage-invalid-cookies.js'), join(dir, 'manage-invalid-cookies.js'));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    const r = spawnSync(process.execPath, ['manage-invalid-cookies'], { cwd: dir, env: baseEnv(), input: '', encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/not built yet: run `npm ci`/);
    expect(r.stderr).not.toMatch(/Cannot find module|at .*\.js:\d+/);
  });
});
