import { Command } from '../commander.js';
import { contextOf } from '../context.js';
import { CliError, UsageError } from '../errors.js';
import { renderTable } from '../ui/table.js';

// Services and renderers load inside the actions, so other commands start without them.
const pool = () => import('../services/pool.js');
const invalidService = () => import('../services/invalid.js');
const view = () => import('../ui/pool.js');
const input = () => import('../services/cookie-input.js');

/** Commander collector for repeatable options. */
const collect = (value: string, previous: string[] = []): string[] => previous.concat(value);

/** Exit code of a prompt the user interrupted with Ctrl-C. */
const INTERRUPTED = 130;

export const invalidCommand = (): Command => {
  const invalid = new Command('invalid').description('the invalid-cookie list: list, add, remove, clear, purge');

  invalid
    .command('list')
    .description('list the invalid cookies, masked unless --reveal')
    .action(async (_opts, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const { cookieRow, cookieTable, plural, appliedJson, finishApplied } = await view();
      const snap = await ctx.pool.read();
      if (io.json) {
        io.printJson({ count: snap.invalid.length, invalid: snap.invalid.map((c) => io.cookie(c)) });
        return;
      }
      if (snap.invalid.length === 0) {
        io.out('The invalid list is empty.');
        return;
      }
      const now = ctx.nowSec();
      io.out(cookieTable(io, snap.invalid.map((c) => cookieRow(io, c, now)), { state: false }));
      io.out(`\n${plural(snap.invalid.length, 'cookie')} in the invalid list.`);
    });

  invalid
    .command('add [cookie...]')
    .description('mark cookies invalid: add them to the list and take them out of every api key (`-` reads stdin)')
    .option('--from-file <file>', 'read cookies from a file (one a line, CSV, or JSON list; `-` = stdin; repeatable)', collect)
    .option('--keep-in-keys', 'only add to the list; leave the api keys alone (see `invalid purge`)')
    .action(async (args: string[], opts: { fromFile?: string[]; keepInKeys?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      if (args.length === 0 && (opts.fromFile ?? []).length === 0) {
        throw new UsageError('no cookies given', 'pass cookies as arguments, `-` to read stdin, or --from-file FILE');
      }
      const [{ addInvalid }, { exitCodeFor, failedRefusals }, { gatherCookies }] = await Promise.all([invalidService(), pool(), input()]);
      const { plural, printRefusals, refusalsJson, refusedSuffix, appliedJson, finishApplied } = await view();
      const candidates = await gatherCookies(args, opts.fromFile ?? [], io.stdin);
      const applied = await ctx.pool.update((snap) => addInvalid(snap, candidates, { keepInKeys: opts.keepInKeys }));
      const r = applied.result;
      const code = finishApplied(io, applied, exitCodeFor(r.added, failedRefusals(r.refusals)));
      if (io.json) {
        io.printJson({ ok: code === 0, ...r, ...appliedJson(io, applied), refusals: refusalsJson(io, r.refusals), exitCode: code });
      } else {
        printRefusals(io, r.refusals);
        const refused = refusedSuffix(r);
        io.out(`Added ${plural(r.added, 'cookie')} to the invalid list${refused}.`);
        for (const k of r.keys) io.out(`  ${io.c.bold(k.apiKey)}: removed ${k.removed}, now ${k.after}`);
        if (r.removedFromKeys) io.out(`Removed ${plural(r.removedFromKeys, 'cookie')} from api keys.`);
      }
      process.exitCode = code;
    });

  invalid
    .command('remove <cookie...>')
    .description('take cookies off the invalid list (matched by identity)')
    .action(async (args: string[], _opts, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const [{ removeInvalid }, { exitCodeFor }, { gatherCookies }] = await Promise.all([invalidService(), pool(), input()]);
      const { plural, appliedJson, finishApplied } = await view();
      const given = await gatherCookies(args, [], io.stdin);
      const applied = await ctx.pool.update((snap) => removeInvalid(snap, given));
      const r = applied.result;
      const code = finishApplied(io, applied, exitCodeFor(given.length - r.notFound.length, r.notFound.length));
      if (io.json) {
        io.printJson({ ok: code === 0, ...r, ...appliedJson(io, applied), notFound: r.notFound.map((c) => io.cookie(c)), exitCode: code });
      } else {
        for (const c of r.notFound) io.warn(`not in the invalid list: ${io.cookie(c)}`);
        io.out(`Removed ${plural(r.removed, 'cookie')} from the invalid list (now ${r.after}).`);
      }
      process.exitCode = code;
    });

  invalid
    .command('clear')
    .description('empty the invalid list (asks first; --yes when not interactive)')
    .option('-y, --yes', 'do not ask for confirmation')
    .action(async (opts: { yes?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const [{ clearInvalid }, { plural, appliedJson, finishApplied }] = await Promise.all([invalidService(), view()]);
      const count = (await ctx.pool.read()).invalid.length;
      if (count > 0 && !opts.yes) {
        if (!io.isInteractive) {
          throw new UsageError(`refusing to clear the invalid list (${plural(count, 'cookie')}) without confirmation`, 'pass --yes');
        }
        const { confirm } = await import('@inquirer/prompts');
        let sure: boolean;
        try {
          sure = await confirm(
            { message: `Clear the invalid list (${plural(count, 'cookie')})? The proxy may then accept them again.`, default: false },
            { output: io.stderr as NodeJS.WritableStream },
          );
        } catch (e) {
          if (e instanceof Error && e.name === 'ExitPromptError') throw new CliError('cancelled', INTERRUPTED);
          throw e;
        }
        if (!sure) {
          if (io.json) io.printJson({ ok: true, cleared: 0, cancelled: true });
          else io.out('Nothing cleared.');
          return;
        }
      }
      const applied = await ctx.pool.update((snap) => clearInvalid(snap));
      const r = applied.result;
      if (io.json) io.printJson({ ok: true, cleared: r.cleared, ...appliedJson(io, applied) });
      else io.out(`Cleared the invalid list (${plural(r.cleared, 'cookie')} removed).`);
      process.exitCode = finishApplied(io, applied, 0);
    });

  invalid
    .command('purge')
    .description('remove every invalid cookie from every api key')
    .action(async (_opts, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const [{ purgeInvalid }, { plural, appliedJson, finishApplied }] = await Promise.all([invalidService(), view()]);
      const applied = await ctx.pool.update((snap) => purgeInvalid(snap));
      const r = applied.result;
      if (io.json) {
        io.printJson({ ok: true, ...r, ...appliedJson(io, applied) });
        process.exitCode = finishApplied(io, applied, 0);
        return;
      }
      if (r.keys.length) {
        io.out(
          renderTable(['API KEY', 'BEFORE', 'REMOVED', 'AFTER'], r.keys.map((k) => [k.apiKey, k.before, k.removed, k.after]), {
            align: ['left', 'right', 'right', 'right'],
            color: io.c.level > 0,
          }),
        );
      }
      io.out(`Purged ${plural(r.removed, 'invalid cookie')} from ${plural(r.keys.length, 'api key')} (invalid list: ${r.invalid}).`);
      for (const k of r.keys) if (k.after === 0) io.warn(`api key ${k.apiKey} has no cookies left: run cookie-pool refresh`);
      process.exitCode = finishApplied(io, applied, 0);
    });

  return invalid;
};
