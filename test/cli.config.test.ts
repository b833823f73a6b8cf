/** Configuration precedence (.env < environment < flags), global behaviour of the program. */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, baseEnv, TempStore } from './helpers/cli.js';
import { makeCookie } from './helpers/cookies.js';

let store: TempStore | undefined;
afterEach(() => {
  store?.cleanup();
  store = undefined;
});

describe('configuration', () => {
  it('loads .env from the working dir; real environment wins; flags win over both', async () => {
    store = new TempStore();
    store.writeKeys({ a: [makeCookie()], b: [makeCookie(), makeCookie(), makeCookie()] });
    writeFileSync(join(store.dir, '.env'), 'MIN_COOKIE_COUNT=3\n# a comment\nDATA_DIR=./elsewhere\n');
    // DATA_DIR from the environment (set by store.run) beats the .env value.
    const fromFile = JSON.parse((await store.run(['status', '--json'])).stdout);
    expect(fromFile.minCookieCount).toBe(3);
    expect(fromFile.keys.map((k: { belowMin: boolean }) => k.belowMin)).toEqual([true, false]);
    const fromEnv = JSON.parse((await store.run(['status', '--json'], { env: { MIN_COOKIE_COUNT: '1' } })).stdout);
    expect(fromEnv.minCookieCount).toBe(1);
    // --data-dir beats DATA_DIR.
    const other = await store.run(['status', '--json', '--data-dir', join(store.dir, 'nowhere')]);
    expect(JSON.parse(other.stdout).keys).toEqual([]);
  });

  it('--env-file picks another file; a missing one is exit 2', async () => {
    store = new TempStore();
    store.writeKeys({ a: [makeCookie()] });
    writeFileSync(join(store.dir, 'prod.env'), 'MIN_COOKIE_COUNT=0\n');
    const ok = await store.run(['status', '--json', '--env-file', 'prod.env']);
    expect(JSON.parse(ok.stdout).minCookieCount).toBe(0);
    const missing = await store.run(['status', '--env-file', 'nope.env']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.env/);
    // Run through the executable's shebang, as a user would: Node 20 must not grab --env-file itself.
    const direct = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(BIN, ['status', '--env-file', 'nope.env'], { cwd: store!.dir, env: baseEnv({ DATA_DIR: store!.dataDir }) });
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(direct.code).toBe(2);
    expect(direct.stderr).toMatch(/cannot read env file .*nope\.env/);
  });

  it('an invalid value stops the command with exit 2 naming the variable', async () => {
    store = new TempStore();
    const bad = await store.run(['status'], { env: { MIN_COOKIE_COUNT: 'lots' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/MIN_COOKIE_COUNT/);
    const mode = await store.run(['import', '-', '--key', 'k'], { env: { COOKIE_REFRESH_MODE: 'merge' }, input: makeCookie() });
    expect(mode.code).toBe(2);
    expect(mode.stderr).toMatch(/COOKIE_REFRESH_MODE/);
  });

  it('API_KEYS_FILE and INVALID_COOKIES_FILE move the store files', async () => {
    store = new TempStore();
    const c = makeCookie();
    const res = await store.run(['keys', 'add', 'k1', c], {
      env: { API_KEYS_FILE: join(store.dir, 'keys.json'), INVALID_COOKIES_FILE: join(store.dir, 'bad.json') },
    });
    expect(res.code).toBe(0);
    expect(JSON.parse(readFileSync(join(store.dir, 'keys.json'), 'utf8'))).toEqual({ k1: [c] });
  });
});

describe('the program', () => {
  it('usage errors exit 2; --help and --version exit 0', async () => {
    store = new TempStore();
    expect((await store.run(['frobnicate'])).code).toBe(2);
    expect((await store.run(['status', '--no-such-flag'])).code).toBe(2);
    const help = await store.run(['--help']);
    expect(help.code).toBe(0);
    for (const cmd of ['status', 'keys', 'cookies', 'invalid', 'manage', 'import', 'refresh', 'workflow', 'check', 'schedule', 'doctor', 'team']) {
      expect(help.stdout).toContain(cmd);
    }
    // --version loads no command module; the version still wins over anything after it.
    for (const args of [['--version'], ['-V'], ['--json', '-V', 'frobnicate'], ['--bogus', '--version']]) {
      const v = await store.run(args);
      expect(v.code, args.join(' ')).toBe(0);
      expect(v.stdout, args.join(' ')).toBe('0.1.0\n');
    }
    // A command's help still lists it whole (the command module is loaded for it).
    const statusHelp = await store.run(['status', '--help']);
    expect(statusHelp.stdout).toMatch(/Usage: cookie-pool status/);
    expect(statusHelp.stdout).toMatch(/--data-dir/);
  });

  it('with --json an error still puts one JSON document on stdout', async () => {
    store = new TempStore();
    store.writeKeys('{ not json');
    const res = await store.run(['status', '--json']);
    expect(res.code).toBe(2);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: false, exitCode: 2 });
    expect(res.stderr).toMatch(/api_keys\.json/);
  });

  it('a closed stdout pipe ends quietly', async () => {
    store = new TempStore();
    store.writeKeys({ k: Array.from({ length: 3000 }, () => makeCookie()) });
    const child = spawn(process.execPath, [BIN, 'cookies', 'list', 'k'], {
      cwd: store.dir,
      env: baseEnv({ DATA_DIR: store.dataDir }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise((r) => child.on('close', r));
    expect(err).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  });
});

describe('commandName (which command module to load)', () => {
  it('finds the command after global flags, and loads all for help or unknown words', async () => {
    const { commandName } = await import('../src/cli.js');
    expect(commandName(['status', '--json'])).toBe('status');
    expect(commandName(['--json', '-q', 'refresh', '--force'])).toBe('refresh');
    expect(commandName(['--data-dir', 'status', 'keys', 'list'])).toBe('keys');
    expect(commandName(['--env-file=x.env', 'team', 'usage'])).toBe('team');
    expect(commandName(['help', 'status'])).toBeUndefined();
    expect(commandName(['--help'])).toBeUndefined();
    expect(commandName(['frobnicate'])).toBeUndefined();
  });
});
