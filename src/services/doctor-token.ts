/**
 * `doctor`'s checks for the cursor-api backends (SPEC §9.2):
 * - `token-file`: `.token` and `.token-list` readable, writable, private, and the lines cursor-api
 *   ignores; `cursor-api`: the reload URL answers (CURSOR_API_URL).
 * - `token-api`: `cursor-api`: reachable and AUTH_TOKEN accepted; `token-lines`: the lines it ignores.
 * A cookie in a reported line is masked (unless --reveal); AUTH_TOKEN is never shown.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ignoredLines, parseTokenFiles, servedTokens, type IgnoredTokenLine } from '../core/token-text.js';
import type { AppContext } from '../context.js';
import { CliError } from '../errors.js';
import type { IgnoredLine } from '../store/pool.js';
import type { DoctorCheck } from './doctor.js';

type Outcome = Omit<DoctorCheck, 'name'>;

export interface TokenStep {
  name: string;
  needs?: string[];
  run: () => Promise<Outcome>;
}

const outcome = (status: Outcome['status'], detail: string, hint?: string): Outcome => ({ status, detail, ...(hint ? { hint } : {}) });

function failFrom(e: unknown): Outcome {
  if (e instanceof CliError) return outcome('fail', e.message, e.hint);
  return outcome('fail', e instanceof Error ? e.message : String(e));
}

function describeIgnored(ctx: AppContext, lines: readonly (IgnoredTokenLine | IgnoredLine)[], withFile = false): string {
  const shown = lines.slice(0, 5).map((l) => `${withFile ? `${l.file} ` : ''}line ${l.line} (${l.reason}): ${ctx.io.cookie(l.text)}`);
  return shown.join('; ') + (lines.length > 5 ? `; and ${lines.length - 5} more` : '');
}

/** One local token file: readable, writable, private, and its lines. */
async function tokenFileCheck(ctx: AppContext, file: string, variable: string, kind: 'token' | 'token-list'): Promise<Outcome> {
  const { readTokenTextFile } = await import('../store/token-file.js');
  let text: string;
  let exists: boolean;
  try {
    ({ text, exists } = await readTokenTextFile(file, variable));
  } catch (e) {
    return failFrom(e);
  }
  const target = exists ? file : dirname(file);
  try {
    await access(target, constants.W_OK);
  } catch {
    return outcome('fail', `${target}: cookie-pool cannot write it`, `run as the user that runs cursor-api, or give this user write access`);
  }
  if (!exists) return outcome('ok', `${file}: absent (cursor-api creates it empty; so does the first write)`);
  const files = kind === 'token' ? parseTokenFiles(text, '') : parseTokenFiles('', text);
  const ignored = ignoredLines(files);
  const tokens = servedTokens(files).length;
  const what = kind === 'token' ? `${tokens} token(s)` : `${tokens} token(s) with checksums`;
  if (ignored.length) {
    return outcome(
      'warn',
      `${file}: ${what}; ${ignored.length} line(s) ignored by cursor-api: ${describeIgnored(ctx, ignored)}`,
      kind === 'token' ? 'a line is `token` or `alias::token`: remove the extra "::"' : 'a line is `token,checksum`: fix or remove the line',
    );
  }
  const mode = (await stat(file)).mode;
  if (process.platform !== 'win32' && (mode & 0o044) !== 0) {
    return outcome('warn', `${file}: ${what}, but readable by group/others (0${(mode & 0o777).toString(8)})`, `cookies are secrets: chmod 600 ${file}`);
  }
  return outcome('ok', `${file}: ${what}`);
}

async function reloadCheck(ctx: AppContext): Promise<Outcome> {
  const { cursorApiBase, displayUrl, endpoint, reloadCursorApi } = await import('../store/token-shared.js');
  let base: URL | undefined;
  try {
    base = cursorApiBase(ctx.env);
  } catch (e) {
    return failFrom(e);
  }
  if (!base) {
    return outcome(
      'warn',
      'CURSOR_API_URL not set: cursor-api serves what cookie-pool writes only after it reloads or restarts',
      'set CURSOR_API_URL (for example http://127.0.0.1:3000) so every write ends with GET /update-tokeninfo',
    );
  }
  // The same request every write ends with: it makes cursor-api load files it already serves again.
  const problem = await reloadCursorApi(base);
  const url = displayUrl(endpoint(base, 'update-tokeninfo'));
  return problem ? outcome('fail', problem, 'check CURSOR_API_URL and that cursor-api is running') : outcome('ok', `GET ${url}: cursor-api reloaded its token files`);
}

export async function tokenBackendChecks(ctx: AppContext): Promise<TokenStep[]> {
  if (ctx.pool.backend === 'token-file') {
    const { tokenFilePaths } = await import('../store/token-file.js');
    const paths = tokenFilePaths(ctx.env);
    return [
      { name: 'token-file', run: () => tokenFileCheck(ctx, paths.tokenFile, 'TOKEN_FILE', 'token') },
      { name: 'token-list', run: () => tokenFileCheck(ctx, paths.tokenListFile, 'TOKEN_LIST_FILE', 'token-list') },
      { name: 'cursor-api', run: () => reloadCheck(ctx) },
    ];
  }
  if (ctx.pool.backend !== 'token-api') return [];
  let lines: IgnoredLine[] = [];
  return [
    {
      name: 'cursor-api',
      run: async () => {
        const { openTokenApiPool } = await import('../store/token-api.js');
        try {
          const pool = openTokenApiPool({ backend: 'token-api', env: ctx.env, dataDirFlag: ctx.dataDirFlag });
          const info = await pool.fetchInfo();
          const { tokenSnapshot } = await import('../store/token-shared.js');
          const snap = tokenSnapshot(info, [], { token: info.tokenFile, list: info.tokenListFile });
          lines = snap.ignored ?? [];
          const served = snap.keys.default?.length ?? 0;
          return outcome('ok', `${pool.describe().where}: AUTH_TOKEN accepted; ${served} token(s) in ${info.tokenFile} and ${info.tokenListFile}`);
        } catch (e) {
          return failFrom(e);
        }
      },
    },
    {
      name: 'token-lines',
      needs: ['cursor-api'],
      run: async () =>
        lines.length
          ? outcome('warn', `${lines.length} line(s) ignored by cursor-api: ${describeIgnored(ctx, lines, true)}`, 'fix them on cursor-api\'s /tokeninfo page')
          : outcome('ok', 'cursor-api ignores none of the lines of its token files'),
    },
  ];
}
