/**
 * cursor-api's token files as the pool (SPEC §9.2), through the built CLI: the `token-file`
 * backend on local `.token` / `.token-list` (reloading a fake cursor-api), and the `token-api`
 * backend against the fake's HTTP endpoints.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeCursorApi } from './fake-cursor-api.js';
import { buildZip, cursorRegisterFiles } from './fake-github.js';
import { leakedSecrets, TempStore, type RunOptions, type RunResult } from './helpers/cli.js';
import { makeCookie, makeJwt } from './helpers/cookies.js';
import { FAST, useRig } from './helpers/refresh-rig.js';

const jwtOf = (cookie: string): string => cookie.split(/%3A%3A|::/i).pop()!;
const userOf = (cookie: string): string => cookie.split(/%3A%3A|::/i)[0]!;

interface Env {
  store: TempStore;
  /** Where the token files are: the working dir (token-file) or cursor-api's own folder (token-api). */
  dir: string;
  tokenFile: string;
  tokenListFile: string;
  api?: FakeCursorApi;
  env: Record<string, string>;
  output: string[];
  run(args: string[], opts?: RunOptions): Promise<RunResult>;
  tokens(): string;
  tokenList(): string;
}

let current: Env | undefined;
afterEach(async () => {
  await current?.api?.close();
  current?.store.cleanup();
  current = undefined;
});

/** A temp working dir with the token files, optionally a fake cursor-api serving them. */
async function setup(
  backend: 'token-file' | 'token-api',
  files: { tokens?: string; tokenList?: string } = {},
  opts: { api?: boolean; env?: Record<string, string>; countField?: 'token_count' | 'tokens_count' } = {},
): Promise<Env> {
  const store = new TempStore('cookie-pool-token-');
  const dir = backend === 'token-file' ? store.dir : join(store.dir, 'cursor-api');
  mkdirSync(dir, { recursive: true });
  const tokenFile = join(dir, '.token');
  const tokenListFile = join(dir, '.token-list');
  if (files.tokens !== undefined) writeFileSync(tokenFile, files.tokens);
  if (files.tokenList !== undefined) writeFileSync(tokenListFile, files.tokenList);
  const api = opts.api === false ? undefined : await FakeCursorApi.start({ tokenFile, tokenListFile, countField: opts.countField });
  const env: Record<string, string> = { POOL_BACKEND: backend, ...(api ? { CURSOR_API_URL: api.url } : {}), ...opts.env };
  if (backend === 'token-api' && api && env.AUTH_TOKEN === undefined) env.AUTH_TOKEN = api.authToken;
  const output: string[] = [];
  const e: Env = {
    store,
    dir,
    tokenFile,
    tokenListFile,
    api,
    env,
    output,
    run: store.recordingRunner(env, output),
    tokens: () => (existsSync(tokenFile) ? readFileSync(tokenFile, 'utf8') : ''),
    tokenList: () => (existsSync(tokenListFile) ? readFileSync(tokenListFile, 'utf8') : ''),
  };
  current = e;
  return e;
}

/** No cookie, JWT or AUTH_TOKEN in anything printed. */
function expectNoSecrets(e: Env, cookies: string[]): void {
  const text = e.output.join('\n');
  expect(leakedSecrets(text, [...cookies, ...cookies.map(jwtOf)])).toEqual([]);
  if (e.api) expect(text).not.toContain(e.api.authToken);
}

/** The emails of Cursor-Register's output_*.csv, by cookie. */
function emails(files: Record<string, string>): Map<string, string> {
  const out = new Map<string, string>();
  const name = Object.keys(files).find((n) => n.startsWith('output_'))!;
  for (const row of files[name]!.split('\r\n').filter(Boolean)) {
    const [email, cookie] = row.split(',');
    out.set(cookie!, email!);
  }
  return out;
}

