/**
 * A loopback fake of the Cursor Admin API (node:http on 127.0.0.1, port 0):
 * - checks the Basic auth header (key as user name, empty password), 401 otherwise;
 * - GET /teams/members, POST /teams/daily-usage-data, POST /teams/spend;
 * - rejects daily-usage ranges over 90 days with 400, as the real API does;
 * - paginates spend (page/pageSize, default page size 4), filters by searchTerm, sorts by
 *   sortBy amount|date|user and sortDirection;
 * - can answer the next request(s) with an error (429 with Retry-After, 503, ...);
 * - records every request for assertions.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const DAY_MS = 86_400_000;

export interface FakeMember {
  name: string;
  email: string;
  role: string;
  id?: number;
  isRemoved?: boolean;
}

export interface FakeSpend {
  name: string;
  email: string;
  role: string;
  spendCents: number;
  fastPremiumRequests: number;
  hardLimitOverrideDollars: number;
  /** Only for sortBy=date; not sent. */
  lastActive: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  body: any;
}

export interface Failure {
  status: number;
  retryAfter?: string;
  body?: unknown;
  /** Only requests to this path (default: any). */
  path?: string;
  /** How many requests get it (default 1). */
  times?: number;
}

export const DEFAULT_MEMBERS: FakeMember[] = [
  { id: 1, name: 'Alice Archer', email: 'alice@example.com', role: 'owner', isRemoved: false },
  { id: 2, name: 'Bob Baker', email: 'bob@example.com', role: 'member', isRemoved: false },
  { id: 3, name: 'Doe, "JJ" Jane', email: 'jj@example.com', role: 'member', isRemoved: false },
];

export function defaultSpend(): FakeSpend[] {
  const names = ['Alice Archer', 'Bob Baker', 'Carol Cole', 'Dan Dunn', 'Eve Evans', 'Frank Fox', 'Grace Gray', 'Heidi Hall', 'Ivan Ives', 'Judy, "J" Jones'];
  return names.map((name, i) => ({
    name,
    email: `${name.split(' ')[0]!.replace(/\W/g, '').toLowerCase()}@example.com`,
    role: i === 0 ? 'owner' : 'member',
    // Distinct amounts, not in name order.
    spendCents: ((i * 7919) % 10_000) * 13 + 123_456 * (i % 3),
    fastPremiumRequests: (i * 37) % 500,
    hardLimitOverrideDollars: i % 4 === 0 ? 0 : 100 * i,
    lastActive: Date.UTC(2025, 5, 1) + ((i * 5) % 10) * DAY_MS,
  }));
}

/** The fake's deterministic usage row of one member on one day (epoch ms at UTC midnight). */
export function fakeUsageRow(dayMs: number, email: string, memberIndex: number): Record<string, unknown> {
  const d = Math.floor(dayMs / DAY_MS);
  const inactive = (d + memberIndex) % 5 === 0;
  const n = (k: number): number => (inactive ? 0 : ((d * (k + 3) + memberIndex * 11) % (40 + k)) + 1);
  const added = n(60);
  const tabsShown = n(30);
  return {
    date: dayMs,
    email,
    isActive: !inactive,
    totalLinesAdded: added,
    totalLinesDeleted: n(20),
    acceptedLinesAdded: Math.floor(added / 2),
    acceptedLinesDeleted: Math.floor(n(20) / 3),
    totalApplies: n(5),
    totalAccepts: n(4),
    totalRejects: n(2),
    totalTabsShown: tabsShown,
    totalTabsAccepted: Math.floor(tabsShown / 3),
    composerRequests: n(3),
    chatRequests: n(7),
    agentRequests: n(9),
    cmdkUsages: n(1),
    subscriptionIncludedReqs: n(8),
    apiKeyReqs: 0,
    usageBasedReqs: n(0) % 3,
    bugbotUsages: 0,
    mostUsedModel: inactive ? '' : 'claude-4-sonnet',
    applyMostUsedExtension: inactive ? '' : '.ts',
    tabMostUsedExtension: inactive ? '' : '.ts',
    clientVersion: '1.2.3',
  };
}

/** Midnights (UTC) that fall in [startDate, endDate]. */
export function daysIn(startDate: number, endDate: number): number[] {
  const out: number[] = [];
  for (let day = Math.ceil(startDate / DAY_MS) * DAY_MS; day <= endDate; day += DAY_MS) out.push(day);
  return out;
}

export interface FakeOptions {
  key: string;
  members?: FakeMember[];
  spend?: FakeSpend[];
  spendPageSize?: number;
  subscriptionCycleStart?: number;
}

export class FakeAdminApi {
  readonly key: string;
  members: FakeMember[];
  spend: FakeSpend[];
  spendPageSize: number;
  subscriptionCycleStart: number;
  readonly requests: RecordedRequest[] = [];
  private failures: Failure[] = [];
  private server!: Server;
  url = '';

