/**
 * `refresh` end to end through the built CLI against the loopback fake GitHub (real octokit):
 * the nine steps of SPEC §5 and their safety properties.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildZip, cursorRegisterFiles } from './fake-github.js';
import { makeCookie } from './helpers/cookies.js';
import { expectNoLeaks, FAST, until, useRig } from './helpers/refresh-rig.js';

const setup = useRig();


describe('refresh: the happy path', () => {
  it('dispatches with validated inputs, waits, downloads, merges; JSON merge result with runId/artifactId', async () => {
    const r = await setup(
      { artifactDelayListings: 1, runTimeline: { queuedMs: 100, inProgressMs: 1200 } },
      { REGISTER_NUMBER: '3', REGISTER_EMAIL_SERVER: 'tempemail', REGISTER_UPLOAD_ARTIFACT: 'yes', MIN_COOKIE_COUNT: '2' },
    );
    const keep = makeCookie();
    const full = [makeCookie(), makeCookie()];
    r.store.writeKeys({ 'sk-a': [keep], 'sk-b': full });
    const res = await r.run(['refresh', '--json', '-v', ...FAST]);
    expect(res.stderr).not.toMatch(/error/i);
    expect(res.code).toBe(0);

    const run = r.gh.lastRun!;
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({
      ok: true,
      runId: run.id,
      artifactId: run.artifacts[0]!.id,
      harvested: 3,
      added: 3,
      rejected: { malformed: 0, expired: 0, duplicate: 0, 'known-invalid': 0 },
      keys: [{ apiKey: 'sk-a', before: 1, added: 3, retired: 0, after: 4 }],
    });
    // The store: the target got the run's cookies, the full key is untouched.
    expect(r.store.keys()).toEqual({ 'sk-a': [keep, ...run.cookies], 'sk-b': full });

    // Step 2: inputs as strings, normalised (choice spelling, boolean), on the default branch.
    expect(r.gh.dispatches).toHaveLength(1);
    expect(r.gh.dispatches[0]).toMatchObject({ ref: 'main', returnRunDetails: true });
    expect(r.gh.dispatches[0]!.inputs).toEqual({ number: '3', email_server: 'TempEmail', upload_artifact: 'true' });
    // The workflow file was read through the contents API before dispatching.
    const contents = r.gh.requestsTo(/\/contents\/\.github\/workflows\/cursor_register\.yml$/);
    expect(contents.length).toBe(1);
    expect(contents[0]!.at).toBeLessThan(r.gh.requestsTo(/\/dispatches$/, 'POST')[0]!.at);

    // Step 4: polling used conditional requests, and some were answered 304.
    const polls = r.gh.requestsTo(new RegExp(`/actions/runs/${run.id}$`), 'GET');
    expect(polls.some((p) => p.headers['if-none-match'] !== undefined && p.status === 304)).toBe(true);

    // Step 6: the storage host got the download, without the token.
    const storage = r.gh.requests.filter((q) => q.host === 'storage');
    expect(storage.length).toBe(1);
    expect(storage[0]!.status).toBe(200);
    expect(storage.every((q) => q.headers.authorization === undefined)).toBe(true);
    // Every API request carried the token and the user agent.
    expect(r.gh.requests.filter((q) => q.host === 'api').every((q) => q.headers['user-agent']?.startsWith('cookie-pool/'))).toBe(true);

    // The refresh lock is gone.
    expect(existsSync(join(r.store.dataDir, '.refresh.lock'))).toBe(false);
    expectNoLeaks(r);
  });

  it('human output: merge table and run URL on stdout, progress on stderr', async () => {
    const r = await setup({ runTimeline: { queuedMs: 100, inProgressMs: 500 } });
    r.store.writeKeys({ 'sk-a': [] });
    const res = await r.run(['refresh', ...FAST]);
    expect(res.code).toBe(0);
    const run = r.gh.lastRun!;
    expect(res.stdout).toMatch(/Harvested 2 cookie\(s\); added 2/);
    expect(res.stdout).toMatch(/sk-a\s+0\s+2\s+0\s+2/);
    expect(res.stdout).toContain(run.html_url);
    // One line per change (stderr is not a TTY): status, then job and step.
    expect(res.stderr).toContain(`run ${run.id}: in progress · job "build" · step`);
    expect(res.stderr).toMatch(/completed: success/);
    expect(res.stderr).not.toContain('\r');
    expectNoLeaks(r);
  });

  it('finds the new run when the server answers 204 (no run details), ignoring runs that existed before', async () => {
    const r = await setup({ returnRunDetails: false, runListDelayMs: 300 });
    const older = r.gh.addCompletedRun({ createdAt: Date.now() - 2000 }); // a recent run of someone else
    r.store.writeKeys({ 'sk-a': [makeCookie()] });
    const res = await r.run(['refresh', '--json', ...FAST]);
    expect(res.code).toBe(0);
    const dispatched = r.gh.dispatches[0]!.runId;
    expect(dispatched).not.toBe(older.id);
    expect(JSON.parse(res.stdout).runId).toBe(dispatched);
    expect(r.store.keys()['sk-a']).toEqual(expect.arrayContaining(r.gh.run(dispatched)!.cookies));
    expect(r.store.keys()['sk-a']).not.toEqual(expect.arrayContaining(older.cookies));
  });

  it('retries the dispatch without return_run_details on a server that rejects the parameter', async () => {
    const r = await setup({ returnRunDetails: 'reject' });
    r.store.writeKeys({ 'sk-a': [] });
    const res = await r.run(['refresh', '--json', ...FAST]);
    expect(res.code).toBe(0);
    const posts = r.gh.requestsTo(/\/dispatches$/, 'POST');
    expect(posts.map((p) => p.status)).toEqual([422, 204]);
    expect(JSON.parse(res.stdout).runId).toBe(r.gh.dispatches[0]!.runId);
  });

  it('two keys below the minimum share one run round-robin, fewest first; --share gives every key every cookie', async () => {
    const r = await setup({}, { REGISTER_NUMBER: '4' });
    const b0 = makeCookie();
    r.store.writeKeys({ 'sk-a': [], 'sk-b': [b0], 'sk-full': [makeCookie(), makeCookie()] });
    const res = await r.run(['refresh', '--json', ...FAST]);
    expect(res.code).toBe(0);
    const cookies = r.gh.lastRun!.cookies;
    expect(cookies).toHaveLength(4);
    const keys = r.store.keys();
    // a:0 b:1 → a, then tie → a (order given), then b, then a.
    expect(keys['sk-a']).toEqual([cookies[0], cookies[1], cookies[3]]);
    expect(keys['sk-b']).toEqual([b0, cookies[2]]);
    expect(keys['sk-full']).toHaveLength(2);
    expect(JSON.parse(res.stdout).keys).toEqual([
      { apiKey: 'sk-a', before: 0, added: 3, retired: 0, after: 3 },
      { apiKey: 'sk-b', before: 1, added: 1, retired: 0, after: 2 },
    ]);

    // --share --force over the two keys: each gets all of the next run's cookies.
    const res2 = await r.run(['refresh', '--json', '--share', '--force', '--key', 'sk-a', '--key', 'sk-b', ...FAST]);
    expect(res2.code).toBe(0);
    const next = r.gh.lastRun!.cookies;
    const after = r.store.keys();
    expect(after['sk-a']!.slice(3)).toEqual(next);
    expect(after['sk-b']!.slice(2)).toEqual(next);
    expect(JSON.parse(res2.stdout).added).toBe(4);
    expectNoLeaks(r);
  });

  it('replace with only duplicates keeps the key (a refresh never empties a key)', async () => {
    const dup = makeCookie();
    const r = await setup({ artifactsForRun: () => [{ name: 'Account Info', files: cursorRegisterFiles([dup]) }] });
    r.store.writeKeys({ 'sk-a': [dup] });
    const res = await r.run(['refresh', '--json', '--mode', 'replace', ...FAST]);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ harvested: 1, added: 0, rejected: { duplicate: 1 } });
    expect(out.keys).toEqual([{ apiKey: 'sk-a', before: 1, added: 0, retired: 0, after: 1 }]);
    expect(r.store.keys()).toEqual({ 'sk-a': [dup] });
    expect(r.store.invalid()).toEqual([]);
    expect(res.stderr).toMatch(/no new cookie was accepted/);
    expectNoLeaks(r, [dup]);
  });

  it('replace retires the old cookies of a key that received new ones; refusals are counted by reason', async () => {
    const old = makeCookie();
    const bad = makeCookie();
    const fresh = makeCookie();
    const expired = makeCookie('encoded', { exp: Math.floor(Date.now() / 1000) - 60 });
    const r = await setup({
      artifactsForRun: () => [{ name: 'account info', files: { 'token_x.csv': `${fresh}\r\n${bad}\r\n${expired}\r\n${old}\r\n` } }],
    });
    r.store.writeKeys({ 'sk-a': [old] });
    r.store.writeInvalid([bad]);
    const res = await r.run(['refresh', '--json', '--mode', 'replace', ...FAST]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({
      harvested: 4,
      added: 1,
      rejected: { malformed: 0, expired: 1, duplicate: 1, 'known-invalid': 1 },
      keys: [{ apiKey: 'sk-a', before: 1, added: 1, retired: 1, after: 1 }],
    });
    expect(r.store.keys()).toEqual({ 'sk-a': [fresh] });
    expect(r.store.invalid()).toEqual([bad, old]);
    expectNoLeaks(r, [old, bad, fresh, expired]);
  });
});

describe('refresh: targets, --dry-run, --no-trigger, --run-id', () => {
  it('nothing below the minimum: skipped JSON, exit 0, no GitHub request (and no GitHub config needed)', async () => {
    const r = await setup();
    r.store.writeKeys({ 'sk-a': [makeCookie(), makeCookie()] });
    const res = await r.run(['refresh', '--json'], { env: { GITHUB_TOKEN: undefined } });
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toEqual({ ok: true, skipped: true, reason: expect.stringContaining('at least 2') });
    expect(r.gh.requests).toHaveLength(0);
    const human = await r.run(['refresh', '--min-count', '1']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Nothing to refresh/);
  });

  it('--dry-run reports targets, ref, workflow and validated inputs; dispatches and writes nothing', async () => {
    const r = await setup({}, { REGISTER_INGEST_TO_ONEAPI: '0', WORKFLOW_INPUTS: '{"max_workers": 2, "bogus": "x"}' });
    r.store.writeKeys({ 'sk-a': [makeCookie()], 'sk-b': [makeCookie(), makeCookie()] });
    const before = readFileSync(r.store.keysFile, 'utf8');
    const res = await r.run(['refresh', '--dry-run', '--json', '--input', 'number=5']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      ok: true,
      dryRun: true,
      targets: [{ apiKey: 'sk-a', cookies: 1 }],
      mode: 'append',
      share: false,
      workflow: { path: '.github/workflows/cursor_register.yml', name: 'Cursor Register', state: 'active' },
      ref: 'main',
      inputs: { ingest_to_oneapi: 'false', max_workers: '2', number: '5' },
      dropped: ['bogus (from WORKFLOW_INPUTS)'],
      run: 'dispatch',
    });
    expect(res.stderr).toMatch(/not sending input\(s\) the workflow does not declare: bogus/);
    expect(r.gh.requestsTo(/dispatches/, 'POST')).toHaveLength(0);
    expect(readFileSync(r.store.keysFile, 'utf8')).toBe(before);
    expect(existsSync(join(r.store.dataDir, '.backups'))).toBe(false);

    const human = await r.run(['refresh', '--dry-run', '--force', '--key', 'sk-b'], { env: { GITHUB_REF: 'dev' } });
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/Targets \(append\): sk-b \(2 cookie\(s\)\)/);
    expect(human.stdout).toMatch(/on dev/);
    expect(r.gh.dispatches).toHaveLength(0);
  });

  it('--no-trigger (and TRIGGER_WORKFLOW=false) harvests the latest successful run without dispatching', async () => {
    const r = await setup();
    const good = r.gh.addCompletedRun({ createdAt: Date.now() - 600_000 });
    r.gh.addCompletedRun({ createdAt: Date.now() - 60_000, conclusion: 'failure' });
    r.store.writeKeys({ 'sk-a': [] });
    const res = await r.run(['refresh', '--no-trigger', '--json', ...FAST]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ runId: good.id, artifactId: good.artifacts[0]!.id, added: 2 });
    expect(r.store.keys()['sk-a']).toEqual(good.cookies);
    expect(r.gh.dispatches).toHaveLength(0);

    // Same run again through TRIGGER_WORKFLOW=false: its cookies are now duplicates.
    const again = await r.run(['refresh', '--json', '--force', ...FAST], { env: { TRIGGER_WORKFLOW: 'false' } });
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ runId: good.id, added: 0, rejected: { duplicate: 2 } });
    expect(r.gh.dispatches).toHaveLength(0);
  });

  it('--run-id harvests that run; a failed one exits 1 with its conclusion and URL', async () => {
    const r = await setup();
    const run = r.gh.addCompletedRun();
    const failed = r.gh.addCompletedRun({ conclusion: 'cancelled' });
    r.store.writeKeys({ 'sk-a': [] });
    const res = await r.run(['refresh', '--run-id', String(run.id), '--json', ...FAST]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ runId: run.id, added: 2 });
    expect(r.gh.dispatches).toHaveLength(0);

    const bad = await r.run(['refresh', '--force', '--run-id', String(failed.id), ...FAST]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('cancelled');
    expect(bad.stderr).toContain(failed.html_url);
  });

  it('--run-id of a run still in progress waits for it', async () => {
    const r = await setup();
    r.store.writeKeys({ 'sk-a': [] });
    const run = r.gh.addRun({ runTimeline: { queuedMs: 50, inProgressMs: 2500 } });
    const res = await r.run(['refresh', '--run-id', String(run.id), '--json', ...FAST]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ runId: run.id, added: 2 });
    expect(res.stderr).toContain(`run ${run.id}: in progress`);
    expect(res.stderr).toMatch(/completed: success/);
  });

  it('--key targets only that key (created when absent), --force refreshes a full key', async () => {
    const r = await setup();
    r.store.writeKeys({ 'sk-low': [], 'sk-full': [makeCookie(), makeCookie()] });
    const res = await r.run(['refresh', '--key', 'sk-new', '--json', ...FAST]);
    expect(res.code).toBe(0);
    const keys = r.store.keys();
    expect(keys['sk-new']).toHaveLength(2);
    expect(keys['sk-low']).toEqual([]);
    const full = await r.run(['refresh', '--key', 'sk-full', '--json']);
    expect(JSON.parse(full.stdout)).toMatchObject({ skipped: true });
    const forced = await r.run(['refresh', '--key', 'sk-full', '--force', '--json', ...FAST]);
    expect(JSON.parse(forced.stdout).keys).toEqual([{ apiKey: 'sk-full', before: 2, added: 2, retired: 0, after: 4 }]);
  });
});

describe('refresh: concurrency and signals', () => {
  it('a second refresh while one runs exits 75 at once; the first completes', async () => {
    const r = await setup({ runTimeline: { queuedMs: 100, inProgressMs: 2500 } });
    r.store.writeKeys({ 'sk-a': [] });
    const first = r.spawn(['refresh', '--json', ...FAST]);
    await until(() => r.gh.dispatches.length === 1, 20_000, 'the first dispatch');
    const second = await r.run(['refresh', '--json', ...FAST]);
    expect(second.code).toBe(75);
    expect(second.stderr).toMatch(/another refresh is running/);
    expect(JSON.parse(second.stdout)).toMatchObject({ ok: false, exitCode: 75 });
    expect(r.gh.dispatches).toHaveLength(1);
    const done = await first.done;
    expect(done.code).toBe(0);
    expect(r.store.keys()['sk-a']).toHaveLength(2);
    expect(existsSync(join(r.store.dataDir, '.refresh.lock'))).toBe(false);
  });

  it('SIGINT while waiting: exit 130, the refresh lock is released, the store untouched', async () => {
    const r = await setup({ runTimeline: { queuedMs: 50, inProgressMs: 60_000 } });
    r.store.writeKeys({ 'sk-a': [] });
    const before = readFileSync(r.store.keysFile, 'utf8');
    const p = r.spawn(['refresh', ...FAST]);
    await until(() => r.gh.dispatches.length === 1 && existsSync(join(r.store.dataDir, '.refresh.lock')), 20_000, 'the dispatch');
    await until(() => p.stderr().includes('in progress'), 20_000, 'progress');
    p.child.kill('SIGINT');
    const res = await p.done;
    expect(res.code).toBe(130);
    expect(res.stderr).toMatch(/interrupted by SIGINT/);
    expect(existsSync(join(r.store.dataDir, '.refresh.lock'))).toBe(false);
    expect(readFileSync(r.store.keysFile, 'utf8')).toBe(before);
    // And the next refresh can take the lock.
    const next = await r.run(['refresh', '--dry-run', '--json']);
    expect(next.code).toBe(0);
  });
});

describe('refresh: transient failures', () => {
  it('survives 502s, a dropped connection, a secondary rate limit (Retry-After) and a storage 503', async () => {
    const r = await setup({ runTimeline: { queuedMs: 50, inProgressMs: 1500 } });
    r.store.writeKeys({ 'sk-a': [] });
    r.gh.failNext({ path: /\/contents\//, status: 502, times: 2 });
    r.gh.failNext({ path: /\/actions\/runs\/\d+$/, status: 503, times: 1 });
    r.gh.failNext({ path: /\/artifacts$/, reset: true, times: 1 });
    r.gh.rateLimitNext({ path: /\/actions\/runs\/\d+\/jobs$/, status: 403, retryAfter: 1, times: 1 });
    r.gh.failNext({ path: /^\/blob\//, host: 'storage', status: 503, times: 1 });
    const res = await r.run(['refresh', '--json', ...FAST]);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ added: 2 });
    expect(r.gh.requestsTo(/\/contents\//).map((q) => q.status)).toEqual([502, 502, 200]);
    expect(r.gh.requestsTo(/\/jobs$/).some((q) => q.status === 403)).toBe(true);
    expect(res.stderr).toMatch(/secondary rate limit; waiting 1 s/);
    expect(r.gh.requests.filter((q) => q.host === 'storage').map((q) => q.status)).toEqual([503, 200]);
    expect(r.gh.requests.filter((q) => q.host === 'storage').every((q) => q.headers.authorization === undefined)).toBe(true);
    expectNoLeaks(r);
  });

  it('a primary rate limit is waited out until its reset', async () => {
    const r = await setup();
    r.store.writeKeys({ 'sk-a': [] });
    r.gh.rateLimitNext({ path: /\/actions\/workflows\/[^/]+$/, status: 403, primary: true, retryAfter: 1, times: 1 });
    const res = await r.run(['refresh', '--json', ...FAST]);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/rate limit reached; waiting \d+ s/);
  });
});

describe('refresh: zip from a hand-made artifact', () => {
  it('reads forks\' formats: header, quotes, BOM, bare JWT, nested folder', async () => {
    const a = makeCookie('decoded');
    const b = makeCookie('jwt');
    const c = makeCookie('encoded');
    const zip = buildZip({
      'accounts/output.csv': `\uFEFFemail,token\r\n"x@y.z","${a}"\r\n`,
      'tokens.txt': `${b}\n${c}\n`,
      'README.md': `not scanned ${makeCookie()}`,
    });
    const r = await setup({ artifactsForRun: () => [{ name: 'Account Info', zip }] });
    r.store.writeKeys({ 'sk-a': [] });
    const res = await r.run(['refresh', '--json', ...FAST]);
    expect(res.code).toBe(0);
    expect(r.store.keys()['sk-a']).toEqual([a, b, c]);
  });
});
