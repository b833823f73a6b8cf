/**
 * CSV/TXT → candidate cookies (SPEC §5.7). Cursor-Register writes `token_<date>.csv` (one token a
 * row) and `output_<date>.csv` (`email,token` rows), without a header, with CRLF; forks add
 * headers, quotes, BOMs, or write bare JWTs. Every field that is a cookie is taken, deduplicated
 * by identity, in order of first appearance. Pure: bytes in, strings out.
 *
 * Memory stays proportional to the input whatever its shape (issue 13 #4): a file above
 * CSV_LIMITS.maxFileBytes, a record above maxRecordSize or a row above maxFields is refused
 * (CsvRefusedError, naming the file) as soon as it is met, and records are visited one at a time,
 * never collected. Only fields long enough to hold a cookie, and e-mail addresses beside one,
 * become strings.
 */
import { isAscii } from 'node:buffer';
import { CsvError, parse } from 'csv-parse/sync';
import { OperationalError } from '../errors.js';
import { cookieIdentity, normalizeCookieText, parseCookie } from './cookie.js';
import { IdentityMap, IdentitySet } from './identity.js';

/** Files whose content is scanned for cookies. */
export function isCookieFile(name: string): boolean {
  return /\.(csv|txt)$/i.test(name);
}

export interface CsvLimits {
  /** Bytes in one CSV/TXT file. */
  maxFileBytes: number;
  /** Characters in one record (in a file without quotes: bytes in one line). */
  maxRecordSize: number;
  /** Fields in one record. */
  maxFields: number;
}

/**
 * A Cursor-Register row is an e-mail and a ~420-character cookie; 128 MiB is about 280k such rows,
 * past what one artifact holds (and within the artifact's 200 MiB unpacked limit).
 */
export const CSV_LIMITS: Readonly<CsvLimits> = {
  maxFileBytes: 128 * 1024 * 1024,
  maxRecordSize: 64 * 1024,
  maxFields: 1000,
};

/** A CSV/TXT file refused for its size or shape: exit 1, like a refused archive. */
export class CsvRefusedError extends OperationalError {}

/** A file to scan: its text or bytes, and the name to give in messages. */
export type ExtractSource = string | Buffer | { name: string; data: string | Buffer };

const COOKIE_NAME_PREFIX = /^WorkosCursorSessionToken=/i;
/** Looks like an attempt at a cookie (so a broken one is reported as malformed, not ignored). */
const COOKIE_LIKE = /(^|::|%3a%3a)eyJ[A-Za-z0-9_-]*\.|^user_[A-Za-z0-9]+(::|%3a%3a)/i;
/** Shorter fields cannot hold a cookie (normalising never lengthens a field). */
const MIN_COOKIE_LENGTH = 20;

/** The cookie in one CSV field, if it holds one (or something meant to be one). */
export function cookieInField(field: string): string | undefined {
  if (field.length < MIN_COOKIE_LENGTH) return undefined;
  const text = normalizeCookieText(field).replace(COOKIE_NAME_PREFIX, '').replace(/;$/, '');
  if (text.length < MIN_COOKIE_LENGTH) return undefined;
  // Cookie-shaped text is taken as it is (a broken one is refused as malformed by the merge, which
  // parses every candidate once); anything else only when it parses (e.g. a JWT whose header
  // does not start with eyJ).
  if (COOKIE_LIKE.test(text)) return text;
  return parseCookie(text).ok ? text : undefined;
}

export interface Extraction {
  /** Distinct candidates (by identity), as they appeared. */
  cookies: string[];
  /** Fields that held a cookie, before deduplication. */
  found: number;
  /**
   * The account email beside a cookie (Cursor-Register's `output_*.csv` rows are `email,token`),
   * by cookie identity: the token backends write it as the cookie's alias (SPEC §9.2).
   */
  labels: ReadonlyMap<string, string>;
}

