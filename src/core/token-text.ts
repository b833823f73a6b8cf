/**
 * cursor-api's token files (SPEC §9.2), as text: parse, inspect and edit `.token` and
 * `.token-list` the way cursor-api reads them. Pure, no I/O.
 *
 * cursor-api's rules (wisdgod/cursor-api, `load_tokens`): CRLF becomes LF; each line is trimmed;
 * blank lines and lines starting with `#` are skipped; a `.token` line is `token` or
 * `alias::token` and one with more than one `::` is ignored; a `.token-list` line is
 * `token,checksum` (newer versions write `alias::token,checksum`) and any other line is ignored.
 * It serves every token of either file, and gives a token of `.token` that `.token-list` lacks a
 * fresh checksum there when it loads.
 *
 * Every line is kept with its position, so an edit removes or appends lines and leaves every
 * other line (comments, blank lines, lines cursor-api ignores, checksums) exactly as it was.
 */
import { cookieIdentity, parseCookie } from './cookie.js';

export type LineKind = 'blank' | 'comment' | 'entry' | 'ignored';

export interface TokenLine {
  /** 1-based line number in the file. */
  n: number;
  /** The line as written (without its line end). */
  text: string;
  kind: LineKind;
  /** `entry`: the token cursor-api serves (the part after `alias::`). */
  token?: string;
  alias?: string;
  /** `.token-list` entries: the checksum, never changed by us. */
  checksum?: string;
  /** `entry`: the token's identity (its JWT, src/core/cookie.ts). */
  id?: string;
  /** `ignored`: why cursor-api skips the line. */
  reason?: string;
}

export interface TokenText {
  lines: TokenLine[];
  /** The text ended with a line end (kept when rewritten). */
  finalNewline: boolean;
}

/** Split text into lines as cursor-api does after turning CRLF into LF. */
function splitLines(text: string): { lines: string[]; finalNewline: boolean } {
  const normalized = text.replace(/\r\n/g, '\n');
  if (normalized === '') return { lines: [], finalNewline: false };
  const finalNewline = normalized.endsWith('\n');
  const lines = (finalNewline ? normalized.slice(0, -1) : normalized).split('\n');
  return { lines, finalNewline };
}

/** `token` or `alias::token`; undefined for more than one `::` (cursor-api's `parse_token_alias`). */
function splitAlias(part: string): { token: string; alias?: string } | undefined {
  const parts = part.split('::');
  if (parts.length === 1) return { token: parts[0]! };
  if (parts.length === 2) return { alias: parts[0]!, token: parts[1]! };
  return undefined;
}

const TOO_MANY_SEPARATORS = 'more than one "::"';

/**
 * Lines of a token file: blank and `#` lines kept as they are (cursor-api skips them), every
 * other line read by `entry` from its trimmed text.
 */
function parseLines(text: string, entry: (n: number, line: string, trimmed: string) => TokenLine): TokenText {
  const { lines, finalNewline } = splitLines(text);
  return {
    finalNewline,
    lines: lines.map((line, i) => {
      const n = i + 1;
      const t = line.trim();
      if (t === '') return { n, text: line, kind: 'blank' };
      if (t.startsWith('#')) return { n, text: line, kind: 'comment' };
      return entry(n, line, t);
    }),
  };
}

/** Parse `.token`: `token` or `alias::token` a line. */
export function parseTokenFile(text: string): TokenText {
  return parseLines(text, (n, line, t) => {
    const parsed = splitAlias(t);
    if (!parsed) return { n, text: line, kind: 'ignored', reason: TOO_MANY_SEPARATORS };
    return { n, text: line, kind: 'entry', ...parsed, id: cookieIdentity(parsed.token) };
  });
}

/** Parse `.token-list`: `token,checksum` or `alias::token,checksum` a line. */
export function parseTokenList(text: string): TokenText {
  return parseLines(text, (n, line, t) => {
    const fields = t.split(',');
    if (fields.length !== 2) {
      return { n, text: line, kind: 'ignored', reason: `not "token,checksum" (${fields.length} fields)` };
    }
    const parsed = splitAlias(fields[0]!);
    if (!parsed) return { n, text: line, kind: 'ignored', reason: TOO_MANY_SEPARATORS };
    return { n, text: line, kind: 'entry', ...parsed, checksum: fields[1]!, id: cookieIdentity(parsed.token) };
  });
}

/** Both files, parsed. */
export interface TokenFiles {
  token: TokenText;
  list: TokenText;
}

export function parseTokenFiles(tokens: string, tokenList: string): TokenFiles {
  return { token: parseTokenFile(tokens), list: parseTokenList(tokenList) };
}

/**
 * The tokens cursor-api serves, distinct by identity, in file order: those of `.token` first,
 * then those only in `.token-list`.
 */
export function servedTokens(files: TokenFiles): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const text of [files.token, files.list]) {
    for (const l of text.lines) {
      if (l.kind !== 'entry' || seen.has(l.id!)) continue;
      seen.add(l.id!);
      out.push(l.token!);
    }
  }
  return out;
}

