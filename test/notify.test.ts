/**
 * Webhook alerts (SPEC §11) through the built CLI: real refresh runs against the fake GitHub, real
 * checks against the fake Cursor usage endpoint, and loopback webhook receivers.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { maskSecret } from '../src/core/cookie.js';
import { startFakeCursor, type FakeCursor } from './fake-cursor.js';
import { closedUrl, FakeWebhook } from './fake-webhook.js';
import { leakedSecrets } from './helpers/cli.js';
import { makeCookie } from './helpers/cookies.js';
import { FAST, until, useRig, type Rig } from './helpers/refresh-rig.js';

/** Long enough that the masked form (first 8 … last 4) is not the whole key. */
const KEY = 'sk-team-alpha-000000000001';
const KEY_B = 'sk-team-bravo-000000000002';
const SECRET_PATH = 'SecretPathPart';

const setup = useRig();
const hooks: FakeWebhook[] = [];
let cursor: FakeCursor | undefined;
let blocker: Server | undefined;
afterEach(async () => {
  for (const h of hooks.splice(0)) await h.close();
  await cursor?.close();
  cursor = undefined;
  await new Promise<void>((r) => (blocker ? blocker.close(() => r()) : r()));
  blocker = undefined;
});

async function hook(status = 200): Promise<FakeWebhook> {
  const h = await FakeWebhook.start({ status });
  hooks.push(h);
  return h;
}

/** Nothing secret in any payload or anything printed: cookies, the GitHub token, the webhook path; api keys masked in payloads. */
function expectNoSecrets(r: Rig, receivers: FakeWebhook[], extraOutput = ''): void {
  const payloads = receivers.flatMap((h) => h.received.map((x) => x.raw)).join('\n');
  const printed = `${r.output.join('\n')}\n${extraOutput}`;
  const cookies = [...r.gh.runs.flatMap((run) => run.cookies), ...Object.values(r.store.keys()).flat(), ...r.store.invalid()];
  for (const [what, text] of [
    ['payloads', payloads],
    ['output', printed],
  ] as const) {
    expect(leakedSecrets(text, cookies), `no cookie in the ${what}`).toEqual([]);
    expect(text, `no GitHub token in the ${what}`).not.toContain(r.gh.token);
  }
  // The CLI's own output names api keys (as every command does); payloads only masked.
  expect(payloads, 'no whole api key in a payload').not.toContain(KEY);
  expect(payloads, 'no whole api key in a payload').not.toContain(KEY_B);
  expect(printed, 'the webhook URL is never printed whole').not.toContain(SECRET_PATH);
}

