/** Run the CLI in a pseudo-terminal through test/helpers/pty_driver.py (python3 stdlib `pty`). */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { baseEnv, BIN, ROOT } from './cli.js';

export const DRIVER = join(ROOT, 'test', 'helpers', 'pty_driver.py');

export type Step = { expect: string; timeout?: number; settle?: number } | { send: string } | { sleep: number };

export interface PtyResult {
  ok: boolean;
  failed: { index: number; step: Step; closed: boolean } | null;
  exitCode: number | null;
  signal: number | null;
  /** Screen text, ANSI escapes stripped. */
  transcript: string;
  raw: string;
}

export const KEY = {
  up: '\u001b[A',
  down: '\u001b[B',
  enter: '\r',
  ctrlC: '\u0003',
} as const;

/** `n` presses of arrow-down. */
export const down = (n: number): Step[] => Array.from({ length: n }, () => ({ send: KEY.down }));

export function runPty(
  args: string[],
  steps: Step[],
  opts: {
    env?: Record<string, string | undefined>;
    cwd?: string;
    bin?: string;
    timeout?: number;
    /** Node's own arguments before the script (default `--`, which keeps our flags from node). */
    nodeArgs?: string[];
  } = {},
): Promise<PtyResult> {
  const spec = {
    argv: [process.execPath, ...(opts.nodeArgs ?? ['--']), opts.bin ?? BIN, ...args],
    cwd: opts.cwd ?? ROOT,
    env: baseEnv({ TERM: 'xterm-256color', ...opts.env }),
    cols: 160,
    rows: 50,
    timeout: opts.timeout ?? 20,
    steps,
  };
  return new Promise((resolve, reject) => {
    const child = spawn('python3', [DRIVER], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      try {
        resolve(JSON.parse(out) as PtyResult);
      } catch {
        reject(new Error(`pty driver failed (exit ${code}): ${err}${out.slice(0, 2000)}`));
      }
    });
    child.stdin.end(JSON.stringify(spec));
  });
}
