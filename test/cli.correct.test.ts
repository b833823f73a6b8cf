/**
 * Issue 14, through the built CLI: each rough edge found by an exploratory pass, as a new user
 * would meet it (temp folders, real processes).
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { baseEnv, BIN, leakedSecrets, runCli, TempStore, type RunResult } from './helpers/cli.js';
import { makeCookie, makeJwt } from './helpers/cookies.js';

const temps: TempStore[] = [];
afterEach(() => {
  while (temps.length) temps.pop()!.cleanup();
});
function store(keys?: unknown, invalid?: unknown): TempStore {
  const t = new TempStore('cookie-pool-correct-');
  temps.push(t);
  if (keys !== undefined) t.writeKeys(keys);
  if (invalid !== undefined) t.writeInvalid(invalid);
  return t;
}
const json = (r: RunResult) => JSON.parse(r.stdout) as Record<string, unknown>;

describe('1. lock and backups beside the store files', () => {
  it('concurrent `cookies add` from two folders into files in a third lose nothing and leave no data/ behind', async () => {
    const t = store();
    const shared = join(t.dir, 'shared');
    const cwds = [join(t.dir, 'one'), join(t.dir, 'two')];
    for (const d of [shared, ...cwds]) mkdirSync(d);
    const keysFile = join(shared, 'api_keys.json');
    writeFileSync(keysFile, JSON.stringify({ pool: [] }, null, 2));
    const env = { API_KEYS_FILE: keysFile, INVALID_COOKIES_FILE: join(shared, 'invalid_cookies.json') };
    const batches = Array.from({ length: 12 }, () => [makeCookie(), makeCookie(), makeCookie()]);
    const results = await Promise.all(batches.map((b, i) => runCli(['cookies', 'add', 'pool', ...b], { cwd: cwds[i % 2], env })));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const keys = JSON.parse(readFileSync(keysFile, 'utf8')) as Record<string, string[]>;
    expect(new Set(keys.pool)).toEqual(new Set(batches.flat()));
    expect(keys.pool).toHaveLength(36);
    // Nothing in the working folders; the lock is gone and the backups (and the history, SPEC §10) are beside the file.
    for (const d of cwds) expect(readdirSync(d)).toEqual([]);
    expect(readdirSync(shared).sort()).toEqual(['.backups', '.cookie-pool', 'api_keys.json']);
    expect(readdirSync(join(shared, '.cookie-pool'))).toEqual(['history.jsonl']);
    expect(readdirSync(join(shared, '.backups')).every((f) => f.startsWith('api_keys.json.'))).toBe(true);
  });

  it('a store file in another folder gets its backups there; reads create no folder', async () => {
    const t = store({ k: [] });
    const elsewhere = join(t.dir, 'elsewhere');
    mkdirSync(elsewhere);
    const invalidFile = join(elsewhere, 'bad.json');
    writeFileSync(invalidFile, '[]');
    const c = makeCookie();
    const env = { INVALID_COOKIES_FILE: invalidFile };
    expect((await t.run(['cookies', 'add', 'k', c], { env })).code).toBe(0);
    expect((await t.run(['invalid', 'add', c], { env })).code).toBe(0);
    expect(readdirSync(join(elsewhere, '.backups'))).toEqual([expect.stringMatching(/^bad\.json\./)]);
    expect(readdirSync(join(t.dataDir, '.backups')).every((f) => f.startsWith('api_keys.json.'))).toBe(true);
    const cwd = join(t.dir, 'cwd');
    mkdirSync(cwd);
    const r = await runCli(['status', '--json'], { cwd, env: { API_KEYS_FILE: t.keysFile, INVALID_COOKIES_FILE: invalidFile } });
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(cwd)).toEqual([]);
  });
});

describe('2. api keys named like Object.prototype properties', () => {
  it('constructor, toString, hasOwnProperty and __proto__ are keys like any other', async () => {
    const t = store();
    const [a, b, c] = [makeCookie(), makeCookie(), makeCookie()];
    const r1 = await t.run(['keys', 'add', 'constructor']);
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.stdout).toMatch(/Created api key constructor: added 0 cookies, now 0/);
    expect((await t.run(['keys', 'add', 'toString', a])).code).toBe(0);
    expect((await t.run(['keys', 'add', 'hasOwnProperty'])).code).toBe(0);
    expect((await t.run(['cookies', 'add', 'hasOwnProperty', b])).code).toBe(0);
    expect((await t.run(['keys', 'add', '__proto__', c])).code).toBe(0);
    expect(readFileSync(t.keysFile, 'utf8')).toBe(
      `{\n  "constructor": [],\n  "toString": [\n    "${a}"\n  ],\n  "hasOwnProperty": [\n    "${b}"\n  ],\n  "__proto__": [\n    "${c}"\n  ]\n}`,
    );
    const status = json(await t.run(['status', '--json']));
    expect((status.keys as { apiKey: string; cookies: number }[]).map((k) => [k.apiKey, k.cookies])).toEqual([
      ['constructor', 0],
      ['toString', 1],
      ['hasOwnProperty', 1],
      ['__proto__', 1],
    ]);
    expect((await t.run(['keys', 'remove', 'toString'])).code).toBe(0);
    expect(Object.keys(t.keys())).toEqual(['constructor', 'hasOwnProperty', '__proto__']);
  });

  it('a `__proto__` key written by the proxy is shown and survives an unrelated write; import-env keeps one', async () => {
    const [p, q, r, s] = [makeCookie(), makeCookie(), makeCookie(), makeCookie()];
    const t = store(`{\n  "__proto__": [\n    "${p}"\n  ],\n  "k": []\n}`);
    const status = json(await t.run(['status', '--json']));
    expect((status.keys as { apiKey: string }[]).map((k) => k.apiKey)).toEqual(['__proto__', 'k']);
    expect((await t.run(['cookies', 'add', 'k', q])).code).toBe(0);
    expect(readFileSync(t.keysFile, 'utf8')).toBe(`{\n  "__proto__": [\n    "${p}"\n  ],\n  "k": [\n    "${q}"\n  ]\n}`);
    const imp = await t.run(['keys', 'import-env', '--json'], { env: { API_KEYS: `{"__proto__": "${r}", "valueOf": ["${s}"]}` } });
    expect(imp.code, imp.stderr).toBe(0);
    expect(json(imp)).toMatchObject({ added: 2 });
    expect(readFileSync(t.keysFile, 'utf8')).toBe(
      `{\n  "__proto__": [\n    "${p}",\n    "${r}"\n  ],\n  "k": [\n    "${q}"\n  ],\n  "valueOf": [\n    "${s}"\n  ]\n}`,
    );
  });
});

describe('3. a cookie whose `exp` is out of range (1e15)', () => {
  it('is refused as malformed, and a store holding one still lists', async () => {
    const user = 'user_01FARFUTURE';
    const far = `${user}::${makeJwt({ sub: `auth0|${user}`, exp: 1e15 })}`;
    const t = store({ k: [far, makeCookie()] }, [far]);
    const list = await t.run(['cookies', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toMatch(/user_01F…\S+\s+-\s+-\s+malformed/);
    const inv = await t.run(['invalid', 'list']);
    expect(inv.code, inv.stderr).toBe(0);
    expect(inv.stdout).toMatch(/1 cookie in the invalid list/);
    const status = json(await t.run(['status', '--json']));
    expect(status.keys).toEqual([expect.objectContaining({ apiKey: 'k', cookies: 2, malformed: 1 })]);
    const add = await t.run(['cookies', 'add', 'k', `${user}::${makeJwt({ sub: `auth0|${user}`, exp: 1e15 })}`]);
    expect(add.code).toBe(1);
    expect(add.stderr).toMatch(/malformed: `exp` is out of range/);
  });
});

describe('4. --json usage errors', () => {
  it('put {"ok":false,"error","exitCode":2} on stdout, commander errors included', async () => {
    const t = store({});
    for (const [args, error] of [
      [['keys', 'add', '--json'], /missing required argument 'key'/],
      [['status', '--bogus', '--json'], /unknown option '--bogus'/],
      [['nonsense', '--json'], /unknown command 'nonsense'/],
      [['check', '--concurrency', '0', '--json'], /--concurrency.*invalid/],
      [['import', '--json'], /missing required argument 'path'/],
      [['keys', '--json'], /subcommand is required/],
    ] as const) {
      const r = await t.run([...args]);
      expect(r.code, args.join(' ')).toBe(2);
      const doc = json(r);
      expect(doc).toEqual({ ok: false, error: expect.stringMatching(error), exitCode: 2 });
      expect(doc.error).not.toMatch(/^error:/);
    }
  });
});

describe('5, 6, 12. one key-name rule, where a key is created', () => {
  it('import --key and refresh --key refuse a bad new name; an existing key of any name receives cookies', async () => {
    const t = store({ 'web page key': [] });
    const c = makeCookie();
    const input = `${c}\n`;
    for (const key of ['a b', '', ' ']) {
      const r = await t.run(['import', '-', '--key', key], { input });
      expect(r.code, JSON.stringify(key)).toBe(2);
      expect(r.stderr).toMatch(/empty|whitespace/);
    }
    const refresh = await t.run(['refresh', '--key', 'new key', '--dry-run']);
    expect(refresh.code).toBe(2);
    expect(refresh.stderr).toMatch(/--key: api key name "new key" contains whitespace/);
    expect(t.keys()).toEqual({ 'web page key': [] });
    // 12: the key exists (the proxy's web page wrote it): it is used, not judged.
    const add = await t.run(['cookies', 'add', 'web page key', c]);
    expect(add.code, add.stderr).toBe(0);
    const more = makeCookie();
    const imp = await t.run(['import', '-', '--key', 'web page key'], { input: `${more}\n` });
    expect(imp.code, imp.stderr).toBe(0);
    const env = await t.run(['keys', 'import-env'], { env: { API_KEYS: JSON.stringify({ 'web page key': [makeCookie()] }) } });
    expect(env.code, env.stderr).toBe(0);
    expect(t.keys()['web page key']).toHaveLength(3);
    const badEnv = await t.run(['keys', 'import-env'], { env: { API_KEYS: JSON.stringify({ 'new key': [] }) } });
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toMatch(/API_KEYS: api key name "new key" contains whitespace/);
  });

  it('a cookie where a key name goes is refused as a new key and masked in every error', async () => {
    const t = store({ 'sk-a': [] });
    const c = makeCookie();
    const secrets = [c, c.slice(c.indexOf('%3A%3A') + 6)];
    const runs = [
      await t.run(['keys', 'add', c]),
      await t.run(['cookies', 'add', c, 'sk-a']),
      await t.run(['cookies', 'list', c]),
      await t.run(['keys', 'remove', c]),
      await t.run(['import', '-', '--key', c], { input: `${makeCookie()}\n` }),
      await t.run(['keys', 'add', c, '--json']),
    ];
    for (const r of runs) {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/user_01.…/);
      expect(leakedSecrets(r.stdout + r.stderr, secrets)).toEqual([]);
    }
    expect(runs[0]!.stderr).toMatch(/is a cookie, not an api key name/);
    expect(runs[1]!.stderr).toMatch(/no api key "user_01.…\S{4}" \(known keys: sk-a\)/);
    expect(t.keys()).toEqual({ 'sk-a': [] });
  });
});

describe('7. cookies add --from-file reads a file as import does', () => {
  it('a CSV header row is not a malformed cookie', async () => {
    const t = store({ k: [] });
    const c = makeCookie();
    const csv = join(t.dir, 'accounts.csv');
    writeFileSync(csv, `email,password,token\r\nme@example.com,secret,${c}\r\n`);
    const r = await t.run(['cookies', 'add', 'k', '--from-file', csv]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Added 1 cookie to k \(now 1\)\.$/m);
    expect(r.stderr).not.toMatch(/malformed/);
    const imp = await t.run(['import', csv, '--key', 'k', '--json']);
    expect(json(imp)).toMatchObject({ harvested: 1, added: 0, rejected: { malformed: 0, duplicate: 1 } });
  });
});

/** Run the CLI as a user that is not root (root writes anywhere): `nobody` when the tests run as root. */
function runUnprivileged(args: string[], cwd: string, env: Record<string, string>): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const asRoot = process.getuid?.() === 0;
    const child = spawn(process.execPath, ['--', BIN, ...args], {
      cwd,
      env: baseEnv(env),
      ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.end();
  });
}

