/** `invalid list|add|remove|clear|purge` through the built CLI on temp data dirs. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cookieIdentity } from '../src/core/cookie.js';
import { TempStore } from './helpers/cli.js';
import { expiredCookie, makeCookie } from './helpers/cookies.js';

const temps: TempStore[] = [];
afterEach(() => {
  while (temps.length) temps.pop()!.cleanup();
});
function store(keys?: Record<string, string[]>, invalid?: string[]): TempStore {
  const t = new TempStore();
  temps.push(t);
  if (keys) t.writeKeys(keys);
  if (invalid) t.writeInvalid(invalid);
  return t;
}
const mask = (c: string) => `${c.slice(0, 8)}…${c.slice(-4)}`;

describe('invalid list', () => {
  it('empty, then masked in a table and as JSON', async () => {
    const t = store();
    const empty = await t.run(['invalid', 'list']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/The invalid list is empty/);
    const a = makeCookie();
    const b = makeCookie('jwt');
    t.writeInvalid([a, b]);
    const human = await t.run(['invalid', 'list']);
    expect(human.stdout).toContain(mask(a));
    expect(human.stdout).toMatch(/2 cookies in the invalid list/);
    expect(JSON.parse((await t.run(['invalid', 'list', '--json'])).stdout)).toEqual({ count: 2, invalid: [mask(a), mask(b)] });
  });
});

describe('invalid add', () => {
  it('lists the cookies and takes them out of every key in one update (invalid list first)', async () => {
    const bad = makeCookie('encoded');
    const keep = makeCookie();
    const t = store({ k1: [bad, keep], k2: [`user_01Q::${cookieIdentity(bad)}`] });
    const r = await t.run(['invalid', 'add', cookieIdentity(bad)]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Added 1 cookie to the invalid list\./);
    expect(r.stdout).toMatch(/Removed 2 cookies from api keys/);
    expect(t.invalid()).toEqual([cookieIdentity(bad)]);
    expect(t.keys()).toEqual({ k1: [keep], k2: [] });
  });

  it('--keep-in-keys leaves the keys alone; already listed is nothing to do; malformed is refused (3, then 1)', async () => {
    const a = makeCookie();
    const t = store({ k: [a] });
    const keep = await t.run(['invalid', 'add', a, '--keep-in-keys', '--json']);
    expect(keep.code).toBe(0);
    expect(JSON.parse(keep.stdout)).toMatchObject({ ok: true, added: 1, removedFromKeys: 0 });
    expect(t.keys()).toEqual({ k: [a] });

    const again = await t.run(['invalid', 'add', a, '--keep-in-keys']);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/duplicate: already in the invalid list/);

    const expired = expiredCookie();
    const partly = await t.run(['invalid', 'add', expired, 'garbage', '--keep-in-keys']);
    expect(partly.code).toBe(3);
    expect(partly.stderr).toMatch(/malformed/);
    expect(t.invalid()).toEqual([a, expired]);

    const none = await t.run(['invalid', 'add', 'garbage']);
    expect(none.code).toBe(1);
  });

  it('reads --from-file', async () => {
    const t = store();
    const [a, b] = [makeCookie(), makeCookie()];
    const f = join(t.dir, 'dead.txt');
    writeFileSync(f, `${a}\n${b}\n`);
    const r = await t.run(['invalid', 'add', '--from-file', f]);
    expect(r.code).toBe(0);
    expect(t.invalid()).toEqual([a, b]);
    expect((await t.run(['invalid', 'add'])).code).toBe(2);
  });
});

describe('invalid remove', () => {
  it('by identity, any form; reports the rest (exit 3, then 1)', async () => {
    const a = makeCookie('encoded');
    const b = makeCookie();
    const t = store(undefined, [a, b]);
    const r = await t.run(['invalid', 'remove', `user_01W::${cookieIdentity(a)}`, 'unknown-cookie-value']);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/not in the invalid list/);
    expect(r.stdout).toMatch(/Removed 1 cookie from the invalid list \(now 1\)/);
    expect(t.invalid()).toEqual([b]);
    const none = await t.run(['invalid', 'remove', a, '--json']);
    expect(none.code).toBe(1);
    expect(JSON.parse(none.stdout)).toMatchObject({ ok: false, removed: 0, after: 1 });
  });
});

describe('invalid clear', () => {
  it('refuses without --yes when not interactive (exit 2, file unchanged), clears with --yes', async () => {
    const t = store(undefined, [makeCookie(), makeCookie()]);
    const before = readFileSync(t.invalidFile, 'utf8');
    const refused = await t.run(['invalid', 'clear']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/without confirmation/);
    expect(refused.stderr).toMatch(/--yes/);
    expect(readFileSync(t.invalidFile, 'utf8')).toBe(before);
    const r = await t.run(['invalid', 'clear', '--yes', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ ok: true, cleared: 2 });
    expect(readFileSync(t.invalidFile, 'utf8')).toBe('[]');
    // An empty list needs no confirmation.
    expect((await t.run(['invalid', 'clear'])).code).toBe(0);
  });
});

describe('invalid purge', () => {
  it('removes every invalid cookie, in any form, from every key', async () => {
    const dead1 = makeCookie('encoded');
    const dead2 = makeCookie('jwt');
    const live = [makeCookie(), makeCookie()];
    const t = store(
      { a: [live[0]!, dead1, live[1]!], b: [`user_01B::${dead2}`], c: [live[0]!] },
      [`user_01X::${cookieIdentity(dead1)}`, dead2],
    );
    const r = await t.run(['invalid', 'purge', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      ok: true,
      removed: 2,
      invalid: 2,
      keys: [
        { apiKey: 'a', before: 3, removed: 1, after: 2 },
        { apiKey: 'b', before: 1, removed: 1, after: 0 },
      ],
    });
    expect(t.keys()).toEqual({ a: live, b: [], c: [live[0]] });
    expect(t.invalid()).toHaveLength(2);

    const again = await t.run(['invalid', 'purge']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/Purged 0 invalid cookies from 0 api keys/);
  });

  it('warns about a key left empty', async () => {
    const dead = makeCookie();
    const t = store({ only: [dead] }, [dead]);
    const r = await t.run(['invalid', 'purge']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/only\s+1\s+1\s+0/);
    expect(r.stderr).toMatch(/api key only has no cookies left/);
  });
});
