/**
 * `team members|usage|spend` against a loopback fake of the Cursor Admin API, through the built
 * CLI; plus unit tests of the client, window splitting, joining, totals and output helpers.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AdminApiClient, AdminApiError, parseRetryAfter, serverMessage } from '../src/cursor/admin-api.js';
import { OperationalError, UsageError } from '../src/errors.js';
import { fitTable, resolveFormat, truncate } from '../src/ui/team-output.js';
import {
  acceptanceRates,
  DAY_MS,
  fetchSpend,
  joinWindowRows,
  parseDateArg,
  percent,
  resolveRange,
  splitWindows,
  usageTotals,
} from '../src/services/team.js';
import { FakeAdminApi } from './fake-admin-api.js';
import { runCli, type RunResult } from './helpers/cli.js';

const KEY = `key_${'7f3a9c1e'.repeat(8)}`;
const TOKEN = Buffer.from(`${KEY}:`).toString('base64');
const WRONG_KEY = `key_${'0badc0de'.repeat(8)}`;

let api: FakeAdminApi;
let cwd: string;
/** Every CLI output of this file, checked for the key at the end. */
const outputs: RunResult[] = [];

async function run(args: string[], env: Record<string, string | undefined> = {}): Promise<RunResult> {
  const r = await runCli(args, { cwd, env: { CURSOR_ADMIN_API_URL: api.url, CURSOR_ADMIN_API_KEY: KEY, ...env } });
  outputs.push(r);
  return r;
}

function json(r: RunResult): any {
  expect(r.stderr.includes('cookie-pool:') ? r.stderr : '', 'no error expected').toBe('');
  return JSON.parse(r.stdout);
}

function noSecret(r: RunResult, ...secrets: string[]): void {
  for (const s of [KEY, TOKEN, ...secrets]) {
    expect(r.stdout.includes(s), 'secret on stdout').toBe(false);
    expect(r.stderr.includes(s), 'secret on stderr').toBe(false);
  }
}

beforeAll(async () => {
  api = await FakeAdminApi.start({ key: KEY });
  // A clean working dir: no stray .env from the repository.
  cwd = mkdtempSync(join(tmpdir(), 'cookie-pool-team-'));
});

afterAll(async () => {
  await api.close();
  rmSync(cwd, { recursive: true, force: true });
  for (const r of outputs) noSecret(r, WRONG_KEY);
});

beforeEach(() => api.reset());

