/** `workflow trigger|watch|download|runs` through the built CLI against the fake GitHub. */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildZipSlip, cursorRegisterFiles } from './fake-github.js';
import { leakedSecrets } from './helpers/cli.js';
import { makeCookie } from './helpers/cookies.js';
import { runPty } from './helpers/pty.js';
import { useRig } from './helpers/refresh-rig.js';

const setup = useRig();

describe('workflow trigger', () => {
  it('dispatches with validated inputs and prints the run id and URL', async () => {
    const r = await setup({}, { REGISTER_NUMBER: '1', WORKFLOW_INPUTS: '{"nope": "x"}' });
    const res = await r.run(['workflow', 'trigger', '--input', 'email_server=imap', '--ref', 'dev']);
    expect(res.code).toBe(0);
    const run = r.gh.lastRun!;
    expect(res.stdout).toContain(`run ${run.id}`);
    expect(res.stdout).toContain(run.html_url);
    expect(res.stderr).toMatch(/does not declare: nope \(from WORKFLOW_INPUTS\)/);
    expect(r.gh.dispatches[0]).toMatchObject({ ref: 'dev', inputs: { number: '1', email_server: 'IMAP' } });

    const json = await r.run(['workflow', 'trigger', '--json']);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      ok: true,
      runId: r.gh.lastRun!.id,
      url: r.gh.lastRun!.html_url,
      ref: 'main',
      workflow: '.github/workflows/cursor_register.yml',
      inputs: { number: '1' },
    });
  });

  it('refuses a bad value with exit 2 before dispatching; finds the run on a 204 server', async () => {
    const r = await setup({ returnRunDetails: false });
    const bad = await r.run(['workflow', 'trigger', '--input', 'ingest_to_oneapi=perhaps']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/must be a boolean/);
    expect(r.gh.dispatches).toHaveLength(0);
    const ok = await r.run(['workflow', 'trigger', '--json', '--poll-interval', '0.1']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).runId).toBe(r.gh.dispatches[0]!.runId);
  });
});

