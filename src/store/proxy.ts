/**
 * The `proxy` backend (SPEC §9.1): the pool of a running Cursor-To-OpenAI proxy, through its admin
 * HTTP API. The proxy keeps the pool in memory and rewrites its files from memory, so the files
 * must not be written under it; everything goes through these endpoints instead:
 *
 *   POST   /v1/admin/login              {username, password} → {success, token} (refused: 400)
 *   GET    /v1/api-keys                 → {success, apiKeys: [{key, cookieCount}]}
 *   GET    /v1/api-keys/{key}/cookies   → {success, cookies}
 *   POST   /v1/api-keys                 {apiKey, cookieValues}: replaces the key's list, minus the
 *                                       values in the proxy's own invalid set
 *   DELETE /v1/api-keys/{key}
 *   GET    /v1/invalid-cookies          → {success, invalidCookies}
 *   POST   /v1/invalid-cookies          {invalidCookies}: adds
 *   DELETE /v1/invalid-cookies/{cookie} removes one;  DELETE /v1/invalid-cookies clears
 *
 * Every admin call carries `Authorization: Bearer <token>`; a 401 logs in again once (when a
 * password is configured). An update reads the pool, decides, and applies the decision as a diff
 * (src/core/pool-diff.ts): each changed key's list is read again right before it is replaced, so a
 * cookie the proxy retired meanwhile is not put back, and read back afterwards, so a cookie the
 * proxy dropped is reported (exit 3). Requests grow with the number of keys, never of cookies.
 *
 * The password and tokens are never part of any message.
 */
import { cookieIdentity, decodeJwtPayload, maskSecret } from '../core/cookie.js';
import { newKeyMap, type KeyMap } from '../core/key-map.js';
import { applyKeyDiff, diffPool, emptyDiff, type PoolDiff } from '../core/pool-diff.js';
import { checkUrl, envInt, envString, type Env } from '../config.js';
import { OperationalError, UsageError } from '../errors.js';
import { sameList } from './format.js';
import type { OpenOptions } from './open.js';
import type { Applied, Decide, Pool, PoolDescription, Snapshot } from './pool.js';

/** How long one admin request may take (COOKIE_POOL_PROXY_TIMEOUT_MS, a hidden knob for tests). */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Per-key reads in flight at once. */
const READ_CONCURRENCY = 8;
/** The proxy's own default port (its config.js: PORT || 3010), for examples in messages. */
const EXAMPLE_URL = 'http://127.0.0.1:3010';

export interface ProxySettings {
  /** Base URL without credentials, query or trailing `/`: endpoints are `${base}/v1/...`. */
  base: string;
  user?: string;
  password?: string;
  /** PROXY_ADMIN_TOKEN: used as is until it is refused. */
  token?: string;
}