describe('8. a bad data dir is a configuration error (exit 2) naming the path and the fix', () => {
  it('a file as the data dir, a folder named api_keys.json', async () => {
    const t = store();
    const file = join(t.dir, 'not-a-dir');
    writeFileSync(file, 'x');
    for (const args of [['status'], ['keys', 'add', 'k'], ['cookies', 'list']]) {
      const r = await t.run([...args, '--data-dir', file]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`${file}: is a file, expected the folder of the key store`);
      expect(r.stderr).toMatch(/hint: point DATA_DIR/);
      expect(r.stderr).not.toMatch(/ENOTDIR|EEXIST/);
    }
    mkdirSync(join(t.dataDir, 'api_keys.json'), { recursive: true });
    for (const args of [['status'], ['keys', 'add', 'k']]) {
      const r = await t.run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain(`${join(t.dataDir, 'api_keys.json')}: is a directory, expected a JSON file`);
      expect(r.stderr).toMatch(/hint: remove or rename that folder/);
    }
  });

  it('a folder cookie-pool may not write: exit 2 at once with the folder and the chmod', async () => {
    const t = store();
    chmodSync(t.dir, 0o755);
    const ro = join(t.dir, 'ro');
    mkdirSync(ro, { mode: 0o555 });
    chmodSync(ro, 0o555);
    const started = Date.now();
    const r = await runUnprivileged(['keys', 'add', 'k', '--data-dir', ro], t.dir, {});
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`cannot write in ${ro} (EACCES)`);
    expect(r.stderr).toContain(`chmod u+rwx ${ro}`);
    // Not after the lock's retries.
    expect(Date.now() - started).toBeLessThan(10_000);
    const sub = await runUnprivileged(['keys', 'add', 'k', '--data-dir', join(ro, 'data')], t.dir, {});
    expect(sub.code).toBe(2);
    expect(sub.stderr).toContain(`cannot write in ${ro} (EACCES, creating data)`);
    expect(existsSync(join(ro, 'data'))).toBe(false);
  });
});

