/** `import <path...>` end to end through the built CLI: no GitHub, the same extraction and merge as refresh. */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildSymlinkZip, buildZip, buildZipSlip, cursorRegisterFiles } from './fake-github.js';
import { leakedSecrets, TempStore } from './helpers/cli.js';
import { makeCookie, makeJwt } from './helpers/cookies.js';

let store: TempStore | undefined;
afterEach(() => {
  store?.cleanup();
  store = undefined;
});

function fresh(): TempStore {
  store = new TempStore('cookie-pool-import-');
  return store;
}

const expired = () => makeCookie('encoded', { exp: Math.floor(Date.now() / 1000) - 60 });
const malformed = () => `user_01BROKEN::eyJub3QtanNvbg.${'x'.repeat(20)}.sig`;

describe('import', () => {
  it('a Cursor-Register artifact zip into one key; JSON merge result; no whole cookie printed', async () => {
    const s = fresh();
    const cookies = [makeCookie(), makeCookie(), makeCookie()];
    const zipPath = join(s.dir, 'Account Info.zip');
    writeFileSync(zipPath, buildZip(cursorRegisterFiles(cookies)));
    const res = await s.run(['import', zipPath, '--key', 'sk-a', '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      ok: true,
      harvested: 3,
      added: 3,
      rejected: { malformed: 0, expired: 0, duplicate: 0, 'known-invalid': 0 },
      keys: [{ apiKey: 'sk-a', before: 0, added: 3, retired: 0, after: 3 }],
    });
    expect(s.keys()).toEqual({ 'sk-a': cookies });
    const human = await s.run(['import', zipPath, '--key', 'sk-a']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Harvested 3 cookie\(s\); added 0; refused duplicate 3/);
    expect(leakedSecrets(res.stdout + res.stderr + human.stdout + human.stderr, cookies)).toEqual([]);
  });

  it('CSV with header/quotes/BOM, TXT with bare JWTs, a folder (nested zip), and stdin', async () => {
    const s = fresh();
    const a = makeCookie('decoded');
    const b = makeJwt();
    const c = makeCookie('encoded');
    const d = makeCookie('encoded');
    const e = makeCookie('jwt');
    const csv = join(s.dir, 'accounts.csv');
    writeFileSync(csv, `\uFEFFemail,token\r\n"x@y.z","${a}"\r\n`);
    const txt = join(s.dir, 'tokens.txt');
    writeFileSync(txt, `${b}\n\n`);
    const folder = join(s.dir, 'drop');
    mkdirSync(join(folder, 'deeper'), { recursive: true });
    writeFileSync(join(folder, 'deeper', 'one.zip'), buildZip({ 'token_1.csv': `${c}\r\n` }));
    writeFileSync(join(folder, 'two.csv'), `me@x.y,${d}\r\n`);
    writeFileSync(join(folder, 'ignored.json'), JSON.stringify([makeCookie()]));
    // No quotes, a BOM and old Mac line ends (the quote-free fast path reads the bytes line by line).
    const f = makeCookie('encoded');
    const g = makeCookie('decoded');
    const mac = join(s.dir, 'mac.txt');
    writeFileSync(mac, `\uFEFF${f}\r  ${g}  \r\r`);
    const res = await s.run(['import', csv, txt, folder, mac, '-', '--key', 'sk-a', '--json'], { input: `${e}\n` });
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ harvested: 7, added: 7 });
    expect(new Set(s.keys()['sk-a'])).toEqual(new Set([a, b, c, d, e, f, g]));
  });

  it('counts refusals by reason: malformed, expired, duplicate, known-invalid', async () => {
    const s = fresh();
    const have = makeCookie();
    const dead = makeCookie();
    const good = makeCookie();
    const old = expired();
    s.writeKeys({ 'sk-a': [have] });
    s.writeInvalid([dead]);
    const file = join(s.dir, 'mix.csv');
    // `have` arrives in its decoded form: same JWT, so a duplicate.
    const haveDecoded = have.replace('%3A%3A', '::');
    writeFileSync(file, [good, malformed(), old, haveDecoded, dead, good].join('\n'));
    const res = await s.run(['import', file, '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({
      harvested: 5,
      added: 1,
      rejected: { malformed: 1, expired: 1, duplicate: 1, 'known-invalid': 1 },
      keys: [{ apiKey: 'sk-a', before: 1, added: 1, retired: 0, after: 2 }],
    });
    expect(s.keys()).toEqual({ 'sk-a': [have, good] });
    expect(leakedSecrets(res.stdout + res.stderr, [have, dead, good, old])).toEqual([]);
  });

  it('replace keeps a key that received only duplicates; retires the old cookies of one that received new ones', async () => {
    const s = fresh();
    const x = makeCookie();
    const y = makeCookie();
    const n = makeCookie();
    s.writeKeys({ 'sk-a': [x] });
    const dupOnly = join(s.dir, 'dup.txt');
    writeFileSync(dupOnly, `${x}\n`);
    const res = await s.run(['import', dupOnly, '--key', 'sk-a', '--mode', 'replace', '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).keys).toEqual([{ apiKey: 'sk-a', before: 1, added: 0, retired: 0, after: 1 }]);
    expect(s.keys()).toEqual({ 'sk-a': [x] });
    expect(s.invalid()).toEqual([]);

    s.writeKeys({ 'sk-a': [x, y] });
    const withNew = join(s.dir, 'new.txt');
    writeFileSync(withNew, `${n}\n`);
    const res2 = await s.run(['import', withNew, '--key', 'sk-a', '--mode', 'replace', '--json']);
    expect(JSON.parse(res2.stdout).keys).toEqual([{ apiKey: 'sk-a', before: 2, added: 1, retired: 2, after: 1 }]);
    expect(s.keys()).toEqual({ 'sk-a': [n] });
    expect(s.invalid()).toEqual([x, y]);
  });

  it('without --key: every key, fewest first; --share gives each all; an empty store needs --key', async () => {
    const s = fresh();
    const cs = [makeCookie(), makeCookie(), makeCookie()];
    const file = join(s.dir, 'c.txt');
    writeFileSync(file, cs.join('\n'));
    const empty = await s.run(['import', file]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/pass --key/);
    const k = makeCookie();
    s.writeKeys({ 'sk-a': [k], 'sk-b': [] });
    const res = await s.run(['import', file, '--json']);
    expect(res.code).toBe(0);
    expect(s.keys()).toEqual({ 'sk-a': [k, cs[1]], 'sk-b': [cs[0], cs[2]] });
    const other = [makeCookie(), makeCookie()];
    writeFileSync(file, other.join('\n'));
    await s.run(['import', file, '--share']);
    expect(s.keys()['sk-a']!.slice(-2)).toEqual(other);
    expect(s.keys()['sk-b']!.slice(-2)).toEqual(other);
  });

  it('--dry-run reports and writes nothing', async () => {
    const s = fresh();
    s.writeKeys({ 'sk-a': [] });
    const before = readFileSync(s.keysFile, 'utf8');
    const file = join(s.dir, 'c.txt');
    writeFileSync(file, makeCookie());
    const res = await s.run(['import', file, '--dry-run', '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ dryRun: true, added: 1 });
    expect(readFileSync(s.keysFile, 'utf8')).toBe(before);
    expect(existsSync(join(s.dataDir, '.backups'))).toBe(false);
  });

  it('nothing found is "no cookies given" (exit 2); a missing path or an unsafe zip is refused with the store untouched', async () => {
    const s = fresh();
    const k = makeCookie();
    s.writeKeys({ 'sk-a': [k] });
    const before = readFileSync(s.keysFile, 'utf8');
    const none = join(s.dir, 'none.csv');
    writeFileSync(none, 'email,token\r\nx@y.z,nothing\r\n');
    const a = await s.run(['import', none]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/no cookies given: no cookies found in .*none\.csv/);
    const b = await s.run(['import', join(s.dir, 'missing.zip')]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/no such file or folder/);
    const slip = join(s.dir, 'slip.zip');
    writeFileSync(slip, buildZipSlip('../../x.csv', `${makeCookie()}\r\n`));
    const c = await s.run(['import', slip, '--key', 'sk-a']);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/escapes the target folder/);
    const link = join(s.dir, 'link.zip');
    writeFileSync(link, buildSymlinkZip());
    const d = await s.run(['import', link, '--key', 'sk-a']);
    expect(d.code).toBe(1);
    expect(d.stderr).toMatch(/symbolic link/);
    expect(readFileSync(s.keysFile, 'utf8')).toBe(before);
    expect(existsSync(join(s.dataDir, '.backups'))).toBe(false);
  });
});
