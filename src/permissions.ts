/**
 * The warning every command gives (once per process, on stderr) when the `.env` or the folders
 * of the pool are writable by group or others: whoever can write `.env` can point GITHUB_API_URL
 * at a host of theirs and collect the token; whoever can write the data dir can swap the store
 * files and collect the cookies. (A folder writable by every user without the sticky bit is also
 * refused by the store writer itself: see store/atomic.ts.)
 */
import { statSync } from 'node:fs';
import type { IOPort } from './core/io-port.js';

const warned = new Set<string>();

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8)}`;

/** Group/other write bits of `path`, or undefined when it is absent or private enough. */
function openMode(path: string): number | undefined {
  try {
    const mode = statSync(path).mode;
    return (mode & 0o022) !== 0 ? mode : undefined;
  } catch {
    return undefined; // absent (created private on first write) or unreadable (reported where it is used)
  }
}

export function warnWritableByOthers(io: Pick<IOPort, 'warn'>, where: { envFile?: string; dirs: readonly string[] }): void {
  if (process.platform === 'win32') return;
  const check = (path: string, what: string, fix: string): void => {
    if (warned.has(path)) return;
    const mode = openMode(path);
    if (mode === undefined) return;
    warned.add(path);
    io.warn(`${path} is writable by group/others (mode ${octal(mode)}): ${what}; fix: ${fix} ${path}`);
  };
  if (where.envFile) {
    check(where.envFile, 'whoever can write it can point GITHUB_API_URL at their own host and collect the token', 'chmod 600');
  }
  for (const dir of new Set(where.dirs)) {
    check(`${dir}/`, 'whoever can write into it can replace the store files and collect the cookies', 'chmod 700');
  }
}
