/**
 * Atomic file replacement with a backup of the previous version.
 * write-file-atomic writes a temp file in the same directory, fsyncs it and renames it over
 * the target; the old version is hard-linked into the backups folder first (O(1), no copy),
 * falling back to a copy across file systems.
 */
import { copyFile, link, mkdir, readdir, stat, unlink } from 'node:fs/promises';
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

/** Replace `file` with `data` atomically; a new file gets mode 0600, an existing one keeps its mode. */
export async function writeAtomic(file: string, data: string): Promise<void> {
  // A data dir created here is private like the files in it (an existing one keeps its mode).
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  const isNew = !(await exists(file));
  // Loaded on first write only: read-only commands start faster without it.
  const { default: writeFileAtomic } = await import('write-file-atomic');
  await writeFileAtomic(file, data, { encoding: 'utf8', fsync: true, ...(isNew ? { mode: 0o600 } : {}) });
}
