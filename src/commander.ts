/**
 * commander, loaded through `require`: its CommonJS entry loads in about half the time of the
 * ESM wrapper (no CJS-to-ESM export scan), which is a tenth of `status`'s start-up.
 * Import commander's values from here; types may come from 'commander' directly.
 */
import { createRequire } from 'node:module';
import type * as Commander from 'commander';

const commander = createRequire(import.meta.url)('commander') as typeof Commander;

export const { Command, CommanderError, InvalidArgumentError, Option } = commander;
export type Command = Commander.Command;
export type CommanderError = Commander.CommanderError;
export type InvalidArgumentError = Commander.InvalidArgumentError;
export type Option = Commander.Option;