const EMAIL = /^[^\s@,;"]+@[^\s@,;"]+\.[^\s@,;"]+$/;
const MAX_EMAIL_LENGTH = 254;

/** The email address among a row's fields, if one is there. */
function emailIn(row: readonly string[]): string | undefined {
  for (const f of row) {
    if (typeof f !== 'string' || f.length > MAX_EMAIL_LENGTH || !f.includes('@')) continue;
    const t = f.trim().replace(/^"|"$/g, '');
    if (EMAIL.test(t)) return t;
  }
  return undefined;
}

/** A cookie found in a row, with the row's email (null: none, or a one-field row). */
type Emit = (cookie: string, email: string | null) => void;

/** Visit one row of string fields. */
function visitRow(row: readonly string[], emit: Emit): void {
  // A row of one field (token_*.csv) has no email beside it.
  let email: string | null | undefined = row.length > 1 ? undefined : null;
  for (const field of row) {
    if (typeof field !== 'string') continue;
    const cookie = cookieInField(field);
    if (cookie === undefined) continue;
    if (email === undefined) email = emailIn(row) ?? null;
    emit(cookie, email);
  }
}

function refused(name: string, why: string): CsvRefusedError {
  return new CsvRefusedError(`${name} refused: ${why}`, 'cookie files hold short rows (an e-mail, a cookie); this is not one');
}

/** The 1-based line of byte `pos` (for messages only: counts line feeds, or carriage returns without any). */
function lineAt(buf: Buffer, pos: number): number {
  const eol = buf.includes(0x0a) ? 0x0a : 0x0d;
  let n = 1;
  for (let i = buf.indexOf(eol); i >= 0 && i < pos; i = buf.indexOf(eol, i + 1)) n++;
  return n;
}

/**
 * Call `onLine(start, end)` for each line of `buf` (ended by LF, CR or CRLF; a BOM skipped), after
 * refusing any longer than the record limit. Searches use Buffer.indexOf (memchr), each position
 * remembered until passed, so a file is scanned once.
 */
function eachLine(buf: Buffer, name: string, limits: CsvLimits, onLine: (start: number, end: number) => void): void {
  let pos = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  let nextLf = buf.indexOf(0x0a, pos);
  let nextCr = buf.indexOf(0x0d, pos);
  while (pos < buf.length) {
    if (nextLf >= 0 && nextLf < pos) nextLf = buf.indexOf(0x0a, pos);
    if (nextCr >= 0 && nextCr < pos) nextCr = buf.indexOf(0x0d, pos);
    const end = nextLf < 0 ? (nextCr < 0 ? buf.length : nextCr) : nextCr < 0 ? nextLf : Math.min(nextLf, nextCr);
    if (end - pos > limits.maxRecordSize) {
      throw refused(name, `line ${lineAt(buf, pos)} is longer than ${limits.maxRecordSize} bytes`);
    }
    if (end > pos) onLine(pos, end);
    pos = end + 1;
  }
}

/** A quote-free file: lines of comma-separated fields, read straight from the bytes. */
function plainRows(buf: Buffer, name: string, limits: CsvLimits, emit: Emit): void {
  // ASCII (the usual case) decodes as latin1, a plain copy; anything else as UTF-8, field by field
  // (a comma is never part of a multi-byte character, so fields decode as the whole line would).
  const encoding = isAscii(buf) ? 'latin1' : 'utf8';
  // A field of more bytes than this cannot be an e-mail of MAX_EMAIL_LENGTH characters.
  const emailBytes = encoding === 'latin1' ? MAX_EMAIL_LENGTH : 4 * MAX_EMAIL_LENGTH;
  const bounds: number[] = [];
  const short: string[] = [];
  let nextComma = buf.indexOf(0x2c);
  eachLine(buf, name, limits, (start, end) => {
    bounds.length = 0;
    for (let from = start; ; ) {
      if (nextComma >= 0 && nextComma < from) nextComma = buf.indexOf(0x2c, from);
      if (nextComma < 0 || nextComma >= end) {
        bounds.push(from, end);
        break;
      }
      bounds.push(from, nextComma);
      from = nextComma + 1;
      if (bounds.length > 2 * limits.maxFields) {
        throw refused(name, `line ${lineAt(buf, start)} has more than ${limits.maxFields} fields`);
      }
    }
    let email: string | null | undefined = bounds.length > 2 ? undefined : null;
    for (let f = 0; f < bounds.length; f += 2) {
      const s = bounds[f]!;
      const e = bounds[f + 1]!;
      // Bytes are at least characters: fewer bytes than a cookie's minimum is no cookie.
      if (e - s < MIN_COOKIE_LENGTH) continue;
      const cookie = cookieInField(buf.toString(encoding, s, e));
      if (cookie === undefined) continue;
      if (email === undefined) {
        // Only fields short enough to be an address become strings (emailIn skips longer ones).
        short.length = 0;
        for (let g = 0; g < bounds.length; g += 2) {
          if (bounds[g + 1]! - bounds[g]! <= emailBytes) short.push(buf.toString(encoding, bounds[g], bounds[g + 1]));
        }
        email = emailIn(short) ?? null;
      }
      emit(cookie, email);
    }
  });
}

const FALLBACK_SEPARATORS = /[,;\t ]+/;

/** Text that is not CSV after all (stray quotes): lines, split at any separator. */
function fallbackRows(buf: Buffer, name: string, limits: CsvLimits, emit: Emit): void {
  eachLine(buf, name, limits, (start, end) => {
    const row = buf.toString('utf8', start, end).split(FALLBACK_SEPARATORS);
    if (row.length > limits.maxFields) throw refused(name, `line ${lineAt(buf, start)} has more than ${limits.maxFields} fields`);
    visitRow(row, emit);
  });
}

/**
 * A file with quotes, through csv-parse, one record at a time (`on_record` keeps none). Returns
 * false when the text is not CSV after all; what it found is then discarded, not emitted, so the
 * fallback reads the file from the start as before.
 */
function quotedRows(buf: Buffer, name: string, limits: CsvLimits, emit: Emit): boolean {
  const found: [string, string | null][] = [];
  try {
    parse(buf, {
      bom: true,
      relax_column_count: true,
      relax_quotes: true,
      skip_empty_lines: true,
      trim: true,
      max_record_size: limits.maxRecordSize,
      // Called for each field as it is read: a row of a million commas stops at the limit.
      cast: (value, context) => {
        if (typeof context.column === 'number' && context.column >= limits.maxFields) {
          throw refused(name, `line ${context.lines} has more than ${limits.maxFields} fields`);
        }
        return value;
      },
      on_record: (record: string[]) => {
        visitRow(record, (cookie, email) => found.push([cookie, email]));
        return null;
      },
    });
  } catch (e) {
    if (e instanceof CsvRefusedError) throw e;
    // A record past the size limit is a quote left open (the line fallback refuses a line that
    // really is too long); any other CsvError is text that is not CSV.
    if (e instanceof CsvError) return false;
    throw e;
  }
  for (const [cookie, email] of found) emit(cookie, email);
  return true;
}

/** Scan one file. */
function extractFile(source: ExtractSource, limits: CsvLimits, emit: Emit): void {
  const { name, data } = typeof source === 'string' || Buffer.isBuffer(source) ? { name: 'input', data: source } : source;
  // A string has at most as many characters as bytes: refuse the hopeless before encoding it.
  if (data.length > limits.maxFileBytes) {
    throw refused(name, `more than ${limits.maxFileBytes} bytes (the limit for one CSV/TXT file)`);
  }
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  if (buf.length > limits.maxFileBytes) {
    throw refused(name, `more than ${limits.maxFileBytes} bytes (the limit for one CSV/TXT file)`);
  }
  // Without a quote character CSV is just lines of comma-separated fields: split them directly
  // (csv-parse costs several times more on the 100k-row files of a big artifact).
  if (!buf.includes(0x22)) plainRows(buf, name, limits, emit);
  else if (!quotedRows(buf, name, limits, emit)) fallbackRows(buf, name, limits, emit);
}

/**
 * Extract from several files (text, raw UTF-8 bytes, or either with a name) at once,
 * deduplicating across them. Throws CsvRefusedError for a file beyond `limits`.
 */
export function extractCookies(sources: Iterable<ExtractSource>, limits: Partial<CsvLimits> = {}): Extraction {
  const lim: CsvLimits = { ...CSV_LIMITS, ...limits };
  const seen = new IdentityMap<true>();
  const cookies: string[] = [];
  const labels = new IdentityMap<string>();
  let found = 0;
  const emit: Emit = (cookie, email) => {
    found++;
    const id = cookieIdentity(cookie);
    // The identity already held, if any: a label keyed by this row's copy would keep the row alive.
    const known = seen.setIfAbsent(id, true);
    if (known === undefined) cookies.push(cookie);
    if (email !== null) labels.setIfAbsent(known ?? id, email);
  };
  for (const source of sources) extractFile(source, lim, emit);
  return { cookies, found, labels };
}

/** Keep the first of each identity, in order. */
export function dedupeByIdentity(cookies: Iterable<string>): string[] {
  const seen = new IdentitySet();
  const out: string[] = [];
  for (const c of cookies) if (seen.add(cookieIdentity(c))) out.push(c);
  return out;
}
