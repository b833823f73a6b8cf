/**
 * A loopback fake of cursor-api (seed 001, wisdgod/cursor-api) as SPEC §9.2 describes it: its
 * pool is `.token` and `.token-list` on disk, loaded into memory at start and on every reload.
 *
 * Load rules (as cursor-api's `load_tokens`): CRLF files are rewritten with LF; lines are trimmed;
 * blank lines and `#` lines are skipped; a `.token` line is `token` or `alias::token`, one with
 * more than one `::` is ignored (logged); a `.token-list` line is `[alias::]token,checksum`, any
 * other line is ignored (logged). Every token of `.token` missing from `.token-list` gets a line
 * there with a fresh checksum, appended (the file is never shortened by a load); every token of
 * either file is served.
 *
 * Endpoints:
 *   GET  /update-tokeninfo   no auth: reload → {"status":"success","message":"Token list has been reloaded"}
 *   POST /get-tokeninfo      Bearer AUTH_TOKEN → {"status":"success","token_file","token_list_file","tokens","token_list"}
 *   POST /update-tokeninfo   Bearer AUTH_TOKEN, {"tokens","token_list"?}: writes both, reloads →
 *                            {"status":"success","message","token_file","token_list_file","token_count"|"tokens_count":N}
 * A wrong or missing bearer token gets 401 with an empty body, as the real one answers.
 *
 * Switches: `failReload` / `failGet` / `failUpdate` (an HTTP status, or 'garbage' for a 200 that is
 * not JSON), `countField`, `wrongCount`; `onGetInfo(n)` runs before the n-th (1-based)
 * `/get-tokeninfo` answer is read from disk, so a test can edit the files between a client's read
 * and its write.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { basename } from 'node:path';

export type Failure = number | 'garbage';

export interface FakeCursorApiOptions {
  tokenFile: string;
  tokenListFile: string;
  authToken?: string;
  /** The name of the count in the update answer (versions differ). */
  countField?: 'token_count' | 'tokens_count';
}

export interface RecordedCall {
  method: string;
  path: string;
  authorization: string | undefined;
  status: number;
  body?: unknown;
}

export interface ServedToken {
  token: string;
  alias: string | undefined;
  checksum: string;
}

function splitAlias(part: string): { token: string; alias?: string } | undefined {
  const p = part.split('::');
  if (p.length === 1) return { token: p[0]! };
  if (p.length === 2) return { alias: p[0]!, token: p[1]! };
  return undefined;
}

export class FakeCursorApi {
  readonly server: Server;
  readonly authToken: string;
  readonly calls: RecordedCall[] = [];
  /** What the last load served, by token. */
  served = new Map<string, ServedToken>();
  /** Lines the last load ignored: `file:line`. */
  ignored: string[] = [];
  loads = 0;
  failReload?: Failure;
  failGet?: Failure;
  failUpdate?: Failure;
  /** Report a count off by this much after an update. */
  wrongCount = 0;
  onGetInfo?: (n: number) => void;
  private getInfoCount = 0;
  private readonly sockets = new Set<Socket>();

  constructor(readonly opts: FakeCursorApiOptions) {
    this.authToken = opts.authToken ?? `cursor-api-auth-${randomBytes(12).toString('hex')}`;
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  static async start(opts: FakeCursorApiOptions): Promise<FakeCursorApi> {
    const api = new FakeCursorApi(opts);
    api.load();
    await new Promise<void>((r) => api.server.listen(0, '127.0.0.1', r));
    return api;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private read(file: string): string {
    if (!existsSync(file)) {
      writeFileSync(file, '');
      return '';
    }
    const content = readFileSync(file, 'utf8');
    const normalized = content.replace(/\r\n/g, '\n');
    if (normalized !== content) writeFileSync(file, normalized);
    return normalized;
  }

  /** cursor-api's load: both files into memory, new tokens of `.token` appended to `.token-list`. */
  load(): void {
    this.loads++;
    this.ignored = [];
    const map = new Map<string, ServedToken>();
    const listText = this.read(this.opts.tokenListFile);
    listText.split('\n').forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const fields = line.split(',');
      const parsed = fields.length === 2 ? splitAlias(fields[0]!) : undefined;
      if (!parsed) {
        this.ignored.push(`${basename(this.opts.tokenListFile)}:${i + 1}`);
        return;
      }
      map.set(parsed.token, { token: parsed.token, alias: parsed.alias, checksum: fields[1]! });
    });
    const appended: string[] = [];
    this.read(this.opts.tokenFile)
      .split('\n')
      .forEach((raw, i) => {
        const line = raw.trim();
        if (line === '' || line.startsWith('#')) return;
        const parsed = splitAlias(line);
        if (!parsed) {
          this.ignored.push(`${basename(this.opts.tokenFile)}:${i + 1}`);
          return;
        }
        const known = map.get(parsed.token);
        if (known) {
          known.alias = parsed.alias;
          return;
        }
        const checksum = randomBytes(48).toString('base64url');
        map.set(parsed.token, { token: parsed.token, alias: parsed.alias, checksum });
        appended.push(`${parsed.alias ? `${parsed.alias}::` : ''}${parsed.token},${checksum}`);
      });
    if (appended.length) {
      const sep = listText === '' || listText.endsWith('\n') ? '' : '\n';
      writeFileSync(this.opts.tokenListFile, `${listText}${sep}${appended.join('\n')}`);
    }
    this.served = map;
  }