/** PROXY_ADMIN_URL and the admin credentials; exit 2 naming what is missing or wrong. */
export function proxySettings(env: Env): ProxySettings {
  const raw = envString(env, 'PROXY_ADMIN_URL');
  if (raw === undefined) {
    throw new UsageError(
      'the proxy backend needs PROXY_ADMIN_URL, the address of the running Cursor-To-OpenAI proxy',
      `set PROXY_ADMIN_URL=${EXAMPLE_URL} (and PROXY_ADMIN_USER + PROXY_ADMIN_PASSWORD) in .env`,
    );
  }
  // https, or http to a loopback host; no credentials in the URL (SPEC §3, the shared URL rule).
  const url = checkUrl(raw, 'PROXY_ADMIN_URL');
  const base = `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  const user = envString(env, 'PROXY_ADMIN_USER');
  // A password may legitimately start or end with spaces: taken as written.
  const password = env.PROXY_ADMIN_PASSWORD !== undefined && env.PROXY_ADMIN_PASSWORD !== '' ? env.PROXY_ADMIN_PASSWORD : undefined;
  const token = envString(env, 'PROXY_ADMIN_TOKEN');
  if (!(user && password) && !token) {
    const missing = [user ? '' : 'PROXY_ADMIN_USER', password ? '' : 'PROXY_ADMIN_PASSWORD'].filter(Boolean);
    throw new UsageError(
      `PROXY_ADMIN_URL is set but ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not, and there is no PROXY_ADMIN_TOKEN: cookie-pool cannot log in to the proxy`,
      "set PROXY_ADMIN_USER and PROXY_ADMIN_PASSWORD to the proxy's admin account (created on its web page, /login.html)",
    );
  }
  return { base, ...(user ? { user } : {}), ...(password ? { password } : {}), ...(token ? { token } : {}) };
}

/** `schedule` must be able to log in by itself: a given token expires after 24 h (exit 2). */
export function requireRenewableLogin(env: Env): void {
  const s = proxySettings(env);
  if (!(s.user && s.password)) {
    throw new UsageError(
      'schedule on the proxy backend needs PROXY_ADMIN_USER + PROXY_ADMIN_PASSWORD: PROXY_ADMIN_TOKEN expires 24 h after the proxy issued it, and the scheduler must log in again by itself',
      "set PROXY_ADMIN_USER and PROXY_ADMIN_PASSWORD to the proxy's admin account",
    );
  }
}

/** The `exp` of a JWT (seconds), if it has one. Not verified: only for warnings. */
export function tokenExpiry(token: string): number | undefined {
  const exp = decodeJwtPayload(token)?.exp;
  return typeof exp === 'number' && Number.isFinite(exp) ? exp : undefined;
}

/** An HS256 JWT, as the proxy's admin tokens are (jsonwebtoken's `jwt.sign`). */
export async function signHs256(payload: Record<string, unknown>, secret: string): Promise<string> {
  const { createHmac } = await import('node:crypto');
  const part = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const unsigned = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(payload)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

const JWT_LIKE = /[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g;

/** Text from the proxy, for a message: short, one line, anything shaped like a token masked. */
function sanitize(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim().replace(JWT_LIKE, (m) => maskSecret(m));
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

/** A failed admin request: exit 1. `reason` completes "the proxy at …". */
export class ProxyFailure extends OperationalError {
  constructor(
    readonly reason: string,
    readonly where: string,
    hint?: string,
  ) {
    super(`the proxy at PROXY_ADMIN_URL=${where} ${reason}`, hint);
  }
}

interface CallOptions {
  body?: unknown;
  /** The request as named in messages (a cookie in the path is masked). */
  label: string;
}

/** One admin API client: the token, one re-login on 401, clear failures. */
export class ProxyAdminClient {
  /** Requests sent (for `doctor` and the benchmark's count). */
  requests = 0;
  private token: string | undefined;
  private login?: Promise<string>;

  constructor(
    readonly settings: ProxySettings,
    readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.token = settings.token;
  }

  /** The URL for messages: no credentials (never had any: they are stripped in proxySettings). */
  get where(): string {
    return `${this.settings.base}/`;
  }

  get canLogin(): boolean {
    return Boolean(this.settings.user && this.settings.password);
  }

  private fail(reason: string, hint?: string): ProxyFailure {
    return new ProxyFailure(reason, this.where, hint);
  }

  /** Send one request; network trouble and timeouts become a ProxyFailure. */
  async send(method: string, path: string, opts: { body?: unknown; label: string; bearer?: string }): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'cookie-pool/0.1.0' };
    if (opts.bearer !== undefined) headers.authorization = `Bearer ${opts.bearer}`;
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    this.requests++;
    let res: Response;
    try {
      res = await fetch(`${this.settings.base}${path}`, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        // Never follow: the bearer token and the password must not travel to another address.
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      if (err.name === 'TimeoutError') throw this.fail(`did not answer ${opts.label} within ${Math.round(this.timeoutMs / 100) / 10} s`);
      const why = err.cause?.code ?? err.cause?.message ?? err.message;
      throw this.fail(`is unreachable (${sanitize(why)}) for ${opts.label}`);
    }
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => undefined);
      let to = 'elsewhere';
      try {
        const loc = new URL(res.headers.get('location') ?? '', `${this.settings.base}/`);
        to = `${loc.origin}${loc.pathname}`;
      } catch {
        // No usable Location header.
      }
      throw this.fail(`redirects ${opts.label} to ${to} (HTTP ${res.status}): set PROXY_ADMIN_URL to the proxy's own address`);
    }
    return res;
  }

  /** The body as JSON; anything else (an HTML error page, a cut answer) is a ProxyFailure. */
  private async json(res: Response, label: string): Promise<unknown> {
    let text: string;
    try {
      text = await res.text();
    } catch (e) {
      const err = e as Error;
      if (err.name === 'TimeoutError') throw this.fail(`did not finish answering ${label} within ${Math.round(this.timeoutMs / 100) / 10} s`);
      throw this.fail(`broke off its answer to ${label} (${sanitize(err.message)})`);
    }
    try {
      return JSON.parse(text);
    } catch {
      const type = res.headers.get('content-type')?.split(';')[0] ?? 'no content type';
      throw this.fail(`answered ${label} with something that is not JSON (HTTP ${res.status}, ${type}): is it the address of the proxy itself?`);
    }
  }

  private static message(body: unknown): string {
    if (body && typeof body === 'object') {
      const { message, error } = body as { message?: unknown; error?: unknown };
      if (typeof message === 'string' && message) return sanitize(message);
      if (typeof error === 'string' && error) return sanitize(error);
    }
    return '';
  }

  /** Log in with user + password; a refused login (400, or 401) is exit 1 naming the variables. */
  private async doLogin(): Promise<string> {
    const { user, password } = this.settings;
    const label = 'POST /v1/admin/login';
    const res = await this.send('POST', '/v1/admin/login', { body: { username: user, password }, label });
    if (res.status >= 500) {
      await res.body?.cancel().catch(() => undefined);
      throw this.fail(`answered HTTP ${res.status} to ${label}`);
    }
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      throw this.fail(`has no ${label} (HTTP 404): is it a Cursor-To-OpenAI version with the admin API?`);
    }
    const body = await this.json(res, label);
    if (res.status === 400 || res.status === 401 || res.status === 403) {
      const said = ProxyAdminClient.message(body);
      throw new OperationalError(
        `the proxy at PROXY_ADMIN_URL=${this.where} refused the admin credentials: login as PROXY_ADMIN_USER=${user} with PROXY_ADMIN_PASSWORD failed (HTTP ${res.status}${said ? `: ${said}` : ''})`,
        `check PROXY_ADMIN_USER and PROXY_ADMIN_PASSWORD; without an admin account yet, create one on the proxy's page ${this.where}login.html`,
      );
    }
    const token = body && typeof body === 'object' ? (body as { token?: unknown }).token : undefined;
    if (!res.ok || typeof token !== 'string' || token === '') throw this.fail(`gave an unexpected answer to ${label} (HTTP ${res.status}, no token)`);
    this.token = token;
    return token;
  }

  /** Log in (one login at a time: concurrent callers share it). */
  private relogin(): Promise<string> {
    this.login ??= this.doLogin().finally(() => (this.login = undefined));
    return this.login;
  }

  private refused(why: string): OperationalError {
    return new OperationalError(
      `the proxy at PROXY_ADMIN_URL=${this.where} refused the admin credentials: ${why}`,
      this.canLogin
        ? "is JWT_SECRET of the proxy changing between restarts? set it once in the proxy's .env"
        : 'set PROXY_ADMIN_USER + PROXY_ADMIN_PASSWORD so cookie-pool can log in by itself (a PROXY_ADMIN_TOKEN lasts 24 h)',
    );
  }

  /** An admin call: JSON in and out, the bearer token, one re-login on 401, failures as ProxyFailure. */
  async call(method: string, path: string, opts: CallOptions): Promise<unknown> {
    const { label } = opts;
    let bearer = this.token ?? (await this.relogin());
    let res = await this.send(method, path, { body: opts.body, label, bearer });
    if (res.status === 401) {
      await res.body?.cancel().catch(() => undefined);
      if (!this.canLogin) throw this.refused(`PROXY_ADMIN_TOKEN was not accepted (HTTP 401 to ${label}); the proxy's admin tokens expire after 24 h`);
      // Another call may have logged in since this one was sent: use its token rather than log in again.
      bearer = this.token !== bearer && this.token !== undefined ? this.token : await this.relogin();
      res = await this.send(method, path, { body: opts.body, label, bearer });
      if (res.status === 401) {
        await res.body?.cancel().catch(() => undefined);
        throw this.refused(`the token of a fresh login was not accepted either (HTTP 401 to ${label})`);
      }
    }
    if (res.status >= 500) {
      const said = ProxyAdminClient.message(await res.json().catch(() => undefined));
      throw this.fail(`answered HTTP ${res.status} to ${label}${said ? ` (${said})` : ''}`);
    }
    if (res.status === 404) {
      // Express answers an unknown route with an HTML page: say what is missing instead.
      await res.body?.cancel().catch(() => undefined);
      throw this.fail(`has no ${label} (HTTP 404): is it a Cursor-To-OpenAI version with the admin API?`);
    }
    const body = await this.json(res, label);
    if (!res.ok) {
      const said = ProxyAdminClient.message(body);
      throw this.fail(`refused ${label} (HTTP ${res.status}${said ? `: ${said}` : ''})`);
    }
    return body;
  }

  private unexpected(label: string): ProxyFailure {
    return this.fail(`gave an unexpected answer to ${label}`);
  }

  private stringList(body: unknown, field: string, label: string): string[] {
    const list = body && typeof body === 'object' ? (body as Record<string, unknown>)[field] : undefined;
    if (!Array.isArray(list) || !list.every((c) => typeof c === 'string')) throw this.unexpected(label);
    return list as string[];
  }

  async apiKeys(): Promise<string[]> {
    const label = 'GET /v1/api-keys';
    const body = await this.call('GET', '/v1/api-keys', { label });
    const list = body && typeof body === 'object' ? (body as { apiKeys?: unknown }).apiKeys : undefined;
    if (!Array.isArray(list)) throw this.unexpected(label);
    return list.map((entry: unknown) => {
      const key = entry && typeof entry === 'object' ? (entry as { key?: unknown }).key : entry;
      if (typeof key !== 'string') throw this.unexpected(label);
      return key;
    });
  }

  async cookies(apiKey: string): Promise<string[]> {
    const label = `GET /v1/api-keys/${apiKey}/cookies`;
    return this.stringList(await this.call('GET', `/v1/api-keys/${encodeURIComponent(apiKey)}/cookies`, { label }), 'cookies', label);
  }

  async invalid(): Promise<string[]> {
    const label = 'GET /v1/invalid-cookies';
    return this.stringList(await this.call('GET', '/v1/invalid-cookies', { label }), 'invalidCookies', label);
  }

  async setKey(apiKey: string, cookieValues: string[]): Promise<void> {
    await this.call('POST', '/v1/api-keys', { body: { apiKey, cookieValues }, label: `POST /v1/api-keys (key ${apiKey})` });
  }

  async removeKey(apiKey: string): Promise<void> {
    await this.call('DELETE', `/v1/api-keys/${encodeURIComponent(apiKey)}`, { label: `DELETE /v1/api-keys/${apiKey}` });
  }

  async addInvalid(cookies: string[]): Promise<void> {
    await this.call('POST', '/v1/invalid-cookies', { body: { invalidCookies: cookies }, label: 'POST /v1/invalid-cookies' });
  }

  async removeInvalid(cookie: string): Promise<void> {
    // The proxy answers success:false when the cookie is not listed (any more): nothing to do then.
    await this.call('DELETE', `/v1/invalid-cookies/${encodeURIComponent(cookie)}`, { label: `DELETE /v1/invalid-cookies/${maskSecret(cookie)}` });
  }

  async clearInvalid(): Promise<void> {
    await this.call('DELETE', '/v1/invalid-cookies', { label: 'DELETE /v1/invalid-cookies' });
  }
}

