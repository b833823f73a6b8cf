import { Command } from '../commander.js';
import { contextOf } from '../context.js';
import { UsageError } from '../errors.js';

/** Exit status of a menu left with Ctrl-C. */
const INTERRUPTED = 130;

export const NON_INTERACTIVE_HINT = [
  'the same operations without the menu:',
  '  cookie-pool status',
  '  cookie-pool invalid list | add <cookie...> | remove <cookie...> | clear --yes | purge',
  '  cookie-pool cookies add <key> <cookie...>',
].join('\n');

export const manageCommand = (): Command =>
  new Command('manage')
    .description('interactive menu over the invalid list and the api keys (also: manage-invalid-cookies)')
    .action(async (_opts, cmd: Command) => {
      const ctx = contextOf(cmd);
      if (ctx.io.json) throw new UsageError('manage is an interactive menu and has no --json output', NON_INTERACTIVE_HINT);
      if (!ctx.io.isInteractive) {
        throw new UsageError('manage needs an interactive terminal (stdin and stdout must be a TTY)', NON_INTERACTIVE_HINT);
      }
      // The menu and inquirer load only here, so other commands start fast.
      const { runMenu } = await import('../ui/menu.js');
      // Ctrl-C ends the menu with 130, the exit status of a program interrupted by SIGINT.
      if ((await runMenu(ctx)) === 'interrupted') process.exitCode = INTERRUPTED;
    });