describe('team members', () => {
  it('lists name, email and role as a table, sending Basic auth with the key and an empty password', async () => {
    const r = await run(['team', 'members']);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^NAME\s+EMAIL\s+ROLE$/);
    for (const m of api.members) {
      expect(lines.some((l) => l.includes(m.name) && l.includes(m.email) && l.includes(m.role))).toBe(true);
    }
    // Aligned: the EMAIL column starts at the same offset on every member line.
    const offsets = api.members.map((m) => lines.find((l) => l.includes(m.email))!.indexOf(m.email));
    expect(new Set(offsets).size).toBe(1);
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]).toMatchObject({ method: 'GET', path: '/teams/members', authorization: `Basic ${TOKEN}` });
  });

  it('prints one JSON document with --json', async () => {
    const r = await run(['team', 'members', '--json']);
    expect(r.code).toBe(0);
    const doc = json(r);
    expect(doc.count).toBe(3);
    expect(doc.members.map((m: any) => [m.name, m.email, m.role])).toEqual(api.members.map((m) => [m.name, m.email, m.role]));
  });

  it('writes CSV with a header row and proper quoting (parsed back with csv-parse)', async () => {
    const r = await run(['team', 'members', '--format', 'csv']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('name,email,role,isRemoved');
    const records = parse(r.stdout, { columns: true }) as Record<string, string>[];
    expect(records).toEqual(api.members.map((m) => ({ name: m.name, email: m.email, role: m.role, isRemoved: 'false' })));
    expect(records.some((x) => x.name === 'Doe, "JJ" Jane')).toBe(true);
  });

  it('reads the key from .env in the working directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cookie-pool-team-env-'));
    try {
      writeFileSync(join(dir, '.env'), `CURSOR_ADMIN_API_KEY=${KEY}\nCURSOR_ADMIN_API_URL=${api.url}\n`);
      const r = await runCli(['team', 'members', '--json'], { cwd: dir });
      outputs.push(r);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).count).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('team usage', () => {
  const from = Date.UTC(2025, 0, 1);
  const lastDay = Date.UTC(2025, 6, 19); // 2025-01-01 .. 2025-07-19 is 200 days
  const end = lastDay + DAY_MS - 1;

  it('splits 200 days into 3 windows of at most 90 days, requested in order, and joins the rows without gaps or duplicates', async () => {
    const r = await run(['team', 'usage', '--from', '2025-01-01', '--to', '2025-07-19', '--json']);
    expect(r.code).toBe(0);
    const calls = api.requestsTo('/teams/daily-usage-data');
    expect(calls).toHaveLength(3);
    const bodies = calls.map((c) => c.body as { startDate: number; endDate: number });
    expect(bodies[0]!.startDate).toBe(from);
    expect(bodies[2]!.endDate).toBe(end);
    for (const [i, b] of bodies.entries()) {
      expect(calls[i]!.method).toBe('POST');
      expect(b.endDate - b.startDate).toBeLessThan(90 * DAY_MS);
      if (i > 0) expect(b.startDate).toBe(bodies[i - 1]!.endDate + 1);
    }
    expect(bodies.map((b) => new Date(b.startDate).toISOString().slice(0, 10))).toEqual(['2025-01-01', '2025-04-01', '2025-06-30']);

    const doc = json(r);
    expect(doc.from).toBe('2025-01-01');
    expect(doc.to).toBe('2025-07-19');
    expect(doc.windows).toHaveLength(3);
    const emails = api.usageEmails();
    expect(doc.rows).toHaveLength(200 * emails.length);
    const days = [...new Set(doc.rows.map((x: any) => x.day))] as string[];
    expect(days).toHaveLength(200);
    for (let i = 0; i < 200; i++) expect(days[i]).toBe(new Date(from + i * DAY_MS).toISOString().slice(0, 10));
    const keys = new Set(doc.rows.map((x: any) => `${x.day}|${x.email}`));
    expect(keys.size).toBe(doc.rows.length);

    const expected = api.usageRows(from, end);
    const sum = (k: string): number => expected.reduce((s, x) => s + (x[k] as number), 0);
    for (const k of ['totalLinesAdded', 'totalLinesDeleted', 'acceptedLinesAdded', 'totalTabsShown', 'totalTabsAccepted', 'composerRequests', 'chatRequests', 'agentRequests', 'usageBasedReqs']) {
      expect(doc.totals[k], k).toBe(sum(k));
    }
    expect(doc.totals.rows).toBe(expected.length);
    expect(doc.acceptance.lines).toBe(Math.round((sum('acceptedLinesAdded') / sum('totalLinesAdded')) * 1000) / 10);
    expect(doc.acceptance.tabs).toBe(Math.round((sum('totalTabsAccepted') / sum('totalTabsShown')) * 1000) / 10);
  });

  it('shows a totals row and acceptance percentages in the table, within 100 columns', async () => {
    const r = await run(['team', 'usage', '--from', '2025-01-01', '--to', '2025-07-19']);
    expect(r.code).toBe(0);
    const expected = api.usageRows(from, end);
    const sum = (k: string): number => expected.reduce((s, x) => s + (x[k] as number), 0);
    const lines = r.stdout.split('\n');
    const total = lines.find((l) => l.startsWith('TOTAL'));
    expect(total).toBeDefined();
    const numbers = total!.trim().split(/\s+/).slice(3).map(Number); // TOTAL, N, users
    expect(numbers).toEqual(
      ['totalLinesAdded', 'totalLinesDeleted', 'acceptedLinesAdded', 'totalTabsShown', 'totalTabsAccepted', 'composerRequests', 'chatRequests', 'agentRequests', 'usageBasedReqs'].map(sum),
    );
    const linesPct = (Math.round((sum('acceptedLinesAdded') / sum('totalLinesAdded')) * 1000) / 10).toFixed(1);
    expect(r.stdout).toContain(`lines ${linesPct}%`);
    expect(r.stdout).toMatch(/tabs \d+\.\d%/);
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(100);
    // Progress per window goes to stderr, never stdout.
    expect(r.stderr).toContain('usage 3/3');
  });

  it('filters by --email, with one request for a short range', async () => {
    const r = await run(['team', 'usage', '--from', '2025-03-01', '--to', '2025-03-10', '--email', 'BOB@example.com', '--json']);
    expect(r.code).toBe(0);
    expect(api.requestsTo('/teams/daily-usage-data')).toHaveLength(1);
    const doc = json(r);
    expect(doc.rows).toHaveLength(10);
    expect(doc.rows.every((x: any) => x.email === 'bob@example.com')).toBe(true);
    const bob = api.usageRows(Date.UTC(2025, 2, 1), Date.UTC(2025, 2, 10) + DAY_MS - 1).filter((x) => x.email === 'bob@example.com');
    expect(doc.totals.totalLinesAdded).toBe(bob.reduce((s, x) => s + (x.totalLinesAdded as number), 0));
  });

  it('accepts epoch milliseconds', async () => {
    const r = await run(['team', 'usage', '--from', String(from), '--to', String(from + 5 * DAY_MS), '--json']);
    expect(r.code).toBe(0);
    expect(api.requestsTo('/teams/daily-usage-data')[0]!.body).toEqual({ startDate: from, endDate: from + 5 * DAY_MS });
    expect(json(r).rows).toHaveLength(6 * api.usageEmails().length);
  });

  it('writes every row as CSV, parsed back with csv-parse', async () => {
    const r = await run(['team', 'usage', '--from', '2025-01-01', '--to', '2025-07-19', '--format', 'csv']);
    expect(r.code).toBe(0);
    const records = parse(r.stdout, { columns: true }) as Record<string, string>[];
    const expected = api.usageRows(from, end);
    expect(records).toHaveLength(expected.length);
    expect(records[0]).toMatchObject({ day: '2025-01-01', date: String(from), email: expected[0]!.email as string });
    const total = records.reduce((s, x) => s + Number(x.totalLinesAdded), 0);
    expect(total).toBe(expected.reduce((s, x) => s + (x.totalLinesAdded as number), 0));
    expect(records.some((x) => x.isActive === 'false')).toBe(true);
  });
});