/** Run `fn` over `items`, at most `limit` at a time, results in order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

function identities(list: readonly string[]): Set<string> {
  const s = new Set<string>();
  for (const c of list) s.add(cookieIdentity(c));
  return s;
}

/** What an update has written so far, for the message of a failure halfway. */
class Progress {
  invalidAdded = 0;
  invalidRemoved = 0;
  invalidCleared = false;
  readonly keys: string[] = [];
  readonly removedKeys: string[] = [];

  constructor(private readonly diff: PoolDiff) {}

  describe(): string {
    const done: string[] = [];
    if (this.invalidAdded) done.push(`${this.invalidAdded} cookie(s) added to the invalid list`);
    if (this.invalidCleared) done.push('the invalid list cleared');
    if (this.invalidRemoved) done.push(`${this.invalidRemoved} cookie(s) taken off the invalid list`);
    if (this.keys.length) done.push(`key(s) ${this.keys.join(', ')}`);
    if (this.removedKeys.length) done.push(`removed key(s) ${this.removedKeys.join(', ')}`);
    const pending = [
      ...this.diff.keys.map((k) => k.apiKey).filter((k) => !this.keys.includes(k)),
      ...this.diff.removedKeys.filter((k) => !this.removedKeys.includes(k)).map((k) => `removal of ${k}`),
    ];
    const head = done.length ? `already written: ${done.join('; ')}` : 'nothing was written';
    return pending.length ? `${head}; not written: key(s) ${pending.join(', ')}` : head;
  }
}