  private constructor(opts: FakeOptions) {
    this.key = opts.key;
    this.members = opts.members ?? DEFAULT_MEMBERS;
    this.spend = opts.spend ?? defaultSpend();
    this.spendPageSize = opts.spendPageSize ?? 4;
    this.subscriptionCycleStart = opts.subscriptionCycleStart ?? Date.UTC(2025, 5, 1);
  }

  static async start(opts: FakeOptions): Promise<FakeAdminApi> {
    const api = new FakeAdminApi(opts);
    api.server = createServer((req, res) => void api.handle(req, res));
    await new Promise<void>((resolve) => api.server.listen(0, '127.0.0.1', resolve));
    const { port } = api.server.address() as AddressInfo;
    api.url = `http://127.0.0.1:${port}`;
    return api;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  reset(): void {
    this.requests.length = 0;
    this.failures = [];
  }

  /** Answer the next matching request(s) with this failure. */
  failNext(f: Failure): void {
    this.failures.push({ times: 1, ...f });
  }

  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** The members used for usage rows. */
  usageEmails(): string[] {
    return this.members.filter((m) => !m.isRemoved).map((m) => m.email);
  }

  /** Every row the fake would give for [startDate, endDate]. */
  usageRows(startDate: number, endDate: number): Record<string, unknown>[] {
    const emails = this.usageEmails();
    return daysIn(startDate, endDate).flatMap((day) => emails.map((e, i) => fakeUsageRow(day, e, i)));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: any;
    try {
      body = raw ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    this.requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, body });

    const send = (status: number, value: unknown, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(value));
    };

    const fIndex = this.failures.findIndex((f) => !f.path || f.path === path);
    if (fIndex >= 0) {
      const f = this.failures[fIndex]!;
      f.times = (f.times ?? 1) - 1;
      if (f.times <= 0) this.failures.splice(fIndex, 1);
      return send(f.status, f.body ?? { error: f.status === 429 ? 'Rate limit exceeded' : 'Internal error' }, f.retryAfter !== undefined ? { 'retry-after': f.retryAfter } : {});
    }

    const expected = `Basic ${Buffer.from(`${this.key}:`).toString('base64')}`;
    if (req.headers.authorization !== expected) return send(401, { error: 'Unauthorized', message: 'Invalid API key' });

    if (path === '/teams/members') {
      if (req.method !== 'GET') return send(405, { error: 'Method not allowed' });
      return send(200, { teamMembers: this.members });
    }

    if (path === '/teams/daily-usage-data') {
      if (req.method !== 'POST') return send(405, { error: 'Method not allowed' });
      const { startDate, endDate } = (body ?? {}) as { startDate?: unknown; endDate?: unknown };
      if (typeof startDate !== 'number' || typeof endDate !== 'number') {
        return send(400, { error: 'startDate and endDate are required (epoch milliseconds)' });
      }
      if (endDate < startDate) return send(400, { error: 'startDate must be before endDate' });
      if (endDate - startDate > 90 * DAY_MS) return send(400, { error: 'Date range cannot exceed 90 days' });
      return send(200, { data: this.usageRows(startDate, endDate), period: { startDate, endDate } });
    }

    if (path === '/teams/spend') {
      if (req.method !== 'POST') return send(405, { error: 'Method not allowed' });
      const b = (body ?? {}) as { searchTerm?: string; sortBy?: string; sortDirection?: string; page?: number; pageSize?: number };
      if (b.sortBy !== undefined && !['amount', 'date', 'user'].includes(b.sortBy)) return send(400, { error: `Invalid sortBy: ${b.sortBy}` });
      if (b.sortDirection !== undefined && !['asc', 'desc'].includes(b.sortDirection)) return send(400, { error: 'Invalid sortDirection' });
      const page = b.page ?? 1;
      const pageSize = b.pageSize ?? this.spendPageSize;
      if (!Number.isInteger(page) || page < 1 || !Number.isInteger(pageSize) || pageSize < 1) return send(400, { error: 'Invalid page or pageSize' });
      const term = (b.searchTerm ?? '').toLowerCase();
      let list = this.spend.filter((m) => !term || m.name.toLowerCase().includes(term) || m.email.toLowerCase().includes(term));
      const key = (m: FakeSpend): number | string => (b.sortBy === 'user' ? m.name.toLowerCase() : b.sortBy === 'date' ? m.lastActive : m.spendCents);
      const dir = b.sortDirection === 'asc' ? 1 : b.sortBy === undefined ? -1 : b.sortDirection === 'desc' ? -1 : 1;
      list = [...list].sort((x, y) => (key(x) < key(y) ? -dir : key(x) > key(y) ? dir : 0));
      const totalPages = Math.max(1, Math.ceil(list.length / pageSize));
      const slice = list.slice((page - 1) * pageSize, page * pageSize).map(({ lastActive: _unused, ...m }) => m);
      return send(200, {
        teamMemberSpend: slice,
        subscriptionCycleStart: this.subscriptionCycleStart,
        totalMembers: list.length,
        totalPages,
      });
    }

    return send(404, { error: 'Not found' });
  }
}
