/**
 * Cross-process locks (proper-lockfile: an atomic `mkdir`, its mtime refreshed while held,
 * taken over once stale, i.e. when the holder died without releasing it).
 */
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LockedError } from '../errors.js';

export interface LockOptions {
  /** Wait for the lock (store lock) or fail at once (refresh lock). */
  wait: boolean;
  /** A lock whose mtime is older than this is taken over (ms, ≥ 5000). */
  staleMs?: number;
  /** Message of the LockedError thrown when `wait` is false and the lock is held. */
  busyMessage?: string;
}

export const DEFAULT_STALE_MS = 10_000;

/**
 * Run `fn` while holding the lock directory `lockPath`. The lock is released on every exit path,
 * and by proper-lockfile's exit hook if the process is interrupted.
 */
export async function withLock<T>(lockPath: string, opts: LockOptions, fn: () => Promise<T>): Promise<T> {
  const release = await acquireLock(lockPath, opts);
  try {
    return await fn();
  } finally {
    await release();
  }
}

export async function acquireLock(lockPath: string, opts: LockOptions): Promise<() => Promise<void>> {
  const { default: lockfile } = await import('proper-lockfile');
  const target = lockPath.replace(/\.lock$/, '');
  // The lock lives in the data dir; a data dir created here is private, as the store files are.
  await mkdir(dirname(lockPath), { recursive: true, mode: 0o700 });
  const stale = Math.max(5000, opts.staleMs ?? DEFAULT_STALE_MS);
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(target, {
      lockfilePath: lockPath,
      realpath: false,
      stale,
      // ~40 s of patient waiting covers a long merge and the takeover of a stale lock.
      retries: opts.wait ? { retries: 120, factor: 1.3, minTimeout: 15, maxTimeout: 400, randomize: true } : 0,
      onCompromised: (err) => {
        // Another process took the lock over (we stalled past `stale`): stop rather than risk a lost update.
        process.stderr.write(`cookie-pool: lock ${lockPath} was compromised: ${err.message}\n`);
        process.exit(1);
      },
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ELOCKED') throw new LockedError(opts.busyMessage ?? `the lock ${lockPath} is held by another process`);
    throw e;
  }
  let released = false;
  return async () => {
    if (released) return;
    released = true;
    try {
      await release();
    } catch {
      // Already released or compromised: nothing left to undo.
    }
  };
}
