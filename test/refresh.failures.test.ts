/**
 * `refresh` failure modes through the built CLI against the fake GitHub: failed and timed-out
 * runs, late/missing/expired/oversized artifacts, malicious archives, input validation before
 * any dispatch, configuration and token errors. The store is never touched when a refresh fails.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  buildAbsolutePathZip,
  buildManyEntriesZip,
  buildSymlinkZip,
  buildZip,
  buildZipBomb,
  buildZipSlip,
  cursorRegisterFiles,
  upstreamWorkflowYaml,
} from './fake-github.js';
import { makeCookie } from './helpers/cookies.js';
import { expectNoLeaks, FAST, type Rig, useRig } from './helpers/refresh-rig.js';

const setup = useRig((r) => r.store.writeKeys({ 'sk-a': [makeCookie()] }));

/** The store as bytes, to prove a failed refresh left it alone. */
function storeBytes(r: Rig): string {
  const read = (f: string) => (existsSync(f) ? readFileSync(f, 'utf8') : '<absent>');
  return `${read(r.store.keysFile)}\n--\n${read(r.store.invalidFile)}\n--\n${existsSync(join(r.store.dataDir, '.backups'))}`;
}


describe('refresh: runs that do not deliver', () => {
  it('a failed run exits 1 with its conclusion and URL; store untouched, lock released', async () => {
    const r = await setup({ conclusion: 'failure' });
    const before = storeBytes(r);
    const res = await r.run(['refresh', '--json', ...FAST]);
    expect(res.code).toBe(1);
    const url = r.gh.lastRun!.html_url;
    expect(res.stderr).toContain('"failure"');
    expect(res.stderr).toContain(url);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: false, exitCode: 1, error: expect.stringContaining(url) });
    expect(storeBytes(r)).toBe(before);
    expect(existsSync(join(r.store.dataDir, '.refresh.lock'))).toBe(false);
    expect(r.gh.requestsTo(/\/artifacts/)).toHaveLength(0);
  });

  it('--timeout: a run that does not complete in time exits 1 with the URL and how to harvest it later', async () => {
    const r = await setup({ runTimeline: { queuedMs: 50, inProgressMs: 120_000 } });
    const before = storeBytes(r);
    const res = await r.run(['refresh', '--timeout', '0.02', ...FAST]);
    expect(res.code).toBe(1);
    const run = r.gh.lastRun!;
    expect(res.stderr).toMatch(/did not complete within 0\.02 min \(still (queued|in progress)\)/);
    expect(res.stderr).toContain(run.html_url);
    expect(res.stderr).toContain(`--run-id ${run.id}`);
    expect(storeBytes(r)).toBe(before);
    expect(existsSync(join(r.store.dataDir, '.refresh.lock'))).toBe(false);
  });

  it('a late artifact (empty listings after completion) is waited for', async () => {
    const r = await setup({ artifactDelayListings: 3 });
    const res = await r.run(['refresh', '--json', ...FAST]);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/waiting for the artifact of run \d+ to appear/);
    expect(r.gh.requestsTo(/\/artifacts$/).length).toBe(4);
    expect(JSON.parse(res.stdout).added).toBe(2);
  });

  it('no artifact within --artifact-wait: exit 1 with a hint about upload_artifact', async () => {
    const r = await setup({ artifactsForRun: () => [] });
    const before = storeBytes(r);
    const res = await r.run(['refresh', '--poll-interval', '0.05', '--artifact-wait', '0.3']);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/has no artifacts \(waited 0\.3 s\)/);
    expect(res.stderr).toMatch(/upload_artifact/);
    expect(storeBytes(r)).toBe(before);
  });

  it('ARTIFACT_NAME picks by name, case-insensitively; a missing name lists what exists', async () => {
    const cookies = [makeCookie(), makeCookie()];
    const r = await setup({
      artifactsForRun: () => [
        { name: 'logs', files: { 'log.txt': 'nothing' } },
        { name: 'Tokens', files: cursorRegisterFiles(cookies) },
      ],
    });
    const ok = await r.run(['refresh', '--json', ...FAST], { env: { ARTIFACT_NAME: 'tokens' } });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).added).toBe(2);
    const miss = await r.run(['refresh', '--force', ...FAST.slice(0, 2), '--artifact-wait', '0.2']);
    expect(miss.code).toBe(1);
    expect(miss.stderr).toMatch(/no artifact named "Account Info" \(it has "logs", "Tokens"\)/);
    expect(miss.stderr).toMatch(/ARTIFACT_NAME/);
  });

  it('the only artifact is used even when its name differs from ARTIFACT_NAME', async () => {
    const r = await setup({ artifactsForRun: () => [{ name: 'accounts-csv', files: cursorRegisterFiles([makeCookie()]) }] });
    const res = await r.run(['refresh', '--json', ...FAST], { env: { ARTIFACT_NAME: 'Account Info' } });
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/has one artifact, "accounts-csv" \(not "Account Info"\): using it/);
    expect(JSON.parse(res.stdout).added).toBe(1);
  });

  it('an expired artifact is refused without downloading', async () => {
    const r = await setup({ artifactsForRun: () => [{ name: 'Account Info', files: cursorRegisterFiles([makeCookie()]), expired: true }] });
    const before = storeBytes(r);
    const res = await r.run(['refresh', ...FAST]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/artifact "Account Info" \(id \d+\) of run \d+ has expired/);
    expect(r.gh.requests.filter((q) => q.host === 'storage')).toHaveLength(0);
    expect(r.gh.requestsTo(/\/zip$/)).toHaveLength(0);
    expect(storeBytes(r)).toBe(before);
  });

  it('an artifact over 50 MiB is refused without downloading', async () => {
    const r = await setup({ artifactsForRun: () => [{ name: 'Account Info', files: { 'a.csv': makeCookie() }, sizeInBytes: 51 * 1024 * 1024 }] });
    const res = await r.run(['refresh', ...FAST]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/51\.0 MiB, over the 50 MiB limit/);
    expect(r.gh.requestsTo(/\/zip$/)).toHaveLength(0);
  });

  it('an artifact without cookies: nothing harvested, exit 1', async () => {
    const r = await setup({ artifactsForRun: () => [{ name: 'Account Info', files: { 'token_x.csv': 'no tokens today\r\n' } }] });
    const before = storeBytes(r);
    const res = await r.run(['refresh', ...FAST]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/holds no cookies \(1 CSV\/TXT file\(s\) scanned\)/);
    expect(storeBytes(r)).toBe(before);
  });
});

