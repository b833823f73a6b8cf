#!/usr/bin/env node
/**
 * The proxy backend (SPEC §9.1): `cookie-pool import <zip> --key K` of an artifact holding N new
 * cookies into a running proxy that holds N (in `--keys` keys), through the BUILT CLI as a child
 * process, against the loopback fake proxy (test/fake-proxy.ts, transpiled with the project's
 * TypeScript; it keeps the pool in memory and rewrites its whole file on every change, as the real
 * one does).
 *
 * Reports the wall time and the number of HTTP requests the import made, and the same import into
 * the file backend (the two JSON files) as the baseline: ratio = proxy / file. The request count is
 * also taken at N/100 new cookies: it must be the same (a read per key, a write per changed key, a
 * read-back), i.e. it does not grow with the number of cookies.
 *
 *   npx tsc -p . && node bench/proxy-import.mjs [--n 10000] [--rounds 3] [--keys 10]
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import AdmZip from 'adm-zip';
import ts from 'typescript';
import { cookie, median, runCliJson } from './lib.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'cookie-pool.js');
const { values } = parseArgs({ options: { n: { type: 'string', default: '10000' }, rounds: { type: 'string', default: '3' }, keys: { type: 'string', default: '10' } } });
const N = Number(values.n);
const ROUNDS = Number(values.rounds);
const KEYS = Number(values.keys);
const ADMIN = { username: 'admin', password: 'bench-password' };

const mb = (b) => (b / 1024 / 1024).toFixed(1);

/** Load test/fake-proxy.ts (node: imports only) transpiled into node_modules/.cache. */
async function loadFakeProxy() {
  const out = join(ROOT, 'node_modules', '.cache', 'cookie-pool-bench');
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'package.json'), '{"type":"module"}\n');
  const src = readFileSync(join(ROOT, 'test', 'fake-proxy.ts'), 'utf8');
  const js = ts.transpileModule(src, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  writeFileSync(join(out, 'fake-proxy.js'), js);
  return import(pathToFileURL(join(out, 'fake-proxy.js')).href);
}

function runImport(cwd, env, zip) {
  return runCliJson([BIN, 'import', zip, '--key', 'sk-bench-0', '--json'], { cwd, env });
}

function artifact(path, n, tag) {
  const fresh = Array.from({ length: n }, (_, i) => cookie(tag, i));
  const zip = new AdmZip();
  zip.addFile('token_2026-01-01_00-00-00.csv', Buffer.from(fresh.map((c) => `${c}\r\n`).join('')));
  zip.addFile('output_2026-01-01_00-00-00.csv', Buffer.from(fresh.map((c, i) => `user${i}@tempmail.example,${c}\r\n`).join('')));
  zip.writeZip(path);
}

const { FakeProxy } = await loadFakeProxy();
const dir = mkdtempSync(join(tmpdir(), 'cookie-pool-bench-proxy-'));
try {
  const proxyDir = join(dir, 'proxy');
  const work = join(dir, 'work');
  const fileDir = join(dir, 'file');
  mkdirSync(work, { recursive: true });
  const keys = {};
  for (let k = 0; k < KEYS; k++) keys[`sk-bench-${k}`] = [];
  for (let i = 0; i < N; i++) keys[`sk-bench-${i % KEYS}`].push(cookie('S', i));
  const keysText = JSON.stringify(keys, null, 2);
  const seed = (folder) => {
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(join(folder, 'data'), { recursive: true });
    writeFileSync(join(folder, 'data', 'api_keys.json'), keysText);
    writeFileSync(join(folder, 'data', 'invalid_cookies.json'), '[]');
  };
  const zipPath = join(dir, 'Account Info.zip');
  artifact(zipPath, N, 'N');
  const smallZip = join(dir, 'small.zip');
  artifact(smallZip, Math.max(1, Math.floor(N / 100)), 'M');
  console.log(
    `pool: ${N} cookies in ${KEYS} keys (${mb(keysText.length)} MiB); artifact: ${N} new cookies (zip ${mb(statSync(zipPath).size)} MiB). ` +
      `load average ${loadavg()[0].toFixed(2)}`,
  );

  const proxyRun = async (zip) => {
    seed(proxyDir);
    const proxy = await FakeProxy.start({ dir: proxyDir, admin: ADMIN, jwtSecret: 'bench-secret' });
    try {
      const env = { PROXY_ADMIN_URL: proxy.url, PROXY_ADMIN_USER: ADMIN.username, PROXY_ADMIN_PASSWORD: ADMIN.password, XDG_STATE_HOME: join(dir, 'state') };
      const res = await runImport(work, env, zip);
      if (proxy.keys.get('sk-bench-0').length !== keys['sk-bench-0'].length + res.result.added) throw new Error('the proxy does not hold the imported cookies');
      return { ...res, requests: proxy.requests.length };
    } finally {
      await proxy.close();
    }
  };

  const small = await proxyRun(smallZip);
  const rows = [];
  for (let r = 0; r < ROUNDS; r++) {
    const p = await proxyRun(zipPath);
    if (p.result.added !== N) throw new Error(`expected ${N} added, got ${JSON.stringify(p.result).slice(0, 200)}`);
    seed(fileDir);
    const f = await runImport(fileDir, { DATA_DIR: join(fileDir, 'data') }, zipPath);
    if (f.result.added !== N) throw new Error(`file backend: expected ${N} added`);
    rows.push({ proxy: p.wall, file: f.wall, requests: p.requests });
    console.log(`round ${r + 1}: proxy ${p.wall.toFixed(0)} ms (${p.requests} HTTP requests), file ${f.wall.toFixed(0)} ms, ratio ${(p.wall / f.wall).toFixed(2)}`);
  }
  const proxyWall = median(rows.map((x) => x.proxy));
  const fileWall = median(rows.map((x) => x.file));
  console.log('');
  console.log(`proxy import of ${N} new cookies into ${N} (median of ${ROUNDS}): ${proxyWall.toFixed(0)} ms vs file backend ${fileWall.toFixed(0)} ms → ratio ${(proxyWall / fileWall).toFixed(2)}`);
  console.log(
    `HTTP requests: ${rows[0].requests} for ${N} new cookies, ${small.requests} for ${small.result.added} (${KEYS} keys) → ` +
      `${rows[0].requests === small.requests ? 'independent of the number of cookies' : 'GROWS with the number of cookies'}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
