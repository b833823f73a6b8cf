/** The pure part of the history (SPEC §10): reading a line back, `--since`, the aggregation and the auto number. */
import { describe, expect, it } from 'vitest';
import { autoNumber, HistoryAggregator, parseEntry, parseSince, type HistoryEntry } from '../src/core/history.js';

const DAY = 24 * 3600 * 1000;
const T0 = Date.parse('2026-04-01T00:00:00Z');
const at = (days: number): string => new Date(T0 + days * DAY).toISOString();

function aggregate(lines: HistoryEntry[], sinceMs?: number): HistoryAggregator {
  const agg = new HistoryAggregator(sinceMs);
  for (const l of lines) agg.add(parseEntry(JSON.stringify(l))!);
  return agg;
}

describe('parseEntry', () => {
  it('accepts an entry and refuses what is not one', () => {
    const ok = parseEntry('{"time":"2026-04-01T00:00:00Z","event":"add","ok":true,"keys":{"k":{"before":0,"after":2}}}');
    expect(ok?.timeMs).toBe(T0);
    expect(ok?.entry.keys).toEqual({ k: { before: 0, after: 2 } });
    for (const bad of [
      '{"time":"2026-04-01T00:00:00Z","event":"add"',
      '[]',
      'null',
      '{"time":"yesterday","event":"add","keys":{}}',
      '{"time":"2026-04-01T00:00:00Z","event":"explode","keys":{}}',
      '{"time":"2026-04-01T00:00:00Z","event":"add","keys":{"k":{"before":-1,"after":2}}}',
      '{"time":"2026-04-01T00:00:00Z","event":"add","keys":{"k":{"before":"1","after":2}}}',
      '{"time":"2026-04-01T00:00:00Z","event":"add","ok":"yes","keys":{}}',
    ]) {
      expect(parseEntry(bad), bad).toBeUndefined();
    }
  });
});

describe('parseSince', () => {
  it('relative spans and dates', () => {
    const now = T0 + 10 * DAY;
    expect(parseSince('7d', now)).toBe(now - 7 * DAY);
    expect(parseSince('12h', now)).toBe(now - 12 * 3600 * 1000);
    expect(parseSince('2w', now)).toBe(now - 14 * DAY);
    expect(parseSince('2026-04-01', now)).toBe(T0);
    expect(parseSince('2026-04-01T06:00:00Z', now)).toBe(T0 + DAY / 4);
    for (const bad of ['', '7', 'd7', 'tuesday', '2026-13-45']) expect(parseSince(bad, now), bad).toBeUndefined();
  });
});

