/**
 * What every command gets: IO, the environment, the pool. Built from the global flags
 * (`cmd.optsWithGlobals()`), injectable in tests.
 */
import type { Command } from 'commander';
import { dirname } from 'node:path';
import { loadEnv, poolBackend, stateDir, storePaths, type Env } from './config.js';
import { warnWritableByOthers } from './permissions.js';
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
}

export function createContext(opts: GlobalOptions, overrides: Partial<AppContext> = {}): AppContext {
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
  return {
    io,
    env,
    envFile,
    pool: openPool({ backend, env, dataDirFlag: opts.dataDir, forceFile: opts.forceFile, notice: (line) => io.info(line) }),
    stateDir: state,
    dataDirFlag: opts.dataDir,
    nowSec: () => Math.floor(Date.now() / 1000),
    ...overrides,
  };
}

/** The context of a commander action: global flags merged with the command's own. */
export function contextOf(cmd: Command): AppContext {
  return createContext(cmd.optsWithGlobals<GlobalOptions>());
}
