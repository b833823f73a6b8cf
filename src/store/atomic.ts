/**
 * Atomic file replacement with a backup of the previous version.
 * The new version is streamed to a temp file in the same directory, fsynced and renamed over the
 * target; the old version is hard-linked into the backups folder first (O(1), no copy), falling
 * back to a copy across file systems.
 *
 * What sits at the store path is not trusted blindly: it is looked at with `lstat`, a file (or a
 * symlink's target) owned by another user is refused, the new version is always 0600 (no mode or
 * owner is carried over from the old file), and a symlink to a file of this user is followed: its
 * target is replaced atomically in its own folder and the link stays a link. The backups folder,
 * the temp files and the folders written into get the same care.
 */
import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { chmod, copyFile, link, lstat, mkdir, open, readdir, readlink, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StoreError } from '../errors.js';

export const BACKUPS_KEPT = 10;

/** Store files, backups and temp files: readable and writable by their owner only. */
export const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

const POSIX = process.platform !== 'win32';

const codeOf = (e: unknown): string | undefined => (e as NodeJS.ErrnoException).code;

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8)}`;

/** Stats of `path` without following a final symlink; undefined when nothing is there. */
async function lstatOrNone(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Refuse what another user owns: writing it would keep their mode and content (their api keys),
 * or hand them the cookies. Root is no exception (that is the case that matters: a cron job).
 */
function assertOwn(st: Stats, path: string, what: string): void {
  const uid = process.getuid?.();
  if (uid === undefined || st.uid === uid) return;
  throw new StoreError(
    `refusing to write ${what} ${path}: it is owned by uid ${st.uid}, not by this user (uid ${uid})`,
    `a file someone else controls may hold their keys or expose yours; check who created it, then \`chown ${uid} ${path}\`, or run cookie-pool as its owner`,
  );
}

/**
 * A folder that every user may write into, without the sticky bit, lets anyone replace the store
 * files between our check and our rename: no write there is safe. (Group-writable folders are
 * warned about on every command instead: a shared group is a deliberate set-up.)
 */
async function assertSafeFolder(dir: string): Promise<void> {
  if (!POSIX) return;
  let st: Stats;
  try {
    st = await stat(dir);
  } catch (e) {
    if (codeOf(e) === 'ENOENT') return; // created private by the write
    throw e;
  }
  if ((st.mode & 0o002) !== 0 && (st.mode & 0o1000) === 0) {
    throw new StoreError(
      `refusing to write into ${dir}: the folder is writable by every user (mode ${octal(st.mode)}), so anyone could replace the store files`,
      `chmod 700 ${dir}`,
    );
  }
}

/** Where a write to `file` goes: the file itself, or the regular file a symlink at `file` points to. */
export interface WriteTarget {
  /** The path that is replaced (a symlink's final target). */
  path: string;
  exists: boolean;
}

/**
 * Look at what sits at `file` (lstat): nothing (a new file), a regular file of this user, or a
 * symlink of this user to a regular file of this user. Anything else is refused (StoreError, exit 2).
 */
export async function writeTarget(file: string): Promise<WriteTarget> {
  const st = await lstatOrNone(file);
  if (!st) return { path: file, exists: false };
  if (st.isSymbolicLink()) {
    assertOwn(st, file, 'through the symlink');
    let real: string;
    try {
      real = await realpath(file);
    } catch (e) {
      if (codeOf(e) !== 'ENOENT') throw e;
      throw new StoreError(
        `${file} is a symlink to ${await readlink(file)}, which does not exist`,
        'create the file it points to (an empty store is `{}`, an empty invalid list `[]`), or replace the link with a file',
      );
    }
    const target = await stat(real);
    if (!target.isFile()) throw new StoreError(`${file} is a symlink to ${real}, which is not a regular file`);
    assertOwn(target, real, `the target of ${file},`);
    return { path: real, exists: true };
  }
  if (!st.isFile()) throw new StoreError(`${file} is not a regular file`, 'move it away: the store files are plain JSON files');
  assertOwn(st, file, 'the store file');
  return { path: file, exists: true };
}

/**
 * Everything a write to `file` would refuse, checked before anything is written: a caller that
 * writes several files checks them all first, so a refusal never leaves half of a change behind.
 */
export async function checkWritable(file: string): Promise<WriteTarget> {
  const target = await writeTarget(file);
  await assertSafeFolder(dirname(target.path));
  return target;
}

/**
 * A private folder of ours at `dir` (created 0700 when absent). A symlink there is refused: the
 * backups are pruned by deleting files, which must never happen wherever a link points.
 */