describe('team spend', () => {
  it('--all follows totalPages: 3 pages joined, sort and order passed through', async () => {
    const r = await run(['team', 'spend', '--all', '--sort', 'amount', '--order', 'desc', '--json']);
    expect(r.code).toBe(0);
    const calls = api.requestsTo('/teams/spend');
    expect(calls.map((c) => c.body.page)).toEqual([1, 2, 3]);
    for (const c of calls) expect(c.body).toMatchObject({ sortBy: 'amount', sortDirection: 'desc' });
    const doc = json(r);
    expect(doc.pages).toEqual([1, 2, 3]);
    expect(doc.totalPages).toBe(3);
    expect(doc.totalMembers).toBe(10);
    expect(doc.members).toHaveLength(10);
    const cents = doc.members.map((m: any) => m.spendCents);
    expect(cents).toEqual([...api.spend.map((m) => m.spendCents)].sort((a, b) => b - a));
    expect(doc.totalSpendCents).toBe(api.spend.reduce((s, m) => s + m.spendCents, 0));
    for (const m of doc.members) expect(m.spendDollars).toBe(m.spendCents / 100);
    expect(doc.cycleStart).toBe('2025-06-01');
  });

  it('shows dollars from cents in the table', async () => {
    const r = await run(['team', 'spend', '--all', '--sort', 'user', '--order', 'asc']);
    expect(r.code).toBe(0);
    const fmt = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
    for (const m of api.spend) {
      const line = r.stdout.split('\n').find((l) => l.includes(m.email));
      expect(line, m.email).toBeDefined();
      expect(line).toContain(fmt.format(m.spendCents / 100));
    }
    const total = api.spend.reduce((s, m) => s + m.spendCents, 0);
    expect(r.stdout).toContain(`total ${fmt.format(total / 100)}`);
    // Sorted by user, ascending, across pages.
    const order = r.stdout.split('\n').slice(1, 11).map((l) => l.split(/\s{2,}/)[0]);
    expect(order).toEqual([...api.spend.map((m) => m.name)].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
  });

  it('asks for one page with --page and --page-size, and passes --search', async () => {
    const r = await run(['team', 'spend', '--page', '2', '--page-size', '3']);
    expect(r.code).toBe(0);
    expect(api.requestsTo('/teams/spend').map((c) => c.body)).toEqual([{ page: 2, pageSize: 3 }]);
    expect(r.stdout).toContain('page 2 of 4');

    const s = await run(['team', 'spend', '--search', 'fox', '--json']);
    expect(s.code).toBe(0);
    expect(api.requestsTo('/teams/spend').at(-1)!.body).toEqual({ searchTerm: 'fox' });
    expect(json(s).members.map((m: any) => m.name)).toEqual(['Frank Fox']);
  });

  it('writes CSV with dollars, quoting names with commas and quotes', async () => {
    const r = await run(['team', 'spend', '--all', '--format', 'csv']);
    expect(r.code).toBe(0);
    const records = parse(r.stdout, { columns: true }) as Record<string, string>[];
    expect(records).toHaveLength(10);
    expect(Object.keys(records[0]!)).toEqual(['name', 'email', 'role', 'spendCents', 'spendDollars', 'fastPremiumRequests', 'hardLimitOverrideDollars']);
    for (const x of records) {
      const m = api.spend.find((s) => s.email === x.email)!;
      expect(x.name).toBe(m.name);
      expect(Number(x.spendCents)).toBe(m.spendCents);
      expect(Number(x.spendDollars)).toBe(m.spendCents / 100);
    }
    expect(records.some((x) => x.name === 'Judy, "J" Jones')).toBe(true);
  });
});

describe('errors, retries and secrets', () => {
  it('retries a 429 after Retry-After and then succeeds', async () => {
    api.failNext({ status: 429, retryAfter: '1', path: '/teams/members' });
    const r = await run(['team', 'members', '--json', '-v']);
    expect(r.code).toBe(0);
    expect(api.requestsTo('/teams/members')).toHaveLength(2);
    expect(json(r).count).toBe(3);
    expect(r.stderr).toContain('HTTP 429; retrying in 1000 ms (Retry-After)');
  });

  it('retries a 503 with backoff, and gives up on endless 429s after a bounded number of tries (exit 1)', async () => {
    api.failNext({ status: 503, path: '/teams/spend' });
    const ok = await run(['team', 'spend', '--json']);
    expect(ok.code).toBe(0);
    expect(api.requestsTo('/teams/spend')).toHaveLength(2);

    api.reset();
    api.failNext({ status: 429, retryAfter: '0', times: 100 });
    const r = await run(['team', 'members']);
    expect(r.code).toBe(1);
    expect(api.requests).toHaveLength(4);
    expect(r.stderr).toContain('rate limiting');
  });

  it('a refused key: 401 message, exit 1, and the key is not printed (also with --json and --verbose)', async () => {
    const r = await run(['team', 'members', '-v'], { CURSOR_ADMIN_API_KEY: WRONG_KEY });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('the admin API key was refused');
    noSecret(r, WRONG_KEY, Buffer.from(`${WRONG_KEY}:`).toString('base64'));

    const j = await run(['team', 'spend', '--json'], { CURSOR_ADMIN_API_KEY: WRONG_KEY });
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout)).toMatchObject({ ok: false, exitCode: 1 });
    expect(JSON.parse(j.stdout).error).toContain('the admin API key was refused');
    noSecret(j, WRONG_KEY);
  });

  it('a missing key exits 2 naming CURSOR_ADMIN_API_KEY, without any request', async () => {
    for (const value of [undefined, '', '   ']) {
      const r = await run(['team', 'usage'], { CURSOR_ADMIN_API_KEY: value });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('CURSOR_ADMIN_API_KEY');
    }
    expect(api.requests).toHaveLength(0);
  });

  it('never prints the key, even with --verbose on every command', async () => {
    const runs = [
      await run(['-v', 'team', 'members']),
      await run(['-v', 'team', 'usage', '--from', '2025-01-01', '--to', '2025-04-15']),
      await run(['-v', 'team', 'spend', '--all', '--format', 'csv']),
      await run(['-v', 'team', 'spend', '--json'], { CURSOR_ADMIN_API_URL: `${api.url}/nowhere` }),
    ];
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 1]);
    // --verbose really talked: the requests are logged, without credentials.
    expect(runs[0]!.stderr).toContain(`GET ${api.url}/teams/members`);
    expect(runs[1]!.stderr).toMatch(/POST .*\/teams\/daily-usage-data \{"startDate":\d+,"endDate":\d+\}/);
    expect(runs[3]!.stderr).toContain('HTTP 404');
    for (const r of runs) {
      noSecret(r);
      expect(r.stderr).not.toMatch(/authorization|basic /i);
    }
  });

  it('validates options with exit 2 before any request', async () => {
    const cases: [string[], RegExp][] = [
      [['team', 'usage', '--from', '2025-13-01'], /--from/],
      [['team', 'usage', '--from', '2025-02-30'], /calendar date/],
      [['team', 'usage', '--from', 'yesterday'], /YYYY-MM-DD/],
      [['team', 'usage', '--from', '1735689600'], /epoch milliseconds/],
      [['team', 'usage', '--from', '2025-03-01', '--to', '2025-02-01'], /after --to/],
      [['team', 'spend', '--sort', 'price'], /amount, date, user/],
      [['team', 'spend', '--order', 'up'], /asc, desc/],
      [['team', 'members', '--format', 'xml'], /table, json, csv/],
      [['team', 'spend', '--page', '0'], /--page/],
      [['team', 'spend', '--page-size', 'abc'], /--page-size/],
      [['team', 'spend', '--page', '2', '--all'], /cannot be used with/],
      [['team', 'members', '--json', '--format', 'csv'], /conflicts/],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args)));
    for (const [i, r] of results.entries()) {
      expect(r.code, cases[i]![0].join(' ')).toBe(2);
      expect(r.stderr, cases[i]![0].join(' ')).toMatch(cases[i]![1]);
    }
    expect(api.requests).toHaveLength(0);
  });
});