describe('refresh: malicious archives are refused, the store untouched', () => {
  const cases: [string, () => Buffer, RegExp][] = [
    ['zip-slip (..)', () => buildZipSlip('../../evil.csv', `${makeCookie()}\r\n`), /entry "\.\.\/\.\.\/evil\.csv" escapes the target folder/],
    ['absolute path', () => buildAbsolutePathZip('/tmp/evil.csv', `${makeCookie()}\r\n`), /entry "\/tmp\/evil\.csv" escapes/],
    ['symlink', () => buildSymlinkZip('token_link.csv', '/etc/passwd'), /entry "token_link\.csv" is a symbolic link/],
    ['more than 1,000 entries', () => buildManyEntriesZip(1001), /1001 entries \(limit 1000\)/],
    ['zip bomb (honest headers)', () => buildZipBomb(210 * 1024 * 1024), /more than \d+ bytes unpacked/],
    // Scanned as it unpacks, its first megabyte (no line break) already breaks the CSV record limit.
    ['zip bomb (lying headers)', () => buildZipBomb(210 * 1024 * 1024, { declaredSize: 1024 }), /more than the unpacked size limit|bomb\.csv refused: line 1 is longer than/],
  ];
  for (const [name, zip, message] of cases) {
    it(name, async () => {
      const bytes = zip();
      const r = await setup({ artifactsForRun: () => [{ name: 'Account Info', zip: bytes }] });
      const before = storeBytes(r);
      const res = await r.run(['refresh', '--json', ...FAST]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(message);
      expect(JSON.parse(res.stdout)).toMatchObject({ ok: false, exitCode: 1 });
      expect(storeBytes(r)).toBe(before);
      expect(existsSync(join(r.store.dir, 'evil.csv'))).toBe(false);
      expect(existsSync(join(r.store.dataDir, '.refresh.lock'))).toBe(false);
    });
  }
});

describe('refresh: workflow inputs are checked before dispatching', () => {
  it('undeclared inputs are dropped with a warning naming them; GitHub never sees them', async () => {
    const r = await setup({}, { REGISTER_USE_CONFIG_FILE: 'true', WORKFLOW_INPUTS: '{"foo": 1, "number": 4}' });
    const res = await r.run(['refresh', '--input', 'bar=baz', '--input', 'email_server=IMAP', '--json', ...FAST]);
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/not sending input\(s\) the workflow does not declare: use_config_file \(from REGISTER_USE_CONFIG_FILE\), foo \(from WORKFLOW_INPUTS\), bar \(from --input\)/);
    expect(r.gh.dispatches).toHaveLength(1);
    expect(r.gh.dispatches[0]!.inputs).toEqual({ number: '4', email_server: 'IMAP' });
    const sent = r.gh.requestsTo(/\/dispatches$/, 'POST')[0]!;
    expect(JSON.stringify(sent.body)).not.toMatch(/use_config_file|foo|bar/);
    expectNoLeaks(r);
  });

  it('a bad choice exits 2 listing the allowed values, before any dispatch', async () => {
    const r = await setup();
    const before = storeBytes(r);
    const res = await r.run(['refresh', '--input', 'email_server=Gmail', ...FAST]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/input "email_server" \(from --input\) must be one of "TempEmail", "IMAP"; got "Gmail"/);
    expect(r.gh.requestsTo(/\/dispatches$/)).toHaveLength(0);
    expect(r.gh.dispatches).toHaveLength(0);
    expect(storeBytes(r)).toBe(before);
    expect(existsSync(join(r.store.dataDir, '.refresh.lock'))).toBe(false);
  });

  it('bad numbers and booleans from REGISTER_* exit 2 naming the variable; all problems listed at once', async () => {
    const r = await setup({}, { REGISTER_NUMBER: 'many', REGISTER_UPLOAD_ARTIFACT: 'maybe' });
    const res = await r.run(['refresh', ...FAST]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/input "number" \(from REGISTER_NUMBER\) must be a number, got "many"/);
    expect(res.stderr).toMatch(/input "upload_artifact" \(from REGISTER_UPLOAD_ARTIFACT\) must be a boolean: true or false, got "maybe"/);
    expect(r.gh.dispatches).toHaveLength(0);
  });

  it('a required input without a value or default exits 2; given one, the dispatch goes out', async () => {
    const yaml = upstreamWorkflowYaml().replace(
      '      upload_artifact:',
      "      email_configs:\n        description: 'IMAP accounts (JSON)'\n        required: true\n        type: string\n      use_config_file:\n        type: boolean\n        default: false\n      upload_artifact:",
    );
    const r = await setup({ workflowYaml: yaml });
    const res = await r.run(['refresh', ...FAST]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/input "email_configs" is required by the workflow and has no value or default/);
    expect(r.gh.dispatches).toHaveLength(0);
    const ok = await r.run(['refresh', '--json', ...FAST], { env: { REGISTER_EMAIL_CONFIGS: '[{"a":1}]', REGISTER_USE_CONFIG_FILE: 'on' } });
    expect(ok.code).toBe(0);
    expect(r.gh.dispatches[0]!.inputs).toEqual({ email_configs: '[{"a":1}]', use_config_file: 'true' });
  });

  it('malformed WORKFLOW_INPUTS and --input exit 2 naming the culprit', async () => {
    const r = await setup();
    const a = await r.run(['refresh'], { env: { WORKFLOW_INPUTS: '{not json' } });
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/WORKFLOW_INPUTS is not valid JSON/);
    const b = await r.run(['refresh'], { env: { WORKFLOW_INPUTS: '["x"]' } });
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/WORKFLOW_INPUTS must be a JSON object/);
    const c = await r.run(['refresh', '--input', 'novalue']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/--input expects name=value, got "novalue"/);
    expect(r.gh.dispatches).toHaveLength(0);
  });

  it('dispatches on GITHUB_REF; an unknown ref is reported with GitHub\'s message', async () => {
    const r = await setup();
    const ok = await r.run(['refresh', '--json', ...FAST], { env: { GITHUB_REF: 'dev' } });
    expect(ok.code).toBe(0);
    expect(r.gh.dispatches[0]!.ref).toBe('dev');
    expect(r.gh.requestsTo(/^\/repos\/acme\/Cursor-Register$/)).toHaveLength(0); // no default-branch lookup needed
    const bad = await r.run(['refresh', '--force', ...FAST], { env: { GITHUB_REF: 'nope' } });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/No commit found for the ref nope/);
    expect(r.gh.dispatches).toHaveLength(1);
  });

  it('a disabled workflow is reported with how to enable it', async () => {
    const r = await setup({ workflowState: 'disabled_manually' });
    const res = await r.run(['refresh', ...FAST]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/is disabled manually/);
    expect(res.stderr).toMatch(/enable it in the Actions tab/);
    expect(r.gh.dispatches).toHaveLength(0);
  });
});

