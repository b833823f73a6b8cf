/**
 * Where the pool lives (SPEC §9): one interface, several backends. Every service reads the pool
 * as a Snapshot and changes it with a pure `decide` (src/core, src/services/pool.ts) that returns
 * the Change to make; each backend applies that Change its own way:
 *
 * - `file`: the two JSON files of SPEC §1, under the store lock, atomically (src/store/keystore.ts);
 * - `proxy`: a running Cursor-To-OpenAI proxy through its admin API (src/store/proxy.ts);
 * - `token-file`, `token-api`: cursor-api's `.token` / `.token-list` (src/store/token-*.ts).
 *
 * Backends other than `file` apply a Change as a diff (src/core/pool-diff.ts): what the plan
 * added and removed, applied to the pool as it is at write time.
 */
import type { KeyMap } from '../core/key-map.js';

export type BackendName = 'file' | 'proxy' | 'token-file' | 'token-api';
export const BACKENDS: readonly BackendName[] = ['file', 'proxy', 'token-file', 'token-api'];

export interface Snapshot {
  keys: KeyMap;
  invalid: string[];
  /** Lines of the pool's own text that its server skips (cursor-api's token files): reported by `status`. */
  ignored?: IgnoredLine[];
}

/** A line the pool's server does not serve as written (a `.token` line with two `::`, a bad `.token-list` line). */
export interface IgnoredLine {
  /** The file, as the backend knows it (a local path, or the remote file's name). */
  file: string;
  /** 1-based. */
  line: number;
  /** The line as written: it may hold a cookie, so mask it before display. */
  text: string;
  reason: string;
}

/** What an update wants written; omit a part (or return it unchanged) for "unchanged". */
export interface Change<T> {
  keys?: KeyMap;
  invalid?: string[];
  /**
   * Optional labels for new cookies, by identity (the account's email from the artifact): the
   * token backends write them as the cookie's alias. Other backends ignore them.
   */
  labels?: ReadonlyMap<string, string>;
  result: T;
}

/** The decision of an update: sees the pool as it is at that moment; must not wait on the network. */
export type Decide<T> = (snapshot: Snapshot) => Change<T> | Promise<Change<T>>;

/** What an update did, beyond the decision's own result. */
export interface Applied<T> {
  result: T;
  /**
   * Cookies the plan added that the backend did not keep (the proxy silently drops values in its
   * own invalid set): named in the output, exit 3.
   */
  dropped: string[];
  /** Things that went wrong after the pool was written (a failed cursor-api reload): exit 3. */
  problems: string[];
}

export interface PoolDescription {
  backend: BackendName;
  /** Where the pool is, for messages: a file path, a URL without credentials. Never a secret. */
  where: string;
  /** Lines for `--verbose` and `doctor` (no secrets). */
  details: string[];
}

export interface Pool {
  readonly backend: BackendName;
  /** False where the backend has one pool (cursor-api): creating or removing api keys is exit 2. */
  readonly multiKey: boolean;
  /**
   * Whether the backend writes labels (Change.labels: the token backends). Where it does not, a
   * harvest need not look for the e-mail beside each cookie.
   */
  readonly keepsLabels: boolean;
  describe(): PoolDescription;
  read(): Promise<Snapshot>;
  /** Read, decide, write. Throws CliError on failure (naming what was already written). */
  update<T>(decide: Decide<T>): Promise<Applied<T>>;
}

/** The exit code a successful update implies: 3 when the backend dropped cookies or a later step failed. */
export function appliedExitCode(applied: Applied<unknown>): 0 | 3 {
  return applied.dropped.length || applied.problems.length ? 3 : 0;
}
