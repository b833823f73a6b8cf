/**
 * What every command gets: IO, the environment, the pool. Built from the global flags
 * (`cmd.optsWithGlobals()`), injectable in tests.
 */
import type { Command } from 'commander';
import { dirname } from 'node:path';
import { loadEnv, poolBackend, stateDir, storePaths, type Env } from './config.js';
import { UsageError } from './errors.js';
import { warnWritableByOthers } from './permissions.js';
import { eventForCommand, RecordingPool, historyRecorder } from './services/history.js';
import { openPool } from './store/open.js';
import type { Pool } from './store/pool.js';
import { IO } from './ui/io.js';

export interface GlobalOptions {
  dataDir?: string;
  envFile?: string;
  backend?: string;
  forceFile?: boolean;
  json?: boolean;
  reveal?: boolean;
  color?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

export interface AppContext {
  io: IO;
  env: Env;
  envFile: string | undefined;
  /** Where the pool lives (SPEC §9): the JSON files, a running proxy, cursor-api's token files. */
  pool: Pool;
  /** cookie-pool's own state: the refresh lock, history (SPEC §10), alert cool-downs. */
  stateDir: string;
  /** `--data-dir` as given (it overrides DATA_DIR and the per-file variables). */
  dataDirFlag: string | undefined;
  /** Current time in seconds; injectable for tests of expiry. */
  nowSec: () => number;
  /** Current time in ms (history times; the same clock as nowSec). */
  nowMs: () => number;
}

/**
 * FOR TESTS: `COOKIE_POOL_NOW` (an ISO time or epoch seconds) stops this process's clock at that
 * moment (what `nowSec`/`nowMs` return), so tests of expiry, history and forecast get exact
 * figures without sleeping. Durations are still measured on the real clock.
 */
function fixedClockMs(env: Env): number | undefined {
  const raw = env.COOKIE_POOL_NOW?.trim();
  if (!raw) return undefined;
  const at = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) * 1000 : Date.parse(raw);
  if (!Number.isFinite(at)) throw new UsageError(`COOKIE_POOL_NOW must be an ISO time or epoch seconds, got "${raw}"`);
  return at;
}

/**
 * `command`: the command's path (`cookies add`), which names the history event of its pool
 * changes (SPEC §10).
 */
export function createContext(opts: GlobalOptions, overrides: Partial<AppContext> = {}, command?: string): AppContext {
  const { env, envFile } = loadEnv(opts.envFile);
  const noColor = opts.color === false || ('NO_COLOR' in env && env.NO_COLOR !== '');
  const io =
    overrides.io ??
    new IO({ json: opts.json, quiet: opts.quiet, verbose: opts.verbose, reveal: opts.reveal, color: noColor ? false : undefined });
  const backend = poolBackend(env, opts.backend);
  const state = stateDir(env, opts.dataDir, backend);
  const store = backend === 'file' ? storePaths(env, opts.dataDir) : undefined;
  warnWritableByOthers(io, {
    envFile,
    dirs: [state, ...(store ? [store.dataDir, dirname(store.keysFile), dirname(store.invalidFile)] : [])],
  });
  const fixedMs = fixedClockMs(env);
  const nowMs = fixedMs === undefined ? () => Date.now() : () => fixedMs;
  const ctx: AppContext = {
    io,
    env,
    envFile,
    pool: openPool({ backend, env, dataDirFlag: opts.dataDir, forceFile: opts.forceFile, notice: (line) => io.info(line) }),
    stateDir: state,
    dataDirFlag: opts.dataDir,
    nowSec: () => Math.floor(nowMs() / 1000),
    nowMs,
    ...overrides,
  };
  // Every change to the pool, whatever the backend, is recorded in the history.
  if (!overrides.pool) ctx.pool = new RecordingPool(ctx.pool, historyRecorder(ctx), { event: eventForCommand(command) });
  return ctx;
}

/** The context of a commander action: global flags merged with the command's own. */
export function contextOf(cmd: Command): AppContext {
  const path: string[] = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) path.unshift(c.name());
  return createContext(cmd.optsWithGlobals<GlobalOptions>(), {}, path.join(' '));
}
