/**
 * The pool's history (SPEC §10) through the built CLI on the file backend: every pool change is
 * recorded (and nothing when nothing changed), no cookie is ever written; synthetic histories
 * spanning days, read with an injected clock (COOKIE_POOL_NOW, no sleeping), give exact figures
 * in `history --json`, its human output and `status`; damaged lines are skipped with a warning;
 * 8 concurrent appending processes never tear a line; the file rotates by size.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeProxy } from './fake-proxy.js';
import { ROOT, runCli, TempStore } from './helpers/cli.js';
import { expiredCookie, makeCookie } from './helpers/cookies.js';

let t: TempStore;
afterEach(() => t?.cleanup());
const store = (): TempStore => (t = new TempStore('cookie-pool-history-'));

const historyPath = (s: TempStore): string => join(s.dataDir, '.cookie-pool', 'history.jsonl');

function entries(file: string): any[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

function writeHistory(file: string, lines: (object | string)[]): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
}

describe('recording on the file backend', () => {
  it('add, remove, invalid, purge, import, keys import-env and check each append one line; nothing when nothing changed; no cookie in the file', async () => {
    const s = store();
    const [a1, a2, a3, b1, c1] = [makeCookie(), makeCookie(), makeCookie(), makeCookie(), makeCookie()];
    const dead = expiredCookie();
    const run = async (args: string[], env: Record<string, string> = {}) => {
      const r = await s.run(args, { env });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r;
    };
    await run(['keys', 'add', 'sk-a', a1, a2]);
    await run(['cookies', 'add', 'sk-a', a3]);
    // Every cookie refused as a duplicate: nothing changed, nothing recorded.
    await run(['cookies', 'add', 'sk-a', a3]);
    await run(['cookies', 'remove', 'sk-a', a1]);
    await run(['invalid', 'add', a2, '--keep-in-keys']);
    await run(['invalid', 'purge']);
    const file = join(s.dir, 'new.txt');
    writeFileSync(file, `${b1}\n`);
    await run(['import', file, '--key', 'sk-b']);
    await run(['keys', 'import-env'], { API_KEYS: JSON.stringify({ 'sk-c': [c1] }) });
    await run(['keys', 'remove', 'sk-c']);
    writeFileSync(s.keysFile, JSON.stringify({ ...s.keys(), 'sk-a': [...s.keys()['sk-a']!, dead] }, null, 2));
    const check = await s.run(['check', '--offline', '--mark-invalid']);
    expect(check.code).toBe(0);

    const text = readFileSync(historyPath(s), 'utf8');
    for (const c of [a1, a2, a3, b1, c1, dead]) expect(text).not.toContain(c.slice(-40));
    const got = entries(historyPath(s));
    expect(got.map((e) => e.event)).toEqual(['add', 'add', 'remove', 'invalid', 'purge', 'import', 'import', 'remove', 'check']);
    expect(got.every((e) => e.ok === true && !Number.isNaN(Date.parse(e.time)))).toBe(true);
    expect(got[0].keys).toEqual({ 'sk-a': { before: 0, after: 2 } });
    expect(got[1].keys).toEqual({ 'sk-a': { before: 2, after: 3 } });
    expect(got[2].keys).toEqual({ 'sk-a': { before: 3, after: 2 } });
    // --keep-in-keys changed only the invalid list: every key sampled, unchanged.
    expect(got[3].keys).toEqual({ 'sk-a': { before: 2, after: 2 } });
    expect(got[4].keys).toEqual({ 'sk-a': { before: 2, after: 1 } });
    expect(got[5].keys).toEqual({ 'sk-a': { before: 1, after: 1 }, 'sk-b': { before: 0, after: 1 } });
    // import-env created sk-c, then keys remove took it away (an operator's removal, not wear).
    expect(got[6].keys['sk-c']).toEqual({ before: 0, after: 1 });
    expect(got[7].keys['sk-c']).toEqual({ before: 1, after: 0, removed: true });
    // check --mark-invalid: the counts of its write, its tallies and duration.
    expect(got[8]).toMatchObject({
      event: 'check',
      keys: { 'sk-a': { before: 2, after: 1 }, 'sk-b': { before: 1, after: 1 } },
      checked: 3,
      expired: 1,
      marked: 1,
    });
    expect(typeof got[8].durationSec).toBe('number');
    // The file is private, as the store is.
    expect(readdirSync(join(s.dataDir, '.cookie-pool'))).toEqual(['history.jsonl']);
  });

  it('HISTORY_FILE moves the file; a history that cannot be written warns and changes nothing else', async () => {
    const s = store();
    const elsewhere = join(s.dir, 'logs', 'pool.jsonl');
    const ok = await s.run(['keys', 'add', 'sk-a', makeCookie()], { env: { HISTORY_FILE: elsewhere } });
    expect(ok.code).toBe(0);
    expect(entries(elsewhere)).toHaveLength(1);
    expect(existsSync(historyPath(s))).toBe(false);

    // A directory where the file should be: the append fails, the command still succeeds.
    mkdirSync(join(s.dir, 'blocked.jsonl'));
    const blocked = await s.run(['cookies', 'add', 'sk-a', makeCookie()], { env: { HISTORY_FILE: join(s.dir, 'blocked.jsonl') } });
    expect(blocked.code).toBe(0);
    expect(blocked.stdout).toContain('Added 1 cookie to sk-a (now 2)');
    expect(blocked.stderr).toMatch(/warning: history: cannot append to .*blocked\.jsonl/);
    expect(s.keys()['sk-a']).toHaveLength(2);
  });
});

describe('recording on the other backends (the same decorator)', () => {
  it('proxy: the changes made through the admin API are recorded in the state folder, with the counts the proxy had', async () => {
    const s = store();
    const [a1, a2] = [makeCookie(), makeCookie()];
    const dead = expiredCookie();
    s.writeKeys({ 'sk-a': [a1, dead] });
    s.writeInvalid([]);
    const fake = await FakeProxy.start({ dir: s.dir, jwtSecret: 'test-jwt-secret' });
    const work = mkdtempSync(join(tmpdir(), 'cookie-pool-work-'));
    const state = mkdtempSync(join(tmpdir(), 'cookie-pool-state-'));
    try {
      const run = (args: string[]) => runCli(args, { cwd: work, env: { ...fake.env(), XDG_STATE_HOME: state } });
      expect((await run(['cookies', 'add', 'sk-a', a2])).code).toBe(0);
      expect((await run(['check', '--offline', '--mark-invalid'])).code).toBe(0);
      const host = readdirSync(join(state, 'cookie-pool'));
      expect(host).toHaveLength(1);
      const got = entries(join(state, 'cookie-pool', host[0]!, '.cookie-pool', 'history.jsonl'));
      expect(got.map((e) => [e.event, e.keys['sk-a']])).toEqual([
        ['add', { before: 2, after: 3 }],
        ['check', { before: 3, after: 2 }],
      ]);
      expect(got[1]).toMatchObject({ checked: 3, expired: 1, marked: 1 });
      expect(existsSync(join(work, 'data'))).toBe(false);
    } finally {
      await fake.close();
      rmSync(work, { recursive: true, force: true });
      rmSync(state, { recursive: true, force: true });
    }
  });

  it('token-file: cursor-api\'s one pool is recorded as key "default"', async () => {
    const s = store();
    const env = { POOL_BACKEND: 'token-file', TOKEN_FILE: join(s.dir, '.token'), TOKEN_LIST_FILE: join(s.dir, '.token-list') };
    writeFileSync(join(s.dir, '.token'), '');
    expect((await s.run(['cookies', 'add', 'default', makeCookie(), makeCookie()], { env })).code).toBe(0);
    expect(entries(historyPath(s))).toEqual([
      { time: expect.any(String), event: 'add', ok: true, keys: { default: { before: 0, after: 2 } } },
    ]);
  });
});

// A synthetic history over nine days (times UTC); read at NOW.
const NOW = '2026-04-10T00:00:00.000Z';
const SYNTHETIC: (object | string)[] = [
  { time: '2026-04-01T00:00:00.000Z', event: 'add', ok: true, keys: { 'sk-a': { before: 0, after: 10 }, 'sk-b': { before: 0, after: 3 } } },
  { time: '2026-04-02T00:00:00.000Z', event: 'check', ok: true, keys: { 'sk-a': { before: 10, after: 8 }, 'sk-b': { before: 3, after: 3 } }, marked: 2 },
  '{"time":"2026-04-03T00:00:00.000Z","event":"add","ok":tr', // torn
  'not json at all',
  { time: '2026-04-04T00:00:00.000Z', event: 'invalid', ok: true, keys: { 'sk-a': { before: 8, after: 7 }, 'sk-b': { before: 3, after: 3 } } },
  // Replace mode: 2 retired and 4 added at once.
  { time: '2026-04-05T00:00:00.000Z', event: 'refresh', ok: true, keys: { 'sk-b': { before: 3, after: 5, retired: 2 } }, runId: 11, harvested: 4, durationSec: 100 },
  { time: '2026-04-06T12:00:00.000Z', event: 'refresh', ok: false, keys: {}, error: 'run 12 concluded failure', durationSec: 30 },
  // sk-a went 7 → 6 between events (the proxy retired one): counted.
  { time: '2026-04-07T00:00:00.000Z', event: 'check', ok: true, keys: { 'sk-a': { before: 6, after: 6 }, 'sk-b': { before: 5, after: 5 } } },
  { time: '2026-04-08T00:00:00.000Z', event: 'refresh', ok: true, keys: { 'sk-b': { before: 5, after: 5 } }, runId: 13, harvested: 2, durationSec: 200 },
];

describe('history: figures from a synthetic history (injected clock)', () => {
  it('--json: exactly the SPEC shape; series, retirement rate and forecast over the default 7 days; refresh statistics; one warning for damaged lines', async () => {
    const s = store();
    writeHistory(historyPath(s), SYNTHETIC);
    const r = await s.run(['history', '--json'], { env: { COOKIE_POOL_NOW: NOW } });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: history: skipped 2 damaged line\(s\)/);
    expect(r.stderr.match(/damaged/g)).toHaveLength(1);
    expect(JSON.parse(r.stdout)).toEqual({
      keys: [
        {
          apiKey: 'sk-a',
          // The window opens 2026-04-03 with the count carried in from 04-02.
          series: [
            { time: '2026-04-03T00:00:00.000Z', cookies: 8 },
            { time: '2026-04-04T00:00:00.000Z', cookies: 7 },
            { time: '2026-04-07T00:00:00.000Z', cookies: 6 },
          ],
          // 1 (invalid) + 1 (lost between events) in 7 days; 6 cookies, below 2 after 5 more: 17.5 days.
          retiredPerDay: 0.29,
          runsDryAt: '2026-04-27T12:00:00.000Z',
        },
        {
          apiKey: 'sk-b',
          series: [
            // The steps of the count, and the latest event (unchanged samples on 04-04 and 04-07 left out).
            { time: '2026-04-03T00:00:00.000Z', cookies: 3 },
            { time: '2026-04-05T00:00:00.000Z', cookies: 5 },
            { time: '2026-04-08T00:00:00.000Z', cookies: 5 },
          ],
          // 2 retired by the replace-mode refresh; 5 cookies, 4 to lose: 14 days.
          retiredPerDay: 0.29,
          runsDryAt: '2026-04-24T00:00:00.000Z',
        },
      ],
      refresh: { runs: 3, succeeded: 2, harvestedPerRun: 3, meanSeconds: 150 },
    });
  });

  it('--since 30d reaches back to the first event; --since DATE; --key; a bad --since is exit 2', async () => {
    const s = store();
    writeHistory(historyPath(s), SYNTHETIC);
    const env = { COOKIE_POOL_NOW: NOW };
    const wide = JSON.parse((await s.run(['history', '--json', '--since', '30d', '--key', 'sk-a'], { env })).stdout);
    // 2 + 1 + 1 retired over the 9 days since 04-01; 5 to lose at 4/9 a day: 11.25 days.
    expect(wide.keys).toEqual([
      {
        apiKey: 'sk-a',
        series: [
          { time: '2026-04-01T00:00:00.000Z', cookies: 10 },
          { time: '2026-04-02T00:00:00.000Z', cookies: 8 },
          { time: '2026-04-04T00:00:00.000Z', cookies: 7 },
          { time: '2026-04-07T00:00:00.000Z', cookies: 6 },
        ],
        retiredPerDay: 0.44,
        runsDryAt: '2026-04-21T06:00:00.000Z',
      },
    ]);
    const dated = JSON.parse((await s.run(['history', '--json', '--since', '2026-04-06'], { env })).stdout);
    expect(dated.refresh).toEqual({ runs: 2, succeeded: 1, harvestedPerRun: 2, meanSeconds: 200 });
    expect(dated.keys.map((k: any) => k.retiredPerDay)).toEqual([0.25, 0]);
    expect(dated.keys[1].runsDryAt).toBeNull();

    const bad = await s.run(['history', '--since', 'last tuesday'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--since must be like 7d, 12h, 2w or a date');
  });

  it('human output: a chart per key in plain text, retirements and forecast, retired per day, refresh runs', async () => {
    const s = store();
    writeHistory(historyPath(s), SYNTHETIC);
    const r = await s.run(['history'], { env: { COOKIE_POOL_NOW: NOW } });
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).not.toMatch(/\x1b\[/);
    expect(out).toContain('History 2026-04-03 00:00 → 2026-04-10 00:00 UTC (7.0 days, 5 event(s)); minimum 2');
    expect(out).toContain('sk-a: 6 cookie(s) now');
    expect(out).toContain('retired: 2 in the window, 0.29/day · runs dry: 2026-04-27 12:00 UTC (in 17.5 days)');
    expect(out).toContain('sk-b: 5 cookie(s) now');
    expect(out).toContain('runs dry: 2026-04-24 00:00 UTC (in 14.0 days)');
    // The chart (asciichart, ASCII glyphs without colour): y labels from 8 down to 6 for sk-a.
    const chart = out.split('sk-a: 6 cookie(s) now\n')[1]!.split('\n').slice(0, 3);
    expect(chart[0]).toMatch(/^\s+8 [|+]-/);
    expect(chart[2]).toMatch(/^\s+6 [|+]\s+.*-+$/);
    expect(out).toMatch(/2026-04-04\s+1\n2026-04-05\s+2\n2026-04-06\s+0\n2026-04-07\s+1\n/);
    expect(out).toContain('Refresh runs: 3 (2 succeeded, 1 failed); 3 cookie(s) harvested per successful run; mean duration 2m 30s.');
  });

  it('without history: says so (and an empty JSON document)', async () => {
    const s = store();
    const r = await s.run(['history']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^No history yet \(.*history\.jsonl\)/);
    const j = await s.run(['history', '--json']);
    expect(JSON.parse(j.stdout)).toEqual({ keys: [], refresh: { runs: 0, succeeded: 0, harvestedPerRun: 0, meanSeconds: 0 } });
  });
});

describe('rotated files wholly before the window', () => {
  it('are skipped (only where the history starts is taken from the oldest), and read when the window reaches them', async () => {
    const s = store();
    const file = historyPath(s);
    writeHistory(`${file}.2`, [{ time: '2026-03-01T00:00:00.000Z', event: 'add', ok: true, keys: { 'sk-a': { before: 0, after: 9 } } }, 'garbage']);
    writeHistory(`${file}.1`, [{ time: '2026-03-20T00:00:00.000Z', event: 'check', ok: true, keys: { 'sk-a': { before: 9, after: 8 } } }]);
    writeHistory(file, [{ time: '2026-04-05T00:00:00.000Z', event: 'check', ok: true, keys: { 'sk-a': { before: 8, after: 7 } } }]);
    utimesSync(`${file}.2`, new Date('2026-03-02T00:00:00Z'), new Date('2026-03-02T00:00:00Z'));
    utimesSync(`${file}.1`, new Date('2026-03-20T00:00:00Z'), new Date('2026-03-20T00:00:00Z'));
    const env = { COOKIE_POOL_NOW: NOW };
    const r = await s.run(['history', '--json'], { env });
    // .2 was not read (its damaged line would warn); .1 gave the count carried into the window.
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).keys).toEqual([
      {
        apiKey: 'sk-a',
        series: [
          { time: '2026-04-03T00:00:00.000Z', cookies: 8 },
          { time: '2026-04-05T00:00:00.000Z', cookies: 7 },
        ],
        retiredPerDay: 0.14,
        // 40 days of history (from .2's first line); 6 to lose at 1/7 a day.
        runsDryAt: '2026-05-22T00:00:00.000Z',
      },
    ]);
    const wide = await s.run(['history', '--json', '--since', '60d'], { env });
    expect(wide.stderr).toContain('skipped 1 damaged line(s)');
    expect(JSON.parse(wide.stdout).keys[0].series.map((p: any) => p.cookies)).toEqual([9, 8, 7]);
  });
});

describe('status: the forecast once there are two days of history', () => {
  it('a RUNS DRY column and runsDryAt from the live counts; none under two days', async () => {
    const s = store();
    s.writeKeys({ 'sk-a': Array.from({ length: 6 }, () => makeCookie()), 'sk-b': [makeCookie()] });
    writeHistory(historyPath(s), SYNTHETIC);
    const j = await s.run(['status', '--json'], { env: { COOKIE_POOL_NOW: NOW } });
    expect(j.code).toBe(0);
    const keys = JSON.parse(j.stdout).keys;
    expect(keys.map((k: any) => [k.apiKey, k.runsDryAt])).toEqual([
      ['sk-a', '2026-04-27T12:00:00.000Z'],
      // 1 cookie, minimum 2: below already.
      ['sk-b', NOW],
    ]);
    const human = await s.run(['status'], { env: { COOKIE_POOL_NOW: NOW } });
    expect(human.stdout).toMatch(/API KEY\s+COOKIES\s+EXPIRED\s+EXPIRING <3D\s+MALFORMED\s+RUNS DRY\s+STATE/);
    expect(human.stdout).toMatch(/sk-a\s+6\s+0\s+0\s+0\s+2026-04-27 12:00\s+ok/);
    expect(human.stdout).toMatch(/sk-b\s+1\s+0\s+0\s+0\s+now\s+below 2/);

    // A day and a half of history: no forecast, the JSON as before.
    const young = await s.run(['status', '--json'], { env: { COOKIE_POOL_NOW: '2026-04-02T12:00:00Z' } });
    expect(JSON.parse(young.stdout).keys.every((k: any) => !('runsDryAt' in k))).toBe(true);
    const youngHuman = await s.run(['status'], { env: { COOKIE_POOL_NOW: '2026-04-02T12:00:00Z' } });
    expect(youngHuman.stdout).not.toContain('RUNS DRY');
  });
});

describe('the history file under load', () => {
  it('8 concurrent appending processes: every line whole, none lost, across size rotations', async () => {
    const s = store();
    const file = join(s.dir, 'h', 'history.jsonl');
    const WRITERS = 8;
    const COUNT = 150;
    // ~6 KB lines and 256 KiB files: rotations happen while the others append.
    const args = (w: number) => [join(ROOT, 'test', 'fixtures', 'history-appender.mjs'), file, String(w), String(COUNT), String(256 * 1024), '400', '6000'];
    const codes = await Promise.all(
      Array.from({ length: WRITERS }, (_, w) =>
        new Promise<number | null>((resolve, reject) => {
          const child = spawn(process.execPath, args(w), { stdio: ['ignore', 'ignore', 'inherit'] });
          child.on('error', reject);
          child.on('close', resolve);
        }),
      ),
    );
    expect(codes).toEqual(Array(WRITERS).fill(0));
    const files = readdirSync(join(s.dir, 'h')).filter((f) => f.startsWith('history.jsonl') && !f.endsWith('.lock'));
    expect(files.length).toBeGreaterThan(5);
    const seen = new Map<string, number>();
    let lines = 0;
    for (const f of files) {
      for (const line of readFileSync(join(s.dir, 'h', f), 'utf8').split('\n')) {
        if (line === '') continue;
        lines++;
        const e = JSON.parse(line); // throws on a torn or interleaved line
        const writer = Object.keys(e.keys).find((k) => /^w\d+$/.test(k))!;
        const id = `${writer}:${e.keys[writer].before}`;
        seen.set(id, (seen.get(id) ?? 0) + 1);
      }
    }
    expect(lines).toBe(WRITERS * COUNT);
    expect(seen.size).toBe(WRITERS * COUNT);
  });

  it('the CLI rotates past the size limit (.1, .2, …) and history reads across the files', async () => {
    const s = store();
    const env = { COOKIE_POOL_HISTORY_MAX_BYTES: '150' };
    for (let i = 0; i < 4; i++) {
      const r = await s.run(i === 0 ? ['keys', 'add', 'sk-a', makeCookie()] : ['cookies', 'add', 'sk-a', makeCookie()], { env });
      expect(r.code).toBe(0);
    }
    const dir = join(s.dataDir, '.cookie-pool');
    expect(readdirSync(dir).filter((f) => f.startsWith('history.jsonl')).sort()).toEqual([
      'history.jsonl',
      'history.jsonl.1',
      'history.jsonl.2',
      'history.jsonl.3',
    ]);
    // Oldest in .3, newest in the live file.
    expect(entries(join(dir, 'history.jsonl.3'))[0].keys['sk-a']).toEqual({ before: 0, after: 1 });
    expect(entries(join(dir, 'history.jsonl'))[0].keys['sk-a']).toEqual({ before: 3, after: 4 });
    const h = JSON.parse((await s.run(['history', '--json', '--since', '1d'], { env })).stdout);
    expect(h.keys[0].series.map((p: any) => p.cookies)).toEqual([1, 2, 3, 4]);
  });
});
