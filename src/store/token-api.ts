/**
 * The `token-api` backend (SPEC §9.2): a remote cursor-api (a hosted Space, say) through its token
 * endpoints, `POST /get-tokeninfo` and `POST /update-tokeninfo` with `Authorization: Bearer
 * $AUTH_TOKEN`.
 *
 * cursor-api replaces both files with what it is sent, so a write could undo an edit made since
 * our read. The texts are therefore read again just before the write; when they changed, the plan
 * is made again on the new texts (at most MAX_REMAKES times, then exit 1 with nothing written).
 * The invalid list stays local (`$DATA_DIR/invalid_cookies.json`) and is written first, under the
 * store lock, as a diff against the list as it is then. After the write, the `token_count`
 * cursor-api reports is checked against the distinct tokens of what was sent.
 */
import { applyTokenEdit, cursorApiTokenCount } from '../core/token-text.js';
import { envString } from '../config.js';
import { OperationalError, UsageError } from '../errors.js';
import type { OpenOptions } from './open.js';
import type { Applied, Decide, Pool, PoolDescription, Snapshot } from './pool.js';
import {
  cursorApiBase,
  cursorApiRequest,
  displayUrl,
  endpoint,
  isSuccess,
  LocalInvalidList,
  nextInvalid,
  planTokenChange,
  tokenSnapshot,
  type CursorApiAnswer,
  type TokenPlan,
  type TokenTexts,
} from './token-shared.js';

/** How many times a plan is made again when the remote texts changed under it. */
export const MAX_REMAKES = 3;

export interface RemoteTokenInfo extends TokenTexts {
  /** The file names cursor-api reports (for messages). */
  tokenFile: string;
  tokenListFile: string;
}

export class TokenApiPool implements Pool {
  readonly backend = 'token-api' as const;
  readonly multiKey = false;
  readonly keepsLabels = true;

  constructor(
    readonly base: URL,
    private readonly authToken: string,
    private readonly invalid: LocalInvalidList,
  ) {}

  describe(): PoolDescription {
    return {
      backend: 'token-api',
      where: displayUrl(this.base),
      details: [
        `cursor-api: ${displayUrl(this.base)} (POST get-tokeninfo / update-tokeninfo)`,
        // Only that it is set and how long: never any of its characters.
        `AUTH_TOKEN: set, ${this.authToken.length} characters`,
        `invalid list: ${this.invalid.file}`,
      ],
    };
  }

  /** A failed answer as one line; 401 says the token was refused. */
  private refuse(answer: CursorApiAnswer, what: string, after = ''): OperationalError {
    if (answer.status === 401) {
      return new OperationalError(
        `cursor-api refused AUTH_TOKEN (HTTP 401 to ${what})${after}`,
        'set AUTH_TOKEN to the AUTH_TOKEN of that cursor-api instance',
      );
    }
    return new OperationalError(`cursor-api answered HTTP ${answer.status} to ${what}${after}`, 'check CURSOR_API_URL and cursor-api\'s log');
  }

  /** `POST /get-tokeninfo`: both texts as cursor-api holds them now. */
  async fetchInfo(): Promise<RemoteTokenInfo> {
    const url = endpoint(this.base, 'get-tokeninfo');
    const what = `POST ${displayUrl(url)}`;
    const answer = await cursorApiRequest('POST', url, { auth: this.authToken });
    if (answer.status < 200 || answer.status > 299) throw this.refuse(answer, what);
    const j = answer.json;
    if (!isSuccess(j) || typeof j.tokens !== 'string' || typeof j.token_list !== 'string') {
      throw new OperationalError(
        `cursor-api answered ${what} with something other than its token info (expected {"status":"success","tokens":"...","token_list":"..."})`,
        'check that CURSOR_API_URL points at cursor-api itself',
      );
    }
    return {
      tokens: j.tokens,
      tokenList: j.token_list,
      tokenFile: typeof j.token_file === 'string' && j.token_file ? j.token_file : '.token',
      tokenListFile: typeof j.token_list_file === 'string' && j.token_list_file ? j.token_list_file : '.token-list',
    };
  }

  private snapshot(info: RemoteTokenInfo, invalid: string[]): Snapshot {
    const at = displayUrl(this.base);
    return tokenSnapshot(info, invalid, { token: `${info.tokenFile} (cursor-api at ${at})`, list: `${info.tokenListFile} (cursor-api at ${at})` });
  }

  async read(): Promise<Snapshot> {
    const info = await this.fetchInfo();
    return this.snapshot(info, await this.invalid.read());
  }

