/**
 * The interactive menu (`manage`, `manage-invalid-cookies`): inquirer prompts over the same
 * services as the commands. Loaded lazily by the `manage` command only.
 */
import { select, confirm, password, input } from '@inquirer/prompts';
import { printStatus } from '../commands/status.js';
import type { AppContext } from '../context.js';
import { CliError } from '../errors.js';
import { addInvalid, clearInvalid, purgeInvalid, removeInvalidAt } from '../services/invalid.js';
import { normalizeCookieText } from '../core/cookie.js';
import type { HistoryEventName } from '../core/history.js';
import { newKeyNameProblem } from '../core/key-name.js';
import { poolAs } from '../services/history.js';
import { addCookies } from '../services/pool.js';
import type { Decide } from '../store/pool.js';
import { cookieRow, cookieTable, finishApplied, plural, printRefusals, refusedSuffix } from './pool.js';
import { renderTable } from './table.js';

type Action = 'status' | 'list' | 'add' | 'remove' | 'clear' | 'purge' | 'cookies' | 'check' | 'refresh' | 'quit';

const NEW_KEY = '\u0000new';

function isExit(e: unknown): boolean {
  return e instanceof Error && (e.name === 'ExitPromptError' || e.name === 'AbortPromptError');
}

/**
 * Cookies pasted on one line, separated by spaces, commas or semicolons: every piece is a
 * candidate (a piece that is no cookie is reported as malformed, not silently skipped).
 */
function pasted(text: string): string[] {
  return text
    .split(/[\s,;]+/)
    .map(normalizeCookieText)
    .filter((c) => c !== '');
}

/**
 * Run the menu until Quit (`'quit'`) or Ctrl-C (`'interrupted'`: the caller exits 130, as a shell
 * reports a program stopped by SIGINT).
 */
