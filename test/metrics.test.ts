/**
 * `schedule --metrics-port` (SPEC §11): /metrics scraped from a running schedule child against the
 * fake GitHub and the fake Cursor usage endpoint, /healthz, a taken port, a clean stop.
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { maskSecret } from '../src/core/cookie.js';
import { startFakeCursor, type FakeCursor } from './fake-cursor.js';
import { makeCookie } from './helpers/cookies.js';
import { FAST, rig, until, type Rig, type Spawned } from './helpers/refresh-rig.js';

const KEY_A = 'sk-team-alpha-000000000001';
const KEY_B = 'sk-team-bravo-000000000002';

let current: Rig | undefined;
let cursor: FakeCursor | undefined;
let blocker: Server | undefined;
let child: Spawned | undefined;
afterEach(async () => {
  if (child && child.child.exitCode === null && child.child.signalCode === null) {
    child.child.kill('SIGKILL');
    await child.done;
  }
  child = undefined;
  await current?.close();
  await cursor?.close();
  await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
  current = undefined;
  cursor = undefined;
  blocker = undefined;
});

interface Event {
  event: string;
  job?: string;
  [k: string]: unknown;
}

const events = (stdout: string): Event[] =>
  stdout
    .split('\n')
    .filter((l) => l.trim().startsWith('{'))
    .map((l) => JSON.parse(l) as Event);

/** Start `schedule --json --metrics-port 0` and wait for the URL it serves. */
async function startSchedule(r: Rig, args: string[], env: Record<string, string> = {}): Promise<{ s: Spawned; base: string }> {
  const s = (child = r.spawn(['schedule', '--json', '--metrics-port', '0', ...args], env));
  await until(() => events(s.stdout()).some((e) => e.event === 'metrics'), 15_000, 'the metrics event');
  const url = String(events(s.stdout()).find((e) => e.event === 'metrics')!.url);
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  return { s, base: url.replace(/\/metrics$/, '') };
}

/** The value of one sample of the exposition text (labels as written, in order), or undefined. */
function sample(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([A-Za-z_:][\w:]*)(\{[^}]*\})?\s+(\S+)$/.exec(line);
    if (m && m[1] === name && (m[2] ?? '') === labels) return Number(m[3]);
  }
  return undefined;
}

async function scrape(base: string): Promise<string> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return res.text();
}

async function health(base: string): Promise<{ status: number; body: { ok: boolean; jobs: Record<string, { ok: boolean; error?: string }> } }> {
  const res = await fetch(`${base}/healthz`);
  return { status: res.status, body: (await res.json()) as { ok: boolean; jobs: Record<string, { ok: boolean; error?: string }> } };
}

const A = `{api_key="${maskSecret(KEY_A)}"}`;
const B = `{api_key="${maskSecret(KEY_B)}"}`;

