/**
 * CSV/TXT → candidate cookies (SPEC §5.7). Cursor-Register writes `token_<date>.csv` (one token a
 * row) and `output_<date>.csv` (`email,token` rows), without a header, with CRLF; forks add
 * headers, quotes, BOMs, or write bare JWTs. Every field that is a cookie is taken, deduplicated
 * by identity, in order of first appearance. Pure: bytes in, strings out.
 *
 * Memory stays proportional to the input whatever its shape (issue 13 #4): a file above
 * CSV_LIMITS.maxFileBytes, a record above maxRecordSize or a row above maxFields is refused
 * (CsvRefusedError, naming the file) as soon as it is met, and records are visited one at a time,
 * never collected. Artifact entries are scanned as they unpack (CookieExtractor.open).
 */
import { isAscii } from 'node:buffer';
import { createRequire } from 'node:module';
import { OperationalError } from '../errors.js';
import { cookieIdentity, normalizeCookieText, parseCookie } from './cookie.js';
import { IdentityMap, IdentitySet, type IdentityIndex } from './identity.js';

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
  let text = normalizeCookieText(field);
  // Cheap tests first: these run on every field of every row.
  if ((text.charCodeAt(0) | 0x20) === 0x77 /* w */) text = text.replace(COOKIE_NAME_PREFIX, '');
  if (text.endsWith(';')) text = text.slice(0, -1);
  if (text.length < MIN_COOKIE_LENGTH) return undefined;
  // Cookie-shaped text is taken as it is (a broken one is refused as malformed by the merge, which
  // parses every candidate once); anything else only when it parses (e.g. a JWT whose header
  // does not start with eyJ).
  if (COOKIE_LIKE.test(text)) return text;
  // What parseCookie would refuse at a glance (an e-mail, a word): no JWT without two dots, and
  // no '@' in a user prefix or a JWT.
  if (!text.includes('.') || text.includes('@')) return undefined;
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
  /** Where each of `cookies` is by its identity (position i: cookies[i]). */
  index: IdentityIndex;
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

export interface ExtractOptions {
  /**
   * Find the account e-mail beside each cookie (Extraction.labels). Default true; false when
   * nothing will use them (a store that keeps no labels: Pool.keepsLabels), which spares a tenth of
   * the scan of a 100k-row output file; `labels` is then empty.
   */
  labels?: boolean;
}

/** A cookie found in a row, with the row's email (null: none, or a one-field row). */
type Emit = (cookie: string, email: string | null) => void;

