#!/usr/bin/env node
/**
 * P1 end to end: `cookie-pool import <zip> --key K` of an artifact zip holding N new cookies
 * (Cursor-Register's two files: token_<date>.csv and output_<date>.csv, so 2N fields) into a store
 * of N cookies with an invalid list of N, through the BUILT CLI as a child process (node start-up,
 * unzip, CSV parse, extraction, lock, read, validate, plan, serialise, backup, atomic write).
 *
 * Compared with the I/O floor measured in this process on the same files: read + JSON.parse +
 * JSON.stringify + write + fsync + rename of the final keys file (the one file an append import
 * must rewrite). Target: wall time ≤ 2 × floor.
 * Peak RSS of the child (process.resourceUsage().maxRSS, taken at exit by a preload module).
 * Target: ≤ 3 × store size (keys + invalid files after the import) + 80 MB.
 *
 *   npx tsc -p . && node bench/import.mjs [--n 100000] [--rounds 3] [--keys 10]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cookie, ioFloor, median, ms } from './lib.mjs';
import AdmZip from 'adm-zip';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'cookie-pool.js');
const { values } = parseArgs({ options: { n: { type: 'string', default: '100000' }, rounds: { type: 'string', default: '3' }, keys: { type: 'string', default: '10' }, 'cpu-prof': { type: 'string' } } });
const N = Number(values.n);
const ROUNDS = Number(values.rounds);
const KEYS = Number(values.keys);

const mb = (b) => (b / 1024 / 1024).toFixed(1);


function runImport(cwd, dataDir, zip, rssFile, preload) {
  return new Promise((resolvePromise, reject) => {
    const t0 = process.hrtime.bigint();
    const prof = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', resolve(values['cpu-prof'])] : [];
    const child = spawn(process.execPath, [...prof, '--import', preload, BIN, 'import', zip, '--key', 'sk-bench-0', '--json'], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', DATA_DIR: dataDir, RSS_OUT: rssFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = ms(t0);
      if (code !== 0) return reject(new Error(`import exited ${code}: ${err}`));
      resolvePromise({ wall, result: JSON.parse(out), maxRssKb: Number(readFileSync(rssFile, 'utf8')) });
    });
  });
}

const dir = mkdtempSync(join(tmpdir(), 'cookie-pool-bench-import-'));
try {
  const dataDir = join(dir, 'data');
  const keysFile = join(dataDir, 'api_keys.json');
  const invalidFile = join(dataDir, 'invalid_cookies.json');
  const preload = join(dir, 'rss.mjs');
  writeFileSync(
    preload,
    "import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => { if (process.env.RSS_OUT) writeFileSync(process.env.RSS_OUT, String(process.resourceUsage().maxRSS)); });\n",
  );

  const keys = {};
  for (let k = 0; k < KEYS; k++) keys[`sk-bench-${k}`] = [];
  for (let i = 0; i < N; i++) keys[`sk-bench-${i % KEYS}`].push(cookie('S', i));
  const keysText = JSON.stringify(keys, null, 2);
  const invalidText = JSON.stringify(Array.from({ length: N }, (_, i) => cookie('I', i)), null, 2);
  const fresh = Array.from({ length: N }, (_, i) => cookie('N', i));
  const zipPath = join(dir, 'Account Info.zip');
  const zip = new AdmZip();
  zip.addFile('token_2026-01-01_00-00-00.csv', Buffer.from(fresh.map((c) => `${c}\r\n`).join('')));
  zip.addFile('output_2026-01-01_00-00-00.csv', Buffer.from(fresh.map((c, i) => `user${i}@tempmail.example,${c}\r\n`).join('')));
  zip.writeZip(zipPath);
  console.log(
    `store: ${N} cookies in ${KEYS} keys (${mb(keysText.length)} MiB), invalid list ${N} (${mb(invalidText.length)} MiB); ` +
      `artifact: ${N} new cookies in 2 CSV files (zip ${mb(statSync(zipPath).size)} MiB). load average ${loadavg()[0].toFixed(2)}`,
  );

  const walls = [];
  const floors = [];
  const rss = [];
  let storeBytes = 0;
  for (let r = 0; r < ROUNDS; r++) {
    rmSync(dataDir, { recursive: true, force: true });
    // Fresh store for each round (written by this process, not timed).
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(keysFile, keysText);
    writeFileSync(invalidFile, invalidText);
    const res = await runImport(dir, dataDir, zipPath, join(dir, 'rss.txt'), preload);
    if (res.result.added !== N) throw new Error(`expected ${N} added, got ${JSON.stringify(res.result).slice(0, 200)}`);
    walls.push(res.wall);
    rss.push(res.maxRssKb * 1024);
    storeBytes = statSync(keysFile).size + statSync(invalidFile).size;
    floors.push(ioFloor(keysFile));
    console.log(
      `round ${r + 1}: import ${res.wall.toFixed(0)} ms, floor ${floors[r].toFixed(0)} ms, ratio ${(res.wall / floors[r]).toFixed(2)}, peak RSS ${mb(rss[r])} MiB`,
    );
  }
  const wall = median(walls);
  const floor = median(floors);
  const peak = Math.max(...rss);
  const limit = 3 * storeBytes + 80 * 1024 * 1024;
  console.log('');
  console.log(`P1 import end to end (median of ${ROUNDS}): ${wall.toFixed(0)} ms vs I/O floor ${floor.toFixed(0)} ms → ratio ${(wall / floor).toFixed(2)} (target ≤ 2)`);
  console.log(
    `P1 peak RSS: ${mb(peak)} MiB vs limit 3 × store (${mb(storeBytes)} MiB) + 80 MiB = ${mb(limit)} MiB → ${peak <= limit ? 'within' : 'OVER'} target`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
