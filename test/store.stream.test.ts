/** The streamed writer: same bytes as JSON.stringify(v, null, 2), temp files of killed writes cleaned. */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sameKeys, serialize, serializeChunks } from '../src/store/format.js';
import { KeyStore } from '../src/store/keystore.js';
import { TempStore } from './helpers/cli.js';
import { makeCookie } from './helpers/cookies.js';

const odd = () => `${Math.random().toString(36).slice(2)}"\\\u2028\ud800é\n\t`;

describe('serializeChunks', () => {
  it('produces exactly JSON.stringify(value, null, 2), for both shapes and every size', () => {
    const cases: (Record<string, string[]> | string[])[] = [
      {}, [], ['a'], { k: [] }, { k: ['x'] }, { a: ['1', '2'], b: [], 'we"ird': ['z'] },
      Array.from({ length: 3000 }, odd), Array.from({ length: 1024 }, odd), Array.from({ length: 1025 }, odd),
      { big: Array.from({ length: 2500 }, odd), s: ['q'], e: [] }, { x: Array.from({ length: 1024 }, odd) },
    ];
    for (const c of cases) expect([...serializeChunks(c)].join('')).toBe(serialize(c));
  });

  it('compares key maps by content, order included', () => {
    expect(sameKeys({ a: ['1'], b: [] }, { a: ['1'], b: [] })).toBe(true);
    expect(sameKeys({ a: ['1'], b: [] }, { b: [], a: ['1'] })).toBe(false);
    expect(sameKeys({ a: ['1'] }, { a: ['2'] })).toBe(false);
  });
});

describe('KeyStore writes', () => {
  let t: TempStore | undefined;
  afterEach(() => t?.cleanup());

  it('removes temp files left by a killed writer, and writes a byte-compatible file', async () => {
    t = new TempStore();
    mkdirSync(t.dataDir, { recursive: true });
    const leftover = join(t.dataDir, '.api_keys.json.4242.deadbeef.tmp');
    writeFileSync(leftover, '{ half a fi');
    const store = new KeyStore({ dataDir: t.dataDir, keysFile: t.keysFile, invalidFile: t.invalidFile });
    const keys = { k1: [makeCookie(), makeCookie()], k2: [] as string[] };
    await store.update(() => ({ keys, result: undefined }));
    expect(existsSync(leftover)).toBe(false);
    expect(readFileSync(t.keysFile, 'utf8')).toBe(JSON.stringify(keys, null, 2));
    expect(statSync(t.keysFile).mode & 0o777).toBe(0o600);
    expect(readdirSync(t.dataDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('does not rewrite a file only to reformat it (a single-string value stays as written)', async () => {
    t = new TempStore();
    const c = makeCookie();
    const handWritten = `{"k": "${c}"}`;
    t.writeKeys(handWritten);
    const store = new KeyStore({ dataDir: t.dataDir, keysFile: t.keysFile, invalidFile: t.invalidFile });
    await store.update((snap) => ({ keys: { ...snap.keys }, result: undefined }));
    expect(readFileSync(t.keysFile, 'utf8')).toBe(handWritten);
    await store.update((snap) => ({ keys: { ...snap.keys, k2: [] }, result: undefined }));
    expect(JSON.parse(readFileSync(t.keysFile, 'utf8'))).toEqual({ k: [c], k2: [] });
  });
});
