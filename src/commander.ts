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
function requireCommander(): typeof Commander {
  try {
    return require('../node_modules/commander/index.js') as typeof Commander;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw e;
    return require('commander') as typeof Commander;
  }
}

type ModuleLoad = (request: string, parent: unknown, isMain: boolean) => unknown;

/**
 * commander requires `node:child_process` at the top of its command module, only to spawn
 * stand-alone executable subcommands, which cookie-pool does not have. That require loads
 * child_process with net and stream behind it: about a tenth of `status`'s start-up. While
 * commander loads, it gets a stand-in that requires the real module on first use, so nothing
 * changes if it ever spawns.
 */
function loadCommander(): typeof Commander {
  const Module = require('node:module') as { _load?: ModuleLoad };
  const original = Module._load;
  if (typeof original !== 'function') return requireCommander();
  let real: Record<string | symbol, unknown> | undefined;
  const lazy = new Proxy({} as Record<string | symbol, unknown>, {
    get: (_t, prop) => (real ??= original('node:child_process', null, false) as Record<string | symbol, unknown>)[prop],
  });
  Module._load = function (this: unknown, request, parent, isMain) {
    if (request === 'node:child_process' || request === 'child_process') return lazy;
    return original.call(this, request, parent, isMain);
  };
  try {
    return requireCommander();
  } finally {
    Module._load = original;
  }
}

const commander = loadCommander();

export const { Command, CommanderError, InvalidArgumentError, Option } = commander;
export type Command = Commander.Command;
export type CommanderError = Commander.CommanderError;
export type InvalidArgumentError = Commander.InvalidArgumentError;
export type Option = Commander.Option;
