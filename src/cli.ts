/**
 * Builds the program and runs it with the one error handler: a CliError prints its message
 * (and hint) on stderr and exits with its code; with --json stdout still gets one document.
 */
import { Command, CommanderError, Option } from './commander.js';
import { CliError, EXIT } from './errors.js';
import { stdColumns, writeStd } from './stdio.js';
import { loadColours } from './ui/io.js';
import { printableLines } from './ui/text.js';

/**
 * Every command, loaded on demand: a run loads only the module of the command it runs (quick
 * commands start fast); help and unknown commands load them all.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  status: async () => (await import('./commands/status.js')).statusCommand(),
  keys: async () => (await import('./commands/keys.js')).keysCommand(),
  cookies: async () => (await import('./commands/cookies.js')).cookiesCommand(),
  invalid: async () => (await import('./commands/invalid.js')).invalidCommand(),
  manage: async () => (await import('./commands/manage.js')).manageCommand(),
  import: async () => (await import('./commands/import.js')).importCommand(),
  refresh: async () => (await import('./commands/refresh.js')).refreshCommand(),
  workflow: async () => (await import('./commands/workflow.js')).workflowCommand(),
  check: async () => (await import('./commands/check.js')).checkCommand(),
  schedule: async () => (await import('./commands/schedule.js')).scheduleCommand(),
  doctor: async () => (await import('./commands/doctor.js')).doctorCommand(),
  team: async () => (await import('./commands/team.js')).teamCommand(),
  notify: async () => (await import('./commands/notify.js')).notifyCommand(),
  history: async () => (await import('./commands/history.js')).historyCommand(),
};

/** Global options that take a value (their value is not the command name). */
const GLOBAL_WITH_VALUE = new Set(['--data-dir', '--env-file', '--backend']);

/** The command named on the command line, if it is one of ours. */
export function commandName(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (GLOBAL_WITH_VALUE.has(a)) i++;
    else if (a === '--') return undefined;
    else if (!a.startsWith('-')) return Object.hasOwn(COMMANDS, a) ? a : undefined;
  }
  return undefined;
}

/** The program with every command (`only`: just that one, for a run of it; `null`: none, for --version). */
export async function buildProgram(only?: string | null): Promise<Command> {
  const program = new Command('cookie-pool')
    .description('Keep the cookie pool of a Cursor-to-OpenAI proxy healthy.')
    .version('0.1.0', '-V, --version')
    .option('--data-dir <dir>', 'key store folder (default: $DATA_DIR or ./data)')
    .option('--env-file <path>', 'env file to load instead of ./.env')
    .option('--backend <name>', 'where the pool lives: file, proxy, token-file, token-api (default: $POOL_BACKEND, proxy when PROXY_ADMIN_URL is set, else file)')
    .option('--force-file', 'write the key store files even while a running proxy has them loaded (it will overwrite them)')
    .option('--json', 'machine-readable output on stdout')
    .option('--reveal', 'print cookies whole instead of masked')
    .option('--no-color', 'no colours (also NO_COLOR)')
    .option('-q, --quiet', 'no progress on stderr')
    .option('-v, --verbose', 'more detail on stderr')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  const names = only ? [only] : only === null ? [] : Object.keys(COMMANDS);
  for (const c of await Promise.all(names.map((n) => COMMANDS[n]!()))) program.addCommand(c);
  // Usage errors in subcommands exit 2 too; each command's --help lists the global flags as well.
  for (const c of allCommands(program)) c.exitOverride().configureHelp({ showGlobalOptions: true }).configureOutput(OUTPUT);
  return program.configureOutput(OUTPUT);
}

/** Help and usage errors go out the way everything else does (../stdio.ts), closed pipes included. */
const OUTPUT = {
  writeOut: (text: string) => writeStd(1, text),
  writeErr: (text: string) => writeStd(2, text),
  getOutHelpWidth: () => stdColumns(1) ?? 80,
  getErrHelpWidth: () => stdColumns(2) ?? 80,
};

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

function wantsJson(argv: string[]): boolean {
  return argv.includes('--json') || argv.includes('--format=json') || argv.some((a, i) => a === '--format' && argv[i + 1] === 'json');
}

export async function main(argv: string[]): Promise<void> {
  // Output goes through ../stdio.ts, where `cookie-pool ... | head` (a closed pipe) ends the run quietly.
  const args = argv.slice(2);
  await loadColours();
  // `--version` before any command prints the version and stops: no command module need load.
  const name = commandName(args) ?? (args.some((a) => a === '-V' || a === '--version') ? null : undefined);
  const program = await buildProgram(name);
  try {
    await program.parseAsync(argv);
  } catch (e) {
    process.exitCode = reportError(e, wantsJson(argv.slice(2)));
  }
}

/** Print an error and return the exit code. */
export function reportError(e: unknown, json: boolean): number {
  if (e instanceof CommanderError) {
    // --help and --version end with a CommanderError too.
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.OK;
    // `commander.help` with a non-zero exit code: a command group (`keys`) without its subcommand.
    if (e.code === 'commander.help' && e.exitCode === 0) return EXIT.OK;
    // commander has printed the error (or the help) on stderr already; --json still gets its one document.
    const message = e.code === 'commander.help' ? 'a subcommand is required (see --help)' : e.message.replace(/^error: /, '');
    if (json) printJsonError(message, EXIT.USAGE);
    return EXIT.USAGE;
  }
  const code = e instanceof CliError ? e.exitCode : EXIT.FAILURE;
  // Messages often quote the outside world (GitHub's and the Admin API's words, zip entry names).
  const message = printableLines(e instanceof Error ? e.message : String(e));
  writeStd(2, `cookie-pool: ${message}\n`);
  if (e instanceof CliError && e.hint) writeStd(2, `hint: ${printableLines(e.hint)}\n`);
  if (!(e instanceof CliError) && process.env.COOKIE_POOL_DEBUG && e instanceof Error) writeStd(2, `${e.stack}\n`);
  if (json) printJsonError(message, code);
  return code;
}

function printJsonError(error: string, exitCode: number): void {
  writeStd(1, `${JSON.stringify({ ok: false, error, exitCode }, null, 2)}\n`);
}

export { Option };
