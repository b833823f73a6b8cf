/** Run the built CLI as a child process against a temp data dir. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'cookie-pool.js');
export const MENU_BIN = join(ROOT, 'bin', 'manage-invalid-cookies.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string;
  bin?: string;
  timeoutMs?: number;
}

/** A clean environment: no inherited configuration, no colour unless asked. */
export function baseEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', NO_COLOR: '1' };
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    // `--` ends node's own options: Node 20 would otherwise take our --env-file for its own.
    const child = spawn(process.execPath, ['--', opts.bin ?? BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: baseEnv(opts.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

/** A temp working dir with a `data/` folder; `cleanup()` removes it. */
export class TempStore {
  readonly dir: string;
  readonly dataDir: string;
  constructor(prefix = 'cookie-pool-test-') {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.dataDir = join(this.dir, 'data');
  }
  get keysFile(): string {
    return join(this.dataDir, 'api_keys.json');
  }
  get invalidFile(): string {
    return join(this.dataDir, 'invalid_cookies.json');
  }
  writeKeys(value: unknown): void {
    mkdirSync(this.dataDir, { recursive: true });
    writeFileSync(this.keysFile, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  }
  writeInvalid(value: unknown): void {
    mkdirSync(this.dataDir, { recursive: true });
    writeFileSync(this.invalidFile, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  }
  keys(): Record<string, string[]> {
    return existsSync(this.keysFile) ? JSON.parse(readFileSync(this.keysFile, 'utf8')) : {};
  }
  invalid(): string[] {
    return existsSync(this.invalidFile) ? JSON.parse(readFileSync(this.invalidFile, 'utf8')) : [];
  }
  /** Run the CLI with this store as DATA_DIR and this dir as the working dir. */
  run(args: string[], opts: RunOptions = {}): Promise<RunResult> {
    return runCli(args, { cwd: this.dir, ...opts, env: { DATA_DIR: this.dataDir, ...opts.env } });
  }
  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
  /**
   * A runner over this store with `env` under each call's own, keeping every stdout and stderr in
   * `output` (for the no-secret-in-any-output assertions).
   */
  recordingRunner(env: Record<string, string>, output: string[]): (args: string[], o?: RunOptions) => Promise<RunResult> {
    return async (args, o = {}) => {
      const res = await this.run(args, { ...o, env: { ...env, ...o.env } });
      output.push(res.stdout, res.stderr);
      return res;
    };
  }
}

/** Assert helper: no whole cookie appears in the text. */
export function leakedSecrets(text: string, secrets: string[]): string[] {
  return secrets.filter((s) => s.length > 12 && text.includes(s));
}