  /** The invalid list's part of a plan, applied under the store lock to the list as it is now. */
  private async writeInvalid(plan: TokenPlan): Promise<boolean> {
    if (plan.invalidAdd.length === 0 && plan.invalidRemove.size === 0) return false;
    const { withLock } = await import('./lock.js');
    return withLock(this.invalid.lockPath, { wait: true }, async () => {
      const next = nextInvalid(await this.invalid.read(), plan);
      if (next) await this.invalid.write(next);
      return next !== undefined;
    });
  }

  async update<T>(decide: Decide<T>): Promise<Applied<T>> {
    let info = await this.fetchInfo();
    for (let remakes = 0; ; remakes++) {
      const snapshot = this.snapshot(info, await this.invalid.read());
      const change = await decide(snapshot);
      const plan = planTokenChange(snapshot, change, this.backend);
      const edited = applyTokenEdit(info.tokens, info.tokenList, plan.edit);
      const remote = edited.tokensChanged || edited.tokenListChanged;
      if (remote) {
        const fresh = await this.fetchInfo();
        if (fresh.tokens !== info.tokens || fresh.tokenList !== info.tokenList) {
          if (remakes >= MAX_REMAKES) {
            throw new OperationalError(
              `cursor-api's token files changed between every read and the write (${remakes + 1} plans in a row); nothing was written`,
              'something else keeps editing them (its /tokeninfo page, another cookie-pool): try again later',
            );
          }
          info = fresh;
          continue;
        }
      }
      const applied: Applied<T> = { result: change.result, dropped: [], problems: [] };
      // Invalid list first: a failure after it duplicates a cookie rather than losing it.
      const wroteInvalid = await this.writeInvalid(plan);
      if (remote) await this.send(edited, wroteInvalid, applied.problems);
      return applied;
    }
  }

  /** `POST /update-tokeninfo` with both texts; checks the count cursor-api reports. */
  private async send(texts: TokenTexts, wroteInvalid: boolean, problems: string[]): Promise<void> {
    const url = endpoint(this.base, 'update-tokeninfo');
    const what = `POST ${displayUrl(url)}`;
    const already = wroteInvalid ? ` (the invalid list ${this.invalid.file} was already updated)` : '';
    let answer: CursorApiAnswer;
    try {
      answer = await cursorApiRequest('POST', url, { auth: this.authToken, body: { tokens: texts.tokens, token_list: texts.tokenList } });
    } catch (e) {
      if (e instanceof OperationalError && already) throw new OperationalError(e.message + already, e.hint);
      throw e;
    }
    if (answer.status === 401) throw this.refuse(answer, what, `; nothing was written to cursor-api${already}`);
    if (answer.status < 200 || answer.status > 299) throw this.refuse(answer, what, `; the update may not have been applied${already}`);
    const j = answer.json;
    if (!isSuccess(j)) {
      throw new OperationalError(`cursor-api did not confirm ${what} (no {"status":"success"}); the update may not have been applied${already}`);
    }
    // Versions differ in the name; a version that reads `#` lines as tokens counts them too.
    const reported = typeof j.token_count === 'number' ? j.token_count : typeof j.tokens_count === 'number' ? j.tokens_count : undefined;
    const expected = cursorApiTokenCount(texts.tokens, texts.tokenList);
    if (reported === undefined) {
      problems.push(`cursor-api accepted the update but did not report token_count: could not check that it serves the ${expected} token(s) sent`);
    } else if (reported !== expected && reported !== cursorApiTokenCount(texts.tokens, texts.tokenList, 'legacy')) {
      problems.push(
        `cursor-api serves ${reported} token(s) after the update, but ${expected} distinct token(s) were sent: see cookie-pool status --backend token-api`,
      );
    }
  }
}

export function openTokenApiPool(opts: OpenOptions): TokenApiPool {
  const base = cursorApiBase(opts.env);
  const authToken = envString(opts.env, 'AUTH_TOKEN');
  const missing = [base ? '' : 'CURSOR_API_URL', authToken ? '' : 'AUTH_TOKEN'].filter(Boolean);
  if (!base || !authToken) {
    throw new UsageError(
      `the token-api backend needs ${missing.join(' and ')}`,
      'set CURSOR_API_URL to the cursor-api address and AUTH_TOKEN to its AUTH_TOKEN (in .env or the environment)',
    );
  }
  return new TokenApiPool(base, authToken, new LocalInvalidList(opts.env, opts.dataDirFlag));
}
