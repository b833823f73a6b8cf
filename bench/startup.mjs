#!/usr/bin/env node
/**
 * P2: start-up cost. `cookie-pool status --json` on a 1k-cookie store against `node -e 0`,
 * alternating, median of 10 each (after one warm-up of each). Target: ratio ≤ 2. Also prints the
 * ratio of the minimums and of the children's own CPU time, steadier on a busy machine, and the
 * load average before and after (figures taken with a load above the core count are not comparable).
 * The children run in a clean environment (PATH and HOME only, plus the store's DATA_DIR).
 *
 *   npm run build && node bench/startup.mjs [--runs 10]
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const RUNS = Number(values.runs);
const BIN = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'cookie-pool.js');

const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
function cookie(i) {
  const user = `user_01${randomBytes(10).toString('hex').toUpperCase()}`;
  const exp = Math.floor(Date.now() / 1000) + (i % 7) * 24 * 3600 - 3600;
  const payload = Buffer.from(JSON.stringify({ sub: `auth0|${user}`, exp, iss: 'https://authentication.cursor.sh' })).toString('base64url');
  return `${user}%3A%3A${header}.${payload}.${randomBytes(32).toString('base64url')}`;
}

const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const loadBefore = load();

const dir = mkdtempSync(join(tmpdir(), 'cookie-pool-startup-'));
try {
  const data = join(dir, 'data');
  mkdirSync(data);
  const keys = {};
  for (let i = 0; i < 1000; i++) (keys[`sk-${i % 5}`] ??= []).push(cookie(i));
  writeFileSync(join(data, 'api_keys.json'), JSON.stringify(keys, null, 2));
  writeFileSync(join(data, 'invalid_cookies.json'), JSON.stringify(Array.from({ length: 100 }, (_, i) => cookie(i)), null, 2));
  const env = { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: data, NO_COLOR: '1' };

  // A preload reports the child's own CPU time (user+sys), a figure less shaken by a busy machine.
  const cpuHook = join(dir, 'cpu.cjs');
  writeFileSync(cpuHook, "process.on('exit',()=>{const u=process.cpuUsage();require('fs').writeSync(2,'\\nCPU '+(u.user+u.system)/1000+'\\n')})");
  const time = (args, withCpu = false) => {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, withCpu ? ['--require', cpuHook, ...args] : args, { cwd: dir, env, encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    const cpu = Number(/CPU ([\d.]+)/.exec(r.stderr)?.[1] ?? NaN);
    return { ms, out: r.stdout, cpu };
  };
  const check = JSON.parse(time([BIN, 'status', '--json']).out);
  if (check.keys.reduce((n, k) => n + k.cookies, 0) !== 1000) throw new Error('status did not see 1000 cookies');
  time(['-e', '0']);

  const cli = [];
  const bare = [];
  for (let i = 0; i < RUNS; i++) {
    bare.push(time(['-e', '0']).ms);
    cli.push(time([BIN, 'status', '--json']).ms);
  }
  const cliCpu = [];
  const bareCpu = [];
  for (let i = 0; i < RUNS; i++) {
    bareCpu.push(time(['-e', '0'], true).cpu);
    cliCpu.push(time([BIN, 'status', '--json'], true).cpu);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const min = (xs) => Math.min(...xs);
  const c = median(cli);
  const b = median(bare);
  console.log(`node -e 0:                      median ${b.toFixed(1)} ms, min ${min(bare).toFixed(1)}  [${bare.map((x) => x.toFixed(0)).join(', ')}]`);
  console.log(`cookie-pool status --json (1k): median ${c.toFixed(1)} ms, min ${min(cli).toFixed(1)}  [${cli.map((x) => x.toFixed(0)).join(', ')}]`);
  console.log(`ratio (wall, medians): ${(c / b).toFixed(2)}x (target ≤ 2x); by minimum: ${(min(cli) / min(bare)).toFixed(2)}x`);
  console.log(`CPU time (user+sys, medians): node -e 0 ${median(bareCpu).toFixed(1)} ms, status ${median(cliCpu).toFixed(1)} ms, ratio ${(median(cliCpu) / median(bareCpu)).toFixed(2)}x`);
  console.log(`load average (1, 5, 15 min): before ${loadBefore}, after ${load()} on ${cpus().length} cores`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
