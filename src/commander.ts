/**
 * commander, loaded through `require`: its CommonJS entry loads in about half the time of the
 * ESM wrapper (no CJS-to-ESM export scan), which is a tenth of `status`'s start-up.
 * Import commander's values from here; types may come from 'commander' directly.
 */
import { createRequire } from 'node:module';
import type * as Commander from 'commander';

const require = createRequire(import.meta.url);

/**
 * The copy installed beside us is required by its path: resolving the name `commander` goes
 * through its package `exports`, and Node's resolver then compiles a large regular expression (its
 * check for `node_modules` segments in export targets) at every start — about 3% of `status`.
 * Where npm hoisted commander elsewhere, the name is resolved as usual.
 */
function loadCommander(): typeof Commander {
  try {
    return require('../node_modules/commander/index.js') as typeof Commander;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    return require('commander') as typeof Commander;
  }
}

const commander = loadCommander();

export const { Command, CommanderError, InvalidArgumentError, Option } = commander;
export type Command = Commander.Command;
export type CommanderError = Commander.CommanderError;
export type InvalidArgumentError = Commander.InvalidArgumentError;
export type Option = Commander.Option;