/** Visit one row of string fields (`emails`: look for the e-mail beside a cookie). */
function visitRow(row: readonly string[], emit: Emit, emails: boolean): void {
  // A row of one field (token_*.csv) has no email beside it.
  let email: string | null | undefined = emails && row.length > 1 ? undefined : null;
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

/**
 * Lines of a quote-free file, fed in pieces (a whole file is one piece): each line (ended by LF,
 * CR or CRLF; a leading BOM skipped) is split at commas and its fields handed to `emit`. A line
 * longer than the record limit or with more fields than allowed is refused as soon as it is met.
 * Searches use Buffer.indexOf (memchr), each position remembered until passed, so every byte is
 * looked at once. An ASCII piece is decoded once and its fields are slices of that text; only
 * fields long enough to hold a cookie, and possible e-mails beside one, become strings at all.
 */
class PlainScanner {
  /** The unfinished last line of the previous piece. */
  #carry: Buffer | undefined;
  #started = false;
  #bytes = 0;
  /** Line feeds and carriage returns passed (for line numbers in messages). */
  #lf = 0;
  #cr = 0;
  readonly #bounds: number[] = [];
  readonly #short: string[] = [];

  constructor(
    readonly name: string,
    readonly limits: CsvLimits,
    readonly emit: Emit,
    /** Look for the e-mail beside each cookie. */
    readonly emails: boolean,
  ) {}

  #line(): number {
    return 1 + (this.#lf > 0 ? this.#lf : this.#cr);
  }

  write(buf: Buffer): void {
    this.#bytes += buf.length;
    if (this.#bytes > this.limits.maxFileBytes) throw tooLarge(this.name, this.limits);
    let pos = 0;
    if (!this.#started) {
      this.#started = true;
      if (buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf) pos = 3;
    }
    let nextLf = buf.indexOf(0x0a, pos);
    let nextCr = buf.indexOf(0x0d, pos);
    if (this.#carry) {
      // Finish the line the previous piece left open: join just that line's two parts.
      const end = nextLf < 0 ? nextCr : nextCr < 0 ? nextLf : Math.min(nextLf, nextCr);
      const head = end < 0 ? buf : buf.subarray(0, end);
      if (this.#carry.length + head.length > this.limits.maxRecordSize) throw this.#tooLong();
      const joined = Buffer.concat([this.#carry, head]);
      this.#carry = undefined;
      if (end < 0) {
        this.#carry = joined;
        return;
      }
      this.#fields(joined, 0, joined.length, asciiText(joined));
      if (buf[end] === 0x0a) this.#lf++;
      else this.#cr++;
      pos = end + 1;
    }
    const text = asciiText(buf);
    let nextComma = buf.indexOf(0x2c, pos);
    while (pos < buf.length) {
      if (nextLf >= 0 && nextLf < pos) nextLf = buf.indexOf(0x0a, pos);
      if (nextCr >= 0 && nextCr < pos) nextCr = buf.indexOf(0x0d, pos);
      const end = nextLf < 0 ? nextCr : nextCr < 0 ? nextLf : Math.min(nextLf, nextCr);
      if (end < 0) {
        // The rest continues in the next piece (or ends the file).
        if (buf.length - pos > this.limits.maxRecordSize) throw this.#tooLong();
        this.#carry = buf.subarray(pos);
        return;
      }
      if (end - pos > this.limits.maxRecordSize) throw this.#tooLong();
      if (end > pos) {
        if (nextComma >= 0 && nextComma < pos) nextComma = buf.indexOf(0x2c, pos);
        nextComma = this.#fields(buf, pos, end, text, nextComma);
      }
      if (buf[end] === 0x0a) this.#lf++;
      else this.#cr++;
      pos = end + 1;
    }
  }

  /** The file is complete: its last line needs no line break. */
  end(): void {
    const rest = this.#carry;
    this.#carry = undefined;
    if (rest?.length) this.#fields(rest, 0, rest.length, asciiText(rest));
  }

  #tooLong(): CsvRefusedError {
    return refused(this.name, `line ${this.#line()} is longer than ${this.limits.maxRecordSize} bytes`);
  }

  /**
   * Split line [start, end) of `buf` at commas and emit its cookies. `text` is `buf` as a string
   * when it is ASCII (offsets are then the same). `nextComma` is the first comma at or after
   * `start` (or -1), found once per piece; returns the first comma after the line.
   */
  #fields(buf: Buffer, start: number, end: number, text: string | undefined, nextComma = buf.indexOf(0x2c, start)): number {
    const bounds = this.#bounds;
    bounds.length = 0;
    for (let from = start; ; ) {
      if (nextComma >= 0 && nextComma < from) nextComma = buf.indexOf(0x2c, from);
      if (nextComma < 0 || nextComma >= end) {
        bounds.push(from, end);
        break;
      }
      bounds.push(from, nextComma);
      from = nextComma + 1;
      if (bounds.length > 2 * this.limits.maxFields) {
        throw refused(this.name, `line ${this.#line()} has more than ${this.limits.maxFields} fields`);
      }
    }
    // A field of more bytes than this cannot be an e-mail of MAX_EMAIL_LENGTH characters.
    const encoding = text === undefined ? 'utf8' : 'latin1';
    const emailBytes = text === undefined ? 4 * MAX_EMAIL_LENGTH : MAX_EMAIL_LENGTH;
    // A row of one field (token_*.csv) has no email beside it.
    let email: string | null | undefined = this.emails && bounds.length > 2 ? undefined : null;
    for (let f = 0; f < bounds.length; f += 2) {
      const s = bounds[f]!;
      const e = bounds[f + 1]!;
      // Bytes are at least characters: fewer bytes than a cookie's minimum is no cookie.
      if (e - s < MIN_COOKIE_LENGTH) continue;
      // A slice of the piece's text: no copy, and the GC moves a small object, not 400 bytes.
      const cookie = cookieInField(text === undefined ? buf.toString('utf8', s, e) : text.slice(s, e));
      if (cookie === undefined) continue;
      if (email === undefined) {
        // Only fields short enough to be an address become strings (emailIn skips longer ones),
        // copies rather than slices: a label kept must not keep its piece of the file alive.
        const short = this.#short;
        short.length = 0;
        for (let g = 0; g < bounds.length; g += 2) {
          if (bounds[g + 1]! - bounds[g]! <= emailBytes) short.push(buf.toString(encoding, bounds[g], bounds[g + 1]));
        }
        email = emailIn(short) ?? null;
      }
      this.emit(cookie, email);
    }
    return nextComma;
  }
}

/**
 * An ASCII buffer as a string (latin1: a plain copy, kept by Node outside the V8 heap when large),
 * so fields are slices of it; undefined for anything else, decoded as UTF-8 field by field (a
 * comma is never part of a multi-byte character, so fields decode as the whole line would).
 */
function asciiText(buf: Buffer): string | undefined {
  return isAscii(buf) ? buf.toString('latin1') : undefined;
}

function tooLarge(name: string, limits: CsvLimits): CsvRefusedError {
  return refused(name, `more than ${limits.maxFileBytes} bytes (the limit for one CSV/TXT file)`);
}

const FALLBACK_SEPARATORS = /[,;\t ]+/;

/** Text that is not CSV after all (stray quotes): lines (LF, CR or CRLF), split at any separator. */
function fallbackRows(buf: Buffer, name: string, limits: CsvLimits, emit: Emit, emails: boolean): void {
  let pos = buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  for (let line = 1; pos < buf.length; line++) {
    let end = pos;
    while (end < buf.length && buf[end] !== 0x0a && buf[end] !== 0x0d) {
      if (++end - pos > limits.maxRecordSize) throw refused(name, `line ${line} is longer than ${limits.maxRecordSize} bytes`);
    }
    const row = buf.toString('utf8', pos, end).split(FALLBACK_SEPARATORS);
    if (row.length > limits.maxFields) throw refused(name, `line ${line} has more than ${limits.maxFields} fields`);
    visitRow(row, emit, emails);
    pos = end + (buf[end] === 0x0d && buf[end + 1] === 0x0a ? 2 : 1);
  }
}

type CsvParseSync = typeof import('csv-parse/sync');
let csvParse: CsvParseSync | undefined;
/** csv-parse, loaded the first time a file with quotes is met (most artifacts have none). */
function loadCsvParse(): CsvParseSync {
  csvParse ??= createRequire(import.meta.url)('csv-parse/sync') as CsvParseSync;
  return csvParse;
}

/**
 * A file with quotes, through csv-parse, one record at a time (`on_record` keeps none). Returns
 * false when the text is not CSV after all; what it found is then discarded, not emitted, so the
 * fallback reads the file from the start as before.
 */
function quotedRows(buf: Buffer, name: string, limits: CsvLimits, emit: Emit, emails: boolean): boolean {
  const found: [string, string | null][] = [];
  const { CsvError, parse } = loadCsvParse();
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
        visitRow(record, (cookie, email) => found.push([cookie, email]), emails);
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

/**
 * The identities that have an e-mail, as a ReadonlyMap: a view of the extractor's own index (no
 * second map of 100k identities to build).
 */
class Labels implements ReadonlyMap<string, string> {
  count = 0;
  constructor(readonly seen: IdentityMap<string | null>) {}
  get size(): number {
    return this.count;
  }
  get(id: string): string | undefined {
    return this.seen.get(id) ?? undefined;
  }
  has(id: string): boolean {
    return this.get(id) !== undefined;
  }
  forEach(fn: (email: string, id: string, map: ReadonlyMap<string, string>) => void, thisArg?: unknown): void {
    for (const [id, email] of this) fn.call(thisArg, email, id, this);
  }
  *entries(): MapIterator<[string, string]> {
    for (const [id, email] of this.seen) if (email !== null) yield [id, email];
  }
  *keys(): MapIterator<string> {
    for (const [id] of this.entries()) yield id;
  }
  *values(): MapIterator<string> {
    for (const [, email] of this.entries()) yield email;
  }
  [Symbol.iterator](): MapIterator<[string, string]> {
    return this.entries();
  }
  get [Symbol.toStringTag](): string {
    return 'Labels';
  }
}

/** A file arriving in pieces (see CookieExtractor.open). */
export interface FileScan {
  /** Scan the next piece. False once the file turns out to hold quotes: pass it whole to `add`. */
  write(piece: Buffer): boolean;
  /** The file is complete. */
  end(): void;
}

/** Whether (a piece of) a file holds a quote character: then csv-parse reads the whole file. */
function hasQuote(piece: Buffer): boolean {
  return piece.includes(0x22);
}

/**
 * Cookies from several files, deduplicated across them (by identity, first one wins; its e-mail
 * too). Throws CsvRefusedError for a file beyond the limits.
 */
export class CookieExtractor {
  readonly #limits: CsvLimits;
  /** Every identity met, with the first e-mail found beside it (null: none yet). */
  readonly #seen = new IdentityMap<string | null>();
  readonly #cookies: string[] = [];
  readonly #labels = new Labels(this.#seen);
  readonly #emails: boolean;
  #found = 0;

  constructor(limits: Partial<CsvLimits> = {}, opts: ExtractOptions = {}) {
    this.#limits = { ...CSV_LIMITS, ...limits };
    this.#emails = opts.labels ?? true;
  }

  readonly #emit: Emit = (cookie, email) => {
    this.#found++;
    const id = cookieIdentity(cookie);
    const size = this.#seen.size;
    const at = this.#seen.indexOrAdd(id, email);
    if (at === size) {
      this.#cookies.push(cookie);
      if (email !== null) this.#labels.count++;
    } else if (email !== null && this.#seen.valueAt(at) === null) {
      // Labelled under the identity string already held: this row's copy is not kept alive.
      this.#seen.setValueAt(at, email);
      this.#labels.count++;
    }
  };

  /** Scan a whole file (text, or raw UTF-8 bytes). */
  add(source: ExtractSource): void {
    const { name, data } = typeof source === 'string' || Buffer.isBuffer(source) ? { name: 'input', data: source } : source;
    const limits = this.#limits;
    // A string has at most as many characters as bytes: refuse the hopeless before encoding it.
    if (data.length > limits.maxFileBytes) throw tooLarge(name, limits);
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    // Without a quote character CSV is just lines of comma-separated fields: split them directly
    // (csv-parse costs several times more on the 100k-row files of a big artifact).
    if (!hasQuote(buf)) {
      const scan = new PlainScanner(name, limits, this.#emit, this.#emails);
      scan.write(buf);
      scan.end();
    } else if (!quotedRows(buf, name, limits, this.#emit, this.#emails)) fallbackRows(buf, name, limits, this.#emit, this.#emails);
  }

  /**
   * Scan a file as it arrives (an artifact entry as it is unpacked), so it is never held whole.
   * What it yields counts only once it ends without a quote character; on the first quote
   * `write` returns false and the file must be passed whole to `add` (quoted CSV needs csv-parse).
   */
  open(name: string): FileScan {
    // Two flat lists rather than a pair per cookie: fewer objects for the GC to copy.
    const cookies: string[] = [];
    const emails: (string | null)[] = [];
    const scan = new PlainScanner(
      name,
      this.#limits,
      (cookie, email) => {
        cookies.push(cookie);
        emails.push(email);
      },
      this.#emails,
    );
    let quoted = false;
    return {
      write: (piece) => {
        if (quoted || hasQuote(piece)) {
          quoted = true;
          cookies.length = emails.length = 0;
          return false;
        }
        scan.write(piece);
        return true;
      },
      end: () => {
        if (quoted) return;
        scan.end();
        for (let i = 0; i < cookies.length; i++) this.#emit(cookies[i]!, emails[i]!);
        cookies.length = emails.length = 0;
      },
    };
  }

  result(): Extraction {
    return { cookies: this.#cookies, found: this.#found, labels: this.#labels, index: this.#seen };
  }
}

/**
 * Extract from several files (text, raw UTF-8 bytes, or either with a name) at once,
 * deduplicating across them. Throws CsvRefusedError for a file beyond `limits`.
 */
export function extractCookies(sources: Iterable<ExtractSource>, limits: Partial<CsvLimits> = {}, opts: ExtractOptions = {}): Extraction {
  const extractor = new CookieExtractor(limits, opts);
  for (const source of sources) extractor.add(source);
  return extractor.result();
}

/** Keep the first of each identity, in order. */
export function dedupeByIdentity(cookies: Iterable<string>): string[] {
  const seen = new IdentitySet();
  const out: string[] = [];
  for (const c of cookies) if (seen.add(cookieIdentity(c))) out.push(c);
  return out;
}