describe('admin API client', () => {
  const client = (extra: Partial<ConstructorParameters<typeof AdminApiClient>[0]> = {}): AdminApiClient =>
    new AdminApiClient({ apiKey: KEY, baseUrl: api.url, baseDelayMs: 1, ...extra });

  it('surfaces the server message of a 400: the fake, like the real API, refuses more than 90 days', async () => {
    const err = await client()
      .dailyUsage(Date.UTC(2025, 0, 1), Date.UTC(2025, 0, 1) + 91 * DAY_MS)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdminApiError);
    expect((err as AdminApiError).status).toBe(400);
    expect((err as AdminApiError).exitCode).toBe(1);
    expect((err as Error).message).toContain('Date range cannot exceed 90 days');
  });

  it('honours Retry-After (seconds) and backs off without it', async () => {
    const waits: number[] = [];
    api.failNext({ status: 429, retryAfter: '7' });
    api.failNext({ status: 502 });
    const members = await client({ sleep: async (ms) => void waits.push(ms) }).members();
    expect(members).toHaveLength(3);
    expect(waits[0]).toBe(7000);
    expect(waits[1]).toBeGreaterThanOrEqual(2); // baseDelay 1 ms doubled on the second retry
    expect(waits).toHaveLength(2);
  });

  it('gives up when Retry-After asks for longer than it will wait', async () => {
    api.failNext({ status: 429, retryAfter: '3600' });
    const err = await client({ sleep: async () => {} }).members().catch((e: unknown) => e);
    expect((err as AdminApiError).status).toBe(429);
    expect((err as Error & { hint?: string }).hint).toContain('3600');
    expect(api.requests).toHaveLength(1);
  });

  it('times out a request that does not answer', async () => {
    const { createServer } = await import('node:http');
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const err = await new AdminApiClient({ apiKey: KEY, baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 200 }).members().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OperationalError);
      expect((err as Error).message).toMatch(/did not answer/);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('maps 403 and scrubs the key from server messages', async () => {
    api.failNext({ status: 403, body: { error: `key ${KEY} is not an admin key` } });
    const err = await client().members().catch((e: unknown) => e);
    expect((err as AdminApiError).status).toBe(403);
    expect((err as Error).message).toContain('HTTP 403');
    expect((err as Error).message).not.toContain(KEY);
    expect((err as Error).message).toContain('key *** is not an admin key');
  });

  it('refuses a bad base URL naming the variable', () => {
    expect(() => new AdminApiClient({ apiKey: KEY, baseUrl: 'ftp://x' })).toThrow(/CURSOR_ADMIN_API_URL/);
    expect(() => new AdminApiClient({ apiKey: KEY, baseUrl: 'https://u:p@api.cursor.com' })).toThrow(UsageError);
  });

  it('reads Retry-After and server messages', () => {
    expect(parseRetryAfter('2', 0)).toBe(2000);
    expect(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(10_000);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
    expect(serverMessage('{"error":"Date range cannot exceed 90 days"}')).toBe('Date range cannot exceed 90 days');
    expect(serverMessage('{"error":{"message":"nope"}}')).toBe('nope');
    expect(serverMessage('<html><body>502</body></html>')).toBeUndefined();
    expect(serverMessage('')).toBeUndefined();
  });
});

describe('usage windows and totals (unit)', () => {
  const jan1 = Date.UTC(2025, 0, 1);

  it('splits a range into consecutive windows of at most 90 days', () => {
    const end = jan1 + 200 * DAY_MS - 1;
    const w = splitWindows(jan1, end);
    expect(w).toHaveLength(3);
    expect(w.map((x) => Math.round((x.endDate - x.startDate + 1) / DAY_MS))).toEqual([90, 90, 20]);
    expect(w[0]!.startDate).toBe(jan1);
    expect(w[2]!.endDate).toBe(end);
    for (let i = 1; i < w.length; i++) expect(w[i]!.startDate).toBe(w[i - 1]!.endDate + 1);

    expect(splitWindows(jan1, jan1 + 90 * DAY_MS - 1)).toHaveLength(1);
    expect(splitWindows(jan1, jan1 + 90 * DAY_MS)).toHaveLength(2);
    expect(splitWindows(jan1, jan1)).toEqual([{ startDate: jan1, endDate: jan1 }]);
    expect(splitWindows(jan1, jan1 + 10 * DAY_MS, 3)).toHaveLength(4);
    expect(() => splitWindows(jan1 + 1, jan1)).toThrow();
  });

  it('parses dates as UTC days (--to inclusive) or epoch ms', () => {
    expect(parseDateArg('2025-01-01', '--from', 'start')).toBe(jan1);
    expect(parseDateArg('2025-01-01', '--to', 'end')).toBe(jan1 + DAY_MS - 1);
    expect(parseDateArg('1735689600000', '--from', 'start')).toBe(jan1);
    expect(() => parseDateArg('2024-02-30', '--from', 'start')).toThrow(UsageError);
    expect(parseDateArg('2024-02-29', '--from', 'start')).toBe(Date.UTC(2024, 1, 29));
    expect(() => parseDateArg('01/02/2025', '--from', 'start')).toThrow(/--from/);
    expect(() => parseDateArg('1735689600', '--to', 'end')).toThrow(/--to/);
  });

  it('defaults to the last 30 days, today included', () => {
    const now = Date.UTC(2025, 5, 15, 13, 45);
    const r = resolveRange(undefined, undefined, now);
    expect(r.startDate).toBe(Date.UTC(2025, 4, 17));
    expect(r.endDate).toBe(Date.UTC(2025, 5, 16) - 1);
    expect(() => resolveRange('2025-06-02', '2025-06-01', now)).toThrow(/after --to/);
    expect(resolveRange('2025-06-01', '2025-06-01', now)).toEqual({ startDate: Date.UTC(2025, 5, 1), endDate: Date.UTC(2025, 5, 2) - 1 });
  });

  it('joins window rows by day, once per user and day, normalising string dates', () => {
    const d = (n: number): number => jan1 + n * DAY_MS;
    const rows = joinWindowRows([
      [
        { date: d(0), email: 'a@x', totalLinesAdded: 1 },
        { date: d(1), email: 'a@x', totalLinesAdded: 2 },
      ],
      [
        { date: d(1), email: 'A@x', totalLinesAdded: 2 }, // the boundary day again
        { date: String(d(2)) as unknown as number, email: 'a@x', totalLinesAdded: 3 },
        { date: d(2), email: 'b@x', totalLinesAdded: 4 },
      ],
    ]);
    expect(rows.map((r) => [r.date, r.email])).toEqual([
      [d(0), 'a@x'],
      [d(1), 'a@x'],
      [d(2), 'a@x'],
      [d(2), 'b@x'],
    ]);
  });

  it('adds up counters and computes acceptance percentages', () => {
    const t = usageTotals([
      { date: jan1, email: 'a@x', isActive: true, totalLinesAdded: 100, acceptedLinesAdded: 25, totalTabsShown: 30, totalTabsAccepted: 10, totalAccepts: 3, totalRejects: 1, chatRequests: 2 },
      { date: jan1, email: 'b@x', isActive: false, totalLinesAdded: 0 },
      { date: jan1 + DAY_MS, email: 'a@x', totalLinesAdded: 100, acceptedLinesAdded: 50, totalTabsShown: 10, totalTabsAccepted: 0, chatRequests: 5, usageBasedReqs: 1 },
    ]);
    expect(t).toMatchObject({ totalLinesAdded: 200, acceptedLinesAdded: 75, totalTabsShown: 40, totalTabsAccepted: 10, chatRequests: 7, usageBasedReqs: 1 });
    expect(t).toMatchObject({ rows: 3, activeRows: 2, users: 1, days: 2 });
    expect(acceptanceRates(t)).toEqual({ lines: 37.5, tabs: 25, suggestions: 75 });
    expect(acceptanceRates(usageTotals([])).lines).toBeNull();
    expect(percent(1, 3)).toBe(33.3);
  });
});

describe('spend paging and output helpers (unit)', () => {
  it('follows totalPages with --all and keeps a member who moved pages once', async () => {
    const asked: unknown[] = [];
    const pages: Record<number, string[]> = { 1: ['a', 'b'], 2: ['b', 'c'], 3: ['d'] };
    const stub = {
      spend: async (req: { page?: number }) => {
        asked.push(req);
        const p = req.page ?? 1;
        return { teamMemberSpend: (pages[p] ?? []).map((e) => ({ email: `${e}@x`, spendCents: 100 })), totalPages: 3, totalMembers: 4 };
      },
    };
    const r = await fetchSpend(stub, { all: true, pageSize: 2, search: 'x' });
    expect(asked).toEqual([1, 2, 3].map((page) => ({ searchTerm: 'x', pageSize: 2, page })));
    expect(r.members.map((m) => m.email)).toEqual(['a@x', 'b@x', 'c@x', 'd@x']);
    expect(r.totalSpendCents).toBe(400);
    expect(r.pages).toEqual([1, 2, 3]);

    asked.length = 0;
    const one = await fetchSpend(stub, {});
    expect(asked).toEqual([{}]);
    expect(one.pages).toEqual([1]);
  });

  it('resolves --format with --json', () => {
    expect(resolveFormat(undefined, false)).toBe('table');
    expect(resolveFormat(undefined, true)).toBe('json');
    expect(resolveFormat('CSV', false)).toBe('csv');
    expect(() => resolveFormat('csv', true)).toThrow(UsageError);
    expect(() => resolveFormat('xml', false)).toThrow(/--format/);
  });

  it('fits wide tables by truncating the flexible columns', () => {
    expect(truncate('abcdef', 4)).toBe('abc…');
    expect(truncate('abc', 4)).toBe('abc');
    const head = ['A', 'EMAIL', 'B'];
    const rows = [['x'.repeat(10), 'someone.with.a.long.name@example.com', 'y'.repeat(10)]];
    const fitted = fitTable(head, rows, [1], 40);
    const width = fitted[0]!.reduce((s, c) => s + c.length, 0) + 4;
    expect(width).toBeLessThanOrEqual(40);
    expect(fitted[0]![1]).toMatch(/^someone.*…$/);
    expect(fitted[0]![0]).toBe('x'.repeat(10));
  });
});