describe('9. .env surprises', () => {
  it('a UTF-8 BOM does not drop the first variable; DATA_DIR=~/x is in the home folder', async () => {
    const t = store();
    const c = makeCookie();
    writeFileSync(join(t.dir, '.env'), `\ufeffDATA_DIR=./bom-data\r\nMIN_COOKIE_COUNT=5\r\n`);
    const r = await runCli(['keys', 'add', 'k', c], { cwd: t.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(t.dir, 'bom-data', 'api_keys.json'), 'utf8'))).toEqual({ k: [c] });
    const home = join(t.dir, 'home');
    mkdirSync(home);
    writeFileSync(join(t.dir, '.env'), 'DATA_DIR=~/pool\n');
    const tilde = await runCli(['keys', 'add', 'k2'], { cwd: t.dir, env: { HOME: home } });
    expect(tilde.code, tilde.stderr).toBe(0);
    expect(existsSync(join(home, 'pool', 'api_keys.json'))).toBe(true);
    expect(existsSync(join(t.dir, '~'))).toBe(false);
    writeFileSync(join(t.dir, '.env'), 'DATA_DIR=~bob/pool\n');
    const other = await runCli(['status'], { cwd: t.dir });
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/DATA_DIR: "~bob\/pool" names another user's home folder/);
  });
});

