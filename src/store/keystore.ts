/**
 * The key store of SPEC §1: `api_keys.json` and `invalid_cookies.json`.
 *
 * Reads need no lock (files are only ever replaced by rename). Every change is a
 * read-modify-write under the store lock, held only for that; the invalid list is written
 * before the keys, so a crash between the two writes can duplicate a cookie but never lose one.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { KeyMap } from '../core/merge.js';
import { parseInvalid, parseKeys, serialize } from './format.js';
import { withLock } from './lock.js';

export interface StorePaths {
  dataDir: string;
  keysFile: string;
  invalidFile: string;
}

export interface Snapshot {
  keys: KeyMap;
  invalid: string[];
}

/** What an update wants written; omit (or return the same object) for "unchanged". */
export interface Change<T> {
  keys?: KeyMap;
  invalid?: string[];
  result: T;
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

export class KeyStore {
  readonly backupDir: string;
  readonly lockPath: string;

  constructor(readonly paths: StorePaths) {
    this.backupDir = join(paths.dataDir, '.backups');
    this.lockPath = join(paths.dataDir, '.store.lock');
  }

  private async readRaw(): Promise<{ snapshot: Snapshot; keysText?: string; invalidText?: string }> {
    const [keysText, invalidText] = await Promise.all([readText(this.paths.keysFile), readText(this.paths.invalidFile)]);
    return {
      snapshot: {
        keys: keysText === undefined ? {} : parseKeys(keysText, this.paths.keysFile),
        invalid: invalidText === undefined ? [] : parseInvalid(invalidText, this.paths.invalidFile),
      },
      keysText,
      invalidText,
    };
  }

  /** Read both files (missing files read as empty). Throws StoreError (exit 2) on a corrupt file. */
  async read(): Promise<Snapshot> {
    return (await this.readRaw()).snapshot;
  }

  /**
   * Read-modify-write under the store lock. `decide` sees the store as it is at that moment and
   * must not wait on the network. Files whose serialisation is unchanged are not rewritten.
   */
  async update<T>(decide: (snapshot: Snapshot) => Change<T> | Promise<Change<T>>): Promise<T> {
    return withLock(this.lockPath, { wait: true }, async () => {
      const { snapshot, keysText, invalidText } = await this.readRaw();
      const change = await decide(snapshot);
      const writes: [string, string][] = [];
      // Invalid list first: a crash in between duplicates a cookie rather than losing it.
      if (change.invalid && change.invalid !== snapshot.invalid) {
        const text = serialize(change.invalid);
        if (text !== invalidText) writes.push([this.paths.invalidFile, text]);
      }
      if (change.keys && change.keys !== snapshot.keys) {
        const text = serialize(change.keys);
        if (text !== keysText) writes.push([this.paths.keysFile, text]);
      }
      // The writer loads only when there is something to write (read-only commands start faster).
      const { backup, writeAtomic } = writes.length ? await import('./atomic.js') : ({} as typeof import('./atomic.js'));
      for (const [file, text] of writes) {
        await backup(file, this.backupDir);
        await writeAtomic(file, text);
      }
      return change.result;
    });
  }
}