export class ProxyPool implements Pool {
  readonly backend = 'proxy' as const;
  readonly multiKey = true;
  readonly keepsLabels = false;

  constructor(readonly client: ProxyAdminClient) {}

  describe(): PoolDescription {
    const { settings } = this.client;
    const login = settings.user && settings.password ? `logs in as ${settings.user} (PROXY_ADMIN_PASSWORD set)` : '';
    const token = settings.token ? `PROXY_ADMIN_TOKEN set${tokenExpiry(settings.token) !== undefined ? `, expires ${new Date(tokenExpiry(settings.token)! * 1000).toISOString()}` : ''}` : '';
    return {
      backend: 'proxy',
      where: this.client.where,
      details: [`admin API: ${this.client.where} (PROXY_ADMIN_URL)`, ...[login, token].filter(Boolean).map((l) => `credentials: ${l}`)],
    };
  }

  /** The pool as the proxy holds it now: the keys (in its order), each key's list, the invalid list. */
  async read(): Promise<Snapshot> {
    const names = await this.client.apiKeys();
    const lists = await mapLimit(names, READ_CONCURRENCY, (k) => this.client.cookies(k));
    const keys: KeyMap = newKeyMap();
    names.forEach((k, i) => (keys[k] = lists[i]!));
    return { keys, invalid: await this.client.invalid() };
  }

