/**
 * commander, as every command imports it. The bundle (rollup.config.mjs) compiles it into the
 * start-up chunk, with a stand-in for the `node:child_process` its command module requires at the
 * top (only to spawn stand-alone executable subcommands, which cookie-pool does not have).
 */
export { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
