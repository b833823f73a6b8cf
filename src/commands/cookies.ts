import { Command } from '../commander.js';
import { contextOf } from '../context.js';
import { UsageError } from '../errors.js';

// Services and renderers load inside the actions, so other commands start without them.
const pool = () => import('../services/pool.js');
const view = () => import('../ui/pool.js');
const input = () => import('../services/cookie-input.js');

/** Commander collector for repeatable options. */
const collect = (value: string, previous: string[] = []): string[] => previous.concat(value);

export const cookiesCommand = (): Command => {
  const cookies = new Command('cookies').description('the cookies of an api key: list, add, remove');

  cookies
    .command('list [key]')
    .description('list the cookies of one key (or of every key), masked unless --reveal')
    .action(async (apiKey: string | undefined, _opts, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const [{ identitySet }, { cookieRow, cookieTable, plural }, { unknownKey }] = await Promise.all([import('../core/merge.js'), view(), pool()]);
      const snap = await ctx.pool.read();
      if (apiKey !== undefined && !Object.hasOwn(snap.keys, apiKey)) throw unknownKey(apiKey, snap.keys);
      const now = ctx.nowSec();
      const invalidIds = identitySet(snap.invalid);
      const selected = apiKey === undefined ? Object.entries(snap.keys) : [[apiKey, snap.keys[apiKey]!] as const];
      const keys = selected.map(([k, list]) => ({ apiKey: k, cookies: list.map((c) => cookieRow(io, c, now, invalidIds)) }));
      if (io.json) {
        io.printJson({ keys });
        return;
      }
      if (keys.length === 0) {
        io.out(`No api keys in ${ctx.pool.describe().where}.`);
        return;
      }
      keys.forEach((k, i) => {
        if (i > 0) io.out();
        io.out(`${io.c.bold(k.apiKey)}  ${plural(k.cookies.length, 'cookie')}`);
        if (k.cookies.length) io.out(cookieTable(io, k.cookies));
      });
    });

  cookies
    .command('add <key> [cookie...]')
    .description('add cookies to a key; refuses malformed, expired, duplicate and known-invalid ones (`-` reads stdin)')
    .option('--from-file <file>', 'read cookies from a file (one a line, CSV, or JSON list; `-` = stdin; repeatable)', collect)
    .action(async (apiKey: string, args: string[], opts: { fromFile?: string[] }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      if (args.length === 0 && (opts.fromFile ?? []).length === 0) {
        throw new UsageError('no cookies given', 'pass cookies as arguments, `-` to read stdin, or --from-file FILE');
      }
      const [{ addCookies, exitCodeFor, failedRefusals }, { gatherCookies }] = await Promise.all([pool(), input()]);
      const { plural, printRefusals, refusalsJson, refusedSuffix, appliedJson, finishApplied } = await view();
      const candidates = await gatherCookies(args, opts.fromFile ?? [], io.stdin);
      const applied = await ctx.pool.update((snap) => addCookies(snap, apiKey, candidates, ctx.nowSec()));
      const r = applied.result;
      const code = finishApplied(io, applied, exitCodeFor(r.added, failedRefusals(r.refusals)));
      if (io.json) {
        io.printJson({ ok: code === 0, ...r, ...appliedJson(io, applied), refusals: refusalsJson(io, r.refusals), exitCode: code });
      } else {
        printRefusals(io, r.refusals);
        const refused = refusedSuffix(r);
        const added = r.added ? io.c.green(plural(r.added, 'cookie')) : plural(0, 'cookie');
        io.out(`Added ${added} to ${io.c.bold(apiKey)} (now ${r.after})${refused}.`);
      }
      process.exitCode = code;
    });

  cookies
    .command('remove <key> <cookie...>')
    .description('remove cookies from a key, matched by identity (any form of a cookie removes it)')
    .option('--invalidate', 'also add the removed cookies to the invalid list')
    .action(async (apiKey: string, args: string[], opts: { invalidate?: boolean }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const [{ exitCodeFor, removeCookies }, { gatherCookies }] = await Promise.all([pool(), input()]);
      const { plural, appliedJson, finishApplied } = await view();
      const given = await gatherCookies(args, [], io.stdin);
      const applied = await ctx.pool.update((snap) => removeCookies(snap, apiKey, given, { invalidate: opts.invalidate }));
      const r = applied.result;
      const code = finishApplied(io, applied, exitCodeFor(given.length - r.notFound.length, r.notFound.length));
      if (io.json) {
        io.printJson({ ok: code === 0, ...r, ...appliedJson(io, applied), notFound: r.notFound.map((c) => io.cookie(c)), exitCode: code });
      } else {
        for (const c of r.notFound) io.warn(`not in ${apiKey}: ${io.cookie(c)}`);
        const inv = opts.invalidate ? `, ${plural(r.invalidated, 'cookie')} added to the invalid list` : '';
        io.out(`Removed ${plural(r.removed, 'cookie')} from ${io.c.bold(apiKey)} (now ${r.after})${inv}.`);
      }
      process.exitCode = code;
    });

  return cookies;
};
