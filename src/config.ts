/**
 * Configuration (SPEC §3): `.env` (or `--env-file`), real environment variables over it,
 * flags over both. Values are validated when a command asks for them, so a bad variable that a
 * command does not use does not stop it; a bad one it uses stops it with exit 2, naming it.
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { parseJson } from './core/json.js';
import type { RefreshMode } from './core/merge.js';
import { isLoopbackHost, urlForDisplay } from './core/url.js';
import { UsageError } from './errors.js';
import type { StorePaths } from './store/keystore.js';
import { BACKENDS, type BackendName } from './store/pool.js';

export type Env = Readonly<Record<string, string | undefined>>;

export interface EnvSource {
  env: Env;
  /** The env file that was loaded, if any. */
  envFile: string | undefined;
}

/** Load `.env` from the working directory (or `envFile`, which must exist) under the real environment. */
export function loadEnv(envFile: string | undefined, processEnv: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): EnvSource {
  const path = envFile === undefined ? resolve(cwd, '.env') : resolvePath(processEnv, envFile, '--env-file', cwd);
  let fileVars: Record<string, string> = {};
  let loaded: string | undefined;
  try {
    const text = readFileSync(path, 'utf8');
    // A UTF-8 BOM (Windows editors) would otherwise become part of the first variable's name.
    fileVars = parseEnv(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text) as Record<string, string>;
    loaded = path;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (envFile !== undefined || code !== 'ENOENT') {
      throw new UsageError(`cannot read env file ${path}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
  }
  return { env: { ...fileVars, ...processEnv }, envFile: loaded };
}

function value(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function envString(env: Env, name: string, fallback: string): string;
export function envString(env: Env, name: string): string | undefined;
export function envString(env: Env, name: string, fallback?: string): string | undefined {
  return value(env, name) ?? fallback;
}

export function parseIntStrict(raw: string, what: string, min = 0): number {
  if (!/^\s*\d+\s*$/.test(raw) || Number(raw) < min) {
    throw new UsageError(`${what} must be a whole number${min > 0 ? ` ≥ ${min}` : ''}, got "${raw}"`);
  }
  return Number(raw);
}

export function envInt(env: Env, name: string, fallback: number, min = 0): number {
  const raw = value(env, name);
  return raw === undefined ? fallback : parseIntStrict(raw, name, min);
}

export function parseBool(raw: string, what: string): boolean {
  const v = raw.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(v)) return true;
  if (['false', '0', 'no', 'off'].includes(v)) return false;
  throw new UsageError(`${what} must be true or false, got "${raw}"`);
}

export function envBool(env: Env, name: string, fallback: boolean): boolean {
  const raw = value(env, name);
  return raw === undefined ? fallback : parseBool(raw, name);
}

export function parseMode(raw: string, what: string): RefreshMode {
  const v = raw.trim().toLowerCase();
  if (v === 'append' || v === 'replace') return v;
  throw new UsageError(`${what} must be "append" or "replace", got "${raw}"`);
}

/**
 * A path from a variable or flag, absolute. A leading `~` or `~/` is the home directory, as a
 * shell would expand it (`.env` files and quoted values are not expanded by any shell, and a
 * folder literally named `~` is never what was meant); `~user/` is refused, naming `what`.
 */
export function resolvePath(env: Env, raw: string, what: string, cwd = process.cwd()): string {
  if (raw === '~' || raw.startsWith('~/')) return resolve(envString(env, 'HOME') ?? homedir(), raw.slice(2));
  if (raw.startsWith('~')) {
    throw new UsageError(`${what}: "${raw}" names another user's home folder, which is not expanded`, 'write the full path instead');
  }
  return resolve(cwd, raw);
}

export function storePaths(env: Env, dataDirFlag: string | undefined, cwd = process.cwd()): StorePaths {
  const dataDir =
    dataDirFlag !== undefined
      ? resolvePath(env, dataDirFlag, '--data-dir', cwd)
      : resolvePath(env, envString(env, 'DATA_DIR', './data'), 'DATA_DIR', cwd);
  // --data-dir moves the whole store; the per-file variables apply otherwise.
  const keysFile = dataDirFlag ? undefined : envString(env, 'API_KEYS_FILE');
  const invalidFile = dataDirFlag ? undefined : envString(env, 'INVALID_COOKIES_FILE');
  return {
    dataDir,
    keysFile: keysFile ? resolvePath(env, keysFile, 'API_KEYS_FILE', cwd) : resolve(dataDir, 'api_keys.json'),
    invalidFile: invalidFile ? resolvePath(env, invalidFile, 'INVALID_COOKIES_FILE', cwd) : resolve(dataDir, 'invalid_cookies.json'),
  };
}

export function minCookieCount(env: Env): number {
  return envInt(env, 'MIN_COOKIE_COUNT', 2);
}

export function refreshMode(env: Env): RefreshMode {
  const raw = value(env, 'COOKIE_REFRESH_MODE');
  return raw === undefined ? 'append' : parseMode(raw, 'COOKIE_REFRESH_MODE');
}

/**
 * The one check of every URL setting (GITHUB_API_URL, CURSOR_WEB_URL, CURSOR_ADMIN_API_URL,
 * PROXY_ADMIN_URL, CURSOR_API_URL, NOTIFY_URL, …): an http(s) URL, without user info (credentials
 * have their own variables, and a URL is printed in messages), https unless the host is loopback
 * (a token sent over plain http to another machine can be read on the way). Errors name the
 * setting and never print the URL whole. Returns the parsed URL.
 */
export function checkUrl(raw: string, name: string): URL {
  let u: URL;
  try {
    u = new URL(raw.trim());
  } catch {
    throw new UsageError(`${name} is not a valid URL`, 'expected something like https://host/path');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:') throw new UsageError(`${name} must be an http(s) URL, not ${u.protocol}`);
  if (u.username !== '' || u.password !== '') {
    throw new UsageError(
      `${name} must not contain a user name or password (the "user:password@" part)`,
      'remove them from the URL: credentials have their own variables (GITHUB_TOKEN, CURSOR_ADMIN_API_KEY, PROXY_ADMIN_USER/PROXY_ADMIN_PASSWORD, AUTH_TOKEN)',
    );
  }
  if (u.protocol === 'http:' && !isLoopbackHost(u.hostname)) {
    throw new UsageError(
      `${name} must use https: plain http is only accepted for a loopback host (127.0.0.1, ::1, localhost), got ${urlForDisplay(u)}`,
      `use https://${u.host}${u.pathname === '/' ? '' : '/…'}`,
    );
  }
  return u;
}

/** A URL setting, checked by checkUrl; returned as given (trimmed), or `fallback` when unset. */
export function envUrl(env: Env, name: string, fallback: string): string;
export function envUrl(env: Env, name: string): string | undefined;
export function envUrl(env: Env, name: string, fallback?: string): string | undefined {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  checkUrl(raw, name);
  return raw;
}

/** Parse a JSON env variable, naming it on error. */
export function envJson(env: Env, name: string): unknown {
  const raw = value(env, name);
  if (raw === undefined) return undefined;
  try {
    return parseJson(raw);
  } catch (e) {
    // The position only: the text is a secret (API_KEYS holds cookies).
    throw new UsageError(`${name} is not valid JSON: ${(e as Error).message}`);
  }
}

/**
 * The pool backend (SPEC §9): `--backend`, else `POOL_BACKEND`, else `proxy` when
 * `PROXY_ADMIN_URL` is set, else `file`.
 */
export function poolBackend(env: Env, flag?: string): BackendName {
  const raw = flag ?? value(env, 'POOL_BACKEND');
  if (raw === undefined) return value(env, 'PROXY_ADMIN_URL') ? 'proxy' : 'file';
  const v = raw.trim().toLowerCase() as BackendName;
  if ((BACKENDS as readonly string[]).includes(v)) return v;
  throw new UsageError(`${flag !== undefined ? '--backend' : 'POOL_BACKEND'} must be one of ${BACKENDS.join(', ')}, got "${raw}"`);
}

/**
 * The folder for cookie-pool's own state (refresh lock, history, alert cool-downs): the data dir,
 * except for the `proxy` backend when neither `--data-dir` nor `DATA_DIR` is given — that backend
 * keeps no local store, so its state goes to `$XDG_STATE_HOME/cookie-pool/<proxy host>` (default
 * `~/.local/state/...`) rather than a new `./data`.
 */
export function stateDir(env: Env, dataDirFlag: string | undefined, backend: BackendName, cwd = process.cwd()): string {
  if (backend !== 'proxy' || dataDirFlag !== undefined || envString(env, 'DATA_DIR') !== undefined) {
    return storePaths(env, dataDirFlag, cwd).dataDir;
  }
  let host = 'proxy';
  try {
    host = new URL(envString(env, 'PROXY_ADMIN_URL') ?? '').host.replace(/[^A-Za-z0-9.-]/g, '_') || host;
  } catch {
    // A bad URL is reported by the backend.
  }
  const xdg = envString(env, 'XDG_STATE_HOME');
  const base = xdg !== undefined ? resolvePath(env, xdg, 'XDG_STATE_HOME', cwd) : resolve(envString(env, 'HOME') ?? homedir(), '.local', 'state');
  return resolve(base, 'cookie-pool', host);
}
