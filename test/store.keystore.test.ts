/** The key store (SPEC §1): format, validation, atomic writes, backups, modes, locking. */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StoreError } from '../src/errors.js';
import { parseInvalid, parseKeys, serialize } from '../src/store/format.js';
import { KeyStore } from '../src/store/keystore.js';
import { acquireLock } from '../src/store/lock.js';
import { TempStore } from './helpers/cli.js';

const temps: TempStore[] = [];
afterEach(() => {
  while (temps.length) temps.pop()!.cleanup();
});

function tempStore(): { t: TempStore; store: KeyStore } {
  const t = new TempStore('cookie-pool-store-');
  temps.push(t);
  return { t, store: new KeyStore({ dataDir: t.dataDir, keysFile: t.keysFile, invalidFile: t.invalidFile }) };
}

describe('format', () => {
  it('serialises like the proxy: 2-space JSON, order kept', () => {
    const keys = { zeta: ['b', 'a'], alpha: [] as string[] };
    expect(serialize(keys)).toBe(JSON.stringify(keys, null, 2));
    expect(serialize(keys).indexOf('zeta')).toBeLessThan(serialize(keys).indexOf('alpha'));
  });

  it('reads a single-string value as a one-element list', () => {
    expect(parseKeys('{"k": "c1", "l": ["c2"]}', 'f')).toEqual({ k: ['c1'], l: ['c2'] });
  });

  it('rejects wrong shapes naming the file and the problem', () => {
    const cases: [string, RegExp][] = [
      ['["a"]', /expected an object.*found an array/],
      ['{"k": 5}', /key "k" holds a number, expected a list/],
      ['{"k": null}', /key "k" holds null/],
      ['{"k": ["a", 3]}', /cookie #2 is a number/],
      ['null', /found null/],
      ['{"k": [', /not valid JSON/],
      ['   ', /empty/],
    ];
    for (const [text, why] of cases) {
      expect(() => parseKeys(text, '/x/api_keys.json'), text).toThrow(StoreError);
      expect(() => parseKeys(text, '/x/api_keys.json'), text).toThrow(/^\/x\/api_keys\.json: /);
      expect(() => parseKeys(text, '/x/api_keys.json'), text).toThrow(why);
    }
    expect(() => parseInvalid('{"a": 1}', '/x/inv.json')).toThrow(/inv\.json: expected a list of cookies, found an object/);
    expect(() => parseInvalid('[1]', '/x/inv.json')).toThrow(/entry #1 is a number/);
    expect(parseInvalid('\ufeff["a"]', 'f')).toEqual(['a']);
  });
});

describe('KeyStore', () => {
  it('reads missing files as empty and creates the data dir on first write, files mode 0600', async () => {
    const { t, store } = tempStore();
    expect(await store.read()).toEqual({ keys: {}, invalid: [] });
    expect(existsSync(t.dataDir)).toBe(false);
    await store.update(() => ({ keys: { k: ['c'] }, invalid: ['i'], result: null }));
    expect(readFileSync(t.keysFile, 'utf8')).toBe(JSON.stringify({ k: ['c'] }, null, 2));
    expect(readFileSync(t.invalidFile, 'utf8')).toBe(JSON.stringify(['i'], null, 2));
    expect(statSync(t.keysFile).mode & 0o777).toBe(0o600);
    expect(statSync(t.invalidFile).mode & 0o777).toBe(0o600);
  });

  it('never carries group/other bits of an existing file over: it is written back 0600', async () => {
    const { t, store } = tempStore();
    t.writeKeys({ k: [] });
    chmodSync(t.keysFile, 0o640);
    await store.update(() => ({ keys: { k: ['x'] }, result: null }));
    expect(statSync(t.keysFile).mode & 0o777).toBe(0o600);
  });

  it('writes a single-string key back as a list only when something changes', async () => {
    const { t, store } = tempStore();
    t.writeKeys('{"k": "c1"}');
    expect((await store.read()).keys).toEqual({ k: ['c1'] });
    await store.update((s) => ({ keys: s.keys, result: null }));
    expect(readFileSync(t.keysFile, 'utf8')).toBe('{"k": "c1"}');
    await store.update((s) => ({ keys: { ...s.keys, k: [...s.keys.k!, 'c2'] }, result: null }));
    expect(t.keys()).toEqual({ k: ['c1', 'c2'] });
  });

  it('does not rewrite (or back up) a file whose content is unchanged', async () => {
    const { t, store } = tempStore();
    t.writeKeys({ k: ['a'] });
    const before = statSync(t.keysFile);
    await store.update((s) => ({ keys: { k: [...s.keys.k!] }, result: null }));
    expect(statSync(t.keysFile).ino).toBe(before.ino);
    expect(existsSync(join(t.dataDir, '.backups'))).toBe(false);
  });

  it('keeps the last 10 versions of each file in .backups', async () => {
    const { t, store } = tempStore();
    for (let i = 1; i <= 13; i++) {
      await store.update(() => ({ keys: { k: [`v${i}`] }, invalid: [`i${i}`], result: null }));
    }
    const backups = readdirSync(join(t.dataDir, '.backups')).sort();
    const keyBackups = backups.filter((f) => f.startsWith('api_keys.json.'));
    const invBackups = backups.filter((f) => f.startsWith('invalid_cookies.json.'));
    expect(keyBackups).toHaveLength(10);
    expect(invBackups).toHaveLength(10);
    // Versions 3..12 are kept (13 is current, 1 and 2 were pruned), oldest first.
    const versions = keyBackups.map((f) => JSON.parse(readFileSync(join(t.dataDir, '.backups', f), 'utf8')).k[0]);
    expect(versions).toEqual(['v3', 'v4', 'v5', 'v6', 'v7', 'v8', 'v9', 'v10', 'v11', 'v12']);
    expect(t.keys()).toEqual({ k: ['v13'] });
    expect(statSync(join(t.dataDir, '.backups')).mode & 0o777).toBe(0o700);
  });

  it('a corrupt file stops the update before deciding, leaves the file as it was and releases the lock', async () => {
    const { t, store } = tempStore();
    t.writeKeys('[1, 2');
    let decided = false;
    await expect(
      store.update(() => {
        decided = true;
        return { keys: {}, result: null };
      }),
    ).rejects.toThrow(/api_keys\.json: not valid JSON/);
    expect(decided).toBe(false);
    expect(readFileSync(t.keysFile, 'utf8')).toBe('[1, 2');
    expect(existsSync(store.lockPath)).toBe(false);
  });

  it('takes over a stale lock left by a dead process', async () => {
    const { t, store } = tempStore();
    mkdirSync(store.lockPath, { recursive: true });
    const old = new Date(Date.now() - 120_000);
    utimesSync(store.lockPath, old, old);
    await store.update(() => ({ keys: { k: ['after-takeover'] }, result: null }));
    expect(t.keys()).toEqual({ k: ['after-takeover'] });
    expect(existsSync(store.lockPath)).toBe(false);
  });

  it('waits for a live lock and re-reads the store once it has it (no lost update)', async () => {
    const { t, store } = tempStore();
    t.writeKeys({ a: ['1'] });
    const release = await acquireLock(store.lockPath, { wait: false });
    let done = false;
    const pending = store
      .update((s) => ({ keys: { ...s.keys, b: ['2'] }, result: null }))
      .then(() => {
        done = true;
      });
    await new Promise((r) => setTimeout(r, 300));
    expect(done).toBe(false);
    // The holder writes while it holds the lock; the waiting update must see that write.
    writeFileSync(t.keysFile, JSON.stringify({ a: ['1'], held: ['x'] }, null, 2));
    await release();
    await pending;
    expect(t.keys()).toEqual({ a: ['1'], held: ['x'], b: ['2'] });
  });
});
