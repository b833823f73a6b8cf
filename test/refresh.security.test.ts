/**
 * What `refresh` and `workflow` print about the outside world (issue 13 #3, #6): workflow input
 * values of free text and secret-named inputs are never shown (progress, --dry-run human and JSON,
 * `workflow trigger --json`), and job/step names, GitHub's error texts and zip entry names reach
 * the terminal without their control characters.
 */
import { describe, expect, it } from 'vitest';
import { upstreamWorkflowYaml } from './fake-github.js';
import { makeCookie } from './helpers/cookies.js';
import { expectNoLeaks, FAST, useRig } from './helpers/refresh-rig.js';

const setup = useRig((r) => r.store.writeKeys({ 'sk-a': [] }));

const IMAP_PASSWORD = 'Hunter2-imap-Secret-9f8e7d';
const EMAIL_CONFIGS = JSON.stringify([{ imap_server: 'imap.example.com', username: 'reg@example.com', password: IMAP_PASSWORD }]);
const NOTE = 'free text that is nobody else\u2019s business';

/** The upstream workflow plus a free-text `email_configs`, a free-text `note` and a boolean `use_config_file`. */
const yamlWithFreeText = (): string =>
  upstreamWorkflowYaml().replace(
    '      upload_artifact:',
    "      email_configs:\n        type: string\n      note:\n        type: string\n      use_config_file:\n        type: boolean\n      upload_artifact:",
  );

const ESC = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('workflow input values are not printed', () => {
  const env = { REGISTER_EMAIL_CONFIGS: EMAIL_CONFIGS, REGISTER_USE_CONFIG_FILE: 'true', REGISTER_NUMBER: '2' };

  it('refresh --dry-run (human and JSON) names every input, shows closed values, hides free text and secrets', async () => {
    const r = await setup({ workflowYaml: yamlWithFreeText() }, env);
    const human = await r.run(['refresh', '--dry-run', '--input', `note=${NOTE}`]);
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/Inputs: .*number=2/);
    expect(human.stdout).toMatch(/email_configs=\*\*\*/);
    expect(human.stdout).toMatch(/note=\*\*\*/);
    // A closed type, but its name says config: hidden too.
    expect(human.stdout).toMatch(/use_config_file=\*\*\*/);

    const json = await r.run(['refresh', '--dry-run', '--json', '--input', `note=${NOTE}`]);
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).inputs).toEqual({ number: '2', email_configs: '***', note: '***', use_config_file: '***' });

    for (const text of [human.stdout, human.stderr, json.stdout, json.stderr]) {
      expect(text).not.toContain(IMAP_PASSWORD);
      expect(text).not.toContain('nobody else');
    }
    expect(r.gh.dispatches).toHaveLength(0);
  });

  it('a real refresh logs the dispatch without the values, and still sends them', async () => {
    const r = await setup({ workflowYaml: yamlWithFreeText(), runTimeline: { queuedMs: 20, inProgressMs: 100 } }, env);
    const res = await r.run(['refresh', '-v', ...FAST]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/Dispatching .* with .*email_configs=\*\*\*/);
    expect(res.stderr + res.stdout).not.toContain(IMAP_PASSWORD);
    expect(r.gh.dispatches[0]!.inputs).toMatchObject({ email_configs: EMAIL_CONFIGS, number: '2' });
    expectNoLeaks(r, [IMAP_PASSWORD]);
  });

  it('workflow trigger --json hides them too', async () => {
    const r = await setup({ workflowYaml: yamlWithFreeText() }, env);
    const res = await r.run(['workflow', 'trigger', '--json', '--input', 'api_key=42']);
    expect(res.code, res.stderr).toBe(0);
    // Undeclared inputs (api_key here) are dropped and only named.
    expect(JSON.parse(res.stdout).inputs).toEqual({ number: '2', email_configs: '***', use_config_file: '***' });
    expect(res.stderr).toMatch(/not sending input\(s\) the workflow does not declare: api_key/);
    expect(res.stdout + res.stderr).not.toContain(IMAP_PASSWORD);
    expect(r.gh.dispatches[0]!.inputs).toMatchObject({ email_configs: EMAIL_CONFIGS });
  });

  it('a secret-named input of a closed type is hidden, also when its value is refused', async () => {
    const yaml = upstreamWorkflowYaml().replace('      upload_artifact:', '      use_token:\n        type: boolean\n      upload_artifact:');
    const r = await setup({ workflowYaml: yaml });
    const bad = await r.run(['refresh', '--dry-run', '--input', 'use_token=ghp_oops_pasted_a_token']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/input "use_token" .* must be a boolean/);
    expect(bad.stderr).not.toContain('ghp_oops_pasted_a_token');
    const ok = await r.run(['refresh', '--dry-run', '--json', '--input', 'use_token=true']);
    expect(JSON.parse(ok.stdout).inputs).toEqual({ use_token: '***' });
  });
});

describe('control characters from GitHub never reach the terminal', () => {
  it('job and step names in the progress lines', async () => {
    const yaml = upstreamWorkflowYaml()
      .replace('  build:\n', '  build:\n    name: "Build \\e]0;pwned\\a\\e[2Jnow"\n')
      .replace('      - name: Install requirements', '      - name: "Install \\e[31mrequirements\\u009b2J"');
    const r = await setup({ workflowYaml: yaml, runTimeline: { queuedMs: 20, inProgressMs: 600 } });
    const res = await r.run(['refresh', ...FAST]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(/job "Build now"/);
    expect(res.stderr).not.toMatch(ESC);
    expect(res.stderr).not.toContain('pwned');
  });

  it("GitHub's error text", async () => {
    const r = await setup();
    // A plain-text answer is quoted as GitHub's message.
    r.gh.failNext({ path: /\/actions\/workflows\/[^/]+$/, status: 404, body: 'Not \u001b[8mhidden\u001b[0m Found\u0007\r\nforged: ok' });
    const res = await r.run(['refresh', ...FAST]);
    expect(res.code).toBe(1);
    // On one line: a CR/LF in the answer cannot forge a line of our own.
    expect(res.stderr).toMatch(/\(404: Not hidden Found forged: ok\)/);
    expect(res.stderr).not.toMatch(ESC);
  });

  it('zip entry names listed by workflow download', async () => {
    const c = makeCookie();
    const r = await setup();
    const run = r.gh.addCompletedRun({ artifacts: [{ name: 'Account Info', files: { 'token_\u001b]0;x\u0007now.csv': `${c}\n` } }] });
    const res = await r.run(['workflow', 'download', String(run.id), '--artifact-wait', '1']);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/token_now\.csv/);
    expect(res.stdout + res.stderr).not.toMatch(/\u001b/);
  });
});
