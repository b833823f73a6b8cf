/**
 * What the `token-file` and `token-api` backends share (SPEC §9.2): the pool as one key
 * `default` over cursor-api's two texts, a Change turned into an edit of those texts, the local
 * invalid list, and cursor-api's HTTP endpoints.
 */
import { dirname } from 'node:path';
import { cookieIdentity } from '../core/cookie.js';
import { applyListDiff, diffPool } from '../core/pool-diff.js';
import { ignoredLines, parseTokenFiles, servedTokens, type TokenEdit } from '../core/token-text.js';
import { checkUrl, envString, storePaths, type Env } from '../config.js';
import { OperationalError, UsageError } from '../errors.js';
import { serializeChunks, sameList } from './format.js';
import { backupDirOf, lockPathIn, readInvalidList, writePoolFile } from './keystore.js';
import type { BackendName, Change, Snapshot } from './pool.js';

/** The one key a cursor-api pool is shown as. */
export const DEFAULT_KEY = 'default';

/** cursor-api's two texts. */
export interface TokenTexts {
  tokens: string;
  tokenList: string;
}

/** The pool as the commands see it: `{ default: [served tokens] }`, the invalid list, the lines cursor-api skips. */
export function tokenSnapshot(texts: TokenTexts, invalid: string[], names: { token: string; list: string }): Snapshot {
  const files = parseTokenFiles(texts.tokens, texts.tokenList);
  const ignored = ignoredLines(files).map((l) => ({ ...l, file: l.file === 'token' ? names.token : names.list }));
  return { keys: { [DEFAULT_KEY]: servedTokens(files) }, invalid, ...(ignored.length ? { ignored } : {}) };
}

export interface TokenPlan {
  /** What to do to the texts (empty when the pool itself does not change). */
  edit: TokenEdit;
  /** The invalid list's diff against the snapshot (applied to the list as it is when written). */
  invalidAdd: string[];
  invalidRemove: ReadonlySet<string>;
}

/**
 * A Change as an edit of cursor-api's texts. A change that creates or removes an api key is
 * exit 2 naming the backend: cursor-api has one pool.
 */
export function planTokenChange(snapshot: Snapshot, change: Change<unknown>, backend: BackendName): TokenPlan {
  const diff = diffPool(snapshot, change);
  const other = diff.keys.find((k) => k.apiKey !== DEFAULT_KEY) ?? (diff.removedKeys.length ? { apiKey: diff.removedKeys[0]! } : undefined);
  if (other) {
    const verb = diff.removedKeys.includes(other.apiKey) ? 'remove' : 'create';
    throw new UsageError(
      `cannot ${verb} api key "${other.apiKey}" on the ${backend} backend: cursor-api has one pool, shown as key "${DEFAULT_KEY}"`,
      `use --key ${DEFAULT_KEY} (or no --key), or the file or proxy backend for api keys (POOL_BACKEND / --backend)`,
    );
  }
  const keyDiff = diff.keys.find((k) => k.apiKey === DEFAULT_KEY);
  return {
    edit: { add: keyDiff?.add ?? [], remove: keyDiff?.remove ?? new Set(), ...(change.labels ? { labels: change.labels } : {}) },
    invalidAdd: diff.invalidAdd,
    invalidRemove: diff.invalidRemove,
  };
}

/** The invalid list after a plan, from the list as it is now (undefined: unchanged). */
export function nextInvalid(current: readonly string[], plan: TokenPlan): string[] | undefined {
  if (plan.invalidAdd.length === 0 && plan.invalidRemove.size === 0) return undefined;
  const out = applyListDiff(current, plan.invalidRemove, plan.invalidAdd);
  return sameList(out, current) ? undefined : out;
}

/** The local part of a cursor-api pool: `$DATA_DIR/invalid_cookies.json`, its backups and the store lock. */
export class LocalInvalidList {
  readonly file: string;
  readonly dataDir: string;
  readonly backupDir: string;
  readonly lockPath: string;

  constructor(env: Env, dataDirFlag: string | undefined) {
    const paths = storePaths(env, dataDirFlag);
    this.file = paths.invalidFile;
    this.dataDir = paths.dataDir;
    // Beside the file, as the file backend has them: both backends share this list's lock.
    this.backupDir = backupDirOf(this.file);
    this.lockPath = lockPathIn(dirname(this.file));
  }

