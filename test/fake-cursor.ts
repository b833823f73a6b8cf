/**
 * A loopback fake of the Cursor usage endpoint: `GET /api/usage?user=<userId>` with
 * `Cookie: WorkosCursorSessionToken=<userId>%3A%3A<jwt>`.
 *
 * The behaviour for a token is chosen by `behaviours.set(userId, b)`, else by the JWT claim
 * `fake` (a string), else `defaultBehaviour`:
 *   valid           200 JSON {"gpt-4":{"numRequests":<claim used or 12>,"maxRequestUsage":500},...}
 *   valid-no-gpt4   200 JSON without a gpt-4 entry
 *   revoked         401
 *   forbidden       403
 *   ratelimit-once  429 with Retry-After: 1 the first time for that token, then as `valid`
 *   ratelimited     429 with Retry-After: 0, always
 *   error           500
 *   slow            answers as `valid` after `slowMs` (longer than the client's timeout)
 *   html            200 text/html (not JSON)
 *
 * The Cookie header is checked strictly: exactly one cookie named WorkosCursorSessionToken whose
 * value is `<user>%3A%3A<jwt>` with `<user>` equal to the `user` query parameter and a
 * three-part JWT. Anything else gets 400 and is recorded in `headerErrors`.
 * Records every request, the largest number in flight at once, and the TCP connections opened.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Behaviour = 'valid' | 'valid-no-gpt4' | 'revoked' | 'forbidden' | 'ratelimit-once' | 'ratelimited' | 'error' | 'slow' | 'html';

export interface RecordedRequest {
  user: string | null;
  behaviour: Behaviour | 'bad-header';
  status: number;
  /** Remote port: distinct ports = distinct connections. */
  port: number | undefined;
}

export interface FakeCursorOptions {
  /** Added before every answer, ms. */
  latencyMs?: number;
  /** Delay of the `slow` behaviour, ms. */
  slowMs?: number;
  defaultBehaviour?: Behaviour;
}

function jwtClaims(jwt: string): Record<string, unknown> | undefined {
  const parts = jwt.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8'));
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export class FakeCursor {
  readonly server: Server;
  readonly behaviours = new Map<string, Behaviour>();
  readonly requests: RecordedRequest[] = [];
  readonly headerErrors: string[] = [];
  inFlight = 0;
  maxInFlight = 0;
  connections = 0;
  private readonly seen429 = new Set<string>();
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(readonly opts: FakeCursorOptions = {}) {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 30_000;
    this.server.on('connection', (s: Socket) => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return this;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Requests seen for a user id. */
  requestsFor(user: string): RecordedRequest[] {
    return this.requests.filter((r) => r.user === user);
  }

  reset(): void {
    this.requests.length = 0;
    this.headerErrors.length = 0;
    this.behaviours.clear();
    this.seen429.clear();
    this.maxInFlight = 0;
    this.connections = 0;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private later(ms: number, fn: () => void): void {
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    let finished = false;
    const done = () => {
      if (!finished) {
        finished = true;
        this.inFlight--;
      }
    };
    res.on('close', done);
    res.on('finish', done);

    const url = new URL(req.url ?? '/', 'http://x');
    const user = url.searchParams.get('user');
    const port = req.socket.remotePort;
    const record = (behaviour: RecordedRequest['behaviour'], status: number) => this.requests.push({ user, behaviour, status, port });
    const send = (status: number, body: string, headers: Record<string, string> = {}) => {
      if (res.destroyed) return;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(body);
    };

    if (req.method !== 'GET' || url.pathname !== '/api/usage') {
      record('bad-header', 404);
      return this.later(this.opts.latencyMs ?? 0, () => send(404, '{"error":"not found"}'));
    }
    const header = req.headers.cookie;
    const m = typeof header === 'string' ? /^WorkosCursorSessionToken=([^;=\s]+)$/.exec(header) : null;
    const value = m?.[1] ?? '';
    const sep = value.indexOf('%3A%3A');
    const headerUser = sep > 0 ? value.slice(0, sep) : '';
    const jwt = sep > 0 ? value.slice(sep + 6) : '';
    const claims = jwtClaims(jwt);
    if (!m || sep <= 0 || !user || headerUser !== user || !claims) {
      this.headerErrors.push(`user=${user} cookie=${String(header).slice(0, 40)}`);
      record('bad-header', 400);
      return this.later(this.opts.latencyMs ?? 0, () => send(400, '{"error":"bad cookie header"}'));
    }

    const claimed = typeof claims.fake === 'string' ? (claims.fake as Behaviour) : undefined;
    const behaviour: Behaviour = this.behaviours.get(user) ?? claimed ?? this.opts.defaultBehaviour ?? 'valid';
    const used = typeof claims.used === 'number' ? claims.used : 12;
    const validBody = JSON.stringify({
      'gpt-4': { numRequests: used, numRequestsTotal: used, numTokens: 1000, maxRequestUsage: 500, maxTokenUsage: null },
      'gpt-3.5-turbo': { numRequests: 0, numRequestsTotal: 0, numTokens: 0, maxRequestUsage: null, maxTokenUsage: null },
      'gpt-4-32k': { numRequests: 0, numRequestsTotal: 0, numTokens: 0, maxRequestUsage: 50, maxTokenUsage: null },
      startOfMonth: '2026-11-01T00:00:00.000Z',
    });
    const respond = (status: number, body: string, headers: Record<string, string> = {}) => {
      record(behaviour, status);
      this.later(this.opts.latencyMs ?? 0, () => send(status, body, headers));
    };
    switch (behaviour) {
      case 'valid':
        return respond(200, validBody);
      case 'valid-no-gpt4':
        return respond(200, JSON.stringify({ startOfMonth: '2026-11-01T00:00:00.000Z' }));
      case 'revoked':
        return respond(401, '{"error":"Not authenticated"}');
      case 'forbidden':
        return respond(403, '{"error":"Forbidden"}');
      case 'ratelimit-once':
        if (!this.seen429.has(user)) {
          this.seen429.add(user);
          return respond(429, '{"error":"Too many requests"}', { 'retry-after': '1' });
        }
        return respond(200, validBody);
      case 'ratelimited':
        return respond(429, '{"error":"Too many requests"}', { 'retry-after': '0' });
      case 'error':
        return respond(500, '{"error":"Internal"}');
      case 'slow':
        record(behaviour, 200);
        return this.later(this.opts.slowMs ?? 5_000, () => send(200, validBody));
      case 'html':
        return respond(200, '<!doctype html><html><body>Sign in</body></html>', { 'content-type': 'text/html' });
      default:
        return respond(500, '{"error":"unknown fake behaviour"}');
    }
  }
}

export async function startFakeCursor(opts: FakeCursorOptions = {}): Promise<FakeCursor> {
  return new FakeCursor(opts).start();
}
