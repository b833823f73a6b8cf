/**
 * A loopback fake of the Cursor-To-OpenAI proxy's admin API (plain node:http on 127.0.0.1, port 0),
 * behaving like the real one (its keyManager, routes/v1.js, middleware/auth.js, models/admin.js):
 *
 * - the pool lives in memory: `data/api_keys.json` and `data/invalid_cookies.json` under `dir` are
 *   read once, at start; every change rewrites the whole file from memory (writeFileSync,
 *   `JSON.stringify(v, null, 2)`), so what another program wrote to the files meanwhile is erased;
 * - `POST /v1/admin/login` {username, password} → {success, message, token}: an HS256 JWT
 *   `{username, iat, exp}` signed with `jwtSecret` (default the proxy's own `your-secret-key`),
 *   valid `tokenTtlSec` (24 h); a wrong or missing account → 400 {success:false, message};
 * - every other /v1 route needs `Authorization: Bearer <token>` with a good signature and `exp` in
 *   the future, else 401 {success:false, message};
 * - `POST /v1/api-keys` replaces the key's list minus the values in the invalid set (exact strings);
 *   `POST /v1/invalid-cookies` adds (not taken out of keys); `DELETE /v1/invalid-cookies/:cookie`
 *   (URL-decoded as express does) → success false when absent; `GET /v1/api-keys/:unknown/cookies`
 *   → empty list; unknown routes → 404 HTML as express answers.
 *
 * Test knobs: `retire(key, cookie)` does what the proxy does to a failing cookie (out of its key,
 * into the invalid set, both files saved); `onRequest` runs before a request is handled (to act
 * "between our read and our write"); `mode` / `failWhen` switch answers to down (connection
 * dropped), 5xx, garbage (200 HTML), slow or redirect (301 to another host); every request is recorded (`requests`, `count`).
 *
 * No imports beyond node: bench/proxy-import.mjs transpiles this file alone.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';

export type FailMode = 'ok' | 'down' | '5xx' | 'garbage' | 'slow' | 'redirect';

export interface ProxyRequest {
  method: string;
  /** Path as sent (still URL-encoded). */
  path: string;
  status: number;
  /** The parsed JSON body of a POST. */
  body?: unknown;
  /** The Authorization header was present. */
  authorized: boolean;
}

