#!/usr/bin/env node
/**
 * P1: the merge core (planMerge inside KeyStore.update: lock, read, validate, plan, serialise,
 * backup, atomic write with fsync) of 100k new cookies into a 100k-cookie store with a 100k
 * invalid list, against the I/O floor of the same run: read + JSON.parse + JSON.stringify +
 * write + fsync + rename of the final keys file. Target: ratio ≤ 2.
 *
 *   npm run build && node bench/merge.mjs [--n 100000] [--rounds 3] [--keys 10]
 */
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { planMerge } from '../dist/core/merge.js';
import { KeyStore } from '../dist/store/keystore.js';

const { values } = parseArgs({ options: { n: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' }, keys: { type: 'string', default: '10' } } });
const N = Number(values.n);
const ROUNDS = Number(values.rounds);
const KEYS = Number(values.keys);

const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const exp = Math.floor(Date.now() / 1000) + 30 * 24 * 3600;
const salt = randomBytes(4).toString('hex');
/** A realistic session cookie (~250 chars): user prefix, URL-encoded separator, JWT with a JSON payload. */
function cookie(tag, i) {
  const user = `user_01${tag}${salt}${i.toString(36).toUpperCase().padStart(12, '0')}`;
  const payload = Buffer.from(JSON.stringify({ sub: `auth0|${user}`, time: '1735689600', randomness: `${salt}-${i}`, exp, iss: 'https://authentication.cursor.sh', scope: 'openid profile email offline_access', aud: 'https://cursor.com' })).toString('base64url');
  const sig = Buffer.from(`${tag}${i}${salt}`.padEnd(32, 'x')).toString('base64url');
  return `${user}%3A%3A${header}.${payload}.${sig}`;
}

const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

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
    plan = await store.update((snap) => {
      const p = planMerge({ keys: snap.keys, invalid: snap.invalid, candidates, targets: Object.keys(snap.keys), mode: 'append', share: false, nowSec: Math.floor(Date.now() / 1000) });
      return { keys: p.keysChanged ? p.keys : undefined, invalid: p.invalidChanged ? p.invalid : undefined, result: p };
    });
    mergeTimes.push(ms(t0));

    // I/O floor on the final file, same run.
    const t1 = process.hrtime.bigint();
    const text = readFileSync(paths.keysFile, 'utf8');
    const out = JSON.stringify(JSON.parse(text), null, 2);
    const tmp = `${paths.keysFile}.floor`;
    const fd = openSync(tmp, 'w', 0o600);
    writeSync(fd, out);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, paths.keysFile);
    floorTimes.push(ms(t1));
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
