/**
 * `schedule` as a child process with per-second cron expressions, against the fake GitHub and
 * the fake Cursor usage endpoint: ticks, overlap skipped, failures logged, clean stop on signals.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeCursor, type FakeCursor } from './fake-cursor.js';
import { leakedSecrets } from './helpers/cli.js';
import { expiredCookie, makeCookie } from './helpers/cookies.js';
import { FAST, rig, until, type Rig } from './helpers/refresh-rig.js';

let current: Rig | undefined;
let cursor: FakeCursor | undefined;
afterEach(async () => {
  await current?.close();
  await cursor?.close();
  current = undefined;
  cursor = undefined;
});

interface Event {
  time: string;
  event: string;
  job?: string;
  [k: string]: unknown;
}

const events = (stdout: string): Event[] =>
  stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Event);

function locksLeft(dataDir: string): string[] {
  return existsSync(dataDir) ? readdirSync(dataDir).filter((f) => f.endsWith('.lock')) : [];
}

describe('schedule', () => {
  it('refuses an invalid cron expression at start with exit 2, naming where it came from', async () => {
    const r = (current = await rig());
    const bad = await r.run(['schedule'], { env: { REFRESH_CRON: 'every tuesday' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/REFRESH_CRON/);
    const flag = await r.run(['schedule', '--cron', '61 * * * *']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/--cron/);
    const check = await r.run(['schedule', '--cron', '0 * * * *', '--check-cron', '* *']);
    expect(check.code).toBe(2);
    expect(check.stderr).toMatch(/--check-cron/);
    const tz = await r.run(['schedule', '--timezone', 'Mars/Olympus']);
    expect(tz.code).toBe(2);
  });

  it('ticks every second, skips a tick while the previous refresh runs, merges, and stops cleanly on SIGTERM', async () => {
    // A run that takes ~2.5 s: the per-second ticks in between must be skipped.
    const r = (current = await rig({ runTimeline: { queuedMs: 100, inProgressMs: 2400 } }, { REGISTER_NUMBER: '2' }));
    const keep = makeCookie();
    r.store.writeKeys({ 'sk-a': [keep] });
    const s = r.spawn(['schedule', '--json', '--cron', '* * * * * *', ...FAST]);
    await until(() => events(s.stdout()).some((e) => e.job === 'refresh' && e.event === 'done' && e.result === 'merged'), 30_000, 'a merged refresh');
    // One more tick after the merge: nothing left to do.
    await until(() => events(s.stdout()).some((e) => e.event === 'done' && e.result === 'skipped'), 10_000, 'a later tick');
    s.child.kill('SIGTERM');
    const res = await s.done;
    expect(res.code).toBe(0);

    const ev = events(res.stdout);
    expect(ev[0]).toMatchObject({ event: 'start', job: 'refresh', cron: '* * * * * *' });
    expect(ev.filter((e) => e.event === 'run').length).toBeGreaterThanOrEqual(2);
    const skipped = ev.filter((e) => e.event === 'skipped');
    expect(skipped.length).toBeGreaterThanOrEqual(1);
    expect(skipped[0]).toMatchObject({ job: 'refresh', reason: 'previous run still running' });
    expect(ev.at(-1)).toMatchObject({ event: 'stop' });
    for (const e of ev) expect(Number.isNaN(Date.parse(e.time))).toBe(false);
    // Exactly one dispatch: skipped ticks did not start a second run.
    expect(r.gh.dispatches).toHaveLength(1);
    expect(r.store.keys()['sk-a']).toEqual([keep, ...r.gh.lastRun!.cookies]);
    expect(locksLeft(r.store.dataDir)).toEqual([]);
    expect(res.stdout + res.stderr).not.toContain(r.gh.token);
    expect(leakedSecrets(res.stdout + res.stderr, [keep, ...r.gh.lastRun!.cookies])).toEqual([]);
  });

  it('SIGTERM during a running tick aborts it: exit 0, store untouched and valid, no lock left', async () => {
    const r = (current = await rig({ runTimeline: { queuedMs: 100, inProgressMs: 60_000 } }));
    const before = { 'sk-a': [makeCookie()] };
    r.store.writeKeys(before);
    const s = r.spawn(['schedule', '--json', '--cron', '0 0 1 1 *', '--run-now', ...FAST]);
    await until(() => r.gh.dispatches.length === 1 && existsSync(join(r.store.dataDir, '.refresh.lock')), 15_000, 'the dispatch');
    await new Promise((res) => setTimeout(res, 300));
    s.child.kill('SIGTERM');
    const res = await s.done;
    expect(res.code).toBe(0);
    const ev = events(res.stdout);
    expect(ev.map((e) => e.event)).toEqual(['start', 'run', 'stopping', 'failed', 'stop']);
    expect(ev.find((e) => e.event === 'failed')).toMatchObject({ job: 'refresh', aborted: true });
    expect(r.store.keys()).toEqual(before);
    expect(locksLeft(r.store.dataDir)).toEqual([]);
  });

  it('logs a failing tick and keeps running (human log lines)', async () => {
    const r = (current = await rig({ conclusion: 'failure', runTimeline: { queuedMs: 50, inProgressMs: 200 } }));
    r.store.writeKeys({ 'sk-a': [] });
    const s = r.spawn(['schedule', '--cron', '* * * * * *', ...FAST]);
    await until(() => (s.stdout().match(/ refresh failed /g) ?? []).length >= 2, 30_000, 'two failed ticks');
    s.child.kill('SIGINT');
    const res = await s.done;
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z refresh start cron="\* \* \* \* \* \*" next=/);
    const failed = lines.filter((l) => / refresh failed /.test(l));
    expect(failed[0]).toMatch(/exitCode=1/);
    expect(failed[0]).toMatch(/failure/);
    expect(lines.at(-1)).toMatch(/ scheduler stop$/);
    expect(r.gh.dispatches.length).toBeGreaterThanOrEqual(2);
    expect(locksLeft(r.store.dataDir)).toEqual([]);
  });

  it('--check-cron runs check --mark-invalid: revoked and expired cookies retired, unknown kept', async () => {
    cursor = await startFakeCursor();
    const r = (current = await rig({}, { CURSOR_WEB_URL: cursor.url }));
    const good = makeCookie('encoded');
    const revoked = makeCookie('encoded', { extra: { fake: 'revoked' } });
    const flaky = makeCookie('encoded', { extra: { fake: 'error' } });
    const old = expiredCookie();
    r.store.writeKeys({ 'sk-a': [good, revoked, flaky, old, makeCookie(), makeCookie()] });
    const s = r.spawn(['schedule', '--json', '--cron', '0 0 1 1 *', '--check-cron', '* * * * * *']);
    await until(() => events(s.stdout()).some((e) => e.job === 'check' && e.event === 'done'), 20_000, 'a check tick');
    s.child.kill('SIGTERM');
    const res = await s.done;
    expect(res.code).toBe(0);
    const done = events(res.stdout).find((e) => e.job === 'check' && e.event === 'done')!;
    expect(done).toMatchObject({ checked: 6, valid: 3, invalid: 1, expired: 1, unknown: 1, marked: 2 });
    expect(r.store.keys()['sk-a']).toEqual([good, flaky, expect.any(String), expect.any(String)]);
    expect(r.store.invalid()).toEqual(expect.arrayContaining([revoked, old]));
    expect(r.gh.dispatches).toHaveLength(0);
  });
});

describe('schedule: stopping during a check', () => {
  it('SIGTERM aborts a check tick at once: exit 0, nothing marked, no lock', async () => {
    cursor = await startFakeCursor({ slowMs: 30_000 });
    const r = (current = await rig({}, { CURSOR_WEB_URL: cursor.url }));
    const slow = Array.from({ length: 4 }, () => makeCookie('encoded', { extra: { fake: 'slow' } }));
    const old = expiredCookie();
    r.store.writeKeys({ 'sk-a': [...slow, old] });
    const s = r.spawn(['schedule', '--json', '--cron', '0 0 1 1 *', '--check-cron', '* * * * * *']);
    await until(() => cursor!.inFlight >= 4, 15_000, 'requests in flight');
    const stopAt = Date.now();
    s.child.kill('SIGTERM');
    const res = await s.done;
    expect(res.code).toBe(0);
    // Not waiting for the 15 s request timeout (or the 30 s answer): the requests were aborted.
    expect(Date.now() - stopAt).toBeLessThan(10_000);
    const ev = events(res.stdout);
    expect(ev.find((e) => e.job === 'check' && e.event === 'failed')).toMatchObject({ aborted: true });
    expect(r.store.keys()).toEqual({ 'sk-a': [...slow, old] });
    expect(r.store.invalid()).toEqual([]);
    expect(locksLeft(r.store.dataDir)).toEqual([]);
  });
});
