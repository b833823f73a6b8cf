/**
 * The `token-file` backend (SPEC §9.2): cursor-api's `.token` and `.token-list` on this machine.
 *
 * An update holds the store lock (the data dir's, for the invalid list) and a lock beside
 * `.token` (two cookie-pool processes with different data dirs still serialise on the same token
 * files), reads both texts, decides, and writes what changed atomically with backups: the invalid
 * list first, then `.token`, then `.token-list`. Only then, with no lock held, it asks cursor-api
 * to reload (`GET $CURSOR_API_URL/update-tokeninfo`) when CURSOR_API_URL is set; a failed reload
 * is a problem of the result (exit 3), the files stay written.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { applyTokenEdit } from '../core/token-text.js';
import { envString, type Env } from '../config.js';
import { StoreError } from '../errors.js';
import { writePoolFile } from './keystore.js';
import type { OpenOptions } from './open.js';
import type { Applied, Decide, Pool, PoolDescription, Snapshot } from './pool.js';
import {
  cursorApiBase,
  displayUrl,
  endpoint,
  LocalInvalidList,
  nextInvalid,
  planTokenChange,
  reloadCursorApi,
  tokenSnapshot,
  type TokenTexts,
} from './token-shared.js';

export interface TokenFilePaths {
  tokenFile: string;
  tokenListFile: string;
}

/** `TOKEN_FILE` and `TOKEN_LIST_FILE`, relative to the working dir as cursor-api resolves them. */
export function tokenFilePaths(env: Env, cwd = process.cwd()): TokenFilePaths {
  return {
    tokenFile: resolve(cwd, envString(env, 'TOKEN_FILE', '.token')),
    tokenListFile: resolve(cwd, envString(env, 'TOKEN_LIST_FILE', '.token-list')),
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A token file's text: '' when it does not exist (cursor-api creates both files empty). A file
 * that cannot be read, or holds binary data, is StoreError (exit 2) naming it and its variable.
 */
export async function readTokenTextFile(file: string, variable: string): Promise<{ text: string; exists: boolean }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { text: '', exists: false };
    if (code === 'EISDIR') throw new StoreError(`${file} (${variable}): is a directory, expected cursor-api's token file`);
    throw new StoreError(`${file} (${variable}): cannot be read (${code ?? (e as Error).message})`, `give your user read and write access to it, or set ${variable}`);
  }
  const binary = (why: string) =>
    new StoreError(`${file} (${variable}): ${why}, not cursor-api's text token file; it is left untouched`, `point ${variable} at cursor-api's token file`);
  if (bytes.includes(0)) throw binary('binary content (NUL bytes)');
  try {
    return { text: utf8.decode(bytes), exists: true };
  } catch {
    throw binary('not UTF-8 text');
  }
}

class TokenFilePool implements Pool {
  readonly backend = 'token-file' as const;
  readonly multiKey = false;
  readonly keepsLabels = true;
  private readonly tokenLockPath: string;

  constructor(
    readonly paths: TokenFilePaths,
    private readonly invalid: LocalInvalidList,
    private readonly reloadBase: URL | undefined,
  ) {
    this.tokenLockPath = `${paths.tokenFile}.lock`;
  }

  describe(): PoolDescription {
    return {
      backend: 'token-file',
      where: this.paths.tokenFile,
      details: [
        `.token: ${this.paths.tokenFile}`,
        `.token-list: ${this.paths.tokenListFile}`,
        `invalid list: ${this.invalid.file}`,
        this.reloadBase
          ? `reload after a write: GET ${displayUrl(endpoint(this.reloadBase, 'update-tokeninfo'))}`
          : 'reload: CURSOR_API_URL not set, cursor-api serves a change once it reloads or restarts',
      ],
    };
  }

  private async readTexts(): Promise<TokenTexts> {
    const tokens = await readTokenTextFile(this.paths.tokenFile, 'TOKEN_FILE');
    const tokenList = await readTokenTextFile(this.paths.tokenListFile, 'TOKEN_LIST_FILE');
    return { tokens: tokens.text, tokenList: tokenList.text };
  }

  private names() {
    return { token: this.paths.tokenFile, list: this.paths.tokenListFile };
  }

  async read(): Promise<Snapshot> {
    const texts = await this.readTexts();
    return tokenSnapshot(texts, await this.invalid.read(), this.names());
  }

  async update<T>(decide: Decide<T>): Promise<Applied<T>> {
    const { withLock } = await import('./lock.js');
    const done = await withLock(this.invalid.lockPath, { wait: true }, () =>
      withLock(this.tokenLockPath, { wait: true }, async () => {
        const texts = await this.readTexts();
        const invalid = await this.invalid.read();
        const snapshot = tokenSnapshot(texts, invalid, this.names());
        const change = await decide(snapshot);
        const plan = planTokenChange(snapshot, change, this.backend);
        const edited = applyTokenEdit(texts.tokens, texts.tokenList, plan.edit);
        // Invalid list first: a crash in between duplicates a cookie rather than losing it.
        const invalidNext = nextInvalid(invalid, plan);
        if (invalidNext) await this.invalid.write(invalidNext);
        if (edited.tokensChanged) await writePoolFile(this.paths.tokenFile, [edited.tokens]);
        if (edited.tokenListChanged) await writePoolFile(this.paths.tokenListFile, [edited.tokenList]);
        return { result: change.result, wrote: edited.tokensChanged || edited.tokenListChanged };
      }),
    );
    const applied: Applied<T> = { result: done.result, dropped: [], problems: [] };
    if (done.wrote && this.reloadBase) {
      const problem = await reloadCursorApi(this.reloadBase);
      if (problem) applied.problems.push(problem);
    }
    return applied;
  }
}

export function openTokenFilePool(opts: OpenOptions): Pool {
  return new TokenFilePool(tokenFilePaths(opts.env), new LocalInvalidList(opts.env, opts.dataDirFlag), cursorApiBase(opts.env));
}