/** A line cursor-api ignores, for `status` and `doctor`. */
export interface IgnoredTokenLine {
  file: 'token' | 'token-list';
  line: number;
  text: string;
  reason: string;
}

export function ignoredLines(files: TokenFiles): IgnoredTokenLine[] {
  const out: IgnoredTokenLine[] = [];
  for (const [file, text] of [['token', files.token], ['token-list', files.list]] as const) {
    for (const l of text.lines) if (l.kind === 'ignored') out.push({ file, line: l.n, text: l.text, reason: l.reason! });
  }
  return out;
}

/**
 * How many tokens cursor-api reports serving after loading these texts (`token_count`): the
 * distinct token strings of both files, as it keys them. `legacy` follows the versions before
 * comments and aliases in `.token-list` (a `#` line is a token there, and a `.token-list` token is
 * its whole first field).
 */
export function cursorApiTokenCount(tokens: string, tokenList: string, rules: 'current' | 'legacy' = 'current'): number {
  const keys = new Set<string>();
  const { lines: tokenLines } = splitLines(tokens);
  for (const line of tokenLines) {
    const t = line.trim();
    if (t === '' || (rules === 'current' && t.startsWith('#'))) continue;
    const parsed = splitAlias(t);
    if (parsed) keys.add(parsed.token);
  }
  const { lines: listLines } = splitLines(tokenList);
  for (const line of listLines) {
    const t = line.trim();
    if (t === '' || (rules === 'current' && t.startsWith('#'))) continue;
    const fields = t.split(',');
    if (fields.length !== 2) continue;
    if (rules === 'legacy') keys.add(fields[0]!);
    else {
      const parsed = splitAlias(fields[0]!);
      if (parsed) keys.add(parsed.token);
    }
  }
  return keys.size;
}

/** An alias cursor-api can read back: no `:` (separator), `,` (`.token-list` field), `#` (comment) or whitespace. */
export function sanitizeAlias(alias: string): string {
  return alias.replace(/[:,#\s]/g, '');
}

/**
 * The `.token` line for a new cookie: `<alias>::<jwt>`, the alias being the account's email when
 * known, else the cookie's `user_…` id; the bare JWT when neither gives an alias.
 */
export function tokenLineFor(cookie: string, email?: string): string {
  const parsed = parseCookie(cookie);
  const jwt = parsed.ok ? parsed.cookie.jwt : cookieIdentity(cookie);
  const alias = sanitizeAlias(email ?? '') || sanitizeAlias((parsed.ok ? parsed.cookie.userId : undefined) ?? '');
  return alias ? `${alias}::${jwt}` : jwt;
}

export interface TokenEdit {
  /** Cookies to add (any form): appended to `.token` unless served already. */
  add: readonly string[];
  /** Identities to remove: their lines leave both files. */
  remove: ReadonlySet<string>;
  /** The account email of a new cookie, by identity. */
  labels?: ReadonlyMap<string, string>;
}

export interface EditedTokenFiles {
  tokens: string;
  tokenList: string;
  tokensChanged: boolean;
  tokenListChanged: boolean;
  /** The cookies appended (as given in the edit). */
  added: string[];
  /** Lines removed from either file. */
  removedLines: number;
}

function render(lines: readonly string[], finalNewline: boolean): string {
  if (lines.length === 0) return '';
  return lines.join('\n') + (finalNewline ? '\n' : '');
}

/**
 * Apply an edit to the texts as they are now. Lines of removed identities leave both files; new
 * cookies are appended to `.token` (never to `.token-list`: cursor-api gives them a fresh
 * checksum when it loads); every other line stays where it is. A changed file is written with LF
 * line ends; `.token` ends with a line end once something was appended.
 */
export function applyTokenEdit(tokens: string, tokenList: string, edit: TokenEdit): EditedTokenFiles {
  const files = parseTokenFiles(tokens, tokenList);
  const keep = (text: TokenText): { lines: string[]; removed: number } => {
    const lines: string[] = [];
    let removed = 0;
    for (const l of text.lines) {
      if (l.kind === 'entry' && edit.remove.has(l.id!)) removed++;
      else lines.push(l.text);
    }
    return { lines, removed };
  };
  const token = keep(files.token);
  const list = keep(files.list);

  const present = new Set<string>();
  for (const text of [files.token, files.list]) {
    for (const l of text.lines) if (l.kind === 'entry' && !edit.remove.has(l.id!)) present.add(l.id!);
  }
  const added: string[] = [];
  for (const cookie of edit.add) {
    const id = cookieIdentity(cookie);
    if (id === '' || present.has(id)) continue;
    present.add(id);
    added.push(cookie);
    token.lines.push(tokenLineFor(cookie, edit.labels?.get(id)));
  }

  const tokensChanged = token.removed > 0 || added.length > 0;
  const tokenListChanged = list.removed > 0;
  return {
    tokens: tokensChanged ? render(token.lines, files.token.finalNewline || added.length > 0) : tokens,
    tokenList: tokenListChanged ? render(list.lines, files.list.finalNewline) : tokenList,
    tokensChanged,
    tokenListChanged,
    added,
    removedLines: token.removed + list.removed,
  };
}
