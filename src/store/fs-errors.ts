/**
 * File-system errors of the key store as configuration errors (exit 2) that name the path and
 * the fix, worded like `doctor`'s checks: a file where the data dir should be, a folder named
 * like a store file, a folder cookie-pool may not write. Other errors pass through unchanged.
 */
import { stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { StoreError } from '../errors.js';

const NOT_A_FOLDER = new Set(['ENOTDIR', 'EEXIST']);
const NO_ACCESS = new Set(['EACCES', 'EPERM']);

function errnoOf(e: unknown): NodeJS.ErrnoException | undefined {
  return e instanceof Error && typeof (e as NodeJS.ErrnoException).code === 'string' && typeof (e as NodeJS.ErrnoException).syscall === 'string'
    ? (e as NodeJS.ErrnoException)
    : undefined;
}

/** The nearest existing ancestor of `path` (itself included) when it is not a folder. */
async function fileInTheWay(path: string): Promise<string | undefined> {
  for (let p = path; ; p = dirname(p)) {
    try {
      return (await stat(p)).isDirectory() ? undefined : p;
    } catch {
      if (dirname(p) === p) return undefined;
    }
  }
}

/**
 * `e` as a StoreError naming the path and the fix when it is a configuration problem of the store
 * (`file` is the store file being read or written); otherwise `e` itself.
 */
export async function storeFsError(e: unknown, file: string, writing: boolean): Promise<unknown> {
  const err = errnoOf(e);
  if (!err) return e;
  const path = err.path ?? file;
  const code = err.code!;
  if (code === 'EISDIR') {
    return new StoreError(`${path}: is a directory, expected a JSON file`, `remove or rename that folder, or point API_KEYS_FILE / INVALID_COOKIES_FILE elsewhere`);
  }
  if (NOT_A_FOLDER.has(code)) {
    const culprit = await fileInTheWay(path);
    if (culprit === undefined) return e;
    return new StoreError(
      `${culprit}: is a file, expected the folder of the key store`,
      'point DATA_DIR (or --data-dir, API_KEYS_FILE, INVALID_COOKIES_FILE) at a folder, or move that file away',
    );
  }
  if (NO_ACCESS.has(code) || code === 'EROFS') {
    if (!writing) return new StoreError(`${path}: cannot be read (${code})`, `give your user read and write access: chmod 600 ${path}`);
    // The path is what could not be created: a temp file, the lock, the backups folder, the data
    // dir itself; its folder is the one that needs write access.
    return cannotWriteIn(dirname(path), code, basename(path));
  }
  return e;
}

/** cookie-pool may not create files in `folder` (EACCES, EPERM, EROFS): exit 2 with the fix. */
export function cannotWriteIn(folder: string, code: string, creating?: string): StoreError {
  const why = code === 'EROFS' ? 'read-only file system' : code;
  return new StoreError(
    `cannot write in ${folder} (${why}${creating ? `, creating ${creating}` : ''})`,
    code === 'EROFS'
      ? 'point DATA_DIR (or --data-dir) at a writable folder'
      : `run as the user that owns the store, or give it write access (chmod u+rwx ${folder})`,
  );
}
