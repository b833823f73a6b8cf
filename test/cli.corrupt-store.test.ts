/**
 * A corrupt or wrong-shaped store file (SPEC §1): every command stops with exit 2 naming the file
 * and the problem, and neither file is rewritten, truncated or repaired.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TempStore } from './helpers/cli.js';
import { makeCookie } from './helpers/cookies.js';

const temps: TempStore[] = [];
afterAll(() => {
  for (const t of temps) t.cleanup();
});

const cookie = makeCookie();
const goodKeys = JSON.stringify({ k: [makeCookie()] }, null, 2);
const goodInvalid = JSON.stringify([makeCookie()], null, 2);

const cases: { name: string; file: 'keys' | 'invalid'; text: string; problem: RegExp }[] = [
  { name: 'keys: an array instead of an object', file: 'keys', text: '["a", "b"]\n', problem: /expected an object .* found an array/ },
  { name: 'keys: a number instead of a list', file: 'keys', text: '{\n  "k": 5\n}', problem: /key "k" holds a number, expected a list/ },
  { name: 'keys: bad JSON', file: 'keys', text: '{\n  "k": ["abc",\n', problem: /not valid JSON/ },
  { name: 'keys: a cookie that is not a string', file: 'keys', text: '{"k": ["a", {"x": 1}]}', problem: /cookie #2 is an object/ },
  { name: 'invalid: an object instead of a list', file: 'invalid', text: '{"a": "b"}', problem: /expected a list of cookies, found an object/ },
  { name: 'invalid: a number', file: 'invalid', text: '42', problem: /expected a list of cookies, found a number/ },
  { name: 'invalid: bad JSON', file: 'invalid', text: '["abc", ', problem: /not valid JSON/ },
];

const commands: string[][] = [
  ['status'],
  ['keys', 'list'],
  ['cookies', 'list', 'k'],
  ['invalid', 'list'],
  ['cookies', 'add', 'k', cookie],
  ['keys', 'add', 'new', cookie],
  ['keys', 'remove', 'k'],
  ['cookies', 'remove', 'k', cookie],
  ['invalid', 'add', cookie],
  ['invalid', 'remove', cookie],
  ['invalid', 'clear', '--yes'],
  ['invalid', 'purge'],
  ['keys', 'import-env'],
];

describe('corrupt store', () => {
  cases.forEach((c, j) => {
    // Every command meets several of the cases; writes (cookies add, invalid purge) meet all of them.
    const chosen = commands.filter((args, i) => (i + j) % 2 === 0 || ['status', 'cookies add', 'invalid purge'].includes(args.slice(0, 2).join(' ')));
    it(`${c.name}: exit 2 naming the file, bytes unchanged, for reads and writes`, async () => {
      const t = new TempStore();
      temps.push(t);
      t.writeKeys(c.file === 'keys' ? c.text : goodKeys);
      t.writeInvalid(c.file === 'invalid' ? c.text : goodInvalid);
      const keysBefore = readFileSync(t.keysFile);
      const invalidBefore = readFileSync(t.invalidFile);
      const file = c.file === 'keys' ? t.keysFile : t.invalidFile;
      const env = { API_KEYS: JSON.stringify({ k: cookie }) };
      // Three at a time: enough to mix reads and locked writes without flooding a small machine.
      const results: Awaited<ReturnType<TempStore['run']>>[] = [];
      for (let i = 0; i < chosen.length; i += 3) {
        results.push(...(await Promise.all(chosen.slice(i, i + 3).map((args) => t.run(args, { env })))));
      }
      results.forEach((r, i) => {
        const what = chosen[i]!.join(' ');
        expect(r.code, `${what}\n${r.stderr}`).toBe(2);
        expect(r.stderr, what).toContain(file);
        expect(r.stderr, what).toMatch(c.problem);
      });
      // With --json the error is still one JSON document.
      const json = await t.run(['invalid', 'purge', '--json']);
      expect(json.code).toBe(2);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, exitCode: 2 });
      expect(JSON.parse(json.stdout).error).toContain(file);
      expect(readFileSync(t.keysFile).equals(keysBefore)).toBe(true);
      expect(readFileSync(t.invalidFile).equals(invalidBefore)).toBe(true);
      expect(existsSync(join(t.dataDir, '.backups'))).toBe(false);
    });
  });
});
