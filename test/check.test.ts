/**
 * `check` (SPEC §6) through the built CLI against a loopback fake of the Cursor usage endpoint.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { maskSecret, parseCookie, type Cookie } from '../src/core/cookie.js';
import { checkUsage, parseRetryAfter, remainingFromUsage } from '../src/cursor/usage.js';
import { leakedSecrets, TempStore } from './helpers/cli.js';
import { expiredCookie, makeCookie } from './helpers/cookies.js';
import { startFakeCursor, type Behaviour, type FakeCursor } from './fake-cursor.js';

/** A cookie whose JWT tells the fake how to answer. */
function cookieFor(fake: Behaviour, form: 'encoded' | 'decoded' | 'jwt' = 'encoded', used?: number): string {
  return makeCookie(form, { extra: { fake, ...(used !== undefined ? { used } : {}) } });
}

/** The user id of a test cookie (`user_...` prefix or the part of sub after `|`). */
function userOf(cookie: string): string {
  const m = /^(user_[A-Z0-9]+)(?:%3A%3A|::)/.exec(cookie);
  if (m) return m[1] as string;
  const payload = JSON.parse(Buffer.from(cookie.split('.')[1] as string, 'base64url').toString('utf8')) as { sub: string };
  return payload.sub.split('|')[1] as string;
}

/** The decoded (`::`) form of an encoded cookie: the same identity. */
const decoded = (c: string) => c.replace('%3A%3A', '::');

const JSON_KEYS = ['checked', 'valid', 'invalid', 'expired', 'unknown', 'marked', 'results'];

let fake: FakeCursor;
const stores: TempStore[] = [];
function store(): TempStore {
  const s = new TempStore('cookie-pool-check-');
  stores.push(s);
  return s;
}

beforeAll(async () => {
  fake = await startFakeCursor({ slowMs: 3_000 });
});
afterAll(async () => {
  await fake.close();
});
afterEach(() => {
  expect(fake.headerErrors, 'every request carries a well-formed Cookie header').toEqual([]);
  fake.reset();
  for (const s of stores.splice(0)) s.cleanup();
});

