/**
 * History and sizing around `refresh` (SPEC §10) through the built CLI against the loopback fake
 * GitHub: a refresh records one event (run id, harvested, duration; ok:false on failure);
 * `--number auto` / REGISTER_NUMBER=auto sends the deficit of the targets plus the retirements the
 * history expects before the next REFRESH_CRON run, capped by REGISTER_MAX_NUMBER, as the
 * dispatch body seen by the fake GitHub shows; a workflow without `number` is exit 2; `doctor`
 * shows the number it would ask for. The clock is injected (COOKIE_POOL_NOW), nothing sleeps.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { upstreamWorkflowYaml } from './fake-github.js';
import { makeCookie } from './helpers/cookies.js';
import { expectNoLeaks, FAST, useRig, type Rig } from './helpers/refresh-rig.js';

const setup = useRig();

const NOW = '2026-04-10T00:00:00.000Z';
/** Nine days in which sk-a and sk-b each lost 2 cookies in the last seven. */
const HISTORY = [
  { time: '2026-04-01T00:00:00.000Z', event: 'add', ok: true, keys: { 'sk-a': { before: 0, after: 3 }, 'sk-b': { before: 0, after: 2 } } },
  { time: '2026-04-04T00:00:00.000Z', event: 'check', ok: true, keys: { 'sk-a': { before: 3, after: 2 }, 'sk-b': { before: 2, after: 1 } } },
  { time: '2026-04-08T00:00:00.000Z', event: 'purge', ok: true, keys: { 'sk-a': { before: 2, after: 1 }, 'sk-b': { before: 1, after: 0 } } },
];

const historyFile = (r: Rig): string => join(r.store.dataDir, '.cookie-pool', 'history.jsonl');

function prepare(r: Rig): void {
  // sk-a: 1 cookie (deficit 1), sk-b: none (deficit 2), sk-c: full.
  r.store.writeKeys({ 'sk-a': [makeCookie()], 'sk-b': [], 'sk-c': [makeCookie(), makeCookie()] });
  mkdirSync(join(r.store.dataDir, '.cookie-pool'), { recursive: true });
  writeFileSync(historyFile(r), HISTORY.map((h) => JSON.stringify(h)).join('\n') + '\n');
}

/** Daily at midnight UTC: the next run is one day after NOW. */
const CLOCK = { COOKIE_POOL_NOW: NOW, TZ: 'UTC', REFRESH_CRON: '0 0 * * *' };

