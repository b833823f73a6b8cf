import { Command } from '../commander.js';
import { envJson } from '../config.js';
import { contextOf } from '../context.js';
import { requireMultiKey } from '../store/open.js';
import { UsageError } from '../errors.js';
import { renderTable } from '../ui/table.js';

// Services and renderers load inside the actions, so other commands start without them.
const pool = () => import('../services/pool.js');
const view = () => import('../ui/pool.js');
const input = () => import('../services/cookie-input.js');

/** Commander collector for repeatable options. */
const collect = (value: string, previous: string[] = []): string[] => previous.concat(value);

export const keysCommand = (): Command => {
  const keys = new Command('keys').description('api keys: list, add, remove, import-env');

  keys
    .command('list')
    .description('list the api keys and how many cookies each holds')
    .action(async (_opts, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const snap = await ctx.pool.read();
      const rows = Object.entries(snap.keys).map(([apiKey, cookies]) => ({ apiKey, cookies: cookies.length }));
      if (io.json) {
        io.printJson({ keys: rows });
        return;
      }
      if (rows.length === 0) {
        io.out(`No api keys in ${ctx.pool.describe().where}. Add one with: cookie-pool keys add <key> [cookie...]`);
        return;
      }
      io.out(renderTable(['API KEY', 'COOKIES'], rows.map((r) => [r.apiKey, r.cookies]), { align: ['left', 'right'], color: io.c.level > 0 }));
    });

  keys
    .command('add <key> [cookie...]')
    .description('create an api key, optionally with cookies (`-` reads cookies from stdin)')
    .option('--from-file <file>', 'read cookies from a file (one a line, CSV, or JSON list; `-` = stdin; repeatable)', collect)
    .action(async (apiKey: string, args: string[], opts: { fromFile?: string[] }, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const [{ addCookies, exitCodeFor, failedRefusals }, { gatherCookies }] = await Promise.all([pool(), input()]);
      const { plural, printRefusals, refusalsJson, refusedSuffix, appliedJson, finishApplied } = await view();
      // The key-name rule applies only if the key is created: addCookies checks it under the lock.
      requireMultiKey(ctx.pool, 'creating an api key');
      const candidates = await gatherCookies(args, opts.fromFile ?? [], io.stdin);
      const applied = await ctx.pool.update((snap) => addCookies(snap, apiKey, candidates, ctx.nowSec(), { create: true }));
      const r = applied.result;
      const code = finishApplied(io, applied, exitCodeFor(r.added + (r.created ? 1 : 0), failedRefusals(r.refusals)));
      if (io.json) {
        io.printJson({ ok: code === 0, ...r, ...appliedJson(io, applied), refusals: refusalsJson(io, r.refusals), exitCode: code });
      } else {
        printRefusals(io, r.refusals);
        const what = r.created ? `Created api key ${io.c.bold(apiKey)}` : `Api key ${io.c.bold(apiKey)} already exists`;
        const refused = refusedSuffix(r);
        io.out(`${what}: added ${plural(r.added, 'cookie')}, now ${r.after}${refused}.`);
      }
      process.exitCode = code;
    });

  keys
    .command('remove <key>')
    .description('remove an api key and its cookies (file backend: the previous file stays in .backups/ beside it)')
    .action(async (apiKey: string, _opts, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const { removeKey } = await pool();
      requireMultiKey(ctx.pool, 'removing an api key');
      const { plural, appliedJson, finishApplied } = await view();
      const applied = await ctx.pool.update((snap) => removeKey(snap, apiKey));
      const r = applied.result;
      if (io.json) io.printJson({ ok: true, removed: r.apiKey, cookies: r.cookies, ...appliedJson(io, applied) });
      else io.out(`Removed api key ${io.c.bold(apiKey)} with its ${plural(r.cookies, 'cookie')}.`);
      process.exitCode = finishApplied(io, applied, 0);
    });

  keys
    .command('import-env')
    .description('merge API_KEYS (JSON {key: cookie or [cookies]}) into the store')
    .action(async (_opts, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      const { exitCodeFor, failedRefusals, importEnvKeys, parseApiKeysEnv } = await pool();
      const { plural, printRefusals, refusalsJson, refusedSuffix, appliedJson, finishApplied } = await view();
      const raw = envJson(ctx.env, 'API_KEYS');
      if (raw === undefined) throw new UsageError('API_KEYS is not set', 'set API_KEYS=\'{"<apiKey>": ["<cookie>", ...]}\' in the environment or .env');
      const wanted = parseApiKeysEnv(raw);
      const applied = await ctx.pool.update((snap) => importEnvKeys(snap, wanted, ctx.nowSec()));
      const r = applied.result;
      const created = r.keys.filter((k) => k.created).length;
      const code = finishApplied(io, applied, exitCodeFor(r.added + created, failedRefusals(r.refusals)));
      if (io.json) {
        io.printJson({ ok: code === 0, ...r, ...appliedJson(io, applied), refusals: refusalsJson(io, r.refusals), exitCode: code });
      } else {
        printRefusals(io, r.refusals);
        if (r.keys.length) {
          io.out(
            renderTable(
              ['API KEY', 'BEFORE', 'ADDED', 'AFTER', ''],
              r.keys.map((k) => [k.apiKey, k.before, k.added, k.after, k.created ? io.c.green('new') : '']),
              { align: ['left', 'right', 'right', 'right', 'left'], color: io.c.level > 0 },
            ),
          );
        }
        const refused = refusedSuffix(r);
        io.out(`Imported API_KEYS: ${plural(created, 'new key')}, ${plural(r.added, 'cookie')} added${refused}.`);
      }
      process.exitCode = code;
    });

  return keys;
};
