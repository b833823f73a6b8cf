#!/usr/bin/env node
/**
 * P3: the refresh wait loop against the loopback fake GitHub (test/fake-github.ts, loaded by
 * transpiling it with the project's TypeScript), through the BUILT CLI as a child process.
 *
 * A. Completion → store written. The fake completes each run a known time after its dispatch;
 *    the latency is the store file's mtime minus the run's completion time on the fake's clock
 *    (same machine). Measured with the default poll interval (10 s, flag not given) and with
 *    --poll-interval 1, over several runs whose completion falls at evenly spread phases of the
 *    poll grid (so the mean estimates interval/2 + pipeline). "pipeline" is the part after the
 *    poll that saw the run completed: artifact listing, download, unzip, extract, merge, write.
 *
 * B. Requests that are not 304 during a 10-minute wait on a run that stays in progress.
 *    Scaled: `workflow watch` with --poll-interval 10/K s and --timeout 10/K min (K = 20 by
 *    default: 0.5 s polls for 30 s) makes about as many polls as the real 10-minute wait at the
 *    default 10 s (60; a little fewer, because the pause follows each poll's own requests, which
 *    weigh more against a 0.5 s pause than against 10 s); the fake's run advances its steps over
 *    a 60-minute run scaled by the same K, so the content changes (step transitions) during the
 *    window are as in real time. Non-304 answers come from the first poll and from changes, not
 *    from the number of polls.
 *    `--real-minutes M` also runs the unscaled wait for M real minutes (default poll interval),
 *    to check the scaling.
 *
 *   npx tsc -p . && node bench/refresh.mjs [--reps 3] [--delay 4] [--scale 20] [--real-minutes 0]
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import ts from 'typescript';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'cookie-pool.js');
const { values } = parseArgs({
  options: {
    reps: { type: 'string', default: '3' },
    delay: { type: 'string', default: '4' },
    scale: { type: 'string', default: '20' },
    'real-minutes': { type: 'string', default: '0' },
  },
});
const REPS = Number(values.reps);
const DELAY_S = Number(values.delay);
const K = Number(values.scale);
const REAL_MIN = Number(values['real-minutes']);

/** Load test/fake-github.ts: transpile it (and the cookie helper) into node_modules/.cache. */
async function loadFake() {
  const out = join(ROOT, 'node_modules', '.cache', 'cookie-pool-bench');
  mkdirSync(join(out, 'helpers'), { recursive: true });
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  for (const rel of ['fake-github.ts', 'helpers/cookies.ts']) {
    const src = readFileSync(join(ROOT, 'test', rel), 'utf8');
    const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    writeFileSync(join(out, rel.replace(/\.ts$/, '.js')), js);
  }
  return import(pathToFileURL(join(out, 'fake-github.js')).href);
}

const { FakeGitHub } = await loadFake();
const workflowYaml = readFileSync(join(ROOT, 'test', 'fixtures', 'cursor_register.upstream.yml'), 'utf8');

function run(args, env, cwd) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
  });
}

const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A: one refresh; returns { latency, pipeline } in ms. */
async function completionToStore(pollSec, completeAfterMs) {
  const dir = mkdtempSync(join(tmpdir(), 'cookie-pool-bench-refresh-'));
  const gh = await FakeGitHub.start({ workflowYaml, runTimeline: { queuedMs: 500, inProgressMs: completeAfterMs - 500 } });
  try {
    const dataDir = join(dir, 'data');
    mkdirSync(dataDir);
    writeFileSync(join(dataDir, 'api_keys.json'), JSON.stringify({ 'sk-bench': [] }, null, 2));
    const args = ['refresh', '--json', ...(pollSec === undefined ? [] : ['--poll-interval', String(pollSec)])];
    const res = await run(args, { DATA_DIR: dataDir, GITHUB_TOKEN: gh.token, GITHUB_OWNER: gh.owner, GITHUB_API_URL: gh.apiUrl }, dir);
    if (res.code !== 0) throw new Error(`refresh exited ${res.code}: ${res.stderr}`);
    const runInfo = gh.lastRun;
    const written = statSync(join(dataDir, 'api_keys.json')).mtimeMs;
    const seen = gh.requests.find((q) => q.path === `/repos/${gh.owner}/${gh.repo}/actions/runs/${runInfo.id}` && q.status === 200 && q.at >= runInfo.endMs);
    return { latency: written - runInfo.endMs, pipeline: written - seen.at };
  } finally {
    await gh.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** B: `workflow watch` on a run that stays in progress for the whole window. */
async function waitRequests(pollSec, windowMin, runMinutes) {
  const dir = mkdtempSync(join(tmpdir(), 'cookie-pool-bench-watch-'));
  const gh = await FakeGitHub.start({ workflowYaml });
  try {
    const r = gh.addRun({ runTimeline: { queuedMs: 0, inProgressMs: runMinutes * 60_000 }, inputs: { email_server: 'TempEmail', ingest_to_oneapi: 'false', upload_artifact: 'true' } });
    const args = ['workflow', 'watch', String(r.id), '--timeout', String(windowMin), ...(pollSec === undefined ? [] : ['--poll-interval', String(pollSec)])];
    const res = await run(args, { GITHUB_TOKEN: gh.token, GITHUB_OWNER: gh.owner, GITHUB_API_URL: gh.apiUrl }, dir);
    if (res.code !== 1 || !/did not complete within/.test(res.stderr)) throw new Error(`watch ended unexpectedly (${res.code}): ${res.stderr}`);
    const api = gh.requests.filter((q) => q.host === 'api');
    const runPolls = api.filter((q) => /\/actions\/runs\/\d+$/.test(q.path)).length;
    return { total: api.length, notModified: api.filter((q) => q.status === 304).length, full: api.filter((q) => q.status !== 304).length, runPolls };
  } finally {
    await gh.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`P3 refresh wait loop (load average ${loadavg()[0].toFixed(2)}; runs complete ${DELAY_S} s + phase after dispatch)`);
for (const poll of [undefined, 1]) {
  const interval = poll ?? 10;
  const lat = [];
  const pipe = [];
  for (let i = 0; i < REPS; i++) {
    // Spread the completion over the poll grid: phase i/REPS of an interval.
    const after = DELAY_S * 1000 + Math.round(((i + 0.5) / REPS) * interval * 1000);
    const { latency, pipeline } = await completionToStore(poll, after);
    lat.push(latency);
    pipe.push(pipeline);
  }
  console.log(
    `A. poll interval ${interval} s${poll === undefined ? ' (default)' : ''}: completion → store written mean ${fmt(mean(lat))}, max ${fmt(Math.max(...lat))} ` +
      `[${lat.map(fmt).join(', ')}]; of which after the completing poll (artifact, download, unzip, merge, write): mean ${fmt(mean(pipe))}`,
  );
}

const scaled = await waitRequests(10 / K, 10 / K, 60 / K);
console.log(
  `B. 10-minute wait, scaled ×1/${K} (poll ${10 / K} s for ${(600 / K).toFixed(1)} s; run of 60 min scaled): ${scaled.total} requests, ` +
    `${scaled.notModified} answered 304, ${scaled.full} not 304 (target ≤ 30); ${scaled.runPolls} polls of the run`,
);
if (REAL_MIN > 0) {
  const real = await waitRequests(undefined, REAL_MIN, 60);
  console.log(
    `B'. unscaled: ${REAL_MIN}-minute wait at the default 10 s on a 60-minute run: ${real.total} requests, ${real.notModified} answered 304, ${real.full} not 304; ${real.runPolls} polls`,
  );
}
