/** `keys list|add|remove|import-env` through the built CLI on temp data dirs. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TempStore } from './helpers/cli.js';
import { expiredCookie, makeCookie } from './helpers/cookies.js';

const temps: TempStore[] = [];
afterEach(() => {
  while (temps.length) temps.pop()!.cleanup();
});
function store(): TempStore {
  const t = new TempStore();
  temps.push(t);
  return t;
}

describe('keys', () => {
  it('list: empty store, then keys with counts in a table and as JSON', async () => {
    const t = store();
    const empty = await t.run(['keys', 'list']);
    expect(empty.code).toBe(0);
    expect(empty.stdout).toMatch(/No api keys/);
    expect(JSON.parse((await t.run(['keys', 'list', '--json'])).stdout)).toEqual({ keys: [] });

    t.writeKeys({ 'sk-b': [makeCookie(), makeCookie()], 'sk-a': makeCookie() });
    const human = await t.run(['keys', 'list']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/API KEY\s+COOKIES\nsk-b\s+2\nsk-a\s+1/);
    expect(JSON.parse((await t.run(['keys', 'list', '--json'])).stdout)).toEqual({
      keys: [
        { apiKey: 'sk-b', cookies: 2 },
        { apiKey: 'sk-a', cookies: 1 },
      ],
    });
  });

  it('add: creates a key (exit 0), is idempotent, screens cookies (exit 3 when some are refused)', async () => {
    const t = store();
    const r1 = await t.run(['keys', 'add', 'sk-1']);
    expect(r1.code).toBe(0);
    expect(r1.stdout).toMatch(/Created api key sk-1/);
    expect(readFileSync(t.keysFile, 'utf8')).toBe(JSON.stringify({ 'sk-1': [] }, null, 2));

    const again = await t.run(['keys', 'add', 'sk-1']);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/already exists/);

    const good = makeCookie('decoded');
    const r2 = await t.run(['keys', 'add', 'sk-2', good, expiredCookie(), '--json']);
    expect(r2.code).toBe(3);
    const doc = JSON.parse(r2.stdout);
    expect(doc).toMatchObject({ ok: false, apiKey: 'sk-2', created: true, added: 1, after: 1, exitCode: 3 });
    expect(doc.rejected).toEqual({ malformed: 0, expired: 1, duplicate: 0, 'known-invalid': 0 });
    expect(t.keys()).toEqual({ 'sk-1': [], 'sk-2': [good] });

    const bad = await t.run(['keys', 'add', 'has space']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/whitespace/);
  });

  it('remove: drops the key and its cookies; an unknown key is exit 2 and changes nothing', async () => {
    const t = store();
    t.writeKeys({ a: [makeCookie()], b: [makeCookie(), makeCookie()], c: [] });
    const r = await t.run(['keys', 'remove', 'b']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Removed api key b with its 2 cookies/);
    expect(Object.keys(t.keys())).toEqual(['a', 'c']);
    const before = readFileSync(t.keysFile, 'utf8');
    const missing = await t.run(['keys', 'remove', 'zzz', '--json']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no api key "zzz"/);
    expect(JSON.parse(missing.stdout)).toMatchObject({ ok: false, exitCode: 2 });
    expect(readFileSync(t.keysFile, 'utf8')).toBe(before);
  });

  it('import-env: merges API_KEYS (string or list values) with refusals and their reasons', async () => {
    const t = store();
    const stored = makeCookie();
    const known = makeCookie();
    t.writeKeys({ old: [stored] });
    t.writeInvalid([known]);
    const x = makeCookie('jwt');
    const y = makeCookie('decoded');
    const API_KEYS = JSON.stringify({ old: [y, stored], fresh: x, other: [known, 'nonsense'] });
    const r = await t.run(['keys', 'import-env', '--json'], { env: { API_KEYS } });
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout);
    expect(doc.added).toBe(2);
    expect(doc.rejected).toEqual({ malformed: 1, expired: 0, duplicate: 1, 'known-invalid': 1 });
    expect(doc.refusals.map((x: { reason: string; apiKey: string }) => `${x.apiKey}:${x.reason}`)).toEqual([
      'old:duplicate',
      'other:known-invalid',
      'other:malformed',
    ]);
    expect(doc.keys.map((k: { apiKey: string; created: boolean }) => [k.apiKey, k.created])).toEqual([
      ['old', false],
      ['fresh', true],
      ['other', true],
    ]);
    expect(t.keys()).toEqual({ old: [stored, y], fresh: [x], other: [] });

    // A second run has nothing new to do: duplicates only are fine, the refused ones still fail.
    const again = await t.run(['keys', 'import-env'], { env: { API_KEYS: JSON.stringify({ old: [y], fresh: x }) } });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/0 new keys, 0 cookies added; refused 2 \(2 duplicate\)/);
  });

  it('import-env: reads API_KEYS from --env-file; nothing created and all refused is exit 1', async () => {
    const t = store();
    t.writeKeys({ k: [] });
    const envFile = join(t.dir, 'custom.env');
    writeFileSync(envFile, `API_KEYS='${JSON.stringify({ k: [expiredCookie()] })}'\n`);
    const r = await t.run(['--env-file', envFile, 'keys', 'import-env']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused .* expired/);
    expect(t.keys()).toEqual({ k: [] });
  });

  it('import-env: missing, invalid or wrong-shaped API_KEYS is exit 2 naming it, store untouched', async () => {
    const t = store();
    for (const [value, why] of [
      [undefined, /API_KEYS is not set/],
      ['{not json', /API_KEYS is not valid JSON/],
      ['["a"]', /API_KEYS must be a JSON object/],
      ['{"k": 5}', /API_KEYS: the value of key "k"/],
    ] as const) {
      const r = await t.run(['keys', 'import-env'], { env: { API_KEYS: value } });
      expect(r.code, String(value)).toBe(2);
      expect(r.stderr).toMatch(why);
    }
    expect(t.keys()).toEqual({});
  });
});
