/**
 * A loopback webhook receiver (Slack / Discord incoming webhook look-alike) for the alert tests.
 * Records every request (method, path, headers, parsed JSON body) and answers with `status`
 * (default 200 `ok`, as Slack does) after `delayMs`. `closed()` gives a URL where nothing listens.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The raw body text. */
  raw: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  body: Record<string, unknown> | undefined;
  time: number;
}

export class FakeWebhook {
  readonly received: Received[] = [];
  /** Status of the answers (change between steps). */
  status = 200;
  /** Delay before answering, ms. */
  delayMs = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(opts: { status?: number; delayMs?: number } = {}): Promise<FakeWebhook> {
    const hook = new FakeWebhook();
    hook.status = opts.status ?? 200;
    hook.delayMs = opts.delayMs ?? 0;
    await new Promise<void>((r) => hook.server.listen(0, '127.0.0.1', r));
    return hook;
  }

  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** A Slack-like webhook URL whose path is the secret. */
  url(secret = 'T0SECRET/B0SECRET/xoxSecretPathPart'): string {
    return `${this.origin}/services/${secret}`;
  }

  /** POSTed alert bodies (JSON). */
  get bodies(): Record<string, unknown>[] {
    return this.received.filter((r) => r.method === 'POST' && r.body).map((r) => r.body!);
  }

  events(): string[] {
    return this.bodies.map((b) => String(b.event));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (raw += d));
    req.on('end', () => {
      let body: Record<string, unknown> | undefined;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        body = undefined;
      }
      this.received.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw, body, time: Date.now() });
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(this.status, { 'content-type': 'text/plain' });
        res.end(this.status === 200 ? 'ok' : this.status === 404 ? 'no_service' : 'invalid_payload');
      };
      if (this.delayMs <= 0) return answer();
      const t = setTimeout(() => {
        this.timers.delete(t);
        answer();
      }, this.delayMs);
      this.timers.add(t);
    });
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** A loopback URL where nothing listens (a port bound, then released). */
export async function closedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}/services/T0SECRET/B0SECRET/downSecretPathPart`;
}
