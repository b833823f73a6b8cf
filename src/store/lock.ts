/**
 * Cross-process locks (proper-lockfile: an atomic `mkdir`, its mtime refreshed while held,
 * taken over once stale, i.e. when the holder died without releasing it).
 */
import type { Stats } from 'node:fs';
import { chmod, lstat, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LockedError, UsageError } from '../errors.js';
import { writeStd } from '../stdio.js';

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
  await assertLockable(lockPath);
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
        writeStd(2, `cookie-pool: lock ${lockPath} was compromised: ${err.message}\n`);
        process.exit(1);
      },
    });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'ELOCKED') throw new LockedError(opts.busyMessage ?? `the lock ${lockPath} is held by another process`);
    throw e;
  }
  // mkdir gave the lock folder the umask's mode; it holds nothing, but stays private like the rest.
  if (process.platform !== 'win32') await chmod(lockPath, 0o700).catch(() => undefined);
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

/**
 * What sits at the lock path must be a lock folder of this user, or nothing. A symlink there
 * would have the lock's mtime refreshed (and a stale one removed) wherever it points; a folder of
 * another user is not a lock this process could ever take over.
 */
async function assertLockable(lockPath: string): Promise<void> {
  let st: Stats;
  try {
    st = await lstat(lockPath);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  const uid = process.getuid?.();
  if (st.isSymbolicLink() || !st.isDirectory()) {
    throw new UsageError(
      `refusing to lock through ${lockPath}: it is ${st.isSymbolicLink() ? 'a symlink' : 'not a folder'}, not a lock left by cookie-pool`,
      `remove it (rm ${lockPath}) when no cookie-pool is running`,
    );
  }
  if (uid !== undefined && st.uid !== uid) {
    throw new UsageError(
      `refusing to lock through ${lockPath}: it is owned by uid ${st.uid}, not by this user (uid ${uid})`,
      `another user runs cookie-pool on this store, or planted it: check, then remove it (rmdir ${lockPath})`,
    );
  }
}
