/**
 * Crash safety (SPEC §1): a child process rewriting a large store in a loop through the built
 * KeyStore is killed with SIGKILL at random moments. After every kill both files parse and are
 * exactly one generation each (old or new, never a mix), the invalid list is never behind the
 * keys (it is written first), and the data dir holds nothing but harmless leftovers.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, TempStore } from './helpers/cli.js';
// @ts-expect-error -- plain .mjs fixture without type declarations
import { buildInvalid, buildKeys } from './fixtures/crash-writer.mjs';

const WRITER = join(ROOT, 'test', 'fixtures', 'crash-writer.mjs');
const KILLS = 32;

const t = new TempStore('cookie-pool-crash-');
afterAll(() => t.cleanup());

function generationOf(file: string, build: (n: number) => unknown, pick: (v: any) => string): number | undefined {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  const value = JSON.parse(text); // throws (fails the test) on a torn file
  const n = Number(pick(value));
  expect(Number.isInteger(n), `${file} carries its generation`).toBe(true);
  expect(text === JSON.stringify(build(n), null, 2), `${file} is exactly generation ${n}`).toBe(true);
  return n;
}

/**
 * Start the writer and SIGKILL it a random while after `after` ("ready": before its first write,
 * "wrote": once it has finished one write, so the kill lands anywhere in the following ones).
 */
function runAndKill(after: 'ready' | 'wrote', maxDelayMs: number): Promise<{ wrote: number; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, t.dataDir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (!timer && out.includes(after)) {
        timer = setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * maxDelayMs));
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (_code, signal) => {
      clearTimeout(guard);
      if (timer) clearTimeout(timer);
      if (err.trim()) reject(new Error(`writer failed: ${err}`));
      else resolve({ wrote: (out.match(/^wrote /gm) ?? []).length, signal });
    });
  });
}

describe('crash safety', () => {
  it(`the store survives ${KILLS} SIGKILLs at random moments`, async () => {
    let lastKeys = 0;
    let totalWrites = 0;
    for (let i = 0; i < KILLS; i++) {
      const { wrote, signal } = await (i % 4 === 0 ? runAndKill('ready', 150) : runAndKill('wrote', 300));
      expect(signal).toBe('SIGKILL');
      totalWrites += wrote;
      const keysGen = generationOf(t.keysFile, buildKeys, (v) => v.gen[0]) ?? 0;
      const invalidGen = generationOf(t.invalidFile, buildInvalid, (v) => v[0]) ?? 0;
      // The invalid list is written first: it is the same generation or one ahead.
      expect([keysGen, keysGen + 1]).toContain(invalidGen);
      expect(keysGen).toBeGreaterThanOrEqual(lastKeys);
      lastKeys = keysGen;
      // The writer died holding the store lock; a later process would take it over once stale
      // (store.keystore.test.ts covers that). Remove it so the next round starts at once.
      rmSync(join(t.dataDir, '.store.lock'), { recursive: true, force: true });
    }
    expect(lastKeys).toBeGreaterThan(0);
    expect(totalWrites).toBeGreaterThan(0);

    // Nothing but the two files, the backups and temp files of killed writes (removed by the next write).
    const leftovers = readdirSync(t.dataDir).filter((f) => !['api_keys.json', 'invalid_cookies.json', '.backups'].includes(f));
    console.log(`crash test: ${totalWrites} writes, ${leftovers.length} temp files left by kills mid-write`);
    for (const f of leftovers) expect(f).toMatch(/^\.(api_keys|invalid_cookies)\.json\.\d+\.[0-9a-f]+\.tmp$/);
    // Each write removes the temp files of earlier killed writes: only the last kill's can remain.
    expect(leftovers.length).toBeLessThanOrEqual(2);
    // Every backup is a whole earlier generation.
    const backups = readdirSync(join(t.dataDir, '.backups'));
    expect(backups.length).toBeGreaterThan(0);
    // The last 10 are kept; a kill between taking a backup and pruning can leave one more until the next write.
    expect(backups.filter((f) => f.startsWith('api_keys.json.')).length).toBeLessThanOrEqual(11);
    for (const f of backups) {
      const file = join(t.dataDir, '.backups', f);
      if (f.startsWith('api_keys.json.')) expect(generationOf(file, buildKeys, (v) => v.gen[0])).toBeLessThanOrEqual(lastKeys);
      else generationOf(file, buildInvalid, (v) => v[0]);
    }
  });
});