function lines(r: Rig): any[] {
  return readFileSync(historyFile(r), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

describe('refresh --number auto', () => {
  it('REGISTER_NUMBER=auto: the dispatch asks for deficit 3 + 2 expected retirements = 5; the refresh is recorded', async () => {
    const r = await setup({ runTimeline: { queuedMs: 50, inProgressMs: 200 } }, { ...CLOCK, REGISTER_NUMBER: 'auto' });
    prepare(r);
    const res = await r.run(['refresh', '--json', ...FAST]);
    expect(res.code, res.stderr).toBe(0);
    expect(r.gh.dispatches).toHaveLength(1);
    expect(r.gh.dispatches[0]!.inputs).toEqual({ number: '5' });
    // 2/7 a day for each key, one day to the next run: 1 each, rounded up.
    expect(res.stderr).toContain('number=auto: 5 = deficit 3 + 2 expected retirement(s) before the next run (2026-04-11 00:00 UTC, REFRESH_CRON "0 0 * * *")');

    const out = JSON.parse(res.stdout);
    expect(out.harvested).toBe(5);
    const last = lines(r).at(-1);
    expect(last).toMatchObject({
      time: NOW,
      event: 'refresh',
      ok: true,
      runId: r.gh.lastRun!.id,
      runUrl: r.gh.lastRun!.html_url,
      harvested: 5,
      added: 5,
      retired: 0,
    });
    expect(last.keys['sk-a'].before).toBe(1);
    expect(last.keys['sk-b'].before).toBe(0);
    expect(last.keys['sk-a'].after + last.keys['sk-b'].after).toBe(6);
    expect(last.keys['sk-c']).toEqual({ before: 2, after: 2 });
    expect(last.durationSec).toBeGreaterThan(0);
    // No cookie in the history.
    const text = readFileSync(historyFile(r), 'utf8');
    for (const c of [...r.gh.lastRun!.cookies, ...Object.values(r.store.keys()).flat()]) expect(text).not.toContain(c.slice(-40));
    expectNoLeaks(r);
  });

  it('--dry-run shows the number; REGISTER_MAX_NUMBER caps it; --share takes the neediest key; a later run widens it; no forecast under 2 days', async () => {
    const r = await setup({}, CLOCK);
    prepare(r);
    const number = async (args: string[], env: Record<string, string> = {}) => {
      const res = await r.run(['refresh', '--dry-run', '--json', '--number', 'auto', ...args], { env });
      expect(res.code, res.stderr).toBe(0);
      return { n: JSON.parse(res.stdout).inputs.number as string, stderr: res.stderr };
    };
    expect((await number([])).n).toBe('5');
    const capped = await number([], { REGISTER_MAX_NUMBER: '4' });
    expect(capped.n).toBe('4');
    expect(capped.stderr).toContain('capped at REGISTER_MAX_NUMBER=4 (wanted 5)');
    // sk-b alone needs 2 + 1; with --share sk-a gets the same cookies.
    expect((await number(['--share'])).n).toBe('3');
    // The 20th of the month: 10 days away, ceil(20/7) = 3 expected per key: 3 + 6 = 9.
    expect((await number([], { REFRESH_CRON: '0 0 20 * *' })).n).toBe('9');
    // --number N and --input number=auto go the same way.
    expect((await number(['--number', '7'])).n).toBe('7');
    expect((await number(['--number', '7', '--input', 'number=auto'])).n).toBe('7');
    // A day and a half of history: no forecast, the deficit alone.
    const young = await number([], { COOKIE_POOL_NOW: '2026-04-02T12:00:00Z' });
    expect(young.n).toBe('3');
    expect(young.stderr).toContain('3 = deficit 3 (no retirements expected yet: under 2 days of history)');
    expect(r.gh.dispatches).toHaveLength(0);

    const bad = await r.run(['refresh', '--dry-run', '--number', 'lots']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('expected a whole number ≥ 1 or "auto"');
    const badMax = await r.run(['refresh', '--dry-run', '--number', 'auto'], { env: { REGISTER_MAX_NUMBER: '0' } });
    expect(badMax.code).toBe(2);
    expect(badMax.stderr).toContain('REGISTER_MAX_NUMBER');
  });

  it('a workflow without a number input: exit 2 naming the workflow, nothing dispatched', async () => {
    const yaml = upstreamWorkflowYaml().replace(/ {6}number:\n {8}default: "2"\n {8}type: number\n/, '');
    expect(yaml).not.toMatch(/^\s+number:/m);
    const r = await setup({ workflowYaml: yaml }, { ...CLOCK, REGISTER_NUMBER: 'auto' });
    prepare(r);
    const res = await r.run(['refresh', ...FAST]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(
      'number=auto (from REGISTER_NUMBER) needs a "number" input, but .github/workflows/cursor_register.yml at main declares none',
    );
    expect(r.gh.dispatches).toHaveLength(0);
    // A usage error is not a refresh run: nothing recorded.
    expect(lines(r)).toHaveLength(HISTORY.length);
  });
});

describe('refresh failures in the history', () => {
  it('a failed run is recorded ok:false with the error and the counts it started from', async () => {
    const r = await setup({ conclusion: 'failure', runTimeline: { queuedMs: 20, inProgressMs: 100 } }, CLOCK);
    prepare(r);
    const res = await r.run(['refresh', ...FAST]);
    expect(res.code).toBe(1);
    const last = lines(r).at(-1);
    expect(last).toMatchObject({
      time: NOW,
      event: 'refresh',
      ok: false,
      keys: { 'sk-a': { before: 1, after: 1 }, 'sk-b': { before: 0, after: 0 }, 'sk-c': { before: 2, after: 2 } },
    });
    expect(last.error).toContain('failure');
    expect(last.error).toContain(r.gh.lastRun!.html_url);
    expect(typeof last.durationSec).toBe('number');

    // The statistics see it.
    const h = JSON.parse((await r.run(['history', '--json'])).stdout);
    expect(h.refresh).toEqual({ runs: 1, succeeded: 0, harvestedPerRun: 0, meanSeconds: 0 });
  });

  it('nothing to do, or a dry run: nothing recorded', async () => {
    const r = await setup({}, CLOCK);
    r.store.writeKeys({ 'sk-a': [makeCookie(), makeCookie()] });
    expect((await r.run(['refresh'])).code).toBe(0);
    r.store.writeKeys({ 'sk-a': [] });
    expect((await r.run(['refresh', '--dry-run'])).code).toBe(0);
    const h = JSON.parse((await r.run(['history', '--json'])).stdout);
    expect(h).toEqual({ keys: [], refresh: { runs: 0, succeeded: 0, harvestedPerRun: 0, meanSeconds: 0 } });
  });
});

describe('doctor and number=auto', () => {
  it('the inputs line shows the number refresh would ask for', async () => {
    const r = await setup({}, { ...CLOCK, REGISTER_NUMBER: 'auto' });
    prepare(r);
    const res = await r.run(['doctor', '--json']);
    const inputs = JSON.parse(res.stdout).checks.find((c: { name: string }) => c.name === 'inputs');
    expect(inputs.status).toBe('ok');
    expect(inputs.detail).toContain('sending number');
    expect(inputs.detail).toContain('number=auto: refresh would ask for 5 = deficit 3 + 2 expected retirement(s)');
    expect(inputs.detail).toContain('(for sk-a, sk-b)');
  });
});