describe('refresh: configuration and token', () => {
  it('missing GITHUB_TOKEN / GITHUB_OWNER: exit 2 naming the variable', async () => {
    const r = await setup();
    const a = await r.run(['refresh', '--json'], { env: { GITHUB_TOKEN: undefined } });
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/GITHUB_TOKEN is not set/);
    expect(JSON.parse(a.stdout)).toMatchObject({ ok: false, exitCode: 2 });
    const b = await r.run(['refresh'], { env: { GITHUB_OWNER: '' } });
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/GITHUB_OWNER is not set/);
    expect(r.gh.requests).toHaveLength(0);
  });

  it('a wrong token exits 1 saying so, without printing any token (also with --verbose)', async () => {
    const r = await setup();
    const wrong = 'ghp_wrongtoken999999999';
    const res = await r.run(['refresh', '-v', ...FAST], { env: { GITHUB_TOKEN: wrong } });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/GitHub refused the token \(401 Bad credentials\)/);
    expect(res.stderr).toMatch(/check GITHUB_TOKEN/);
    expect(res.stdout + res.stderr).not.toContain(wrong);
    expect(res.stderr).toMatch(/github: GET \/repos\/acme\/Cursor-Register\/actions\/workflows\/cursor_register\.yml → 401/);
  });

  it('an unknown workflow or repository: exit 1, 404 explained', async () => {
    const r = await setup();
    const res = await r.run(['refresh', ...FAST], { env: { GITHUB_WORKFLOW_ID: 'nope.yml' } });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/workflow nope\.yml in acme\/Cursor-Register was not found \(404\) — it does not exist, or the token cannot see it/);
    expect(res.stderr).toMatch(/GITHUB_WORKFLOW_ID \(nope\.yml\)/);
    const repo = await r.run(['refresh', ...FAST], { env: { GITHUB_REPO: 'Other' } });
    expect(repo.code).toBe(1);
    expect(repo.stderr).toMatch(/acme\/Other was not found \(404\)/);
    expect(r.output.join('\n')).not.toContain(r.gh.token);
  });

  it('GitHub unreachable: exit 1 naming the API URL', async () => {
    const r = await setup();
    const res = await r.run(['refresh', ...FAST], { env: { GITHUB_API_URL: 'http://127.0.0.1:9' } });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/cannot reach the GitHub API at http:\/\/127\.0\.0\.1:9/);
  });

  it('a bad flag value exits 2', async () => {
    const r = await setup();
    for (const args of [['--mode', 'merge'], ['--min-count', 'x'], ['--timeout', '0'], ['--poll-interval', '-1'], ['--run-id', 'abc']]) {
      const res = await r.run(['refresh', ...args]);
      expect(res.code, args.join(' ')).toBe(2);
    }
    expect(r.gh.requests).toHaveLength(0);
  });
});

// Keep the zip builders honest: the fake serves exactly the bytes given.
describe('fixtures', () => {
  it('buildZip round-trips through the fake storage host', async () => {
    const cookie = makeCookie();
    const r = await setup({ artifactsForRun: () => [{ name: 'Account Info', zip: buildZip({ 'x.csv': cookie }) }] });
    const res = await r.run(['refresh', '--json', ...FAST]);
    expect(res.code).toBe(0);
    expect(r.store.keys()['sk-a']).toContain(cookie);
  });
});