describe('10. a cookie already under another key', () => {
  it('names that key and is refused (exit 1 when nothing was done, 3 when some was); the same key is nothing to do', async () => {
    const held = makeCookie();
    const t = store({ 'sk-a': [held], 'sk-b': [] });
    const r = await t.run(['cookies', 'add', 'sk-b', held]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused user_01.…\S{4} +duplicate: already under api key "sk-a"/);
    const fresh = makeCookie();
    const some = await t.run(['cookies', 'add', 'sk-b', held, fresh, '--json']);
    expect(some.code).toBe(3);
    expect(json(some)).toMatchObject({
      ok: false,
      added: 1,
      exitCode: 3,
      rejected: { duplicate: 1 },
      refusals: [{ reason: 'duplicate', heldBy: 'sk-a', detail: 'already under api key "sk-a"' }],
    });
    const same = await t.run(['cookies', 'add', 'sk-a', held]);
    expect(same.code).toBe(0);
    expect(same.stderr).toMatch(/duplicate: already in api key "sk-a"/);
    expect(t.keys()).toEqual({ 'sk-a': [held], 'sk-b': [fresh] });
  });
});

describe('11. waiting for the store lock', () => {
  /** Take the store lock as another process would (the lock folder, last touched `ageSec` ago). */
  function takeLock(t: TempStore, ageSec = 0): string {
    const lock = join(t.dataDir, '.store.lock');
    mkdirSync(lock);
    if (ageSec) utimesSync(lock, new Date(), new Date(Date.now() - ageSec * 1000));
    return lock;
  }
  /** Hold the lock like a live writer, releasing it after `ms`. */
  function holdLock(t: TempStore, ms: number): Promise<void> {
    const lock = takeLock(t);
    return new Promise((resolve) => setTimeout(() => resolve(rmSync(lock, { recursive: true, force: true })), ms));
  }

  it('says once on stderr what it waits for, then goes on; --quiet says nothing', async () => {
    const t = store({ k: [] });
    const released = holdLock(t, 2500);
    const [r] = await Promise.all([t.run(['cookies', 'add', 'k', makeCookie()]), released]);
    expect(r.code, r.stderr).toBe(0);
    const notices = r.stderr.match(/waiting for the store lock .*\.store\.lock: another cookie-pool process is changing the store/g) ?? [];
    expect(notices).toHaveLength(1);

    const quietRelease = holdLock(t, 2000);
    const [q] = await Promise.all([t.run(['cookies', 'add', 'k', makeCookie(), '--quiet']), quietRelease]);
    expect(q.code, q.stderr).toBe(0);
    expect(q.stderr).toBe('');
    expect(t.keys().k).toHaveLength(2);
  });

  it('a lock left by a stopped process: says so, and takes it over', async () => {
    const t = store({ k: [] });
    // Untouched for 8 s and never released: taken over once 10 s stale.
    takeLock(t, 8);
    const r = await t.run(['cookies', 'add', 'k', makeCookie()]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/waiting for the store lock .*: it looks left behind by a stopped process \(untouched for \d+ s\) and is taken over once 10 s old/);
    expect(t.keys().k).toHaveLength(1);
  });
});

