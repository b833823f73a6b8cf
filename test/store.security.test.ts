/**
 * Store writes do not trust what sits at the store path (issue 13 #1): files and symlink targets of
 * another user are refused, modes are never carried over, a symlink of this user keeps working,
 * and the backups folder and the lock cannot be turned against us. These tests run as root (the
 * case that matters: a cron job) and plant files of uid 65534 with chown.
 */
import {
  chmodSync,
  chownSync,
  existsSync,
  lchownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TempStore } from './helpers/cli.js';
import { makeCookie } from './helpers/cookies.js';

const OTHER = 65534; // nobody
const temps: string[] = [];
const stores: TempStore[] = [];
afterEach(() => {
  while (stores.length) stores.pop()!.cleanup();
  while (temps.length) rmSync(temps.pop()!, { recursive: true, force: true });
});

function store(): TempStore {
  const t = new TempStore('cookie-pool-sec-');
  stores.push(t);
  mkdirSync(t.dataDir, { recursive: true, mode: 0o700 });
  return t;
}

function elsewhere(): string {
  const d = mkdtempSync(join(tmpdir(), 'cookie-pool-sec-other-'));
  temps.push(d);
  return d;
}

const mode = (p: string): number => statSync(p).mode & 0o777;

beforeAll(() => {
  // Owner checks need a user to be someone else than the files' owner.
  if (process.getuid?.() !== 0) throw new Error('these tests plant files of another user with chown: run them as root');
});

