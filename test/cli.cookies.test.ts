/** `cookies list|add|remove` through the built CLI on temp data dirs. */
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
function store(keys: Record<string, string[]> = { k: [] }, invalid?: string[]): TempStore {
  const t = new TempStore();
  temps.push(t);
  t.writeKeys(keys);
  if (invalid) t.writeInvalid(invalid);
  return t;
}
const jwtOf = cookieIdentity;

describe('cookies add', () => {
  it('adds in the form given (exit 0); duplicates only is nothing to do (exit 0)', async () => {
    const t = store();
    const enc = makeCookie('encoded');
    const dec = makeCookie('decoded');
    const bare = makeCookie('jwt');
    const r = await t.run(['cookies', 'add', 'k', enc, `  "${dec}" `, bare]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Added 3 cookies to k \(now 3\)\./);
    expect(t.keys()).toEqual({ k: [enc, dec, bare] });
    expect(readFileSync(t.keysFile, 'utf8')).toBe(JSON.stringify({ k: [enc, dec, bare] }, null, 2));

    // The same cookies again, in other forms: duplicates by identity.
    const again = await t.run(['cookies', 'add', 'k', `user_01X::${jwtOf(enc)}`, jwtOf(dec), '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ ok: true, added: 0, rejected: { duplicate: 2 } });
    expect(t.keys().k).toHaveLength(3);
  });

  it('reports each refusal with its reason: some added is exit 3, none added is exit 1', async () => {
    const known = makeCookie();
    const t = store({ k: [] }, [known]);
    const good = makeCookie();
    const r = await t.run(['cookies', 'add', 'k', good, 'not-a-cookie', expiredCookie(), known, good]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/refused \S+ +malformed: not a JWT with a JSON payload/);
    expect(r.stderr).toMatch(/refused \S+ +expired: its JWT has expired/);
    expect(r.stderr).toMatch(/refused \S+ +known-invalid: it is in the invalid list/);
    expect(r.stderr).toMatch(/refused \S+ +duplicate: repeated in the input/);
    expect(r.stdout).toMatch(/Added 1 cookie to k \(now 1\); refused 4 \(1 malformed, 1 expired, 1 duplicate, 1 known-invalid\)/);
    expect(t.keys()).toEqual({ k: [good] });

    const none = await t.run(['cookies', 'add', 'k', expiredCookie(), known, '--json']);
    expect(none.code).toBe(1);
    const doc = JSON.parse(none.stdout);
    expect(doc).toMatchObject({ ok: false, added: 0, exitCode: 1, rejected: { expired: 1, 'known-invalid': 1 } });
    expect(doc.refusals.map((x: { reason: string }) => x.reason)).toEqual(['expired', 'known-invalid']);
  });

  it('reads --from-file (lines, CSV rows, JSON) and stdin via `-` and `--from-file -`', async () => {
    const t = store();
    const [a, b, c, d, e] = Array.from({ length: 5 }, () => makeCookie());
    const csv = join(t.dir, 'output.csv');
    writeFileSync(csv, `\ufeffemail,token\r\nme@example.com,${a}\r\n# comment\r\n"${b}"\r\n`);
    const json = join(t.dir, 'list.json');
    writeFileSync(json, JSON.stringify([c]));
    const r1 = await t.run(['cookies', 'add', 'k', '--from-file', csv, '--from-file', json]);
    // The header row holds no cookie: read as `import` reads it, it is no candidate at all.
    expect(r1.code, r1.stderr).toBe(0);
    expect(t.keys().k).toEqual([a, b, c]);
    const r2 = await t.run(['cookies', 'add', 'k', '-'], { input: `${d}\n` });
    expect(r2.code).toBe(0);
    const r3 = await t.run(['cookies', 'add', 'k', '--from-file', '-'], { input: `${e}\n` });
    expect(r3.code).toBe(0);
    expect(t.keys().k).toEqual([a, b, c, d, e]);
    const missing = await t.run(['cookies', 'add', 'k', '--from-file', join(t.dir, 'nope.txt')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot read .*nope\.txt: no such file/);
  });

  it('an unknown key or no cookies is a usage error (exit 2), nothing written', async () => {
    const t = store();
    const before = readFileSync(t.keysFile, 'utf8');
    const unknown = await t.run(['cookies', 'add', 'typo', makeCookie()]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no api key "typo" \(known keys: k\)/);
    expect(unknown.stderr).toMatch(/keys add/);
    const none = await t.run(['cookies', 'add', 'k']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no cookies given/);
    const noKey = await t.run(['cookies', 'add']);
    expect(noKey.code).toBe(2);
    expect(readFileSync(t.keysFile, 'utf8')).toBe(before);
  });
});

describe('cookies list', () => {
  it('lists one key or all, with state, masked', async () => {
    const listed = makeCookie();
    const ok = makeCookie();
    const soon = makeCookie('encoded', { exp: Math.floor(Date.now() / 1000) + 3600 });
    const old = expiredCookie();
    const t = store({ a: [ok, soon, old, listed, 'garbage-value-here'], b: [makeCookie()] }, [listed]);
    const json = await t.run(['cookies', 'list', 'a', '--json']);
    expect(json.code).toBe(0);
    const doc = JSON.parse(json.stdout);
    expect(doc.keys).toHaveLength(1);
    expect(doc.keys[0].apiKey).toBe('a');
    expect(doc.keys[0].cookies.map((c: { state: string }) => c.state)).toEqual(['ok', 'expiring', 'expired', 'invalid', 'malformed']);
    expect(doc.keys[0].cookies[0].cookie).toBe(`${ok.slice(0, 8)}…${ok.slice(-4)}`);
    expect(doc.keys[0].cookies[0].userId).toMatch(/^user_01/);

    const all = await t.run(['cookies', 'list']);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/^a {2}5 cookies$/m);
    expect(all.stdout).toMatch(/^b {2}1 cookie$/m);
    expect(all.stdout).toMatch(/#\s+COOKIE\s+USER\s+EXPIRES \(UTC\)\s+STATE/);

    const revealed = await t.run(['cookies', 'list', 'b', '--reveal', '--json']);
    expect(JSON.parse(revealed.stdout).keys[0].cookies[0].cookie).toBe(t.keys().b![0]);

    const unknown = await t.run(['cookies', 'list', 'zzz']);
    expect(unknown.code).toBe(2);
  });
});

describe('cookies remove', () => {
  it('matches by identity, so any form removes it; reports what is not there (exit 3, then 1)', async () => {
    const a = makeCookie('encoded');
    const b = makeCookie('decoded');
    const c = makeCookie('jwt');
    const t = store({ k: [a, b, c], other: [a] });
    const r = await t.run(['cookies', 'remove', 'k', jwtOf(a), `user_01Z%3A%3A${jwtOf(b)}`, makeCookie()]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/not in k: /);
    expect(r.stdout).toMatch(/Removed 2 cookies from k \(now 1\)/);
    expect(t.keys()).toEqual({ k: [c], other: [a] });

    const none = await t.run(['cookies', 'remove', 'k', makeCookie(), '--json']);
    expect(none.code).toBe(1);
    expect(JSON.parse(none.stdout)).toMatchObject({ ok: false, removed: 0, exitCode: 1 });

    const unknown = await t.run(['cookies', 'remove', 'zzz', c]);
    expect(unknown.code).toBe(2);
  });

  it('--invalidate retires the removed cookies to the invalid list (written with the keys)', async () => {
    const a = makeCookie();
    const b = makeCookie();
    const t = store({ k: [a, b] });
    const r = await t.run(['cookies', 'remove', 'k', a, '--invalidate', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, removed: 1, invalidated: 1, after: 1 });
    expect(t.keys()).toEqual({ k: [b] });
    expect(t.invalid()).toEqual([a]);
  });
});
