/**
 * The key store of SPEC §1: `api_keys.json` and `invalid_cookies.json`.
 *
 * Reads need no lock (files are only ever replaced by rename). Every change is a
 * read-modify-write under the store lock, held only for that; a file is rewritten only when its
 * content changed (never just to reformat it), and the invalid list is written before the keys, so a crash between the two writes can duplicate a cookie but never lose one.
 *
 * The lock and the backups live beside the files, not in `$DATA_DIR`: with `API_KEYS_FILE` or
 * `INVALID_COOKIES_FILE` pointing elsewhere, processes started from different folders (each
 * with its own `./data`) still share the lock of the files they share.
 */
import { isAscii } from 'node:buffer';
import { constants, readFileSync } from 'node:fs';
import { access, mkdir, realpath, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { newKeyMap, type KeyMap } from '../core/key-map.js';
import { isPlainAscii } from '../core/plain-json.js';
import { parseInvalid, parseKeys, PLAIN_READ_MIN_CHARS, sameKeys, sameList, serializeChunks } from './format.js';
import { cannotWriteIn, storeFsError } from './fs-errors.js';
import type { Applied, Decide, Pool, PoolDescription, Snapshot } from './pool.js';

export type { Change, Snapshot } from './pool.js';

export interface StorePaths {
  dataDir: string;
  keysFile: string;
  invalidFile: string;
}

export interface KeyStoreOptions {
  /**
   * A notice for the user (stderr, silenced by --quiet): said once when an update has waited
   * about a second for the store lock, naming what it waits for.
   */
  notice?: (line: string) => void;
}

/** The store lock of the files in `folder`. */
export const lockPathIn = (folder: string): string => join(folder, '.store.lock');
/** Where the previous versions of `file` are kept. */
export const backupDirOf = (file: string): string => join(dirname(file), '.backups');

/** How long an update waits for the lock before saying so. */
const WAIT_NOTICE_MS = 1000;

/**
 * The lock paths by their folders' real paths (a folder not there yet: its path as given), once
 * each: two names of one folder (a symbolic link) are one lock, not two taken one after the other.
 */
async function sortByRealPath(paths: readonly string[]): Promise<string[]> {
  if (paths.length < 2) return [...paths];
  const byReal = new Map<string, string>();
  for (const p of paths) {
    const real = await realpath(dirname(p)).then((d) => lockPathIn(d), () => p);
    if (!byReal.has(real)) byReal.set(real, p);
  }
  return [...byReal.keys()].sort().map((r) => byReal.get(r)!);
}

/** Create `folder` if needed (private, as the store files) and check cookie-pool may create files in it. */
async function writableFolder(folder: string): Promise<void> {
  await mkdir(folder, { recursive: true, mode: 0o700 });
  try {
    await access(folder, constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw cannotWriteIn(folder, code);
    throw e;
  }
}

/** A store file's text, and whether it is plain (see isPlainAscii; looked at in large files only). */
export interface StoreText {
  text: string;
  plain: boolean;
}

/** A store file's text; undefined when it does not exist. */
export async function readText(file: string): Promise<StoreText | undefined> {
  try {
    // Read as bytes, then decoded once: an ASCII store (cookies are ASCII) becomes a latin1 string,
    // which Node keeps outside the V8 heap, so the 40 MB text of a large store is freed as soon
    // as it is parsed instead of waiting in the heap for a full GC (issue 12 #5, peak RSS).
    // readFileSync: one buffer of the file's size; the fs/promises reads measured 40 MB more at
    // peak, and readFile(file, 'utf8') decoded in 512 KiB pieces joined into one heap string.
    const buf = readFileSync(file);
    if (!isAscii(buf)) return { text: buf.toString('utf8'), plain: false };
    // A large file is checked for the plain reader here, on its bytes (faster than on its text).
    return { text: buf.toString('latin1'), plain: buf.length >= PLAIN_READ_MIN_CHARS && isPlainAscii(buf) };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The invalid list (SPEC §1): a missing file reads as empty; a corrupt one throws StoreError (exit 2). */
export async function readInvalidList(file: string): Promise<string[]> {
  let read: StoreText | undefined;
  try {
    read = await readText(file);
  } catch (e) {
    throw await storeFsError(e, file, false);
  }
  return read === undefined ? [] : parseInvalid(read.text, file, read);
}

/**
 * Replace a file of the pool atomically, its previous version kept beside it in `.backups/`
 * (SPEC §1). Call under the store lock. The writer loads on the first write only (read-only
 * commands start faster).
 */
export async function writePoolFile(file: string, chunks: Iterable<string>): Promise<void> {
  const { backup, checkWritable, removeStaleTemps, writeAtomic } = await import('./atomic.js');
  await checkWritable(file);
  await removeStaleTemps(file);
  await backup(file, backupDirOf(file));
  await writeAtomic(file, chunks);
}

/** The `file` backend (SPEC §1, §9): the two JSON files the proxy reads. */
export class KeyStore implements Pool {
  readonly backend = 'file' as const;
  readonly multiKey = true;
  readonly keepsLabels = false;
  /** The backups of the keys file (those of the invalid list are beside it: backupDirOf). */
  readonly backupDir: string;
  /** The lock beside the keys file. */
  readonly lockPath: string;
  /** Every lock an update takes: one in the folder of each store file. */
  readonly lockPaths: string[];

  /**
   * Runs under the lock before anything is written (the running-proxy guard of SPEC §9.1 plugs
   * in here); throwing stops the write with the store untouched.
   */
  beforeWrite?: () => Promise<void>;

  constructor(
    readonly paths: StorePaths,
    private readonly opts: KeyStoreOptions = {},
  ) {
    this.backupDir = backupDirOf(paths.keysFile);
    this.lockPath = lockPathIn(dirname(paths.keysFile));
    this.lockPaths = [...new Set([this.lockPath, lockPathIn(dirname(paths.invalidFile))])];
  }

  describe(): PoolDescription {
    const backups = [...new Set([this.backupDir, backupDirOf(this.paths.invalidFile)])];
    return {
      backend: 'file',
      where: this.paths.keysFile,
      details: [`keys: ${this.paths.keysFile}`, `invalid list: ${this.paths.invalidFile}`, `backups: ${backups.join(', ')}`],
    };
  }

  /**
   * Read both files (missing files read as empty); throws StoreError (exit 2) on a corrupt file.
   * One file at a time, so only one file's text is in memory at once.
   */
  async read(): Promise<Snapshot> {
    const keysRead = await this.readFile(this.paths.keysFile);
    const keys = keysRead === undefined ? newKeyMap() : parseKeys(keysRead.text, this.paths.keysFile, keysRead);
    const invalidRead = await this.readFile(this.paths.invalidFile);
    const invalid = invalidRead === undefined ? [] : parseInvalid(invalidRead.text, this.paths.invalidFile, invalidRead);
    return { keys, invalid };
  }

  /** A store file's text (undefined when absent); a misconfigured path is exit 2 naming the fix. */
  private async readFile(file: string): Promise<StoreText | undefined> {
    try {
      return await readText(file);
    } catch (e) {
      throw await storeFsError(e, file, false);
    }
  }

  /**
   * Read-modify-write under the store lock. `decide` sees the store as it is at that moment and
   * must not wait on the network. Files whose content is unchanged are not rewritten.
   */
  async update<T>(decide: Decide<T>): Promise<Applied<T>> {
    let writing = this.paths.keysFile;
    try {
      return await this.withStoreLocks(async () => {
        const snapshot = await this.read();
        const change = await decide(snapshot);
        // Each with the value it was read as (cookies kept are written from the text they were read from).
        const writes: [string, KeyMap | string[], KeyMap | string[]][] = [];
        // Invalid list first: a crash in between duplicates a cookie rather than losing it.
        if (change.invalid && !sameList(change.invalid, snapshot.invalid)) writes.push([this.paths.invalidFile, change.invalid, snapshot.invalid]);
        if (change.keys && !sameKeys(change.keys, snapshot.keys)) writes.push([this.paths.keysFile, change.keys, snapshot.keys]);
        const applied: Applied<T> = { result: change.result, dropped: [], problems: [] };
        if (writes.length === 0) return applied;
        await this.beforeWrite?.();
        // A file that may not be written (another user's, a bad link) stops the change before any file is written.
        const { checkWritable } = await import('./atomic.js');
        for (const [file] of writes) await checkWritable(file);
        for (const [file, value, previous] of writes) {
          writing = file;
          await writePoolFile(file, serializeChunks(value, previous));
        }
        return applied;
      });
    } catch (e) {
      throw await storeFsError(e, writing, true);
    }
  }

  /**
   * Run `fn` holding the lock of every folder holding a store file, taken in one order (by real
   * path) so two processes sharing two folders cannot each hold one and wait for the other.
   * After about a second of waiting, says once what it waits for.
   */
  private async withStoreLocks<T>(fn: () => Promise<T>): Promise<T> {
    // The lock module loads on the first update only: read-only commands start faster.
    const { acquireLock, DEFAULT_STALE_MS } = await import('./lock.js');
    const ordered = await sortByRealPath(this.lockPaths);
    // A folder that cannot hold the lock is a configuration error to report now, not after the
    // lock's ~40 s of retries.
    for (const lock of ordered) await writableFolder(dirname(lock));
    let waitingOn: string | undefined;
    // Checked each second: said once, and only while another holder's lock is really there.
    let notice: 'not yet' | 'asking' | 'said' = 'not yet';
    const timer = setInterval(() => {
      if (waitingOn === undefined || notice !== 'not yet') return;
      notice = 'asking';
      void this.waitNotice(waitingOn, DEFAULT_STALE_MS).then((said) => (notice = said ? 'said' : 'not yet'));
    }, WAIT_NOTICE_MS);
    timer.unref();
    const releases: (() => Promise<void>)[] = [];
    try {
      for (const lock of ordered) {
        waitingOn = lock;
        releases.push(await acquireLock(lock, { wait: true }));
      }
      waitingOn = undefined;
      clearInterval(timer);
      return await fn();
    } finally {
      clearInterval(timer);
      for (const release of releases.reverse()) await release();
    }
  }

  /**
   * The notice of a long wait, when the lock is there: held by a live writer, or left by one that
   * stopped. Returns whether it was said.
   */
  private async waitNotice(lock: string, staleMs: number): Promise<boolean> {
    if (!this.opts.notice) return true;
    let age: number;
    try {
      age = Date.now() - (await stat(lock)).mtimeMs;
    } catch {
      return false; // Released meanwhile, or never there: not waiting on anyone.
    }
    const staleSec = Math.round(staleMs / 1000);
    // A live holder refreshes the lock's mtime every staleMs/2; older than that, it has stopped.
    const why =
      age > staleMs / 2 + 1000
        ? `it looks left behind by a stopped process (untouched for ${Math.floor(age / 1000)} s) and is taken over once ${staleSec} s old`
        : 'another cookie-pool process is changing the store';
    this.opts.notice(`waiting for the store lock ${lock}: ${why}…`);
    return true;
  }
}