describe('workflow watch', () => {
  it('follows a run to success, one progress line per change', async () => {
    const r = await setup();
    const run = r.gh.addRun({ runTimeline: { queuedMs: 300, inProgressMs: 1500 } });
    const res = await r.run(['workflow', 'watch', String(run.id), '--poll-interval', '0.05', '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ ok: true, runId: run.id, status: 'completed', conclusion: 'success', url: run.html_url });
    const lines = res.stderr.split('\n').filter((l) => l.startsWith(`run ${run.id}:`));
    expect(lines.length).toBeGreaterThan(2);
    expect(new Set(lines).size).toBe(lines.length); // no repeated line
    expect(res.stderr).toMatch(/step \d+\/\d+ "/);
    // Conditional polling: unchanged states were answered 304.
    expect(r.gh.requestsTo(new RegExp(`/actions/runs/${run.id}`)).some((q) => q.status === 304)).toBe(true);
  });

  it('on a terminal: one live progress line redrawn in place; Ctrl-C stops it with exit 130', async () => {
    const r = await setup();
    const run = r.gh.addRun({ runTimeline: { queuedMs: 100, inProgressMs: 3000 } });
    const res = await runPty(['workflow', 'watch', String(run.id), '--poll-interval', '0.05'], [{ expect: 'completed: success' }], { env: r.env, cwd: r.store.dir });
    expect(res.exitCode).toBe(0);
    // Redrawn with a carriage return and erase-to-end-of-line, not one line per change.
    expect(res.raw).toMatch(new RegExp(`\\rrun ${run.id}: in progress · job "build" · step \\d+/\\d+ "[^"]+" \\(\\d+s\\)\\x1b\\[K`));
    expect(res.raw.split(`\nrun ${run.id}: in progress`).length).toBe(1);
    expect(res.raw).not.toContain(r.gh.token);

    const long = r.gh.addRun({ runTimeline: { queuedMs: 50, inProgressMs: 120_000 } });
    const stop = await runPty(['workflow', 'watch', String(long.id), '--poll-interval', '0.05'], [{ expect: 'in progress' }, { send: '\u0003' }], { env: r.env, cwd: r.store.dir });
    expect(stop.exitCode).toBe(130);
    expect(stop.transcript).toMatch(/interrupted by SIGINT/);
  });

  it('exits 1 with the conclusion and URL when the run fails; at once for a completed failed run', async () => {
    const r = await setup();
    const run = r.gh.addRun({ runTimeline: { queuedMs: 50, inProgressMs: 400 }, conclusion: 'failure' });
    const res = await r.run(['workflow', 'watch', String(run.id), '--poll-interval', '0.05']);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`run ${run.id} ended with conclusion "failure": ${run.html_url}`);
    const again = await r.run(['workflow', 'watch', String(run.id)]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(run.html_url);
  });

  it('--timeout, and a run that does not exist', async () => {
    const r = await setup();
    const run = r.gh.addRun({ runTimeline: { queuedMs: 50, inProgressMs: 120_000 } });
    const res = await r.run(['workflow', 'watch', String(run.id), '--poll-interval', '0.05', '--timeout', '0.01']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/did not complete within 0\.01 min/);
    const missing = await r.run(['workflow', 'watch', '12345']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/run 12345 in acme\/Cursor-Register was not found \(404\)/);
  });
});

describe('workflow download', () => {
  it('prints what the artifact holds, masked', async () => {
    const r = await setup();
    const run = r.gh.addCompletedRun();
    const res = await r.run(['workflow', 'download', String(run.id)]);
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/artifact "Account Info" of run \d+: 2 cookie\(s\) in 2 CSV\/TXT file\(s\)/);
    expect(res.stdout).toMatch(/token_.*\.csv/);
    expect(leakedSecrets(res.stdout + res.stderr, run.cookies)).toEqual([]);
    expect(res.stdout).toContain(`${run.cookies[0]!.slice(0, 8)}…`);
    const json = await r.run(['workflow', 'download', String(run.id), '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, runId: run.id, artifactId: run.artifacts[0]!.id, artifactName: 'Account Info', cookies: 2 });
    expect(r.gh.requests.filter((q) => q.host === 'storage').every((q) => q.headers.authorization === undefined && q.status === 200)).toBe(true);
    expect(r.output.join('\n')).not.toContain(r.gh.token);
  });

  it('--out writes the files (new, private), refuses to overwrite', async () => {
    const cookies = [makeCookie(), makeCookie()];
    const files = cursorRegisterFiles(cookies);
    const r = await setup();
    const run = r.gh.addCompletedRun({ artifacts: [{ name: 'Account Info', files: { ...files, 'nested/notes.txt': 'hello' } }] });
    const out = join(r.store.dir, 'out');
    const res = await r.run(['workflow', 'download', String(run.id), '--out', out, '--json']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).written).toHaveLength(3);
    for (const [name, text] of Object.entries(files)) expect(readFileSync(join(out, name), 'utf8')).toBe(text);
    expect(readFileSync(join(out, 'nested', 'notes.txt'), 'utf8')).toBe('hello');
    expect(leakedSecrets(res.stdout + res.stderr, cookies)).toEqual([]);

    const again = await r.run(['workflow', 'download', String(run.id), '--out', out]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists: choose an empty --out folder/);
  });

  it('--out refuses a zip-slip archive and writes nothing', async () => {
    const r = await setup();
    const run = r.gh.addCompletedRun({ artifacts: [{ name: 'Account Info', zip: buildZipSlip('../escaped.csv') }] });
    const out = join(r.store.dir, 'deep', 'out');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(r.store.dir, 'deep', 'marker'), '');
    const res = await r.run(['workflow', 'download', String(run.id), '--out', out]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/escapes the target folder/);
    expect(readdirSync(out)).toEqual([]);
    expect(existsSync(join(r.store.dir, 'deep', 'escaped.csv'))).toBe(false);
  });

  it('an expired artifact exits 1', async () => {
    const r = await setup();
    const run = r.gh.addCompletedRun({ artifacts: [{ name: 'Account Info', files: { 'a.csv': 'x' }, expired: true }] });
    const res = await r.run(['workflow', 'download', String(run.id)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/has expired/);
  });
});

describe('workflow runs', () => {
  it('lists recent runs, newest first (table and JSON)', async () => {
    const r = await setup();
    const a = r.gh.addCompletedRun({ createdAt: Date.now() - 3_600_000 });
    const b = r.gh.addCompletedRun({ createdAt: Date.now() - 600_000, conclusion: 'failure' });
    const c = r.gh.addRun({ runTimeline: { queuedMs: 0, inProgressMs: 600_000 } });
    const res = await r.run(['workflow', 'runs']);
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/RUN ID\s+#\s+STATE\s+EVENT\s+BRANCH\s+CREATED\s+URL/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0])).toEqual([String(c.id), String(b.id), String(a.id)]);
    expect(lines[1]).toMatch(/in progress/);
    expect(lines[2]).toMatch(/failure/);
    const json = await r.run(['workflow', 'runs', '--json', '--limit', '2']);
    const out = JSON.parse(json.stdout);
    expect(out.runs.map((x: { id: number }) => x.id)).toEqual([c.id, b.id]);
    expect(out.runs[1]).toMatchObject({ status: 'completed', conclusion: 'failure', event: 'workflow_dispatch', branch: 'main', url: b.html_url });
    const ok = await r.run(['workflow', 'runs', '--json', '--status', 'success']);
    expect(JSON.parse(ok.stdout).runs.map((x: { id: number }) => x.id)).toEqual([a.id]);
  });
});
