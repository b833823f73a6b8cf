#!/usr/bin/env node
/**
 * P1: the merge core (planMerge inside KeyStore.update: lock, read, validate, plan, serialise,
 * backup, atomic write with fsync) of 100k new cookies into a 100k-cookie store with a 100k
 * invalid list, against the I/O floor of the same run: read + JSON.parse + JSON.stringify +
 * write + fsync + rename of the final keys file. Target: ratio ≤ 2.
 *
 *   npm run build && node bench/merge.mjs [--n 100000] [--rounds 3] [--keys 10]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cookie, ioFloor, median, ms } from './lib.mjs';
import { planMerge } from '../dist/core/merge.js';
import { KeyStore } from '../dist/store/keystore.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' }, keys: { type: 'string', default: '10' } } });
const N = Number(values.n);
const ROUNDS = Number(values.rounds);
const KEYS = Number(values.keys);


const dir = mkdtempSync(join(tmpdir(), 'cookie-pool-bench-'));
const paths = { dataDir: dir, keysFile: join(dir, 'api_keys.json'), invalidFile: join(dir, 'invalid_cookies.json') };
try {
  const keys = {};
  for (let k = 0; k < KEYS; k++) keys[`sk-bench-${k}`] = [];
  for (let i = 0; i < N; i++) keys[`sk-bench-${i % KEYS}`].push(cookie('S', i));
  const invalid = Array.from({ length: N }, (_, i) => cookie('I', i));
  const candidates = Array.from({ length: N }, (_, i) => cookie('N', i));
  const keysText = JSON.stringify(keys, null, 2);
  const invalidText = JSON.stringify(invalid, null, 2);
  console.log(`store: ${N} cookies in ${KEYS} keys (${(keysText.length / 1e6).toFixed(1)} MB), invalid list: ${N} (${(invalidText.length / 1e6).toFixed(1)} MB), new: ${N}`);

  const mergeTimes = [];
  const floorTimes = [];
  let plan;
  for (let r = 0; r < ROUNDS; r++) {
    writeFileSync(paths.keysFile, keysText);
    writeFileSync(paths.invalidFile, invalidText);
    const store = new KeyStore(paths);
    const t0 = process.hrtime.bigint();
    ({ result: plan } = await store.update((snap) => {
      const p = planMerge({ keys: snap.keys, invalid: snap.invalid, candidates, targets: Object.keys(snap.keys), mode: 'append', share: false, nowSec: Math.floor(Date.now() / 1000) });
      return { keys: p.keysChanged ? p.keys : undefined, invalid: p.invalidChanged ? p.invalid : undefined, result: p };
    }));
    mergeTimes.push(ms(t0));

    // I/O floor on the final file, same run (rewritten in place).
    floorTimes.push(ioFloor(paths.keysFile, paths.keysFile));
  }
  if (plan.added !== N) throw new Error(`expected ${N} added, got ${plan.added}`);
  const final = JSON.parse(readFileSync(paths.keysFile, 'utf8'));
  const total = Object.values(final).reduce((n, l) => n + l.length, 0);
  if (total !== 2 * N) throw new Error(`expected ${2 * N} cookies after the merge, found ${total}`);

  const m = median(mergeTimes);
  const f = median(floorTimes);
  console.log(`merge core (planMerge + KeyStore.update): median ${m.toFixed(0)} ms  [${mergeTimes.map((x) => x.toFixed(0)).join(', ')}]`);
  console.log(`I/O floor (read+parse+stringify+write+fsync+rename of the ${(readFileSync(paths.keysFile).length / 1e6).toFixed(1)} MB result): median ${f.toFixed(0)} ms  [${floorTimes.map((x) => x.toFixed(0)).join(', ')}]`);
  console.log(`ratio: ${(m / f).toFixed(2)}x (target ≤ 2x)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