  /** Tokens served now, as a sorted list (for assertions). */
  servedTokens(): string[] {
    return [...this.served.keys()].sort();
  }

  private async body(req: IncomingMessage): Promise<string> {
    let data = '';
    req.setEncoding('utf8');
    for await (const chunk of req) data += chunk as string;
    return data;
  }

  private send(res: ServerResponse, call: RecordedCall, status: number, body?: unknown): void {
    call.status = status;
    this.calls.push(call);
    if (body === undefined) {
      res.writeHead(status, { 'content-length': '0' });
      res.end();
      return;
    }
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/html' : 'application/json' });
    res.end(text);
  }

  private failure(res: ServerResponse, call: RecordedCall, f: Failure): void {
    if (f === 'garbage') this.send(res, call, 200, '<html>Space is sleeping</html>');
    else this.send(res, call, f, { status: 'error', message: 'failure switched on' });
  }

  private authorised(req: IncomingMessage): boolean {
    return req.headers.authorization === `Bearer ${this.authToken}`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const call: RecordedCall = { method: req.method ?? '', path, authorization: req.headers.authorization, status: 0 };
    const raw = req.method === 'POST' ? await this.body(req) : '';
    const names = { token_file: this.opts.tokenFile, token_list_file: this.opts.tokenListFile };
    if (req.method === 'GET' && path === '/update-tokeninfo') {
      if (this.failReload !== undefined) return this.failure(res, call, this.failReload);
      this.load();
      return this.send(res, call, 200, { status: 'success', message: 'Token list has been reloaded' });
    }
    if (req.method === 'POST' && path === '/get-tokeninfo') {
      if (!this.authorised(req)) return this.send(res, call, 401);
      if (this.failGet !== undefined) return this.failure(res, call, this.failGet);
      this.onGetInfo?.(++this.getInfoCount);
      return this.send(res, call, 200, {
        status: 'success',
        ...names,
        tokens: this.read(this.opts.tokenFile),
        token_list: this.read(this.opts.tokenListFile),
      });
    }
    if (req.method === 'POST' && path === '/update-tokeninfo') {
      if (!this.authorised(req)) return this.send(res, call, 401);
      let body: { tokens?: unknown; token_list?: unknown };
      try {
        body = JSON.parse(raw) as typeof body;
      } catch {
        return this.send(res, call, 400, 'Failed to parse the request body as JSON');
      }
      call.body = body;
      if (this.failUpdate !== undefined) return this.failure(res, call, this.failUpdate);
      if (typeof body.tokens !== 'string') return this.send(res, call, 422, 'missing field `tokens`');
      writeFileSync(this.opts.tokenFile, body.tokens);
      if (typeof body.token_list === 'string') writeFileSync(this.opts.tokenListFile, body.token_list);
      this.load();
      return this.send(res, call, 200, {
        status: 'success',
        message: 'Token files have been updated and reloaded',
        ...names,
        [this.opts.countField ?? 'token_count']: this.served.size + this.wrongCount,
      });
    }
    return this.send(res, call, 404, { status: 'error', message: 'not found' });
  }
}
