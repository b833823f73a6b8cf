/**
 * The key store of SPEC §1: `api_keys.json` and `invalid_cookies.json`.
 *
 * Reads need no lock (files are only ever replaced by rename). Every change is a
 * read-modify-write under the store lock, held only for that; a file is rewritten only when its
 * content changed (never just to reformat it), and the invalid list is written before the keys, so a crash between the two writes can duplicate a cookie but never lose one.
 */
import { isAscii } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KeyMap } from '../core/merge.js';
import { parseInvalid, parseKeys, sameKeys, sameList, serializeChunks } from './format.js';
import type { Applied, Decide, Pool, PoolDescription, Snapshot } from './pool.js';

export type { Change, Snapshot } from './pool.js';

export interface StorePaths {
  dataDir: string;
  keysFile: string;
  invalidFile: string;
}


async function readText(file: string): Promise<string | undefined> {
  try {
    // Read as bytes, then decoded once: an ASCII store (cookies are ASCII) becomes a latin1 string,
    // which Node keeps outside the V8 heap, so the 40 MB text of a large store is freed as soon
    // as it is parsed instead of waiting in the heap for a full GC (issue 12 #5, peak RSS).
    // readFileSync: one buffer of the file's size; the fs/promises reads measured 40 MB more at
    // peak, and readFile(file, 'utf8') decoded in 512 KiB pieces joined into one heap string.
    const buf = readFileSync(file);
    return isAscii(buf) ? buf.toString('latin1') : buf.toString('utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** The `file` backend (SPEC §1, §9): the two JSON files the proxy reads. */
export class KeyStore implements Pool {
  readonly backend = 'file' as const;
  readonly multiKey = true;
  readonly backupDir: string;
  readonly lockPath: string;

  /**
   * Runs under the lock before anything is written (the running-proxy guard of SPEC §9.1 plugs
   * in here); throwing stops the write with the store untouched.
   */
  beforeWrite?: () => Promise<void>;

  constructor(readonly paths: StorePaths) {
    this.backupDir = join(paths.dataDir, '.backups');
    this.lockPath = join(paths.dataDir, '.store.lock');
  }

  describe(): PoolDescription {
    return {
      backend: 'file',
      where: this.paths.keysFile,
      details: [`keys: ${this.paths.keysFile}`, `invalid list: ${this.paths.invalidFile}`, `backups: ${this.backupDir}`],
    };
  }

  /**
   * Read both files (missing files read as empty); throws StoreError (exit 2) on a corrupt file.
   * One file at a time, so only one file's text is in memory at once.
   */
  async read(): Promise<Snapshot> {
    const keysText = await readText(this.paths.keysFile);
    const keys = keysText === undefined ? {} : parseKeys(keysText, this.paths.keysFile);
    const invalidText = await readText(this.paths.invalidFile);
    const invalid = invalidText === undefined ? [] : parseInvalid(invalidText, this.paths.invalidFile);
    return { keys, invalid };
  }

  /**
   * Read-modify-write under the store lock. `decide` sees the store as it is at that moment and
   * must not wait on the network. Files whose content is unchanged are not rewritten.
   */
  async update<T>(decide: Decide<T>): Promise<Applied<T>> {
    // The lock module loads on the first update only: read-only commands start faster.
    const { withLock } = await import('./lock.js');
    return withLock(this.lockPath, { wait: true }, async () => {
      const snapshot = await this.read();
      const change = await decide(snapshot);
      const writes: [string, KeyMap | string[]][] = [];
      // Invalid list first: a crash in between duplicates a cookie rather than losing it.
      if (change.invalid && !sameList(change.invalid, snapshot.invalid)) writes.push([this.paths.invalidFile, change.invalid]);
      if (change.keys && !sameKeys(change.keys, snapshot.keys)) writes.push([this.paths.keysFile, change.keys]);
      const applied: Applied<T> = { result: change.result, dropped: [], problems: [] };
      if (writes.length === 0) return applied;
      await this.beforeWrite?.();
      // The writer loads only when there is something to write (read-only commands start faster).
      const { backup, removeStaleTemps, writeAtomic } = await import('./atomic.js');
      for (const [file, value] of writes) {
        await removeStaleTemps(file);
        await backup(file, this.backupDir);
        await writeAtomic(file, serializeChunks(value));
      }
      return applied;
    });
  }
}