describe('alerts from refresh', () => {
  it('a failed run sends refresh-failed (run URL) and key-empty; the first success after it sends recovered, once', async () => {
    const h = await hook();
    const r = await setup({ conclusion: 'failure', runTimeline: { queuedMs: 50, inProgressMs: 100 } }, { NOTIFY_URL: h.url(`T0/B0/${SECRET_PATH}`), REGISTER_NUMBER: '2' });
    r.store.writeKeys({ [KEY]: [] });

    const failed = await r.run(['refresh', ...FAST]);
    expect(failed.code).toBe(1);
    expect(h.events().sort()).toEqual(['key-empty', 'refresh-failed']);
    for (const req of h.received) {
      expect(req.method).toBe('POST');
      expect(req.path).toBe(`/services/T0/B0/${SECRET_PATH}`);
      expect(req.headers['content-type']).toBe('application/json');
    }
    const runUrl = r.gh.lastRun!.html_url;
    const refreshFailed = h.bodies.find((b) => b.event === 'refresh-failed')!;
    expect(refreshFailed).toMatchObject({ severity: 'critical', apiKeys: [maskSecret(KEY)], runUrl });
    expect(Object.keys(refreshFailed).sort()).toEqual(['apiKeys', 'event', 'runUrl', 'severity', 'text', 'time']);
    expect(Math.abs(Date.parse(String(refreshFailed.time)) - Date.now())).toBeLessThan(60_000);
    // A Slack message: `text` says what failed and links the run.
    expect(refreshFailed.text).toMatch(/^\[critical\] cookie-pool on \S+: refresh failed for sk-team-…0001: .*failure/);
    expect(refreshFailed.text).toContain(runUrl);
    expect(h.bodies.find((b) => b.event === 'key-empty')).toMatchObject({ severity: 'critical', apiKeys: [maskSecret(KEY)] });
    expect(failed.stderr).toMatch(/notify: sent refresh-failed to 1 of 1 URL/);

    // The state file sits beside the history and holds no api key.
    const state = join(r.store.dataDir, '.cookie-pool', 'notify-state.json');
    expect(existsSync(state)).toBe(true);
    expect(readFileSync(state, 'utf8')).not.toContain(KEY);
    expect(JSON.parse(readFileSync(state, 'utf8')).refreshFailingSince).toEqual(expect.any(String));

    r.gh.options.conclusion = 'success';
    const ok = await r.run(['refresh', ...FAST]);
    expect(ok.code).toBe(0);
    expect(r.store.keys()[KEY]).toHaveLength(2);
    expect(h.events().slice(2)).toEqual(['recovered']);
    expect(h.bodies[2]).toMatchObject({ event: 'recovered', severity: 'info', runUrl: r.gh.lastRun!.html_url });
    expect(h.bodies[2]!.text).toMatch(/^\[info\] .*refresh works again/);

    // Already recovered, pool healthy: nothing more to say.
    const again = await r.run(['refresh', '--force', ...FAST]);
    expect(again.code).toBe(0);
    expect(r.gh.dispatches).toHaveLength(3);
    expect(h.bodies).toHaveLength(3);
    expectNoSecrets(r, [h]);
  });

  it('key-below-min after a refresh that left the key short; the cool-down keeps the next runs quiet', async () => {
    const h = await hook();
    const r = await setup({}, { NOTIFY_URL: h.url(`T0/B0/${SECRET_PATH}`), REGISTER_NUMBER: '2', MIN_COOKIE_COUNT: '10' });
    r.store.writeKeys({ [KEY]: [makeCookie()], [KEY_B]: Array.from({ length: 10 }, () => makeCookie()) });

    const first = await r.run(['refresh', ...FAST]);
    expect(first.code).toBe(0);
    expect(r.store.keys()[KEY]).toHaveLength(3);
    expect(h.bodies).toHaveLength(1);
    expect(h.bodies[0]).toMatchObject({ event: 'key-below-min', severity: 'warning', apiKeys: [maskSecret(KEY)] });
    expect(h.bodies[0]!.text).toContain('still below the minimum of 10 cookies: sk-team-…0001 (3)');

    // Still short after the second run, within NOTIFY_COOLDOWN (default 6h): nothing sent.
    const second = await r.run(['refresh', '-v', ...FAST]);
    expect(second.code).toBe(0);
    expect(r.gh.dispatches).toHaveLength(2);
    expect(r.store.keys()[KEY]).toHaveLength(5);
    expect(h.bodies).toHaveLength(1);
    expect(second.stderr).toMatch(/key-below-min not sent again within NOTIFY_COOLDOWN \(6h\)/);

    // The cool-down is what kept it quiet: without one it is sent again.
    const third = await r.run(['refresh', ...FAST], { env: { NOTIFY_COOLDOWN: '0' } });
    expect(third.code).toBe(0);
    expect(h.bodies).toHaveLength(2);
    expect(h.bodies[1]!.text).toContain('sk-team-…0001 (7)');
    expectNoSecrets(r, [h]);
  });

  it('a bad NOTIFY_COOLDOWN stops refresh with exit 2 before it dispatches', async () => {
    const h = await hook();
    const r = await setup({}, { NOTIFY_URL: h.url(), NOTIFY_COOLDOWN: 'six hours' });
    r.store.writeKeys({ [KEY]: [] });
    const res = await r.run(['refresh', ...FAST]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/NOTIFY_COOLDOWN must be a duration such as 30m, 6h or 1d, got "six hours"/);
    expect(r.gh.dispatches).toHaveLength(0);
    expect(h.received).toHaveLength(0);
    // Other durations are fine.
    for (const d of ['30m', '1d', '90s']) {
      const ok = await r.run(['refresh', '--dry-run'], { env: { NOTIFY_COOLDOWN: d } });
      expect(ok.code).toBe(0);
    }
  });
});

