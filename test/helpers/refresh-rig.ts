/** Shared set-up for the refresh/workflow tests: a fake GitHub, a temp store, the env pointing at both. */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, expect } from 'vitest';
import { FakeGitHub, type FakeGitHubOptions } from '../fake-github.js';
import { BIN, baseEnv, leakedSecrets, TempStore, type RunOptions, type RunResult } from './cli.js';

export interface Rig {
  gh: FakeGitHub;
  store: TempStore;
  env: Record<string, string>;
  /** Everything printed by every run of this rig (stdout + stderr), for the leak check. */
  output: string[];
  run(args: string[], opts?: RunOptions): Promise<RunResult>;
  /** Start the CLI without waiting (for signals and concurrency). */
  spawn(args: string[], extraEnv?: Record<string, string>): Spawned;
  close(): Promise<void>;
}

export interface Spawned {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  done: Promise<RunResult>;
}

/** Fast timings for tests: tiny poll interval, short artifact wait, quick 5xx back-off. */
export const FAST = ['--poll-interval', '0.05', '--artifact-wait', '3'];

export async function rig(opts: FakeGitHubOptions = {}, extraEnv: Record<string, string> = {}): Promise<Rig> {
  const gh = await FakeGitHub.start(opts);
  const store = new TempStore('cookie-pool-refresh-');
  const env: Record<string, string> = {
    GITHUB_TOKEN: gh.token,
    GITHUB_OWNER: gh.owner,
    GITHUB_API_URL: gh.apiUrl,
    COOKIE_POOL_RETRY_BASE_MS: '20',
    ...extraEnv,
  };
  const output: string[] = [];
  const r: Rig = {
    gh,
    store,
    env,
    output,
    run: store.recordingRunner(env, output),
    spawn(args, more = {}) {
      const child = spawn(process.execPath, [BIN, ...args], {
        cwd: store.dir,
        env: baseEnv({ DATA_DIR: store.dataDir, ...env, ...more }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
      child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
      const done = new Promise<RunResult>((resolve) => {
        child.on('close', (code, signal) => {
          output.push(out, err);
          resolve({ code, signal, stdout: out, stderr: err });
        });
      });
      return { child, stdout: () => out, stderr: () => err, done };
    },
    async close() {
      await gh.close();
      store.cleanup();
    },
  };
  return r;
}

/** Wait until `cond` holds (polling), failing after `ms`. */
export async function until(cond: () => boolean, ms = 15_000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** No GitHub token and no whole cookie (of any run, of the store, or `extra`) in anything the CLI printed. */
export function expectNoLeaks(r: Rig, extra: string[] = []): void {
  const text = r.output.join('\n');
  expect(text).not.toContain(r.gh.token);
  const cookies = [...r.gh.runs.flatMap((run) => run.cookies), ...Object.values(r.store.keys()).flat(), ...extra];
  expect(leakedSecrets(text, cookies)).toEqual([]);
}

/**
 * A test file's rig: `setup(opts, env)` starts one (after `prepare`, e.g. seeding the store), and
 * the rig of each test is closed after it.
 */
export function useRig(prepare?: (r: Rig) => void): (opts?: FakeGitHubOptions, env?: Record<string, string>) => Promise<Rig> {
  let current: Rig | undefined;
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return async (opts = {}, env = {}) => {
    current = await rig(opts, env);
    prepare?.(current);
    return current;
  };
}
