#!/usr/bin/env node
/**
 * P: `cookie-pool history --json` over a 100k-line history file (SPEC §10). Targets: ≤ 1 s wall
 * time and ≤ 150 MB peak RSS (the file is streamed line by line, never read whole).
 *
 * The file: 100k events over 100 days (a check or pool change every ~86 s) on 4 keys, the mix of
 * a busy installation (checks, purges, adds, refreshes, a few failed). Two runs of each shape:
 * the default 7-day window, and `--since 365d` (every line in the window). Peak RSS comes from
 * the child's own `process.resourceUsage().maxRSS`, reported by a preload on exit.
 *
 *   npm run build && node bench/history.mjs [--lines 100000] [--runs 3]
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './lib.mjs';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '100000' }, runs: { type: 'string', default: '3' } } });
const LINES = Number(values.lines);
const RUNS = Number(values.runs);
const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'cookie-pool.js');
const NOW = Date.parse('2026-06-01T00:00:00Z');
const SPAN = 100 * 24 * 3600 * 1000;
const KEYS = ['sk-team-alpha', 'sk-team-beta', 'sk-team-gamma', 'sk-team-delta'];

/** A deterministic history: counts drift down through checks and purges, refreshes top them up. */
function buildHistory(lines) {
  const counts = KEYS.map(() => 12);
  const out = [];
  for (let i = 0; i < lines; i++) {
    const time = new Date(NOW - SPAN + Math.floor((i * SPAN) / lines)).toISOString();
    const kind = i % 50 === 0 ? 'refresh' : i % 7 === 0 ? 'purge' : i % 11 === 0 ? 'add' : 'check';
    const keys = {};
    KEYS.forEach((k, j) => {
      const before = counts[j];
      let after = before;
      if (kind === 'purge' && (i + j) % 3 === 0 && before > 0) after = before - 1;
      if (kind === 'add' && (i + j) % 4 === 0) after = before + 1;
      if (kind === 'refresh' && before < 8) after = before + 4;
      counts[j] = after;
      keys[k] = { before, after };
    });
    const entry = { time, event: kind, ok: kind !== 'refresh' || i % 200 !== 0, keys };
    if (kind === 'refresh') Object.assign(entry, { runId: 9_000_000 + i, harvested: 4, added: 4, retired: 0, durationSec: 180 + (i % 90) });
    if (kind === 'check') Object.assign(entry, { checked: 48, valid: 47, invalid: 1, expired: 0, unknown: 0, marked: 0, durationSec: 2.5 });
    out.push(JSON.stringify(entry));
  }
  return `${out.join('\n')}\n`;
}

const dir = mkdtempSync(join(tmpdir(), 'cookie-pool-history-bench-'));
try {
  const data = join(dir, 'data');
  const file = join(data, '.cookie-pool', 'history.jsonl');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, buildHistory(LINES));
  const rssHook = join(dir, 'rss.cjs');
  writeFileSync(rssHook, "process.on('exit',()=>{require('fs').writeSync(2,'\\nMAXRSS '+process.resourceUsage().maxRSS+'\\n')})");
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: data, NO_COLOR: '1', COOKIE_POOL_NOW: new Date(NOW).toISOString() };
  console.log(`history file: ${LINES} lines, ${(statSync(file).size / 1e6).toFixed(1)} MB`);

  for (const [label, extra] of [
    ['history --json (default 7-day window)', []],
    ['history --json --since 365d (every line)', ['--since', '365d']],
  ]) {
    const walls = [];
    const rss = [];
    let points = 0;
    for (let i = 0; i < RUNS; i++) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, ['--require', rssHook, BIN, 'history', '--json', ...extra], { cwd: dir, env, encoding: 'utf8', maxBuffer: 1 << 30 });
      walls.push(Number(process.hrtime.bigint() - t0) / 1e6);
      if (r.status !== 0) throw new Error(`history exited ${r.status}: ${r.stderr}`);
      rss.push(Number(/MAXRSS (\d+)/.exec(r.stderr)?.[1] ?? NaN) / 1024);
      const doc = JSON.parse(r.stdout);
      points = doc.keys.reduce((n, k) => n + k.series.length, 0);
      if (doc.keys.length !== KEYS.length || doc.refresh.runs === 0) throw new Error('unexpected history output');
    }
    console.log(
      `${label}: wall median ${median(walls).toFixed(0)} ms [${walls.map((w) => w.toFixed(0)).join(', ')}] (target ≤ 1000), ` +
        `peak RSS median ${median(rss).toFixed(0)} MB [${rss.map((m) => m.toFixed(0)).join(', ')}] (target ≤ 150); ${points} series points`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