describe('worth settling', () => {
  it('no cookies in the input is exit 2 for `cookies add -` and `import -` alike', async () => {
    const t = store({ k: [] });
    const add = await t.run(['cookies', 'add', 'k', '-'], { input: '' });
    expect(add.code).toBe(2);
    expect(add.stderr).toMatch(/no cookies given: no cookie found in standard input/);
    const imp = await t.run(['import', '-', '--key', 'k'], { input: '' });
    expect(imp.code).toBe(2);
    expect(imp.stderr).toMatch(/no cookies given/);
    const empty = join(t.dir, 'empty.txt');
    writeFileSync(empty, '# nothing yet\n');
    const file = await t.run(['invalid', 'add', '--from-file', empty, '--json']);
    expect(file.code).toBe(2);
    expect(json(file)).toMatchObject({ ok: false, exitCode: 2 });
    expect(readFileSync(t.keysFile, 'utf8')).toBe(JSON.stringify({ k: [] }, null, 2));
  });

  it('a subcommand`s --help lists the global flags', async () => {
    const t = store();
    for (const args of [['cookies', 'add', '--help'], ['status', '--help'], ['keys', '--help']]) {
      const r = await t.run(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Global Options:[\s\S]*--data-dir <dir>[\s\S]*--json[\s\S]*--quiet/);
    }
  });
});