describe('check online', () => {
  it('gives each status, remaining, the SPEC JSON shape, and exit 3 when some are unknown', async () => {
    const s = store();
    const c = {
      valid: cookieFor('valid', 'encoded', 12),
      validDecoded: cookieFor('valid', 'decoded', 100),
      validJwt: cookieFor('valid', 'jwt', 7),
      noGpt4: cookieFor('valid-no-gpt4'),
      revoked: cookieFor('revoked'),
      forbidden: cookieFor('forbidden'),
      expired: expiredCookie(),
      malformed: 'user_01BROKEN%3A%3Anot.a-jwt',
      error: cookieFor('error'),
      html: cookieFor('html'),
      slow: cookieFor('slow'),
      once429: cookieFor('ratelimit-once'),
      always429: cookieFor('ratelimited'),
    };
    s.writeKeys({
      'sk-a': [c.valid, c.validDecoded, c.validJwt, c.noGpt4, c.revoked, c.forbidden, c.expired, c.malformed],
      'sk-b': [c.error, c.html, c.slow, c.once429, c.always429],
    });
    const before = JSON.stringify(s.keys());
    const r = await s.run(['check', '--json', '--request-timeout', '0.5'], { env: { CURSOR_WEB_URL: fake.url } });
    expect(r.code, r.stderr).toBe(3);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc)).toEqual(JSON_KEYS);
    expect(doc).toMatchObject({ checked: 13, valid: 5, invalid: 3, expired: 1, unknown: 4, marked: 0 });

    const byCookie = new Map<string, { apiKey: string; cookie: string; status: string; remaining?: number; reason?: string }>(
      doc.results.map((x: { cookie: string }) => [x.cookie, x]),
    );
    const get = (cookie: string) => byCookie.get(maskSecret(cookie));
    expect(get(c.valid)).toMatchObject({ apiKey: 'sk-a', status: 'valid', remaining: 488 });
    expect(get(c.validDecoded)).toMatchObject({ status: 'valid', remaining: 400 });
    expect(get(c.validJwt)).toMatchObject({ status: 'valid', remaining: 493 });
    expect(get(c.noGpt4)?.status).toBe('valid');
    expect(get(c.noGpt4)).not.toHaveProperty('remaining');
    expect(get(c.revoked)?.status).toBe('invalid');
    expect(get(c.forbidden)?.status).toBe('invalid');
    expect(get(c.expired)?.status).toBe('expired');
    expect(get(c.malformed)).toMatchObject({ status: 'invalid', reason: expect.stringContaining('malformed') });
    expect(get(c.error)).toMatchObject({ apiKey: 'sk-b', status: 'unknown', reason: 'HTTP 500' });
    expect(get(c.html)).toMatchObject({ status: 'unknown', reason: expect.stringContaining('not JSON') });
    expect(get(c.slow)).toMatchObject({ status: 'unknown', reason: expect.stringContaining('timed out') });
    expect(get(c.once429)).toMatchObject({ status: 'valid', remaining: 488 });
    expect(get(c.always429)).toMatchObject({ status: 'unknown', reason: expect.stringContaining('429') });
    // Results come in store order.
    expect(doc.results.map((x: { apiKey: string }) => x.apiKey)).toEqual([...Array(8).fill('sk-a'), ...Array(5).fill('sk-b')]);

    // 429 honoured: retried after Retry-After; "3 tries total" when it never stops.
    expect(fake.requestsFor(userOf(c.once429)).map((q) => q.status)).toEqual([429, 200]);
    expect(fake.requestsFor(userOf(c.always429)).map((q) => q.status)).toEqual([429, 429, 429]);
    // The expired and the malformed cookies are never sent; each live one exactly once.
    expect(fake.requestsFor(userOf(c.expired))).toEqual([]);
    expect(fake.requestsFor('user_01BROKEN')).toEqual([]);
    expect(fake.requestsFor(userOf(c.valid))).toHaveLength(1);
    expect(fake.requests.filter((q) => q.status !== 429)).toHaveLength(10);

    // Without --mark-invalid nothing is written; no secret leaks.
    expect(JSON.stringify(s.keys())).toBe(before);
    expect(s.invalid()).toEqual([]);
    const secrets = Object.values(c).flatMap((x) => [x, x.split(/%3A%3A|::/).pop() as string]);
    expect(leakedSecrets(r.stdout + r.stderr, secrets)).toEqual([]);
  });

  it('prints a masked table and a summary line; --reveal shows cookies whole', async () => {
    const s = store();
    const valid = cookieFor('valid', 'encoded', 20);
    const revoked = cookieFor('revoked');
    const expired = expiredCookie('decoded');
    s.writeKeys({ 'sk-team': [valid, revoked, expired] });
    const env = { CURSOR_WEB_URL: fake.url };
    const r = await s.run(['check'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/API KEY\s+COOKIE\s+STATUS\s+REMAINING/);
    const line = (cookie: string) => r.stdout.split('\n').find((l) => l.includes(maskSecret(cookie))) ?? '';
    expect(line(valid)).toMatch(/sk-team\s+\S+\s+valid\s+480/);
    expect(line(revoked)).toMatch(/invalid\s+rejected \(401\)/);
    expect(line(expired)).toMatch(/expired/);
    expect(r.stdout).toContain('Checked 3 cookie(s) (online, 2 asked): 1 valid, 1 invalid, 1 expired, 0 unknown.');
    expect(r.stderr).toContain('--mark-invalid');
    expect(leakedSecrets(r.stdout + r.stderr, [valid, revoked, expired])).toEqual([]);

    const shown = await s.run(['check', '--json', '--reveal'], { env });
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout).results.map((x: { cookie: string }) => x.cookie)).toEqual([valid, revoked, expired]);
  });

  it('asks once per cookie identity but reports each (apiKey, cookie)', async () => {
    const s = store();
    const revoked = cookieFor('revoked');
    s.writeKeys({ 'sk-a': [revoked], 'sk-b': [decoded(revoked)] });
    const r = await s.run(['check', '--json'], { env: { CURSOR_WEB_URL: fake.url } });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ checked: 2, invalid: 2 });
    expect(doc.results.map((x: { apiKey: string }) => x.apiKey)).toEqual(['sk-a', 'sk-b']);
    expect(fake.requests).toHaveLength(1);
  });
});

