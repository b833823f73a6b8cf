/**
 * Atomic file replacement with a backup of the previous version.
 * The new version is streamed to a temp file in the same directory, fsynced and renamed over the
 * target; the old version is hard-linked into the backups folder first (O(1), no copy), falling
 * back to a copy across file systems.
 */
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { copyFile, link, mkdir, open, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export const BACKUPS_KEPT = 10;

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}

/** Keep the current version of `file` in `backupDir` and prune to the last BACKUPS_KEPT. */
export async function backup(file: string, backupDir: string, kept = BACKUPS_KEPT): Promise<void> {
  if (!(await exists(file))) return;
  await mkdir(backupDir, { recursive: true, mode: 0o700 });
  const name = basename(file);
  // Sortable, unique even for several writes within one millisecond.
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const suffix = `${process.pid}-${process.hrtime.bigint().toString(36)}`;
  const target = join(backupDir, `${name}.${stamp}.${suffix}`);
  try {
    await link(file, target);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw e;
    await copyFile(file, target);
  }
  const mine = (await readdir(backupDir)).filter((f) => f.startsWith(`${name}.`)).sort();
  for (const old of mine.slice(0, Math.max(0, mine.length - kept))) {
    await unlink(join(backupDir, old)).catch(() => undefined);
  }
}

/** Temp files of a write to `file` live beside it: `.api_keys.json.<pid>.<random>.tmp`. */
function tempName(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Remove temp files left beside `file` by a writer that was killed mid-write. Call only while
 * holding the store lock (no live writer can own them then).
 */
export async function removeStaleTemps(file: string): Promise<void> {
  const prefix = `.${basename(file)}.`;
  let names: string[];
  try {
    names = await readdir(dirname(file));
  } catch {
    return;
  }
  for (const n of names) {
    if (n.startsWith(prefix) && n.endsWith('.tmp')) await unlink(join(dirname(file), n)).catch(() => undefined);
  }
}

/**
 * Replace `file` atomically with the concatenated `chunks`: write a temp file in the same
 * directory, fsync it, rename it over the target, fsync the directory. Readers see the old or
 * the new version, never a mix. A new file gets mode 0600; an existing one keeps its mode and
 * owner. The content is streamed, so a large store is never held as one string or Buffer.
 * (write-file-atomic does the same for whole strings only.)
 */
export async function writeAtomic(file: string, chunks: Iterable<string>): Promise<void> {
  // A data dir created here is private like the files in it (an existing one keeps its mode).
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  let existing: Stats | undefined;
  try {
    existing = await stat(file);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const mode = existing ? existing.mode & 0o7777 : 0o600;
  const tmp = tempName(file);
  const fh = await open(tmp, 'wx', mode);
  try {
    let pending = '';
    for (const chunk of chunks) {
      pending += chunk;
      if (pending.length >= 1 << 20) {
        await fh.write(pending);
        pending = '';
      }
    }
    if (pending) await fh.write(pending);
    await fh.chmod(mode); // open() applied the umask
    if (existing && process.getuid?.() === 0) await fh.chown(existing.uid, existing.gid);
    await fh.sync();
    await fh.close();
    await rename(tmp, file);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  // Make the rename itself durable (best effort: not every file system lets a directory be synced).
  try {
    const dir = await open(dirname(file), 'r');
    await dir.sync().finally(() => dir.close());
  } catch {
    /* ignore */
  }
}
