/**
 * Builds the program and runs it with the one error handler: a CliError prints its message
 * (and hint) on stderr and exits with its code; with --json stdout still gets one document.
 */
import { Command, CommanderError, Option } from 'commander';
import { checkCommand } from './commands/check.js';
import { doctorCommand } from './commands/doctor.js';
import { importCommand } from './commands/import.js';
import { refreshCommand } from './commands/refresh.js';
import { scheduleCommand } from './commands/schedule.js';
import { workflowCommand } from './commands/workflow.js';
import { statusCommand } from './commands/status.js';
import { teamCommand } from './commands/team.js';
import { cookiesCommand, invalidCommand, keysCommand, manageCommand } from './commands/everyday.js';
import { CliError, EXIT } from './errors.js';

export function buildProgram(): Command {
  const program = new Command('cookie-pool')
    .description('Keep the cookie pool of a Cursor-to-OpenAI proxy healthy.')
    .version('0.1.0', '-V, --version')
    .option('--data-dir <dir>', 'key store folder (default: $DATA_DIR or ./data)')
    .option('--env-file <path>', 'env file to load instead of ./.env')
    .option('--json', 'machine-readable output on stdout')
    .option('--reveal', 'print cookies whole instead of masked')
    .option('--no-color', 'no colours (also NO_COLOR)')
    .option('-q, --quiet', 'no progress on stderr')
    .option('-v, --verbose', 'more detail on stderr')
    .showHelpAfterError('(run with --help for usage)')
    .enablePositionalOptions(false)
    .exitOverride();

  const commands: Command[] = [statusCommand(), keysCommand(), cookiesCommand(), invalidCommand(), manageCommand(), importCommand(), refreshCommand(), workflowCommand(), checkCommand(), scheduleCommand(), doctorCommand(), teamCommand()];
  for (const c of commands) program.addCommand(c);
  // Usage errors in subcommands exit 2 too.
  for (const c of allCommands(program)) c.exitOverride();
  return program;
}

function allCommands(cmd: Command): Command[] {
  return cmd.commands.flatMap((c) => [c, ...allCommands(c)]);
}

function wantsJson(argv: string[]): boolean {
  return argv.includes('--json') || argv.includes('--format=json') || argv.some((a, i) => a === '--format' && argv[i + 1] === 'json');
}

export async function main(argv: string[]): Promise<void> {
  // `cookie-pool ... | head`: a closed pipe ends the output, not with a stack trace.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  const program = buildProgram();
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
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return EXIT.OK;
    return EXIT.USAGE;
  }
  const code = e instanceof CliError ? e.exitCode : EXIT.FAILURE;
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`cookie-pool: ${message}\n`);
  if (e instanceof CliError && e.hint) process.stderr.write(`hint: ${e.hint}\n`);
  if (!(e instanceof CliError) && process.env.COOKIE_POOL_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
  if (json) process.stdout.write(`${JSON.stringify({ ok: false, error: message, exitCode: code }, null, 2)}\n`);
  return code;
}

export { Option };