describe('alerts from check --mark-invalid', () => {
  it('mass-invalidation above NOTIFY_INVALID_RATIO and key-empty for a key left without cookies', async () => {
    cursor = await startFakeCursor();
    const h = await hook();
    const r = await setup({}, { NOTIFY_URL: h.url(`T0/B0/${SECRET_PATH}`), CURSOR_WEB_URL: cursor.url });
    const revoked = () => makeCookie('encoded', { extra: { fake: 'revoked' } });
    r.store.writeKeys({ [KEY]: [revoked(), revoked(), revoked()], [KEY_B]: [makeCookie(), makeCookie(), makeCookie()] });

    const res = await r.run(['check', '--mark-invalid', '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ checked: 6, invalid: 3, marked: 3 });
    expect(h.events().sort()).toEqual(['key-empty', 'mass-invalidation']);
    const mass = h.bodies.find((b) => b.event === 'mass-invalidation')!;
    expect(mass).toMatchObject({ severity: 'warning', apiKeys: [maskSecret(KEY)] });
    expect(mass.text).toContain('a check retired 3 of 6 cookies (50%, above 30%)');
    expect(mass).not.toHaveProperty('runUrl');
    expect(h.bodies.find((b) => b.event === 'key-empty')).toMatchObject({ apiKeys: [maskSecret(KEY)] });
    // stdout is still exactly the one JSON document.
    expect(() => JSON.parse(res.stdout)).not.toThrow();
    expectNoSecrets(r, [h]);
  });

  it('schedule --min-count is the minimum the check job alerts against, as the refresh job plans with it', async () => {
    cursor = await startFakeCursor();
    const h = await hook();
    const r = await setup({}, { NOTIFY_URL: h.url(`T0/B0/${SECRET_PATH}`), CURSOR_WEB_URL: cursor.url, MIN_COOKIE_COUNT: '2' });
    // Five cookies, one revoked: four left, above MIN_COOKIE_COUNT (2), below --min-count 10.
    r.store.writeKeys({ [KEY]: [makeCookie(), makeCookie(), makeCookie(), makeCookie(), makeCookie('encoded', { extra: { fake: 'revoked' } })] });
    const s = r.spawn(['schedule', '--json', '--cron', '0 0 1 1 *', '--check-cron', '* * * * * *', '--min-count', '10']);
    await until(() => h.events().includes('key-below-min'), 20_000, 'a key-below-min alert from the check job');
    s.child.kill('SIGTERM');
    expect((await s.done).code).toBe(0);
    expect(r.store.keys()[KEY]).toHaveLength(4);
    expect(h.bodies.find((b) => b.event === 'key-below-min')).toMatchObject({ apiKeys: [maskSecret(KEY)] });
    expect(r.gh.dispatches).toHaveLength(0);
  });

  it('below the ratio nothing is sent; NOTIFY_INVALID_RATIO lowers the bar; a bad ratio is exit 2 before any request', async () => {
    cursor = await startFakeCursor();
    const h = await hook();
    const r = await setup({}, { NOTIFY_URL: h.url(), CURSOR_WEB_URL: cursor.url });
    const seed = () => r.store.writeKeys({ [KEY]: [makeCookie('encoded', { extra: { fake: 'revoked' } }), makeCookie(), makeCookie(), makeCookie()] });

    seed();
    const quiet = await r.run(['check', '--mark-invalid']);
    expect(quiet.code).toBe(0);
    expect(r.store.keys()[KEY]).toHaveLength(3);
    expect(h.received).toHaveLength(0); // 1 of 4 is 25%: not above 30%, and 3 cookies ≥ MIN_COOKIE_COUNT 2

    seed();
    const loud = await r.run(['check', '--mark-invalid'], { env: { NOTIFY_INVALID_RATIO: '0.2' } });
    expect(loud.code).toBe(0);
    expect(h.events()).toEqual(['mass-invalidation']);
    expect(h.bodies[0]!.text).toContain('(25%, above 20%)');

    const asked = cursor.requests.length;
    const bad = await r.run(['check', '--mark-invalid'], { env: { NOTIFY_INVALID_RATIO: '30%' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/NOTIFY_INVALID_RATIO must be a fraction from 0 to 1/);
    expect(cursor.requests.length).toBe(asked);
  });
});

describe('delivery', () => {
  it('a receiver that is down: logged with the URL masked, exit codes unchanged, bounded time; the next run tries again', async () => {
    const down = await closedUrl();
    const r = await setup({}, { NOTIFY_URL: down, REGISTER_NUMBER: '1', MIN_COOKIE_COUNT: '5' });
    r.store.writeKeys({ [KEY]: [makeCookie()] });

    const started = Date.now();
    const res = await r.run(['refresh', ...FAST]);
    expect(res.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(20_000);
    const origin = new URL(down).origin;
    expect(res.stderr).toContain(`notify: key-below-min not delivered to ${origin}/…: ECONNREFUSED (3 tries)`);
    expect(res.stderr).not.toContain('downSecretPathPart');
    expect(r.store.keys()[KEY]).toHaveLength(2);

    // A failed refresh keeps its exit code too.
    r.gh.options.conclusion = 'failure';
    const failed = await r.run(['refresh', ...FAST]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/refresh-failed not delivered/);

    // Nobody received those alerts, so no cool-down holds them back once a receiver is up.
    const h = await hook();
    r.gh.options.conclusion = 'success';
    const later = await r.run(['refresh', ...FAST], { env: { NOTIFY_URL: h.url() } });
    expect(later.code).toBe(0);
    expect(h.events().sort()).toEqual(['key-below-min', 'recovered']);
  });

  it('a slow receiver: each try is cut at the timeout, 3 tries, the run goes on with its own exit code', async () => {
    const h = await hook();
    h.delayMs = 10_000;
    const r = await setup({}, { NOTIFY_URL: h.url(`T0/B0/${SECRET_PATH}`), REGISTER_NUMBER: '1', MIN_COOKIE_COUNT: '5', COOKIE_POOL_NOTIFY_TIMEOUT_MS: '400' });
    r.store.writeKeys({ [KEY]: [makeCookie()] });
    const started = Date.now();
    const res = await r.run(['refresh', '--json', ...FAST]);
    const took = Date.now() - started;
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: true, added: 1 });
    expect(h.received).toHaveLength(3);
    expect(res.stderr).toMatch(/key-below-min not delivered to http:\/\/127\.0\.0\.1:\d+\/…: no answer within 0\.4 s \(3 tries\)/);
    expect(took).toBeLessThan(9_000);
    expectNoSecrets(r, [h]);
  });

  it('several URLs: each gets the alert; a 5xx is retried, another 4xx is not; one success is enough', async () => {
    const ok = await hook(200);
    const flaky = await hook(503);
    const gone = await hook(404);
    const urls = [ok.url(`A/${SECRET_PATH}`), flaky.url(`B/${SECRET_PATH}`), gone.url(`C/${SECRET_PATH}`)];
    const r = await setup({}, { NOTIFY_URL: urls.join(' , '), REGISTER_NUMBER: '1', MIN_COOKIE_COUNT: '5' });
    r.store.writeKeys({ [KEY]: [makeCookie()] });
    const res = await r.run(['refresh', ...FAST]);
    expect(res.code).toBe(0);
    expect(ok.events()).toEqual(['key-below-min']);
    expect(flaky.received).toHaveLength(3);
    expect(gone.received).toHaveLength(1);
    expect(flaky.bodies[0]).toEqual(ok.bodies[0]);
    expect(res.stderr).toMatch(/notify: sent key-below-min to 1 of 3 URL/);
    expect(res.stderr).toContain(`not delivered to ${flaky.origin}/…: HTTP 503 (invalid_payload) (3 tries)`);
    expect(res.stderr).toContain(`not delivered to ${gone.origin}/…: HTTP 404 (no_service) (1 try)`);
    expectNoSecrets(r, [ok, flaky, gone]);
  });
});

describe('notify test', () => {
  it('posts one test alert to every URL and reports each answer, URLs masked; exit 1 when one refused it', async () => {
    const ok = await hook(200);
    const gone = await hook(404);
    const r = await setup({}, { NOTIFY_URL: `${ok.url(`A/${SECRET_PATH}`)},${gone.url(`B/${SECRET_PATH}`)}` });
    const res = await r.run(['notify', 'test']);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(`ok   ${ok.origin}/…  HTTP 200`);
    expect(res.stdout).toContain(`fail ${gone.origin}/…  HTTP 404 (no_service)`);
    expect(res.stdout).toContain('1 of 2 webhook(s) took the test alert.');
    expect(ok.bodies[0]).toMatchObject({ event: 'test', severity: 'info' });
    expect(ok.bodies[0]!.text).toMatch(/^\[info\] cookie-pool on \S+: test notification/);

    const json = await r.run(['notify', 'test', '--json'], { env: { NOTIFY_URL: ok.url(`A/${SECRET_PATH}`) } });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ ok: true, results: [{ url: `${ok.origin}/…`, ok: true, status: 200, tries: 1 }] });
    expectNoSecrets(r, [ok, gone]);
  });

  it('NOTIFY_URL unset or not a URL: exit 2 naming it, without echoing the value', async () => {
    const r = await setup();
    const unset = await r.run(['notify', 'test']);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/NOTIFY_URL is not set/);
    const bad = await r.run(['notify', 'test'], { env: { NOTIFY_URL: `https://hooks.example/x,hooks.example/${SECRET_PATH}` } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/NOTIFY_URL entry 2 of 2 is not a valid URL/);
    expect(bad.stderr).not.toContain(SECRET_PATH);
  });
});

describe('doctor', () => {
  interface Check {
    name: string;
    status: string;
    detail: string;
  }
  const checks = (stdout: string): Record<string, Check> =>
    Object.fromEntries((JSON.parse(stdout) as { checks: Check[] }).checks.map((c) => [c.name, c]));

  it('a line for NOTIFY_URL (reachable with --online, nothing posted) and one for the metrics settings', async () => {
    const h = await hook();
    const r = await setup({}, { NOTIFY_URL: h.url(`T0/B0/${SECRET_PATH}`) });
    const offline = checks((await r.run(['doctor', '--json'])).stdout);
    expect(offline.notify).toMatchObject({ status: 'ok' });
    expect(offline.notify!.detail).toContain(`1 webhook(s): ${h.origin}/…; cool-down 6h, mass invalidation above 30%`);
    expect(offline.metrics).toMatchObject({ status: 'ok', detail: expect.stringMatching(/METRICS_PORT not set/) });
    expect(h.received).toHaveLength(0);

    const online = checks((await r.run(['doctor', '--online', '--json'])).stdout);
    expect(online.notify).toMatchObject({ status: 'ok', detail: expect.stringMatching(/every webhook host answers/) });
    expect(h.received.map((x) => x.method)).toEqual(['HEAD']);

    const down = checks((await r.run(['doctor', '--online', '--json'], { env: { NOTIFY_URL: await closedUrl() } })).stdout);
    expect(down.notify).toMatchObject({ status: 'fail', detail: expect.stringMatching(/cannot reach http:\/\/127\.0\.0\.1:\d+\/… \(ECONNREFUSED\)/) });

    const bad = checks((await r.run(['doctor', '--json'], { env: { NOTIFY_COOLDOWN: 'soon' } })).stdout);
    expect(bad.notify).toMatchObject({ status: 'fail', detail: expect.stringMatching(/NOTIFY_COOLDOWN/) });

    // Metrics: a free port, a taken one, a bad one.
    blocker = createServer();
    await new Promise<void>((res) => blocker!.listen(0, '127.0.0.1', res));
    const taken = String((blocker.address() as { port: number }).port);
    const inUse = checks((await r.run(['doctor', '--json'], { env: { METRICS_PORT: taken } })).stdout);
    expect(inUse.metrics).toMatchObject({ status: 'warn', detail: `port 127.0.0.1:${taken} is in use (a running schedule, or another program)` });
    const free = checks((await r.run(['doctor', '--json'], { env: { METRICS_PORT: '0' } })).stdout);
    expect(free.metrics).toMatchObject({ status: 'ok', detail: 'schedule will serve http://127.0.0.1:0/metrics and /healthz' });
    const wrong = checks((await r.run(['doctor', '--json'], { env: { METRICS_PORT: '70000' } })).stdout);
    expect(wrong.metrics).toMatchObject({ status: 'fail', detail: expect.stringMatching(/METRICS_PORT must be a TCP port/) });
    expect(r.output.join('\n')).not.toContain(SECRET_PATH);
  });
});