describe('store writes refuse what another user owns', () => {
  it('a store file of another user (mode 0666) is refused with exit 2, left as it was, and nothing is written', async () => {
    const t = store();
    const planted = JSON.stringify({ 'sk-planted': [] }, null, 2);
    writeFileSync(t.keysFile, planted);
    chmodSync(t.keysFile, 0o666);
    chownSync(t.keysFile, OTHER, OTHER);
    const c = makeCookie();
    const res = await t.run(['keys', 'add', 'sk-mine', c]);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/refusing to write the store file .*api_keys\.json: it is owned by uid 65534/);
    expect(res.stderr).toMatch(/hint: .*chown/);
    expect(readFileSync(t.keysFile, 'utf8')).toBe(planted);
    expect(statSync(t.keysFile).uid).toBe(OTHER);
    expect(mode(t.keysFile)).toBe(0o666);
    expect(existsSync(join(t.dataDir, '.backups'))).toBe(false);
    expect(readdirSync(t.dataDir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('a symlink to a file of another user is refused, the target untouched', async () => {
    const t = store();
    const theirs = join(elsewhere(), 'api_keys.json');
    writeFileSync(theirs, '{}');
    chownSync(theirs, OTHER, OTHER);
    symlinkSync(theirs, t.keysFile);
    const res = await t.run(['keys', 'add', 'sk-mine', makeCookie()]);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/owned by uid 65534/);
    expect(readFileSync(theirs, 'utf8')).toBe('{}');
    expect(lstatSync(t.keysFile).isSymbolicLink()).toBe(true);
  });

  it('a symlink planted by another user is refused even when it points to our own file', async () => {
    const t = store();
    const mine = join(elsewhere(), 'keys.json');
    writeFileSync(mine, '{}');
    symlinkSync(mine, t.keysFile);
    lchownSync(t.keysFile, OTHER, OTHER);
    const res = await t.run(['keys', 'add', 'sk-mine']);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/through the symlink .*owned by uid 65534/);
    expect(readFileSync(mine, 'utf8')).toBe('{}');
  });

  it('a change to both files writes neither when one of them may not be written', async () => {
    const t = store();
    const c = makeCookie();
    t.writeKeys({ k: [c] });
    t.writeInvalid([]);
    chownSync(t.keysFile, OTHER, OTHER);
    // invalid add writes the invalid list first, then the keys: the refusal must come before both.
    const res = await t.run(['invalid', 'add', c]);
    expect(res.code, res.stderr).toBe(2);
    expect(t.invalid()).toEqual([]);
    expect(t.keys()).toEqual({ k: [c] });
  });
});

describe('modes and symlinks of this user', () => {
  it('a store file of mode 0666 is written back 0600, and its backup is 0600 too', async () => {
    const t = store();
    t.writeKeys({ k: [] });
    chmodSync(t.keysFile, 0o666);
    const res = await t.run(['keys', 'add', 'k2']);
    expect(res.code, res.stderr).toBe(0);
    expect(Object.keys(t.keys())).toEqual(['k', 'k2']);
    expect(mode(t.keysFile)).toBe(0o600);
    const backups = readdirSync(join(t.dataDir, '.backups'));
    expect(backups).toHaveLength(1);
    expect(mode(join(t.dataDir, '.backups', backups[0]!))).toBe(0o600);
    expect(JSON.parse(readFileSync(join(t.dataDir, '.backups', backups[0]!), 'utf8'))).toEqual({ k: [] });
  });

  it('a symlink to a file of this user keeps working: the target is replaced in its own folder, the link stays', async () => {
    const t = store();
    const proxyDir = elsewhere();
    const target = join(proxyDir, 'api_keys.json');
    writeFileSync(target, JSON.stringify({ k: [] }, null, 2));
    chmodSync(target, 0o644);
    symlinkSync(target, t.keysFile);
    const c = makeCookie();
    const res = await t.run(['cookies', 'add', 'k', c]);
    expect(res.code, res.stderr).toBe(0);
    expect(lstatSync(t.keysFile).isSymbolicLink()).toBe(true);
    expect(JSON.parse(readFileSync(target, 'utf8'))).toEqual({ k: [c] });
    expect(mode(target)).toBe(0o600);
    // No temp file left in either folder, and the backup holds the old content (not a copy of the link).
    expect(readdirSync(proxyDir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(readdirSync(t.dataDir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const backups = readdirSync(join(t.dataDir, '.backups'));
    expect(backups).toHaveLength(1);
    const kept = join(t.dataDir, '.backups', backups[0]!);
    expect(lstatSync(kept).isFile()).toBe(true);
    expect(JSON.parse(readFileSync(kept, 'utf8'))).toEqual({ k: [] });
    // A second write still goes through the link.
    const c2 = makeCookie();
    expect((await t.run(['cookies', 'add', 'k', c2])).code).toBe(0);
    expect(JSON.parse(readFileSync(target, 'utf8'))).toEqual({ k: [c, c2] });
    expect(lstatSync(t.keysFile).isSymbolicLink()).toBe(true);
  });

  it('a dangling symlink is refused with the file it points to', async () => {
    const t = store();
    symlinkSync(join(elsewhere(), 'missing.json'), t.keysFile);
    const res = await t.run(['keys', 'add', 'k']);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/is a symlink to .*missing\.json, which does not exist/);
  });
});

describe('the backups folder, the lock and the data dir', () => {
  it('a .backups symlink is refused, and pruning never deletes where it points', async () => {
    const t = store();
    t.writeKeys({ k: [] });
    const victim = elsewhere();
    const names = Array.from({ length: 12 }, (_, i) => `api_keys.json.2020-01-01T00-00-${String(i).padStart(2, '0')}`);
    for (const n of names) writeFileSync(join(victim, n), 'precious');
    symlinkSync(victim, join(t.dataDir, '.backups'));
    const res = await t.run(['keys', 'add', 'k2']);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/backups folder .*\.backups: it is a symlink/);
    expect(readdirSync(victim).sort()).toEqual(names);
    expect(Object.keys(t.keys())).toEqual(['k']);
  });

  it('a .backups folder of another user is refused', async () => {
    const t = store();
    t.writeKeys({ k: [] });
    mkdirSync(join(t.dataDir, '.backups'));
    chownSync(join(t.dataDir, '.backups'), OTHER, OTHER);
    const res = await t.run(['keys', 'add', 'k2']);
    expect(res.code, res.stderr).toBe(2);
    expect(res.stderr).toMatch(/backups folder .* owned by uid 65534/);
  });

  it('a group/world-readable .backups folder of ours is made private', async () => {
    const t = store();
    t.writeKeys({ k: [] });
    mkdirSync(join(t.dataDir, '.backups'));
    chmodSync(join(t.dataDir, '.backups'), 0o755);
    expect((await t.run(['keys', 'add', 'k2'])).code).toBe(0);
    expect(mode(join(t.dataDir, '.backups'))).toBe(0o700);
  });

  it('a symlink or a folder of another user at the lock path is refused, not followed', async () => {
    const t = store();
    t.writeKeys({ k: [] });
    const lockTarget = elsewhere();
    symlinkSync(lockTarget, join(t.dataDir, '.store.lock'));
    const viaLink = await t.run(['keys', 'add', 'k2']);
    expect(viaLink.code, viaLink.stderr).toBe(2);
    expect(viaLink.stderr).toMatch(/refusing to lock through .*\.store\.lock: it is a symlink/);
    expect(existsSync(lockTarget)).toBe(true);

    rmSync(join(t.dataDir, '.store.lock'));
    mkdirSync(join(t.dataDir, '.store.lock'));
    chownSync(join(t.dataDir, '.store.lock'), OTHER, OTHER);
    const foreign = await t.run(['keys', 'add', 'k2']);
    expect(foreign.code, foreign.stderr).toBe(2);
    expect(foreign.stderr).toMatch(/\.store\.lock: it is owned by uid 65534/);
    expect(Object.keys(t.keys())).toEqual(['k']);
  });

  it('a data dir every user may write into (0777, no sticky bit) is refused; with the sticky bit it is written, with a warning', async () => {
    const t = store();
    t.writeKeys({ k: [] });
    chmodSync(t.dataDir, 0o777);
    const open = await t.run(['keys', 'add', 'k2']);
    expect(open.code, open.stderr).toBe(2);
    expect(open.stderr).toMatch(/refusing to write into .*data: the folder is writable by every user \(mode 0777\)/);
    expect(open.stderr).toMatch(/hint: chmod 700/);
    expect(Object.keys(t.keys())).toEqual(['k']);

    chmodSync(t.dataDir, 0o1777);
    const sticky = await t.run(['keys', 'add', 'k2']);
    expect(sticky.code, sticky.stderr).toBe(0);
    expect(sticky.stderr).toMatch(/warning: .*data.* is writable by group\/others/);
    expect(Object.keys(t.keys())).toEqual(['k', 'k2']);
  });
});
