#!/usr/bin/env node
/**
 * P1 and P5, end to end: `cookie-pool import <zip> --key K` of an artifact zip holding N new
 * cookies (Cursor-Register's two files: token_<date>.csv and output_<date>.csv, so 2N fields) into
 * a store of N cookies with an invalid list of N, through the BUILT CLI as a child process (node
 * start-up, unzip, CSV parse, extraction, lock, read, validate, plan, serialise, backup, atomic
 * write).
 *
 * P1: wall time against the I/O floor of the same round: read + JSON.parse + JSON.stringify + write
 * + fsync + rename of the final keys file (the one file an append import must rewrite), measured
 * once right before the import (on the expected result, written by this script) and once right
 * after it (on the file the import wrote), the round's floor being the mean of the two: on a shared
 * machine a burst of load can fall on one floor measurement alone. Each round gives a ratio; the
 * median ratio is the figure. Target: ratio ≤ 2. The file the import wrote must be byte for byte
 * JSON.stringify(expected, null, 2), or the run stops.
 * P5: peak RSS of the child (process.resourceUsage().maxRSS, taken at exit by a preload module).
 * Target: ≤ 400 MiB (issue 12 #5).
 *
 * `--compare DIR` also runs DIR's build (e.g. a checkout of main) in every round, on a fresh copy
 * of the same store, so two versions are compared under the same load.
 *
 *   npm run build && node bench/import.mjs [--n 100000] [--rounds 3] [--keys 10] [--compare DIR]
 *                                          [--cpu-prof DIR]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { cookie, ioFloor, median, runCliJson } from './lib.mjs';
import AdmZip from 'adm-zip';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    n: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
    keys: { type: 'string', default: '10' },
    compare: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
});
const N = Number(values.n);
const ROUNDS = Number(values.rounds);
const KEYS = Number(values.keys);
const RATIO_TARGET = 2;
const RSS_TARGET = 400 * 1024 * 1024;

const mb = (b) => (b / 1024 / 1024).toFixed(1);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');

const builds = [{ name: 'this build', bin: join(ROOT, 'bin', 'cookie-pool.js') }];
if (values.compare) builds.push({ name: resolve(values.compare), bin: join(resolve(values.compare), 'bin', 'cookie-pool.js') });

async function runImport(bin, cwd, dataDir, zip, rssFile, preload) {
  const prof = values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', resolve(values['cpu-prof'])] : [];
  const run = await runCliJson([...prof, '--import', preload, '--', bin, 'import', zip, '--key', 'sk-bench-0', '--json'], {
    cwd,
    env: { DATA_DIR: dataDir, RSS_OUT: rssFile },
  });
  return { ...run, maxRssKb: Number(readFileSync(rssFile, 'utf8')) };
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
  // What the append import must write: the new cookies after sk-bench-0's own.
  const expectedText = JSON.stringify({ ...keys, 'sk-bench-0': keys['sk-bench-0'].concat(fresh) }, null, 2);
  const expectedFile = join(dir, 'expected.json');
  writeFileSync(expectedFile, expectedText);
  const zipPath = join(dir, 'Account Info.zip');
  const zip = new AdmZip();
  zip.addFile('token_2026-01-01_00-00-00.csv', Buffer.from(fresh.map((c) => `${c}\r\n`).join('')));
  zip.addFile('output_2026-01-01_00-00-00.csv', Buffer.from(fresh.map((c, i) => `user${i}@tempmail.example,${c}\r\n`).join('')));
  zip.writeZip(zipPath);
  console.log(
    `store: ${N} cookies in ${KEYS} keys (${mb(keysText.length)} MiB), invalid list ${N} (${mb(invalidText.length)} MiB); ` +
      `artifact: ${N} new cookies in 2 CSV files (zip ${mb(statSync(zipPath).size)} MiB). load average ${load()}`,
  );

  const runs = builds.map(() => ({ ratios: [], walls: [], floors: [], rss: [] }));
  for (let r = 0; r < ROUNDS; r++) {
    for (let b = 0; b < builds.length; b++) {
      // A fresh store for each run (written by this process, not timed).
      rmSync(dataDir, { recursive: true, force: true });
      mkdirSync(dataDir, { recursive: true });
      writeFileSync(keysFile, keysText);
      writeFileSync(invalidFile, invalidText);
      const before = ioFloor(expectedFile, join(dir, 'expected.floor'));
      const res = await runImport(builds[b].bin, dir, dataDir, zipPath, join(dir, 'rss.txt'), preload);
      if (res.result.added !== N) throw new Error(`expected ${N} added, got ${JSON.stringify(res.result).slice(0, 200)}`);
      const after = ioFloor(keysFile);
      if (readFileSync(keysFile, 'latin1') !== expectedText) throw new Error(`${builds[b].name}: the keys file written is not JSON.stringify(expected, null, 2)`);
      const floor = (before + after) / 2;
      const run = runs[b];
      run.walls.push(res.wall);
      run.floors.push(floor);
      run.ratios.push(res.wall / floor);
      run.rss.push(res.maxRssKb * 1024);
      console.log(
        `round ${r + 1} ${builds.length > 1 ? `[${builds[b].name}] ` : ''}import ${res.wall.toFixed(0)} ms, floor ${floor.toFixed(0)} ms (${before.toFixed(0)} before, ${after.toFixed(0)} after), ` +
          `ratio ${(res.wall / floor).toFixed(2)} (target ≤ ${RATIO_TARGET}), peak RSS ${mb(res.maxRssKb * 1024)} MiB (target ≤ ${mb(RSS_TARGET)} MiB); load ${load()}`,
      );
    }
  }
  console.log('');
  builds.forEach((build, b) => {
    const run = runs[b];
    const ratio = median(run.ratios);
    const peak = Math.max(...run.rss);
    const label = builds.length > 1 ? ` [${build.name}]` : '';
    console.log(
      `P1 import end to end${label}: ratio ${ratio.toFixed(2)} (median of ${ROUNDS}; target ≤ ${RATIO_TARGET}) → ${ratio <= RATIO_TARGET ? 'within' : 'OVER'} target; ` +
        `import ${median(run.walls).toFixed(0)} ms, I/O floor ${median(run.floors).toFixed(0)} ms (medians)`,
    );
    console.log(`P5 peak RSS${label}: ${mb(peak)} MiB (highest of ${ROUNDS}; target ≤ ${mb(RSS_TARGET)} MiB) → ${peak <= RSS_TARGET ? 'within' : 'OVER'} target`);
  });
  console.log(`load average at the end: ${load()}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