describe('check --offline and --key', () => {
  it('--offline checks structure and exp without any request', async () => {
    const s = store();
    const revoked = cookieFor('revoked');
    const noExp = makeCookie('jwt', { exp: null });
    const expired = expiredCookie();
    s.writeKeys({ 'sk-a': [revoked, noExp, expired, 'garbage-cookie-value'] });
    const r = await s.run(['check', '--offline', '--json'], { env: { CURSOR_WEB_URL: fake.url } });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ checked: 4, valid: 2, invalid: 1, expired: 1, unknown: 0, marked: 0 });
    expect(doc.results.map((x: { status: string }) => x.status)).toEqual(['valid', 'valid', 'expired', 'invalid']);
    expect(fake.requests).toEqual([]);
  });

  it('--offline --mark-invalid moves expired and malformed cookies only', async () => {
    const s = store();
    const good = makeCookie();
    const expired = expiredCookie();
    s.writeKeys({ 'sk-a': [good, expired, 'garbage-cookie-value'] });
    const r = await s.run(['check', '--offline', '--mark-invalid', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).marked).toBe(2);
    expect(s.keys()).toEqual({ 'sk-a': [good] });
    expect(s.invalid()).toEqual([expired, 'garbage-cookie-value']);
  });

  it('--key limits the check to those keys; an unknown key exits 2', async () => {
    const s = store();
    const a = cookieFor('valid');
    const b = cookieFor('revoked');
    const cc = cookieFor('valid');
    s.writeKeys({ 'sk-a': [a], 'sk-b': [b], 'sk-c': [cc] });
    const env = { CURSOR_WEB_URL: fake.url };
    const r = await s.run(['check', '--key', 'sk-b', '--key', 'sk-c', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.results.map((x: { apiKey: string; status: string }) => [x.apiKey, x.status])).toEqual([
      ['sk-b', 'invalid'],
      ['sk-c', 'valid'],
    ]);
    expect(fake.requestsFor(userOf(a))).toEqual([]);
    expect(fake.requests).toHaveLength(2);

    const bad = await s.run(['check', '--key', 'sk-nope'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('sk-nope');
  });
});

describe('check --mark-invalid', () => {
  it('moves invalid and expired cookies to the invalid list (by identity, from every key) and keeps valid and unknown ones', async () => {
    const s = store();
    const valid = cookieFor('valid');
    const valid2 = cookieFor('valid', 'jwt');
    const revoked = cookieFor('revoked');
    const forbidden = cookieFor('forbidden', 'decoded');
    const expired = expiredCookie();
    const unknown = cookieFor('error');
    const old = makeCookie();
    s.writeKeys({ 'sk-a': [valid, revoked, expired, unknown, forbidden], 'sk-b': [decoded(revoked), valid2] });
    s.writeInvalid([old]);
    const r = await s.run(['check', '--mark-invalid', '--json'], { env: { CURSOR_WEB_URL: fake.url } });
    expect(r.code, r.stderr).toBe(3);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ checked: 7, valid: 2, invalid: 3, expired: 1, unknown: 1, marked: 3 });
    expect(s.keys()).toEqual({ 'sk-a': [valid, unknown], 'sk-b': [valid2] });
    // Existing entries first, then each dead cookie once, in the form it had in the store.
    expect(s.invalid()).toEqual([old, revoked, expired, forbidden]);
    expect(existsSync(join(s.dataDir, '.store.lock'))).toBe(false);
    expect(existsSync(join(s.dataDir, '.backups'))).toBe(true);
  });

  it('removes a cookie found dead under --key from the other keys too', async () => {
    const s = store();
    const revoked = cookieFor('revoked');
    const other = cookieFor('valid');
    s.writeKeys({ 'sk-a': [revoked, other], 'sk-b': [decoded(revoked)] });
    const r = await s.run(['check', '--key', 'sk-b', '--mark-invalid', '--json'], { env: { CURSOR_WEB_URL: fake.url } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ checked: 1, invalid: 1, marked: 1 });
    expect(s.keys()).toEqual({ 'sk-a': [other], 'sk-b': [] });
    expect(s.invalid()).toEqual([revoked]);
    expect(fake.requestsFor(userOf(other))).toEqual([]);
  });

  it('does not hold the store lock while waiting on the network', async () => {
    const s = store();
    const slow = cookieFor('slow');
    const revoked = cookieFor('revoked');
    s.writeKeys({ 'sk-a': [revoked, slow] });
    const run = s.run(['check', '--mark-invalid', '--request-timeout', '2', '--concurrency', '1', '--json'], {
      env: { CURSOR_WEB_URL: fake.url },
    });
    // Wait until the slow request is in flight, then look for the lock.
    for (let i = 0; i < 400 && fake.requestsFor(userOf(slow)).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(fake.requestsFor(userOf(slow))).toHaveLength(1);
    expect(existsSync(join(s.dataDir, '.store.lock'))).toBe(false);
    const r = await run;
    expect(r.code).toBe(3);
    expect(s.keys()).toEqual({ 'sk-a': [slow] });
    expect(s.invalid()).toEqual([revoked]);
  });
});

describe('check concurrency', () => {
  it('never has more than --concurrency requests in flight, and reuses connections', async () => {
    const slowFake = await startFakeCursor({ latencyMs: 25 });
    try {
      const s = store();
      const cookies = Array.from({ length: 40 }, () => cookieFor('valid'));
      s.writeKeys({ 'sk-a': cookies.slice(0, 20), 'sk-b': cookies.slice(20) });
      const r = await s.run(['check', '--concurrency', '4', '--json'], { env: { CURSOR_WEB_URL: slowFake.url } });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ checked: 40, valid: 40, unknown: 0 });
      expect(slowFake.requests).toHaveLength(40);
      expect(slowFake.headerErrors).toEqual([]);
      expect(slowFake.maxInFlight).toBeLessThanOrEqual(4);
      expect(slowFake.maxInFlight).toBeGreaterThanOrEqual(2);
      // Keep-alive: 40 requests over at most 4 connections.
      expect(slowFake.connections).toBeLessThanOrEqual(4);

      slowFake.reset();
      const d = await s.run(['check', '--json'], { env: { CURSOR_WEB_URL: slowFake.url } });
      expect(d.code).toBe(0);
      expect(slowFake.maxInFlight).toBeLessThanOrEqual(8);
      expect(slowFake.maxInFlight).toBeGreaterThanOrEqual(2);
    } finally {
      await slowFake.close();
    }
  });
});