export async function runMenu(ctx: AppContext): Promise<'quit' | 'interrupted'> {
  const { io, pool: store } = ctx;
  /** Apply a change (recorded in the history as `event`) and warn about what the backend dropped (the menu goes on). */
  const storeUpdate = async <T>(event: HistoryEventName, decide: Decide<T>): Promise<T> => {
    const applied = await poolAs(store, event).update(decide);
    finishApplied(io, applied, 0);
    return applied.result;
  };
  const { c } = io;
  // A corrupt store stops the menu before it starts (exit 2, file untouched).
  await store.read();
  io.out(`${c.bold('cookie-pool')} — ${store.backend} pool ${store.describe().where}`);

  const actions: Record<Exclude<Action, 'quit'>, () => Promise<void>> = {
    async status() {
      await printStatus(ctx);
    },

    async list() {
      const { invalid } = await store.read();
      if (invalid.length === 0) return io.out('The invalid list is empty.');
      const now = ctx.nowSec();
      io.out(cookieTable(io, invalid.map((x) => cookieRow(io, x, now)), { state: false }));
      io.out(`${plural(invalid.length, 'cookie')} in the invalid list.`);
    },

    async add() {
      const text = await password({ message: 'Paste the invalid cookie(s), separated by spaces or commas:' });
      const candidates = pasted(text);
      if (candidates.length === 0) return io.out('Nothing entered.');
      const r = await storeUpdate('invalid', (snap) => addInvalid(snap, candidates));
      printRefusals(io, r.refusals);
      const refused = refusedSuffix(r);
      io.out(`Added ${plural(r.added, 'cookie')} to the invalid list${refused}.`);
      if (r.removedFromKeys) io.out(`Removed ${plural(r.removedFromKeys, 'cookie')} from api keys.`);
    },

    async remove() {
      const { invalid } = await store.read();
      if (invalid.length === 0) return io.out('The invalid list is empty.');
      const now = ctx.nowSec();
      const index = await select<number>({
        message: 'Remove which cookie from the invalid list?',
        choices: [
          ...invalid.map((x, i) => {
            const row = cookieRow(io, x, now);
            return { name: `${row.cookie}  ${row.userId ?? ''}`.trimEnd(), value: i };
          }),
          { name: 'Cancel', value: -1 },
        ],
        pageSize: 12,
        loop: false,
      });
      if (index < 0) return io.out('Nothing removed.');
      const chosen = invalid[index]!;
      const r = await storeUpdate('invalid', (snap) => removeInvalidAt(snap, index, chosen));
      io.out(r.removed ? `Removed ${io.cookie(chosen)} from the invalid list (now ${r.after}).` : 'That cookie is no longer in the list.');
    },

    async clear() {
      const { invalid } = await store.read();
      if (invalid.length === 0) return io.out('The invalid list is already empty.');
      const sure = await confirm({ message: `Clear the whole invalid list (${plural(invalid.length, 'cookie')})?`, default: false });
      if (!sure) return io.out('Nothing cleared.');
      const r = await storeUpdate('invalid', (snap) => clearInvalid(snap));
      io.out(`Cleared the invalid list (${plural(r.cleared, 'cookie')} removed).`);
    },

    async purge() {
      const r = await storeUpdate('purge', (snap) => purgeInvalid(snap));
      if (r.keys.length) {
        io.out(
          renderTable(['API KEY', 'BEFORE', 'REMOVED', 'AFTER'], r.keys.map((k) => [k.apiKey, k.before, k.removed, k.after]), {
            align: ['left', 'right', 'right', 'right'],
            color: c.level > 0,
          }),
        );
      }
      io.out(`Purged ${plural(r.removed, 'invalid cookie')} from ${plural(r.keys.length, 'api key')}.`);
    },

    async cookies() {
      const { keys } = await store.read();
      const names = Object.keys(keys);
      let apiKey = await select<string>({
        message: 'Add cookies to which api key?',
        choices: [
          ...names.map((k) => ({ name: `${k} (${plural(keys[k]!.length, 'cookie')})`, value: k })),
          { name: 'A new api key…', value: NEW_KEY },
        ],
        pageSize: 12,
        loop: false,
      });
      if (apiKey === NEW_KEY) {
        apiKey = await input({
          message: 'Name of the new api key:',
          validate: (v) => newKeyNameProblem(v) ?? (names.includes(v) ? 'that key exists already' : true),
        });
      }
      const text = await password({ message: `Paste the cookie(s) for ${apiKey}, separated by spaces or commas:` });
      const candidates = pasted(text);
      if (candidates.length === 0) return io.out('Nothing entered.');
      const key = apiKey;
      const r = await storeUpdate('add', (snap) => addCookies(snap, key, candidates, ctx.nowSec(), { create: true }));
      printRefusals(io, r.refusals);
      const refused = refusedSuffix(r);
      io.out(`Added ${plural(r.added, 'cookie')} to ${c.bold(key)} (now ${r.after})${refused}.`);
    },

    async check() {
      const { runCheck, markInvalid } = await import('../services/check.js');
      io.out('Asking the Cursor usage endpoint about every cookie…');
      const r = await runCheck(ctx, {});
      io.out(`${r.checked} checked: ${r.valid} valid, ${r.invalid} invalid, ${r.expired} expired, ${r.unknown} unknown.`);
      const dead = r.results.filter((x) => x.status === 'invalid' || x.status === 'expired');
      if (dead.length === 0) return;
      for (const d of dead) io.out(`  ${d.apiKey}  ${io.cookie(d.cookie)}  ${d.status}${d.reason ? ` (${d.reason})` : ''}`);
      if (!(await confirm({ message: `Move ${plural(dead.length, 'dead cookie')} to the invalid list?`, default: true }))) {
        return io.out('Nothing moved.');
      }
      io.out(`Moved ${plural(await markInvalid({ ...ctx, pool: poolAs(store, 'invalid') }, r.results), 'cookie')} to the invalid list.`);
    },

    async refresh() {
      const { runRefresh } = await import('../services/refresh.js');
      const { minCookieCount } = await import('../config.js');
      const sure = await confirm({
        message: `Run the Cursor-Register workflow for the keys below ${minCookieCount(ctx.env)} cookies and merge what it registers?`,
        default: true,
      });
      if (!sure) return io.out('Nothing run.');
      const outcome = await runRefresh(ctx, {});
      if (outcome.status === 'skipped') return io.out(`Nothing to refresh: ${outcome.reason}.`);
      if (outcome.status === 'merged') {
        const { renderMergeReport } = await import('./merge-report.js');
        renderMergeReport(io, outcome.report);
        io.out(`Run ${outcome.runId}: ${outcome.runUrl}`);
      }
    },
  };

  let ended: 'quit' | 'interrupted' = 'quit';
  try {
    for (;;) {
      const { keys, invalid } = await store.read();
      const cookieCount = Object.values(keys).reduce((n, l) => n + l.length, 0);
      io.out();
      const action = await select<Action>({
        message: `What do you want to do? (${plural(Object.keys(keys).length, 'key')}, ${plural(cookieCount, 'cookie')}, ${invalid.length} invalid)`,
        choices: [
          { name: 'Show status', value: 'status' },
          { name: 'List invalid cookies', value: 'list' },
          { name: 'Add invalid cookies', value: 'add' },
          { name: 'Remove a cookie from the invalid list', value: 'remove' },
          { name: 'Clear the invalid list', value: 'clear' },
          { name: 'Purge invalid cookies from api keys', value: 'purge' },
          { name: 'Add cookies to an api key', value: 'cookies' },
          { name: 'Check cookies online and retire dead ones', value: 'check' },
          { name: 'Refresh keys below the minimum (run the workflow)', value: 'refresh' },
          { name: 'Quit', value: 'quit' },
        ],
        pageSize: 12,
        loop: false,
      });
      if (action === 'quit') break;
      try {
        await actions[action]();
      } catch (e) {
        // A bad store or a refused operation is shown and the menu goes on; Ctrl-C ends it.
        if (isExit(e) || !(e instanceof CliError)) throw e;
        io.error(e.message);
        if (e.hint) io.info(`hint: ${e.hint}`);
      }
    }
  } catch (e) {
    if (!isExit(e)) throw e;
    ended = 'interrupted';
  }
  io.out('Bye.');
  return ended;
}