  read(): Promise<string[]> {
    return readInvalidList(this.file);
  }

  /** Write the list (call under the store lock). */
  write(list: readonly string[]): Promise<void> {
    return writePoolFile(this.file, serializeChunks(list as string[]));
  }
}

// ───────────────────────────── cursor-api over HTTP ─────────────────────────────

/** Per request; a hosted Space can be slow to wake up. */
const REQUEST_TIMEOUT_MS = 30_000;

/** `CURSOR_API_URL` as a base for relative paths (a trailing `/` or none). */
export function cursorApiBase(env: Env): URL | undefined {
  const raw = envString(env, 'CURSOR_API_URL');
  if (raw === undefined) return undefined;
  // https, or http to a loopback host; no credentials in the URL (the shared URL rule).
  const url = checkUrl(raw, 'CURSOR_API_URL');
  if (!url.pathname.endsWith('/')) url.pathname += '/';
  url.search = '';
  url.hash = '';
  return url;
}

/** A URL for messages: no user name, password, query or fragment. */
export function displayUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

export function endpoint(base: URL, path: string): URL {
  return new URL(path.replace(/^\//, ''), base);
}

export interface CursorApiAnswer {
  status: number;
  /** The body as JSON; undefined when it is not JSON. */
  json: unknown;
}

/**
 * One request to cursor-api. A network failure or timeout throws OperationalError (exit 1) in one
 * line naming the request; the bearer token is sent, never shown.
 */
export async function cursorApiRequest(method: 'GET' | 'POST', url: URL, opts: { auth?: string; body?: unknown } = {}): Promise<CursorApiAnswer> {
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'cookie-pool/0.1.0' };
  if (opts.auth !== undefined) headers.authorization = `Bearer ${opts.auth}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  // Credentials in the URL would be sent by fetch as Basic auth, never shown: the request goes without them.
  const target = new URL(url);
  target.username = '';
  target.password = '';
  let res: Response;
  let text: string;
  try {
    res = await fetch(target, {
      method,
      headers,
      // Never follow a redirect: the bearer token must not go to another address.
      redirect: 'manual',
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
    });
    text = await res.text();
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const why = err.name === 'TimeoutError' ? `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` : (err.cause?.code ?? err.cause?.message ?? err.message);
    throw new OperationalError(`cannot reach cursor-api: ${method} ${displayUrl(target)} failed (${why})`, 'check CURSOR_API_URL and that cursor-api is running');
  }
  if (res.status >= 300 && res.status <= 399) {
    const location = res.headers.get('location');
    let to = '';
    try {
      to = location ? ` to ${displayUrl(new URL(location, target))}` : '';
    } catch {
      // An unparseable location is not shown.
    }
    throw new OperationalError(`cursor-api: ${method} ${displayUrl(target)} answered HTTP ${res.status} (a redirect${to})`, 'set CURSOR_API_URL to the address cursor-api answers at');
  }
  let json: unknown;
  try {
    json = text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json };
}

/** `{"status":"success", ...}`. */
export function isSuccess(json: unknown): json is Record<string, unknown> {
  return typeof json === 'object' && json !== null && !Array.isArray(json) && (json as Record<string, unknown>).status === 'success';
}

/**
 * Ask cursor-api to load its token files again (`GET /update-tokeninfo`, no auth). Returns the
 * problem in words, or undefined when it reloaded.
 */
export async function reloadCursorApi(base: URL): Promise<string | undefined> {
  const url = endpoint(base, 'update-tokeninfo');
  const tail = 'the token files are written; cursor-api serves the change once it reloads or restarts';
  let answer: CursorApiAnswer;
  try {
    answer = await cursorApiRequest('GET', url);
  } catch (e) {
    return `cursor-api did not reload: ${(e as Error).message}; ${tail}`;
  }
  if (answer.status < 200 || answer.status > 299) return `cursor-api did not reload: GET ${displayUrl(url)} answered HTTP ${answer.status}; ${tail}`;
  if (!isSuccess(answer.json)) return `cursor-api did not reload: GET ${displayUrl(url)} did not answer {"status":"success"}; ${tail}`;
  return undefined;
}