describe('check usage errors', () => {
  it('exits 2 on bad flags and a bad CURSOR_WEB_URL, naming the culprit', async () => {
    const s = store();
    s.writeKeys({ 'sk-a': [makeCookie()] });
    const env = { CURSOR_WEB_URL: fake.url };
    for (const args of [
      ['--concurrency', 'abc'],
      ['--concurrency', '0'],
      ['--concurrency', '2.5'],
      ['--request-timeout', '-1'],
      ['--request-timeout', 'soon'],
      ['--bogus'],
    ]) {
      const r = await s.run(['check', ...args], { env });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(args[0] === '--bogus' ? /unknown option/ : new RegExp(args[0] as string));
    }
    for (const url of ['not a url', 'ftp://example.com']) {
      const r = await s.run(['check'], { env: { CURSOR_WEB_URL: url } });
      expect(r.code, url).toBe(2);
      expect(r.stderr).toContain('CURSOR_WEB_URL');
    }
    expect(fake.requests).toEqual([]);
  });

  it('reports an unreachable endpoint as unknown (exit 3), never as invalid', async () => {
    const s = store();
    const c = cookieFor('valid');
    s.writeKeys({ 'sk-a': [c] });
    // A port nothing listens on: take one from a closed fake.
    const gone = await startFakeCursor();
    const url = gone.url;
    await gone.close();
    const r = await s.run(['check', '--mark-invalid', '--json'], { env: { CURSOR_WEB_URL: url } });
    expect(r.code).toBe(3);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ unknown: 1, invalid: 0, marked: 0 });
    expect(doc.results[0].reason).toMatch(/network error/);
    expect(s.keys()).toEqual({ 'sk-a': [c] });
    expect(s.invalid()).toEqual([]);
  });
});

describe('usage client details', () => {
  const parsed = (c: string): Cookie => {
    const p = parseCookie(c);
    if (!p.ok) throw new Error('test cookie does not parse');
    return p.cookie;
  };

  it('reads Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-11-27T12:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('Fri, 27 Nov 2026 12:00:07 GMT', now)).toBe(7000);
    expect(parseRetryAfter('Fri, 27 Nov 2026 11:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });

  it('takes remaining from the gpt-4 entry only when it has both numbers', () => {
    expect(remainingFromUsage({ 'gpt-4': { numRequests: 12, maxRequestUsage: 500 } })).toBe(488);
    expect(remainingFromUsage({ 'gpt-4': { numRequests: 12, maxRequestUsage: null } })).toBeUndefined();
    expect(remainingFromUsage({ 'gpt-3.5-turbo': { numRequests: 1, maxRequestUsage: 5 } })).toBeUndefined();
  });

  it('honours a dated Retry-After, caps long waits, and stops after 3 tries', async () => {
    const now = Date.parse('2026-11-27T12:00:00Z');
    const waits: number[] = [];
    const answers = [
      new Response('{}', { status: 429, headers: { 'retry-after': 'Fri, 27 Nov 2026 12:00:02 GMT' } }),
      new Response('{}', { status: 429, headers: { 'retry-after': '86400' } }),
      new Response('{}', { status: 429 }),
    ];
    const seen: string[] = [];
    const r = await checkUsage(parsed(cookieFor('valid')), {
      baseUrl: 'http://127.0.0.1:9/prefix/',
      timeoutMs: 1000,
      maxRetryAfterMs: 30_000,
      now: () => now,
      sleep: async (ms) => void waits.push(ms),
      fetch: (async (url: string, init: RequestInit) => {
        seen.push(`${url} ${String((init.headers as Record<string, string>).Cookie).slice(0, 32)}`);
        return answers.shift() as Response;
      }) as typeof fetch,
    });
    expect(r).toMatchObject({ status: 'unknown', attempts: 3, httpStatus: 429 });
    expect(waits).toEqual([2000, 30_000]);
    expect(seen).toHaveLength(3);
    expect(seen[0]).toMatch(/^http:\/\/127\.0\.0\.1:9\/prefix\/api\/usage\?user=user_01[0-9A-F]+ WorkosCursorSessionToken=user_01/);
  });
});