export async function ensurePrivateDir(dir: string, what = 'folder'): Promise<void> {
  await mkdir(dirname(dir), { recursive: true, mode: DIR_MODE });
  try {
    // Not recursive: a link (even a dangling one) at `dir` is left as it is, and refused below.
    await mkdir(dir, { mode: DIR_MODE });
  } catch (e) {
    if (codeOf(e) !== 'EEXIST') throw e;
  }
  const st = await lstat(dir);
  if (st.isSymbolicLink()) {
    throw new StoreError(
      `refusing to use the ${what} ${dir}: it is a symlink (to ${await readlink(dir)})`,
      `replace it with a folder of its own: mv ${dir} ${dir}.link && mkdir -m 700 ${dir}`,
    );
  }
  if (!st.isDirectory()) throw new StoreError(`the ${what} ${dir} is not a folder`, `move it away; cookie-pool creates the folder itself`);
  if (process.getuid && st.uid !== process.getuid()) {
    throw new StoreError(
      `refusing to use the ${what} ${dir}: it is owned by uid ${st.uid}, not by this user (uid ${process.getuid()})`,
      `remove it if nothing of that user needs it; cookie-pool creates the folder itself`,
    );
  }
  if (POSIX && (st.mode & 0o077) !== 0) await chmod(dir, DIR_MODE);
}

/**
 * Keep the current version of `file` in `backupDir` and prune to the last BACKUPS_KEPT. Backups
 * are named after `file` (the link's name when it is a symlink) and hold its target's content.
 */
export async function backup(file: string, backupDir: string, kept = BACKUPS_KEPT): Promise<void> {
  const target = await writeTarget(file);
  if (!target.exists) return;
  await ensurePrivateDir(backupDir, 'backups folder');
  const name = basename(file);
  // Sortable, unique even for several writes within one millisecond.
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const suffix = `${process.pid}-${process.hrtime.bigint().toString(36)}`;
  const dest = join(backupDir, `${name}.${stamp}.${suffix}`);
  try {
    await link(target.path, dest);
  } catch (e) {
    const code = codeOf(e);
    if (code !== 'EXDEV' && code !== 'EPERM' && code !== 'ENOTSUP') throw e;
    await copyFile(target.path, dest, constants.COPYFILE_EXCL);
  }
  // A hard link shares the old file's mode, which may have been 0644: the backup holds cookies
  // just the same. (The live file is replaced by a 0600 one right after.)
  await chmod(dest, FILE_MODE);
  const mine = (await readdir(backupDir)).filter((f) => f.startsWith(`${name}.`)).sort();
  for (const old of mine.slice(0, Math.max(0, mine.length - kept))) {
    const path = join(backupDir, old);
    // unlink never follows a link, and a folder is not ours to remove.
    const st = await lstatOrNone(path);
    if (st && !st.isDirectory()) await unlink(path).catch(() => undefined);
  }
}

/** Temp files of a write to `file` live beside it: `.api_keys.json.<pid>.<random>.tmp`. */
function tempName(file: string): string {
  return join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Remove temp files left beside `file` (beside its target, when it is a symlink) by a writer that
 * was killed mid-write. Call only while holding the store lock (no live writer can own them
 * then). Only regular files of this user are removed.
 */
export async function removeStaleTemps(file: string): Promise<void> {
  let path = file;
  try {
    path = await realpath(file);
  } catch {
    // Absent (or a dangling link, refused by the write): its own folder is the one to look in.
  }
  const dir = dirname(path);
  const prefix = `.${basename(path)}.`;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  const uid = process.getuid?.();
  for (const n of names) {
    if (!n.startsWith(prefix) || !n.endsWith('.tmp')) continue;
    const st = await lstatOrNone(join(dir, n));
    if (st?.isFile() && (uid === undefined || st.uid === uid)) await unlink(join(dir, n)).catch(() => undefined);
  }
}

/**
 * Replace `file` atomically with the concatenated `chunks`: write a temp file in the same
 * directory, fsync it, rename it over the target, fsync the directory. Readers see the old or
 * the new version, never a mix. The new version is 0600 and owned by this user, whatever was
 * there before; a symlink of this user to a file of this user is kept, and its target replaced.
 * The content is streamed, so a large store is never held as one string or Buffer.
 * (write-file-atomic does the same for whole strings only.)
 */
export async function writeAtomic(file: string, chunks: Iterable<string>): Promise<void> {
  // A data dir created here is private like the files in it (an existing one keeps its mode).
  await mkdir(dirname(file), { recursive: true, mode: DIR_MODE });
  const target = await checkWritable(file);
  const dir = dirname(target.path);
  const tmp = tempName(target.path);
  // 'wx' (O_CREAT|O_EXCL) never opens an existing file or follows a planted link.
  const fh = await open(tmp, 'wx', FILE_MODE);
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
    await fh.chmod(FILE_MODE); // whatever the umask left
    await fh.sync();
    await fh.close();
    await rename(tmp, target.path);
  } catch (e) {
    await fh.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  // Make the rename itself durable (best effort: not every file system lets a directory be synced).
  try {
    const d = await open(dir, 'r');
    await d.sync().finally(() => d.close());
  } catch {
    /* ignore */
  }
}