  async update<T>(decide: Decide<T>): Promise<Applied<T>> {
    let snapshot: Snapshot;
    try {
      snapshot = await this.read();
    } catch (e) {
      if (e instanceof OperationalError) throw new OperationalError(`${e.message}; nothing was written`, e.hint);
      throw e;
    }
    const change = await decide(snapshot);
    const applied: Applied<T> = { result: change.result, dropped: [], problems: [] };
    const diff = diffPool(snapshot, change);
    if (emptyDiff(diff)) return applied;
    const progress = new Progress(diff);
    try {
      await this.apply(snapshot, diff, applied, progress);
    } catch (e) {
      if (e instanceof OperationalError) throw new OperationalError(`${e.message}; ${progress.describe()}`, e.hint);
      throw e;
    }
    return applied;
  }

  /**
   * The invalid list first (as the file backend writes it first: a failure in between can leave
   * a cookie in both places, never in neither), then each changed key, then removed keys.
   */
  private async apply(snapshot: Snapshot, diff: PoolDiff, applied: Applied<unknown>, progress: Progress): Promise<void> {
    const { client } = this;
    if (diff.invalidAdd.length) {
      await client.addInvalid(diff.invalidAdd);
      progress.invalidAdded = diff.invalidAdd.length;
    }
    if (diff.invalidCleared) {
      await client.clearInvalid();
      progress.invalidCleared = true;
    } else if (diff.invalidRemove.size) {
      // The proxy removes by exact value: every stored form of each identity goes.
      for (const c of snapshot.invalid) {
        if (!diff.invalidRemove.has(cookieIdentity(c))) continue;
        await client.removeInvalid(c);
        progress.invalidRemoved++;
      }
    }
    if (diff.keys.length) {
      // What the proxy has retired by now (in any form) is never put back into a key.
      const blocked = identities(await client.invalid());
      for (const kd of diff.keys) {
        const current = await client.cookies(kd.apiKey);
        const next = applyKeyDiff(current, kd, blocked);
        let held = next;
        if (kd.created || !sameList(next, current)) {
          await client.setKey(kd.apiKey, next);
          progress.keys.push(kd.apiKey);
          // Read back: the proxy silently drops values in its own invalid set.
          if (kd.add.length) held = await client.cookies(kd.apiKey);
        }
        if (kd.add.length) {
          const kept = identities(held);
          for (const c of kd.add) if (!kept.has(cookieIdentity(c))) applied.dropped.push(c);
        }
      }
    }
    for (const apiKey of diff.removedKeys) {
      await client.removeKey(apiKey);
      progress.removedKeys.push(apiKey);
    }
  }
}

export function openProxyPool(opts: OpenOptions): Pool {
  const settings = proxySettings(opts.env);
  return new ProxyPool(new ProxyAdminClient(settings, envInt(opts.env, 'COOKIE_POOL_PROXY_TIMEOUT_MS', DEFAULT_TIMEOUT_MS, 1)));
}