describe('HistoryAggregator', () => {
  it('sorts each key by time (a check records when it read the pool), so a late line does not read as a loss', () => {
    // The check read 4 cookies at day 1 and finished after an add at day 1.5 (its line comes later).
    const agg = aggregate(
      [
        { time: at(0), event: 'add', ok: true, keys: { k: { before: 0, after: 4 } } },
        { time: at(1.5), event: 'add', ok: true, keys: { k: { before: 4, after: 6 } } },
        { time: at(1), event: 'check', ok: true, keys: { k: { before: 4, after: 4 } } },
        { time: at(3), event: 'remove', ok: true, keys: { k: { before: 6, after: 5 } } },
      ],
      undefined,
    );
    const s = agg.summarize({ nowMs: T0 + 4 * DAY, minCookieCount: 2 });
    expect(s.keys[0]!.series.map((p) => [p.time, p.cookies])).toEqual([
      [at(0), 4],
      [at(1.5), 6],
      [at(3), 5],
    ]);
    expect(s.keys[0]!.retired).toBe(1);
    expect(s.keys[0]!.retiredPerDay).toBe(0.25);
    // 5 cookies, 4 to lose at 1/4 a day: 16 days.
    expect(s.keys[0]!.runsDryAt).toBe(new Date(T0 + 20 * DAY).toISOString());
  });

  it('a removed key is left out, and its removal is not wear; a key created again starts from 0', () => {
    const agg = aggregate([
      { time: at(0), event: 'add', ok: true, keys: { a: { before: 0, after: 3 }, b: { before: 0, after: 2 } } },
      { time: at(1), event: 'remove', ok: true, keys: { a: { before: 3, after: 3 }, b: { before: 2, after: 0, removed: true } } },
      { time: at(2), event: 'remove', ok: true, keys: { a: { before: 3, after: 0, removed: true } } },
      { time: at(2.5), event: 'add', ok: true, keys: { a: { before: 0, after: 1 } } },
    ]);
    const s = agg.summarize({ nowMs: T0 + 3 * DAY, minCookieCount: 2 });
    expect(s.keys.map((k) => k.apiKey)).toEqual(['a']);
    expect(s.keys[0]!.retired).toBe(0);
    expect(s.keys[0]!.current).toBe(1);
    // Named, a removed key is listed as such.
    const named = agg.summarize({ nowMs: T0 + 3 * DAY, minCookieCount: 2, keys: ['b', 'zz'] });
    expect(named.keys.map((k) => [k.apiKey, k.removed, k.series.length])).toEqual([
      ['b', true, 2],
      ['zz', false, 0],
    ]);
  });

  it('refresh statistics count successful runs for harvest and duration; the forecast waits for two days', () => {
    const agg = aggregate([
      { time: at(0), event: 'refresh', ok: true, keys: { k: { before: 1, after: 4 } }, harvested: 3, durationSec: 60 },
      { time: at(0.5), event: 'refresh', ok: false, keys: {}, durationSec: 5 },
      { time: at(1), event: 'check', ok: true, keys: { k: { before: 4, after: 2 } } },
    ]);
    const young = agg.summarize({ nowMs: T0 + 1.9 * DAY, minCookieCount: 2 });
    expect(young.forecast).toBe(false);
    expect(young.keys[0]!.runsDryAt).toBeNull();
    expect(young.refresh).toEqual({ runs: 2, succeeded: 1, harvestedPerRun: 3, meanSeconds: 60 });
    const grown = agg.summarize({ nowMs: T0 + 2 * DAY, minCookieCount: 2, current: { k: 1 } });
    expect(grown.forecast).toBe(true);
    // Below the minimum already (live count 1): now.
    expect(grown.keys[0]!.runsDryAt).toBe(new Date(T0 + 2 * DAY).toISOString());
  });
});

describe('autoNumber', () => {
  const base = { minCookieCount: 3, daysToNextRun: 0.25, max: 10 };
  it('deficit plus expected retirements, whole cookies, at least 1, at most max', () => {
    const targets = [
      { apiKey: 'a', cookies: 0, retiredPerDay: 2 },
      { apiKey: 'b', cookies: 2, retiredPerDay: 0.1 },
    ];
    // a: 3 + ceil(0.5); b: 1 + ceil(0.025).
    expect(autoNumber({ ...base, targets, share: false })).toEqual({ number: 6, deficit: 4, expected: 2, wanted: 6 });
    expect(autoNumber({ ...base, targets, share: true })).toEqual({ number: 4, deficit: 3, expected: 1, wanted: 4 });
    expect(autoNumber({ ...base, targets, share: false, max: 5 }).number).toBe(5);
    expect(autoNumber({ ...base, targets: [{ apiKey: 'a', cookies: 9, retiredPerDay: 0 }], share: false })).toEqual({
      number: 1,
      deficit: 0,
      expected: 0,
      wanted: 0,
    });
    // An exact product is not rounded up past itself (2/day × 0.5 day = 1, not 2).
    expect(autoNumber({ ...base, daysToNextRun: 0.5, targets: [{ apiKey: 'a', cookies: 3, retiredPerDay: 2 }], share: false }).expected).toBe(1);
  });
});

describe('scrubSecrets', () => {
  it('masks any cookie or JWT in an error message before it goes into the history', async () => {
    const { scrubSecrets } = await import('../src/services/history.js');
    const { makeCookie } = await import('./helpers/cookies.js');
    const cookie = makeCookie();
    const jwt = cookie.split('%3A%3A')[1]!;
    const out = scrubSecrets(`DELETE /v1/invalid-cookies/${cookie} failed; token ${jwt}: fetch failed`);
    expect(out).not.toContain(jwt.slice(-30));
    expect(out).toContain('fetch failed');
    expect(out).toMatch(/user_01.…/);
  });
});
