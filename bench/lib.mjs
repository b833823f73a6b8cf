/** Shared pieces of the benchmarks: realistic cookies, timing, the I/O floor. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';

const header = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');
const exp = Math.floor(Date.now() / 1000) + 30 * 24 * 3600;
const salt = randomBytes(4).toString('hex');

/** A realistic session cookie (~420 chars): user prefix, URL-encoded separator, JWT with a JSON payload. */
export function cookie(tag, i) {
  const user = `user_01${tag}${salt}${i.toString(36).toUpperCase().padStart(12, '0')}`;
  const payload = Buffer.from(
    JSON.stringify({ sub: `auth0|${user}`, time: '1735689600', randomness: `${salt}-${i}`, exp, iss: 'https://authentication.cursor.sh', scope: 'openid profile email offline_access', aud: 'https://cursor.com' }),
  ).toString('base64url');
  const sig = Buffer.from(`${tag}${i}${salt}`.padEnd(32, 'x')).toString('base64url');
  return `${user}%3A%3A${header}.${payload}.${sig}`;
}

export const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * The I/O floor of rewriting `file`: read, JSON.parse, JSON.stringify, write, fsync, rename
 * (to `target`, default a sibling `.floor` file). Returns milliseconds.
 */
export function ioFloor(file, target = `${file}.floor`) {
  const t0 = process.hrtime.bigint();
  const text = JSON.stringify(JSON.parse(readFileSync(file, 'utf8')), null, 2);
  const tmp = `${target}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  writeSync(fd, text);
  fsyncSync(fd);
  closeSync(fd);
  renameSync(tmp, target);
  return ms(t0);
}

/**
 * Run the built CLI (`args` after node's own) as a child with a clean environment plus `env`;
 * resolves with its wall time and its stdout parsed as JSON, rejects when it exits non-zero.
 */
export function runCliJson(args, { cwd, env = {} }) {
  return new Promise((resolvePromise, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(process.execPath, args, {
      cwd,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const wall = ms(t0);
      if (code !== 0) return reject(new Error(`${args.slice(-5).join(' ')} exited ${code}: ${err}`));
      resolvePromise({ wall, result: JSON.parse(out) });
    });
  });
}
