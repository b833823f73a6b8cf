/** Shared pieces of the benchmarks: realistic cookies, timing, the I/O floor. */
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