describe('token-file backend', () => {
  it('import of an artifact: alias = the account email, comments and blank lines kept, cursor-api reloaded and serving them', async () => {
    const old = makeJwt();
    const e = await setup('token-file', { tokens: `# team pool\n\nold@x.io::${old}\n`, tokenList: `${old},KEEP-THIS-CHECKSUM\n` });
    const cookies = [makeCookie('encoded'), makeCookie('encoded')];
    const files = cursorRegisterFiles(cookies);
    const mail = emails(files);
    const zip = join(e.store.dir, 'Account Info.zip');
    writeFileSync(zip, buildZip(files));
    const res = await e.run(['import', zip, '--json']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ ok: true, harvested: 2, added: 2, keys: [{ apiKey: 'default', before: 1, added: 2, after: 3 }] });

    expect(e.tokens()).toBe(
      `# team pool\n\nold@x.io::${old}\n${cookies.map((c) => `${mail.get(c)}::${jwtOf(c)}`).join('\n')}\n`,
    );
    // cursor-api reloaded (no auth on that call) and now serves all three; it appended the new
    // tokens to .token-list with fresh checksums, the old line kept as it was.
    const reloads = e.api!.calls.filter((c) => c.method === 'GET' && c.path === '/update-tokeninfo');
    expect(reloads).toHaveLength(1);
    expect(reloads[0]!.authorization).toBeUndefined();
    expect(e.api!.servedTokens()).toEqual([old, ...cookies.map(jwtOf)].sort());
    const list = e.tokenList().split('\n');
    expect(list[0]).toBe(`${old},KEEP-THIS-CHECKSUM`);
    expect(list.slice(1).map((l) => l.split(',')[0])).toEqual(cookies.map((c) => `${mail.get(c)}::${jwtOf(c)}`));
    // Atomic writes keep the previous version, in .backups/ beside the file (as the store files do).
    const backups = join(dirname(e.tokenFile), '.backups');
    expect(readFileSync(join(backups, readdirOne(backups, '.token.')), 'utf8')).toContain(old);

    // Importing the same zip again adds nothing and writes nothing (no reload either).
    const again = await e.run(['import', zip]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/added 0; refused duplicate 2/);
    expect(e.api!.calls.filter((c) => c.path === '/update-tokeninfo')).toHaveLength(1);
    expectNoSecrets(e, [...cookies, old]);
  });

  it('alias = the user id without an email; removal leaves both files; CRLF becomes LF; a token only in .token-list is in the pool', async () => {
    const a = makeCookie('decoded');
    const b = makeJwt();
    const e = await setup(
      'token-file',
      { tokens: `# mine\r\n${a}\r\n\r\n# end\r\n`, tokenList: `${jwtOf(a)},csA\r\nbee::${b},csB\r\n# note\r\n` },
      { api: false },
    );
    const listed = await e.run(['cookies', 'list', 'default', '--json']);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout).keys[0].cookies).toHaveLength(2);

    const c = makeCookie('encoded');
    const add = await e.run(['cookies', 'add', 'default', c]);
    expect(add.code).toBe(0);
    expect(add.stdout).toContain('Added 1 cookie to default (now 3)');
    expect(e.tokens()).toBe(`# mine\n${a}\n\n# end\n${userOf(c)}::${jwtOf(c)}\n`);
    // .token-list was not touched: cursor-api gives the new token its checksum when it loads.
    expect(e.tokenList()).toBe(`${jwtOf(a)},csA\r\nbee::${b},csB\r\n# note\r\n`);

    // Any form of a cookie removes it, from both files; comments and blank lines stay.
    const rm = await e.run(['cookies', 'remove', 'default', `${userOf(a)}%3A%3A${jwtOf(a)}`, b]);
    expect(rm.code).toBe(0);
    expect(rm.stdout).toContain('Removed 2 cookies from default (now 1)');
    expect(e.tokens()).toBe(`# mine\n\n# end\n${userOf(c)}::${jwtOf(c)}\n`);
    expect(e.tokenList()).toBe(`# note\n`);
    expectNoSecrets(e, [a, b, c]);
  });

  it('invalid add + purge, and check --mark-invalid: cookies leave both files, the invalid list is $DATA_DIR/invalid_cookies.json', async () => {
    const keep = makeCookie('decoded');
    const bad = makeCookie('decoded');
    const expired = makeCookie('decoded', { exp: Math.floor(Date.now() / 1000) - 60 });
    const e = await setup(
      'token-file',
      { tokens: `${keep}\n${bad}\n${expired}\n`, tokenList: `${jwtOf(bad)},csBad\n${jwtOf(keep)},csKeep\n` },
      { api: false },
    );
    expect((await e.run(['invalid', 'add', bad])).code).toBe(0);
    const purge = await e.run(['invalid', 'purge']);
    expect(purge.code).toBe(0);
    expect(e.tokens()).toBe(`${keep}\n${expired}\n`);
    expect(e.tokenList()).toBe(`${jwtOf(keep)},csKeep\n`);
    expect(e.store.invalid()).toEqual([bad]);

    const check = await e.run(['check', '--offline', '--mark-invalid', '--json']);
    expect(check.code).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({ checked: 2, expired: 1, marked: 1 });
    expect(e.tokens()).toBe(`${keep}\n`);
    expect(e.store.invalid()).toEqual([bad, jwtOf(expired)]);
    expectNoSecrets(e, [keep, bad, expired]);
  });

  it('lines cursor-api ignores: status and doctor name them with their line number, the cookie masked', async () => {
    const good = makeJwt();
    const twice = makeJwt();
    const noChecksum = makeJwt();
    const e = await setup('token-file', { tokens: `${good}\nuser_01X::alias::${twice}\n`, tokenList: `${noChecksum}\n${good},cs\n` });
    const status = await e.run(['status', '--json']);
    expect(status.code).toBe(0);
    const out = JSON.parse(status.stdout);
    expect(out.keys).toEqual([expect.objectContaining({ apiKey: 'default', cookies: 1 })]);
    expect(out.ignoredLines).toEqual([
      { file: e.tokenFile, line: 2, reason: 'more than one "::"', text: expect.stringContaining('…') },
      { file: e.tokenListFile, line: 1, reason: 'not "token,checksum" (1 fields)', text: expect.stringContaining('…') },
    ]);
    const human = await e.run(['status']);
    expect(human.stdout).toContain(`${e.tokenFile} line 2: more than one "::"`);
    expect(human.stdout).toContain(`${e.tokenListFile} line 1: not "token,checksum"`);
    // cursor-api agrees: it serves only the good token.
    expect(e.api!.servedTokens()).toEqual([good]);

    const doctor = await e.run(['doctor', '--json']);
    const checks = JSON.parse(doctor.stdout).checks as { name: string; status: string; detail: string }[];
    const by = (n: string) => checks.find((c) => c.name === n)!;
    expect(by('token-file')).toMatchObject({ status: 'warn', detail: expect.stringContaining('line 2 (more than one "::")') });
    expect(by('token-list')).toMatchObject({ status: 'warn', detail: expect.stringContaining('line 1 (not "token,checksum"') });
    expect(by('cursor-api')).toMatchObject({ status: 'ok', detail: expect.stringContaining('/update-tokeninfo') });
    // The permissions line judges the files this backend keeps (the token files, the invalid list).
    chmodSync(e.tokenFile, 0o644);
    const again = JSON.parse((await e.run(['doctor', '--json'])).stdout).checks as { name: string; status: string; detail: string; hint?: string }[];
    const perms = again.find((c) => c.name === 'permissions')!;
    expect(perms).toMatchObject({ status: 'warn', detail: expect.stringContaining(`${e.tokenFile} is 0644`) });
    expect(perms.hint).toContain(`chmod 600 ${e.tokenFile}`);
    expect(perms.detail).not.toContain('api_keys.json');
    expectNoSecrets(e, [good, twice, noChecksum]);
  });

  it('a change that creates another api key is exit 2 naming the backend; keys add too; files untouched', async () => {
    const old = makeJwt();
    const e = await setup('token-file', { tokens: `${old}\n`, tokenList: `${old},cs\n` }, { api: false });
    const zip = join(e.store.dir, 'a.zip');
    writeFileSync(zip, buildZip(cursorRegisterFiles([makeCookie()])));
    const imp = await e.run(['import', zip, '--key', 'sk-other']);
    expect(imp.code).toBe(2);
    expect(imp.stderr).toContain('cannot create api key "sk-other" on the token-file backend');
    const keys = await e.run(['keys', 'add', 'sk-new']);
    expect(keys.code).toBe(2);
    expect(keys.stderr).toContain('token-file backend');
    expect(e.tokens()).toBe(`${old}\n`);
    expect(e.tokenList()).toBe(`${old},cs\n`);
    expect(existsSync(e.store.invalidFile)).toBe(false);
  });

  it('a binary or unreadable token file is exit 2 naming it, left untouched', async () => {
    const e = await setup('token-file', { tokenList: '' }, { api: false });
    const bytes = Buffer.from([0x65, 0x79, 0x00, 0xff, 0x10]);
    writeFileSync(e.tokenFile, bytes);
    const res = await e.run(['cookies', 'add', 'default', makeCookie()]);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${e.tokenFile} (TOKEN_FILE): binary content`);
    expect(readFileSync(e.tokenFile)).toEqual(bytes);
    rmSync(e.tokenListFile);
    mkdirSync(e.tokenListFile);
    writeFileSync(e.tokenFile, '');
    const dir = await e.run(['status']);
    expect(dir.code).toBe(2);
    expect(dir.stderr).toContain(`${e.tokenListFile} (TOKEN_LIST_FILE): is a directory`);
    if (process.getuid?.() !== 0) {
      rmSync(e.tokenListFile, { recursive: true });
      writeFileSync(e.tokenListFile, 'x,y\n');
      chmodSync(e.tokenListFile, 0o000);
      const denied = await e.run(['status']);
      expect(denied.code).toBe(2);
      expect(denied.stderr).toContain(`${e.tokenListFile} (TOKEN_LIST_FILE): cannot be read (EACCES)`);
    }
  });

  it('a failed reload is exit 3 with the files written', async () => {
    const e = await setup('token-file', { tokens: '', tokenList: '' });
    e.api!.failReload = 500;
    const c = makeCookie();
    const res = await e.run(['cookies', 'add', 'default', c]);
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/cursor-api did not reload: GET http:\/\/127\.0\.0\.1:\d+\/update-tokeninfo answered HTTP 500; the token files are written/);
    expect(e.tokens()).toBe(`${userOf(c)}::${jwtOf(c)}\n`);
    e.api!.failReload = 'garbage';
    const json = await e.run(['cookies', 'remove', 'default', c, '--json']);
    expect(json.code).toBe(3);
    expect(JSON.parse(json.stdout).problems).toEqual([expect.stringContaining('did not answer {"status":"success"}')]);
    expect(e.tokens()).toBe('');
    const doctor = await e.run(['doctor', '--json']);
    expect(JSON.parse(doctor.stdout).checks.find((c: { name: string }) => c.name === 'cursor-api')).toMatchObject({ status: 'fail' });
    expectNoSecrets(e, [c]);
  });
});

describe('token-file backend under refresh', () => {
  const setupRig = useRig();

  it('refresh tops up "default" from the artifact, aliases from output_*.csv, then reloads cursor-api', async () => {
    const cookies = [makeCookie(), makeCookie()];
    const files = cursorRegisterFiles(cookies);
    const r = await setupRig({ runTimeline: { queuedMs: 50, inProgressMs: 200 }, artifactsForRun: () => [{ name: 'Account Info', files }] });
    const old = makeJwt();
    writeFileSync(join(r.store.dir, '.token'), `# pool\n${old}\n`);
    writeFileSync(join(r.store.dir, '.token-list'), '');
    const api = await FakeCursorApi.start({ tokenFile: join(r.store.dir, '.token'), tokenListFile: join(r.store.dir, '.token-list') });
    try {
      const res = await r.run(['refresh', '--json', ...FAST], { env: { POOL_BACKEND: 'token-file', CURSOR_API_URL: api.url, MIN_COOKIE_COUNT: '2' } });
      expect(res.code).toBe(0);
      expect(JSON.parse(res.stdout)).toMatchObject({ ok: true, harvested: 2, added: 2, keys: [{ apiKey: 'default', before: 1, added: 2, after: 3 }] });
      const mail = emails(files);
      expect(readFileSync(join(r.store.dir, '.token'), 'utf8')).toBe(`# pool\n${old}\n${cookies.map((c) => `${mail.get(c)}::${jwtOf(c)}`).join('\n')}\n`);
      expect(api.servedTokens()).toEqual([old, ...cookies.map(jwtOf)].sort());
      expect(leakedSecrets(r.output.join('\n'), [...cookies, ...cookies.map(jwtOf), old])).toEqual([]);
    } finally {
      await api.close();
    }
  });
});

