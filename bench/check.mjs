#!/usr/bin/env node
/**
 * P4: `check` of 10k cookies against a loopback usage endpoint that answers after 20 ms, at
 * concurrency 32. The limit is concurrency ÷ latency = 32 / 0.020 s = 1600 cookies/s; the
 * target is a ratio of at least 0.5.
 *
 * Runs the BUILT CLI (bin/cookie-pool.js → dist/) as a child process, the way a user does; the
 * endpoint runs in this process. Build first: `npx tsc -p .`.
 *
 *   node bench/check.mjs [--cookies 10000] [--concurrency 32] [--latency 20] [--runs 3]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'cookie-pool.js');

const { values } = parseArgs({
  options: {
    cookies: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '32' },
    latency: { type: 'string', default: '20' },
    runs: { type: 'string', default: '3' },
  },
});
const N = Number(values.cookies);
const C = Number(values.concurrency);
const LATENCY = Number(values.latency);
const RUNS = Number(values.runs);

const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
const exp = Math.floor(Date.now() / 1000) + 365 * 24 * 3600;
function cookie() {
  const user = `user_01${randomBytes(10).toString('hex').toUpperCase()}`;
  const jwt = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: `auth0|${user}`, exp, n: randomBytes(4).toString('hex') })}.${randomBytes(32).toString('base64url')}`;
  return `${user}%3A%3A${jwt}`;
}

// The endpoint: 200 with usage JSON after LATENCY ms; counts in-flight requests and connections.
let inFlight = 0;
let maxInFlight = 0;
let connections = 0;
let requests = 0;
const body = JSON.stringify({ 'gpt-4': { numRequests: 12, maxRequestUsage: 500 }, startOfMonth: '2026-11-01T00:00:00.000Z' });
const server = createServer((req, res) => {
  requests++;
  inFlight++;
  if (inFlight > maxInFlight) maxInFlight = inFlight;
  if (!/^WorkosCursorSessionToken=user_[0-9A-Z]+%3A%3A[\w-]+\.[\w-]+\.[\w-]+$/.test(req.headers.cookie ?? '')) {
    inFlight--;
    res.writeHead(400).end();
    return;
  }
  setTimeout(() => {
    inFlight--;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(body);
  }, LATENCY);
});
server.keepAliveTimeout = 30_000;
server.on('connection', () => connections++);
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}`;

const dir = mkdtempSync(join(tmpdir(), 'cookie-pool-bench-check-'));
const dataDir = join(dir, 'data');
mkdirSync(dataDir);
const keys = {};
for (let k = 0; k < 10; k++) keys[`sk-bench-${k}`] = Array.from({ length: N / 10 }, cookie);
writeFileSync(join(dataDir, 'api_keys.json'), JSON.stringify(keys, null, 2));

/** CPU seconds (user + system) used by this process's waited-for children, from /proc. */
function childCpuSec() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[13]) + Number(f[14])) / 100; // cutime + cstime, in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

function runCheck() {
  return new Promise((resolvePromise, reject) => {
    const t0 = process.hrtime.bigint();
    const cpu0 = childCpuSec();
    const child = spawn(process.execPath, [BIN, 'check', '--json', '-q', '--concurrency', String(C)], {
      cwd: dir,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', DATA_DIR: dataDir, CURSOR_WEB_URL: url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (code !== 0) return reject(new Error(`check exited ${code}: ${err.slice(0, 500)}`));
      resolvePromise({ ms, cpu: childCpuSec() - cpu0, doc: JSON.parse(out) });
    });
  });
}

const limit = C / (LATENCY / 1000);
console.log(`P4 check: ${N} cookies, concurrency ${C}, endpoint latency ${LATENCY} ms, limit ${limit}/s (node ${process.version})`);
const rates = [];
try {
  for (let i = 0; i < RUNS; i++) {
    requests = 0;
    maxInFlight = 0;
    connections = 0;
    const { ms, cpu, doc } = await runCheck();
    if (doc.checked !== N || doc.valid !== N) throw new Error(`unexpected result: ${JSON.stringify({ ...doc, results: undefined })}`);
    const rate = N / (ms / 1000);
    rates.push(rate);
    console.log(
      `run ${i + 1}: ${(ms / 1000).toFixed(2)} s wall (process start to exit), ${rate.toFixed(0)} cookies/s, ratio ${(rate / limit).toFixed(2)}; ` +
        `CLI CPU ${cpu.toFixed(2)} s (${(N / cpu).toFixed(0)} cookies per CPU-second); ` +
        `requests ${requests}, max in flight ${maxInFlight}, connections ${connections}; load ${loadavg()[0].toFixed(1)}`,
    );
  }
} finally {
  server.closeAllConnections();
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
const best = Math.max(...rates);
const median = [...rates].sort((a, b) => a - b)[Math.floor(rates.length / 2)];
console.log(`median ${median.toFixed(0)} cookies/s (ratio ${(median / limit).toFixed(2)}), best ${best.toFixed(0)} cookies/s (ratio ${(best / limit).toFixed(2)}); target ratio ≥ 0.5`);
