/**
 * `team members` · `team usage` · `team spend` (SPEC §8). Thin: options here, the work in
 * src/services/team.ts, loaded lazily so other commands start fast.
 */
import { Command, InvalidArgumentError, Option } from '../commander.js';
import { contextOf, type AppContext } from '../context.js';

function positiveInt(what: string) {
  return (raw: string): number => {
    if (!/^\s*\d+\s*$/.test(raw) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
      throw new InvalidArgumentError(`${what} must be a whole number ≥ 1.`);
    }
    return Number(raw);
  };
}

const formatOption = (): Option =>
  new Option('--format <format>', 'output format (default: table; --json means json)').choices(['table', 'json', 'csv']);

async function load() {
  const [svc, out, api] = await Promise.all([
    import('../services/team.js'),
    import('../ui/team-output.js'),
    import('../cursor/admin-api.js'),
  ]);
  const client = (ctx: AppContext) => api.adminClientFromEnv(ctx.env, { debug: (line) => ctx.io.debug(line) });
  return { svc, out, client };
}

export const teamCommand = (): Command => {
  const team = new Command('team').description('your Cursor team through the Admin API (CURSOR_ADMIN_API_KEY): members, usage, spend');

  team
    .command('members')
    .description('team members: name, email, role')
    .addOption(formatOption())
    .action(async (opts: { format?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { svc, out, client } = await load();
      const format = out.resolveFormat(opts.format, ctx.io.json);
      const members = await svc.fetchMembers(client(ctx));
      await out.renderMembers(ctx.io, members, format);
    });

  team
    .command('usage')
    .description('daily usage per member (ranges over 90 days are fetched in 90-day windows) with totals')
    .option('--from <date>', 'first day, YYYY-MM-DD (UTC) or epoch ms (default: 29 days before --to)')
    .option('--to <date>', 'last day, included, YYYY-MM-DD (UTC) or epoch ms (default: today)')
    .option('--email <email>', 'only this member')
    .addOption(formatOption())
    .action(async (opts: { from?: string; to?: string; email?: string; format?: string }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { svc, out, client } = await load();
      const format = out.resolveFormat(opts.format, ctx.io.json);
      const range = svc.resolveRange(opts.from, opts.to, Date.now());
      const api = client(ctx);
      const report = await svc.fetchUsage(api, range, {
        email: opts.email,
        onWindow: (i, n, w) => {
          if (n > 1) ctx.io.info(`usage ${i + 1}/${n}: ${svc.isoDay(w.startDate)} → ${svc.isoDay(w.endDate)}`);
        },
      });
      await out.renderUsage(ctx.io, report, format);
    });

  team
    .command('spend')
    .description('spend per member in the current billing cycle')
    .option('--search <text>', 'only members whose name or email matches')
    .addOption(new Option('--sort <key>', 'sort key').choices(['amount', 'date', 'user']))
    .addOption(new Option('--order <dir>', 'sort direction').choices(['asc', 'desc']))
    .addOption(new Option('--page <n>', 'page to show (default: 1)').argParser(positiveInt('--page')).conflicts('all'))
    .addOption(new Option('--page-size <n>', 'members per page').argParser(positiveInt('--page-size')))
    .option('--all', 'every page (follows totalPages)')
    .addOption(formatOption())
    .action(
      async (
        opts: { search?: string; sort?: 'amount' | 'date' | 'user'; order?: 'asc' | 'desc'; page?: number; pageSize?: number; all?: boolean; format?: string },
        cmd: Command,
      ) => {
        const ctx = contextOf(cmd);
        const { svc, out, client } = await load();
        const format = out.resolveFormat(opts.format, ctx.io.json);
        const report = await svc.fetchSpend(client(ctx), opts, (page, total) => ctx.io.debug(`spend page ${page}/${total}`));
        await out.renderSpend(ctx.io, report, format, Boolean(opts.all));
      },
    );

  return team;
};