describe('token-file backend: refresh --key for another key', () => {
  const setupRig = useRig();

  it('exits 2 naming the backend before any run is dispatched', async () => {
    const r = await setupRig();
    writeFileSync(join(r.store.dir, '.token'), '');
    const res = await r.run(['refresh', '--key', 'sk-team', ...FAST], { env: { POOL_BACKEND: 'token-file' } });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('creating api key "sk-team" is not possible on the token-file backend');
    expect(r.gh.dispatches).toEqual([]);
    expect(readFileSync(join(r.store.dir, '.token'), 'utf8')).toBe('');
  });
});

describe('token-api backend', () => {
  it('import: both texts sent with the bearer token, cursor-api writes them, the count is checked; AUTH_TOKEN never printed (--verbose too)', async () => {
    const old = makeJwt();
    const e = await setup('token-api', { tokens: `# hosted\nold@x.io::${old}\n`, tokenList: `old@x.io::${old},CS-OLD` }, { countField: 'tokens_count' });
    const cookies = [makeCookie(), makeCookie()];
    const files = cursorRegisterFiles(cookies);
    const mail = emails(files);
    const zip = join(e.store.dir, 'art.zip');
    writeFileSync(zip, buildZip(files));
    const res = await e.run(['import', zip, '--json', '-v']);
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ added: 2, keys: [{ apiKey: 'default', before: 1, added: 2, after: 3 }] });
    // One read, one read again just before the write, one write; each with the bearer token.
    expect(e.api!.calls.map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual([
      'POST /get-tokeninfo 200',
      'POST /get-tokeninfo 200',
      'POST /update-tokeninfo 200',
    ]);
    expect(e.api!.calls.every((c) => c.authorization === `Bearer ${e.api!.authToken}`)).toBe(true);
    expect(e.tokens()).toBe(`# hosted\nold@x.io::${old}\n${cookies.map((c) => `${mail.get(c)}::${jwtOf(c)}`).join('\n')}\n`);
    expect(e.tokenList().split('\n')[0]).toBe(`old@x.io::${old},CS-OLD`);
    expect(e.api!.servedTokens()).toEqual([old, ...cookies.map(jwtOf)].sort());

    const status = await e.run(['status', '--json', '-v']);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout).keys).toEqual([expect.objectContaining({ apiKey: 'default', cookies: 3 })]);
    const doctor = await e.run(['doctor', '--json']);
    const checks = JSON.parse(doctor.stdout).checks as { name: string; status: string; detail: string }[];
    expect(checks.find((c) => c.name === 'cursor-api')).toMatchObject({ status: 'ok', detail: expect.stringContaining('AUTH_TOKEN accepted; 3 token(s)') });
    expect(checks.find((c) => c.name === 'token-lines')).toMatchObject({ status: 'ok' });
    expectNoSecrets(e, [...cookies, old]);
  });

  it('a remote edit between our read and our write: the plan is made again, so a token removed meanwhile stays removed', async () => {
    const a = makeJwt();
    const b = makeJwt();
    const e = await setup('token-api', { tokens: `${a}\n${b}\n`, tokenList: `${a},csA\n${b},csB\n` });
    // Someone removes `a` on cursor-api's /tokeninfo page while cookie-pool plans.
    e.api!.onGetInfo = (n) => {
      if (n === 2) {
        writeFileSync(e.tokenFile, `${b}\n# edited by hand\n`);
        writeFileSync(e.tokenListFile, `${b},csB\n`);
      }
    };
    const c = makeCookie();
    const res = await e.run(['cookies', 'add', 'default', c]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Added 1 cookie to default (now 2)');
    expect(e.api!.calls.map((x) => x.path)).toEqual(['/get-tokeninfo', '/get-tokeninfo', '/get-tokeninfo', '/update-tokeninfo']);
    expect(e.tokens()).toBe(`${b}\n# edited by hand\n${userOf(c)}::${jwtOf(c)}\n`);
    expect(e.api!.servedTokens()).toEqual([b, jwtOf(c)].sort());
    expectNoSecrets(e, [a, b, c]);
  });

  it('edits that never stop: exit 1 after the plan was made four times, nothing written (invalid list included)', async () => {
    const a = makeJwt();
    const e = await setup('token-api', { tokens: `${a}\n`, tokenList: `${a},csA\n` });
    e.api!.onGetInfo = (n) => {
      if (n >= 2) writeFileSync(e.tokenFile, `${e.tokens()}# edit ${n}\n`);
    };
    // `invalid add` lists the cookie and takes it out of the pool: both parts wait for the remote write.
    const res = await e.run(['invalid', 'add', a]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("cursor-api's token files changed between every read and the write (4 plans in a row); nothing was written");
    expect(e.api!.calls.map((x) => x.path)).toEqual(Array(5).fill('/get-tokeninfo'));
    expect(e.tokens()).toBe(`${a}\n# edit 2\n# edit 3\n# edit 4\n# edit 5\n`);
    expect(e.tokenList()).toBe(`${a},csA\n`);
    expect(existsSync(e.store.invalidFile)).toBe(false);
    expectNoSecrets(e, [a]);
  });

  it('invalid purge removes from both remote files and keeps the invalid list local', async () => {
    const a = makeJwt();
    const b = makeJwt();
    const e = await setup('token-api', { tokens: `${a}\nbee::${b}\n`, tokenList: `${a},csA\nbee::${b},csB\n` });
    expect((await e.run(['invalid', 'add', b, '--keep-in-keys'])).code).toBe(0);
    expect(e.api!.calls.filter((x) => x.path === '/update-tokeninfo')).toEqual([]);
    expect(e.store.invalid()).toEqual([b]);
    const purge = await e.run(['invalid', 'purge']);
    expect(purge.code).toBe(0);
    expect(e.tokens()).toBe(`${a}\n`);
    expect(e.tokenList()).toBe(`${a},csA\n`);
    expect(e.api!.servedTokens()).toEqual([a]);
  });

  it('a wrong AUTH_TOKEN is exit 1 and never printed; a missing one exit 2 naming it', async () => {
    const a = makeJwt();
    const e = await setup('token-api', { tokens: `${a}\n`, tokenList: '' }, { env: { AUTH_TOKEN: 'wrong-secret-token-value-123' } });
    const status = await e.run(['status', '-v']);
    expect(status.code).toBe(1);
    expect(status.stderr).toMatch(/cursor-api refused AUTH_TOKEN \(HTTP 401 to POST http:\/\/127\.0\.0\.1:\d+\/get-tokeninfo\)/);
    const add = await e.run(['cookies', 'add', 'default', makeCookie(), '--json']);
    expect(add.code).toBe(1);
    expect(JSON.parse(add.stdout)).toMatchObject({ ok: false, error: expect.stringContaining('refused AUTH_TOKEN') });
    expect(e.tokens()).toBe(`${a}\n`);
    const doctor = await e.run(['doctor', '--json']);
    const checks = JSON.parse(doctor.stdout).checks as { name: string; status: string }[];
    expect(checks.find((c) => c.name === 'cursor-api')).toMatchObject({ status: 'fail' });
    expect(checks.find((c) => c.name === 'token-lines')).toMatchObject({ status: 'skip' });
    expect(e.output.join('\n')).not.toContain('wrong-secret-token-value-123');

    const missing = await e.run(['status'], { env: { AUTH_TOKEN: '' } });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('the token-api backend needs AUTH_TOKEN');
    expectNoSecrets(e, [a]);
  });

  it('unreachable, 5xx and garbage answers are exit 1 with one clear line', async () => {
    const e = await setup('token-api', { tokens: '', tokenList: '' });
    e.api!.failGet = 503;
    const five = await e.run(['status']);
    expect(five.code).toBe(1);
    expect(five.stderr.split('\n')[0]).toMatch(/^cookie-pool: cursor-api answered HTTP 503 to POST http:\/\/127\.0\.0\.1:\d+\/get-tokeninfo$/);
    e.api!.failGet = 'garbage';
    const garbage = await e.run(['cookies', 'list']);
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toContain('with something other than its token info');
    e.api!.failGet = undefined;
    e.api!.failUpdate = 500;
    const c = makeCookie();
    const upd = await e.run(['cookies', 'add', 'default', c]);
    expect(upd.code).toBe(1);
    expect(upd.stderr).toContain('answered HTTP 500 to POST');
    expect(upd.stderr).toContain('the update may not have been applied');
    const url = e.api!.url;
    await e.api!.close();
    e.api = undefined;
    const down = await e.run(['status'], { env: { CURSOR_API_URL: `${url}/` } });
    expect(down.code).toBe(1);
    expect(down.stderr.split('\n')[0]).toMatch(/^cookie-pool: cannot reach cursor-api: POST http:\/\/127\.0\.0\.1:\d+\/get-tokeninfo failed \(ECONNREFUSED\)$/);
    expectNoSecrets(e, [c]);
  });

  it('a token count that does not match what was sent is exit 3 (written, but not as sent)', async () => {
    const e = await setup('token-api', { tokens: '', tokenList: '' });
    e.api!.wrongCount = -1;
    const c = makeCookie();
    const res = await e.run(['cookies', 'add', 'default', c]);
    expect(res.code).toBe(3);
    expect(res.stderr).toContain('cursor-api serves 0 token(s) after the update, but 1 distinct token(s) were sent');
    expect(e.tokens()).toContain(jwtOf(c));
  });
});

function readdirOne(dir: string, prefix: string): string {
  return readdirSync(dir).find((n) => n.startsWith(prefix))!;
}