describe('schedule --metrics-port', () => {
  it('serves the pool as the store is after a tick and after another process changed it; SIGTERM closes it and exits 0', async () => {
    const r = (current = await rig({ runTimeline: { queuedMs: 50, inProgressMs: 150 } }, { REGISTER_NUMBER: '2' }));
    const soon = makeCookie('encoded', { exp: Math.floor(Date.now() / 1000) + 24 * 3600 });
    r.store.writeKeys({ [KEY_A]: [makeCookie()], [KEY_B]: [makeCookie(), makeCookie(), soon] });
    r.store.writeInvalid([makeCookie()]);

    const { s, base } = await startSchedule(r, ['--cron', '0 0 1 1 *', '--run-now', ...FAST]);
    await until(() => events(s.stdout()).some((e) => e.job === 'refresh' && e.event === 'done'), 30_000, 'the refresh tick');
    expect(events(s.stdout()).find((e) => e.event === 'done')).toMatchObject({ result: 'merged', added: 2 });

    const text = await scrape(base);
    // Exactly the names of SPEC §11 (no default process metrics).
    const names = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    expect(names).toEqual([
      'cookie_pool_check_total counter',
      'cookie_pool_cookies gauge',
      'cookie_pool_expiring_soon gauge',
      'cookie_pool_invalid gauge',
      'cookie_pool_refresh_duration_seconds histogram',
      'cookie_pool_refresh_last_success_timestamp_seconds gauge',
      'cookie_pool_refresh_total counter',
    ]);
    expect(sample(text, 'cookie_pool_cookies', A)).toBe(3);
    expect(sample(text, 'cookie_pool_cookies', B)).toBe(3);
    expect(sample(text, 'cookie_pool_expiring_soon', A)).toBe(0);
    expect(sample(text, 'cookie_pool_expiring_soon', B)).toBe(1);
    expect(sample(text, 'cookie_pool_invalid')).toBe(1);
    expect(sample(text, 'cookie_pool_refresh_total', '{outcome="merged"}')).toBe(1);
    expect(sample(text, 'cookie_pool_refresh_total', '{outcome="failed"}')).toBe(0);
    expect(sample(text, 'cookie_pool_refresh_duration_seconds_count')).toBe(1);
    expect(sample(text, 'cookie_pool_refresh_duration_seconds_sum')).toBeGreaterThan(0);
    const last = sample(text, 'cookie_pool_refresh_last_success_timestamp_seconds')!;
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(60);
    expect(sample(text, 'cookie_pool_check_total', '{status="valid"}')).toBe(0);
    expect(text).not.toContain(KEY_A);
    expect(text).not.toContain(KEY_B);
    expect(await health(base)).toEqual({ status: 200, body: { ok: true, jobs: { refresh: expect.objectContaining({ ok: true }) } } });

    // Another process changes the store: the next scrape shows it.
    expect((await r.run(['cookies', 'add', KEY_A, makeCookie(), makeCookie()])).code).toBe(0);
    expect((await r.run(['invalid', 'add', r.store.keys()[KEY_B]![0]!])).code).toBe(0);
    const after = await scrape(base);
    expect(sample(after, 'cookie_pool_cookies', A)).toBe(5);
    expect(sample(after, 'cookie_pool_cookies', B)).toBe(2);
    expect(sample(after, 'cookie_pool_invalid')).toBe(2);
    expect((await fetch(`${base}/nothing`)).status).toBe(404);

    s.child.kill('SIGTERM');
    const res = await s.done;
    expect(res.code).toBe(0);
    expect(events(res.stdout).at(-1)).toMatchObject({ event: 'stop' });
    await expect(fetch(`${base}/metrics`)).rejects.toThrow();
  });

  it('/healthz is 200 before any tick and 503 after a failing one; the failure is counted', async () => {
    const r = (current = await rig({ conclusion: 'failure', runTimeline: { queuedMs: 200, inProgressMs: 1500 } }));
    r.store.writeKeys({ [KEY_A]: [] });
    const { s, base } = await startSchedule(r, ['--cron', '* * * * * *', ...FAST]);
    expect(await health(base)).toEqual({ status: 200, body: { ok: true, jobs: {} } });

    await until(() => events(s.stdout()).some((e) => e.job === 'refresh' && e.event === 'failed'), 30_000, 'a failed tick');
    const h = await health(base);
    expect(h.status).toBe(503);
    expect(h.body.ok).toBe(false);
    expect(h.body.jobs.refresh).toMatchObject({ ok: false, error: expect.stringMatching(/conclusion "failure"/) });
    const text = await scrape(base);
    expect(sample(text, 'cookie_pool_refresh_total', '{outcome="failed"}')).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'cookie_pool_refresh_total', '{outcome="merged"}')).toBe(0);
    expect(sample(text, 'cookie_pool_cookies', A)).toBe(0);
    // No success yet: the gauge stays at 0.
    expect(sample(text, 'cookie_pool_refresh_last_success_timestamp_seconds')).toBe(0);

    s.child.kill('SIGTERM');
    expect((await s.done).code).toBe(0);
  });

  it('counts the check job by status and follows its retirements', async () => {
    cursor = await startFakeCursor();
    const r = (current = await rig({}, { CURSOR_WEB_URL: cursor.url }));
    const revoked = makeCookie('encoded', { extra: { fake: 'revoked' } });
    const flaky = makeCookie('encoded', { extra: { fake: 'error' } });
    r.store.writeKeys({ [KEY_A]: [makeCookie(), makeCookie(), revoked, flaky] });
    const { s, base } = await startSchedule(r, ['--cron', '0 0 1 1 *', '--check-cron', '* * * * * *']);
    await until(() => events(s.stdout()).some((e) => e.job === 'check' && e.event === 'done'), 20_000, 'a check tick');
    const text = await scrape(base);
    // The first tick sees 2 valid, 1 invalid (then retired), 1 unknown; later ticks 2 valid, 1 unknown.
    const ticks = sample(text, 'cookie_pool_check_total', '{status="unknown"}')!;
    expect(ticks).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'cookie_pool_check_total', '{status="valid"}')).toBe(2 * ticks);
    expect(sample(text, 'cookie_pool_check_total', '{status="invalid"}')).toBe(1);
    expect(sample(text, 'cookie_pool_check_total', '{status="expired"}')).toBe(0);
    expect(sample(text, 'cookie_pool_cookies', A)).toBe(3);
    expect(sample(text, 'cookie_pool_invalid')).toBe(1);
    expect((await health(base)).body.jobs.check).toMatchObject({ ok: true });
    s.child.kill('SIGTERM');
    expect((await s.done).code).toBe(0);
  });

  it('a port in use, or not a port, is exit 2 naming it, before any job runs', async () => {
    const r = (current = await rig());
    r.store.writeKeys({ [KEY_A]: [] });
    blocker = createServer();
    await new Promise<void>((res) => blocker!.listen(0, '127.0.0.1', res));
    const port = String((blocker.address() as { port: number }).port);

    const flag = await r.run(['schedule', '--run-now', '--metrics-port', port, ...FAST]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain(`--metrics-port ${port} on 127.0.0.1: the port is already in use`);
    const env = await r.run(['schedule', '--run-now', ...FAST], { env: { METRICS_PORT: port } });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain(`METRICS_PORT ${port} on 127.0.0.1: the port is already in use`);
    const bad = await r.run(['schedule', '--metrics-port', 'http']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--metrics-port must be a TCP port from 0 to 65535, got "http"/);
    expect(r.gh.dispatches).toHaveLength(0);
  });
});
