/** Ten `cookies add` processes at once into one key: the store lock loses no update. */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { TempStore } from './helpers/cli.js';
import { makeCookie } from './helpers/cookies.js';

const t = new TempStore();
afterAll(() => t.cleanup());

describe('concurrency', () => {
  it('10 concurrent `cookies add` of 20 distinct cookies each: all 200 present, file valid', async () => {
    t.writeKeys({ pool: [], other: ['keep-me'] });
    const batches = Array.from({ length: 10 }, () => Array.from({ length: 20 }, () => makeCookie()));
    const results = await Promise.all(batches.map((b) => t.run(['cookies', 'add', 'pool', ...b, '--json'])));
    for (const r of results) {
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, added: 20 });
    }
    const text = readFileSync(t.keysFile, 'utf8');
    const keys = JSON.parse(text) as Record<string, string[]>;
    expect(text).toBe(JSON.stringify(keys, null, 2));
    expect(keys.other).toEqual(['keep-me']);
    expect(keys.pool).toHaveLength(200);
    expect(new Set(keys.pool)).toEqual(new Set(batches.flat()));
    // Each process appended its batch in one piece, in order.
    for (const b of batches) {
      const at = keys.pool!.indexOf(b[0]!);
      expect(keys.pool!.slice(at, at + 20)).toEqual(b);
    }
  });
});