export interface FakeProxyOptions {
  /** The proxy's project folder: its files are `dir/data/api_keys.json` and `dir/data/invalid_cookies.json`. */
  dir: string;
  /** The admin account (the proxy's data/admin.json); null: none registered yet. */
  admin?: { username: string; password: string } | null;
  /** JWT_SECRET of the proxy (its default is the public `your-secret-key`). */
  jwtSecret?: string;
  tokenTtlSec?: number;
  /** Delay of the `slow` mode, ms. */
  slowMs?: number;
}

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export function signToken(payload: Record<string, unknown>, secret: string): string {
  const unsigned = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(payload)}`;
  return `${unsigned}.${createHmac('sha256', secret).update(unsigned).digest('base64url')}`;
}

export class FakeProxy {
  readonly server: Server;
  /** api key → cookies, in insertion order (the proxy's Map). */
  readonly keys = new Map<string, string[]>();
  readonly invalid = new Set<string>();
  readonly requests: ProxyRequest[] = [];
  /** Tokens issued by /v1/admin/login. */
  readonly issued: string[] = [];
  /** Files written by the fake (each a whole rewrite). */
  saves = 0;
  mode: FailMode = 'ok';
  /** Per-request failure switch, checked before `mode`. */
  failWhen?: (method: string, path: string) => FailMode | undefined;
  /** Runs before a request is handled (after it is recorded). */
  onRequest?: (method: string, path: string, body: unknown) => void | Promise<void>;
  readonly jwtSecret: string;
  readonly admin: { username: string; password: string } | null;
  readonly tokenTtlSec: number;
  private readonly sockets = new Set<Socket>();

  constructor(readonly opts: FakeProxyOptions) {
    this.jwtSecret = opts.jwtSecret ?? 'your-secret-key';
    this.admin = opts.admin === undefined ? { username: 'admin', password: 'admin-password' } : opts.admin;
    this.tokenTtlSec = opts.tokenTtlSec ?? 24 * 3600;
    this.load();
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((e: Error) => {
        if (!res.headersSent) this.send(res, 500, { error: 'Internal server error', message: e.message });
      });
    });
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(opts: FakeProxyOptions, port = 0): Promise<FakeProxy> {
    const p = new FakeProxy(opts);
    await new Promise<void>((r) => p.server.listen(port, '127.0.0.1', r));
    return p;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get keysFile(): string {
    return join(this.opts.dir, 'data', 'api_keys.json');
  }

  get invalidFile(): string {
    return join(this.opts.dir, 'data', 'invalid_cookies.json');
  }

  /** Env for the CLI: the proxy backend with the admin account. */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      PROXY_ADMIN_URL: this.url,
      ...(this.admin ? { PROXY_ADMIN_USER: this.admin.username, PROXY_ADMIN_PASSWORD: this.admin.password } : {}),
      ...extra,
    };
  }

  /** A token as the proxy's login issues it (`ttlSec` negative: already expired). */
  token(ttlSec = this.tokenTtlSec, username = this.admin?.username ?? 'admin', secret = this.jwtSecret): string {
    const iat = Math.floor(Date.now() / 1000);
    return signToken({ username, iat, exp: iat + ttlSec }, secret);
  }

  /** The pool as a plain object (the shape of api_keys.json). */
  pool(): Record<string, string[]> {
    return Object.fromEntries(this.keys);
  }

  /** Requests matching a method and a path pattern. */
  count(method?: string, path?: RegExp): number {
    return this.requests.filter((r) => (!method || r.method === method) && (!path || path.test(r.path))).length;
  }

  /** What the proxy does to a cookie that fails: out of its key, into the invalid set, both files saved. */
  retire(apiKey: string, cookie: string): void {
    const list = this.keys.get(apiKey) ?? [];
    this.keys.set(
      apiKey,
      list.filter((c) => c !== cookie),
    );
    this.invalid.add(cookie);
    this.saveInvalid();
    this.saveKeys();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  // ───────────────────────────── the proxy's keyManager ─────────────────────────────

  private load(): void {
    if (existsSync(this.keysFile)) {
      for (const [k, v] of Object.entries(JSON.parse(readFileSync(this.keysFile, 'utf8')) as Record<string, unknown>)) {
        if (Array.isArray(v)) this.keys.set(k, v as string[]);
      }
    }
    if (existsSync(this.invalidFile)) for (const c of JSON.parse(readFileSync(this.invalidFile, 'utf8')) as string[]) this.invalid.add(c);
  }

  saveKeys(): void {
    mkdirSync(join(this.opts.dir, 'data'), { recursive: true });
    writeFileSync(this.keysFile, JSON.stringify(this.pool(), null, 2), 'utf8');
    this.saves++;
  }

  saveInvalid(): void {
    mkdirSync(join(this.opts.dir, 'data'), { recursive: true });
    writeFileSync(this.invalidFile, JSON.stringify([...this.invalid], null, 2), 'utf8');
    this.saves++;
  }

  // ───────────────────────────── HTTP ─────────────────────────────

  private send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  private verify(token: string): boolean {
    const parts = token.split('.');
    if (parts.length !== 3) return false;
    const expected = createHmac('sha256', this.jwtSecret).update(`${parts[0]}.${parts[1]}`).digest();
    const given = Buffer.from(parts[2]!, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    try {
      const payload = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { exp?: number };
      return typeof payload.exp !== 'number' || payload.exp > Date.now() / 1000;
    } catch {
      return false;
    }
  }

  private async readBody(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (!chunks.length || !String(req.headers['content-type'] ?? '').includes('application/json')) return {};
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    let body: unknown;
    try {
      body = method === 'POST' ? await this.readBody(req) : undefined;
    } catch {
      this.requests.push({ method, path, status: 400, authorized: Boolean(req.headers.authorization) });
      return this.send(res, 400, { error: 'bad JSON' });
    }
    const record: ProxyRequest = { method, path, status: 0, ...(body !== undefined ? { body } : {}), authorized: Boolean(req.headers.authorization) };
    this.requests.push(record);
    const mode = this.failWhen?.(method, path) ?? this.mode;
    if (mode === 'down') {
      record.status = -1;
      req.socket.destroy();
      return;
    }
    if (mode === 'slow') await new Promise((r) => setTimeout(r, this.opts.slowMs ?? 5000));
    if (mode === '5xx') {
      record.status = 502;
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html><body><h1>502 Bad Gateway</h1></body></html>');
      return;
    }
    if (mode === 'redirect') {
      // A front end that moved the proxy to https elsewhere.
      record.status = 301;
      res.writeHead(301, { location: `https://proxy.example${path}` });
      res.end();
      return;
    }
    if (mode === 'garbage') {
      record.status = 200;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end('<!DOCTYPE html><html><head><title>Cursor To OpenAI</title></head><body>login</body></html>');
      return;
    }
    await this.onRequest?.(method, path, body);
    const reply = (status: number, value: unknown) => {
      record.status = status;
      this.send(res, status, value);
    };
    const segs = path.split('/').filter(Boolean).map((s) => decodeURIComponent(s));
    if (segs[0] !== 'v1') return this.notFound(res, record, method, path);

    // The auth middleware lets /v1/admin/* through.
    if (segs[1] === 'admin') {
      if (method === 'GET' && segs[2] === 'check') return reply(200, { success: true, exists: this.admin !== null });
      if (method === 'POST' && segs[2] === 'login') {
        const { username, password } = (body ?? {}) as { username?: string; password?: string };
        if (!username || !password) return reply(400, { success: false, message: '用户名和密码不能为空' });
        if (!this.admin || username !== this.admin.username || password !== this.admin.password) {
          return reply(400, { success: false, message: '用户名或密码错误' });
        }
        const token = this.token();
        this.issued.push(token);
        return reply(200, { success: true, message: '登录成功', token });
      }
      return this.notFound(res, record, method, path);
    }
    const auth = req.headers.authorization;
    if (!auth || !auth.startsWith('Bearer ')) return reply(401, { success: false, message: '未提供认证token' });
    if (!this.verify(auth.split(' ')[1] ?? '')) return reply(401, { success: false, message: '无效的token' });

    if (segs[1] === 'api-keys') {
      if (segs.length === 2 && method === 'GET') {
        return reply(200, { success: true, apiKeys: [...this.keys].map(([key, cookies]) => ({ key, cookieCount: cookies.length })) });
      }
      if (segs.length === 2 && method === 'POST') {
        const { apiKey, cookieValues } = (body ?? {}) as { apiKey?: string; cookieValues?: unknown };
        if (!apiKey || !cookieValues) return reply(400, { error: 'API key and cookie values are required' });
        const values = (Array.isArray(cookieValues) ? cookieValues : [cookieValues]) as string[];
        this.keys.set(
          apiKey,
          values.filter((c) => !this.invalid.has(c)),
        );
        this.saveKeys();
        return reply(200, { success: true, message: 'API key added or updated successfully' });
      }
      if (segs.length === 3 && method === 'DELETE') {
        this.keys.delete(segs[2]!);
        this.saveKeys();
        return reply(200, { success: true, message: 'API key removed successfully' });
      }
      if (segs.length === 4 && segs[3] === 'cookies' && method === 'GET') {
        return reply(200, { success: true, cookies: this.keys.get(segs[2]!) ?? [] });
      }
    }
    if (segs[1] === 'invalid-cookies') {
      if (segs.length === 2 && method === 'GET') return reply(200, { success: true, invalidCookies: [...this.invalid] });
      if (segs.length === 2 && method === 'POST') {
        const list = (body as { invalidCookies?: unknown } | undefined)?.invalidCookies;
        if (!Array.isArray(list)) return reply(400, { success: false, error: 'Invalid request', message: 'invalidCookies必须是一个数组' });
        for (const c of list) if (typeof c === 'string' && c.trim()) this.invalid.add(c.trim());
        this.saveInvalid();
        return reply(200, { success: true, message: `已添加${list.length}个无效cookie` });
      }
      if (segs.length === 2 && method === 'DELETE') {
        this.invalid.clear();
        this.saveInvalid();
        return reply(200, { success: true, message: '所有无效cookie已清除' });
      }
      if (segs.length === 3 && method === 'DELETE') {
        const ok = this.invalid.delete(segs[2]!);
        if (ok) this.saveInvalid();
        return reply(200, { success: ok, message: ok ? '无效cookie已清除' : '未找到指定的无效cookie' });
      }
    }
    return this.notFound(res, record, method, path);
  }

  /** Express's answer to an unknown route. */
  private notFound(res: ServerResponse, record: ProxyRequest, method: string, path: string): void {
    record.status = 404;
    res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!DOCTYPE html>\n<html lang="en"><body><pre>Cannot ${method} ${path}</pre></body></html>\n`);
  }
}
