/**
 * Gathering candidate cookies from artifact zips, CSV/TXT files and folders (`import`, and the
 * artifact step of `refresh`). Every size limit is checked before the bytes are read or unpacked.
 */
import { open, readdir, lstat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { IdentityMap, type IdentityIndex } from '../core/identity.js';
import {
  CookieExtractor,
  CSV_LIMITS,
  CsvRefusedError,
  dedupeByIdentity,
  extractCookies,
  isCookieFile,
  type ExtractOptions,
  type ExtractSource,
} from '../core/extract.js';
import { UsageError } from '../errors.js';
import { ArchiveRefusedError, MAX_UNPACKED_BYTES, openZip, type ArchiveLimits } from './archive.js';

/** `labels: false` for a store that keeps none (Pool.keepsLabels): see ExtractOptions. */
export type HarvestOptions = ExtractOptions;

export interface Harvest {
  /** Distinct candidate cookies (by identity). */
  cookies: string[];
  /** Files that were scanned (inside zips: `zip!entry`). */
  files: string[];
  /** The account email beside a cookie, by identity (see Extraction.labels). */
  labels: ReadonlyMap<string, string>;
  /** Where each of `cookies` is by its identity (see Extraction.index): for the merge plan. */
  index?: IdentityIndex;
}

/**
 * Cookies in a zip held in memory. Each CSV/TXT entry is scanned as it is unpacked, so no file is
 * ever held whole (a quoted one, which csv-parse reads, is unpacked whole within the CSV limit).
 */
export async function harvestZip(zip: Buffer, label: string, limits: ArchiveLimits = {}, opts: HarvestOptions = {}): Promise<Harvest> {
  // A CSV/TXT entry larger than the CSV limit is refused before it is unpacked.
  const entries = await openZip(zip, { maxEntryBytes: CSV_LIMITS.maxFileBytes, ...limits, filter: isCookieFile, label });
  const files = entries.map((e) => `${label}!${e.name}`);
  const extractor = new CookieExtractor({}, opts);
  for (let i = 0; i < entries.length; i++) {
    const scan = extractor.open(files[i]!);
    if (await entries[i]!.inflatePieces((piece) => scan.write(piece))) scan.end();
    else extractor.add({ name: files[i]!, data: entries[i]!.inflate() });
  }
  const { cookies, labels, index } = extractor.result();
  return { cookies, files, labels, index };
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => a.name.localeCompare(b.name));
  for (const e of entries) {
    const p = join(dir, e.name);
    // Symbolic links are not followed.
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() && (isCookieFile(e.name) || extname(e.name).toLowerCase() === '.zip')) out.push(p);
  }
}

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);

/**
 * Read a file given to `import`, refusing one too large before reading it: a zip (by name or by
 * its first bytes) up to the unpacked limit it would be held to, any other file up to the CSV limit.
 */
async function readInput(file: string, maxZipBytes: number): Promise<{ data: Buffer; zip: boolean }> {
  const fh = await open(file, 'r');
  try {
    const { size } = await fh.stat();
    const head = Buffer.alloc(4);
    await fh.read(head, 0, 4, 0);
    const zip = extname(file).toLowerCase() === '.zip' || head.equals(ZIP_MAGIC);
    if (zip && size > maxZipBytes) throw new ArchiveRefusedError(`${file} refused: ${size} bytes, more than the ${maxZipBytes}-byte limit`);
    if (!zip && size > CSV_LIMITS.maxFileBytes) {
      throw new CsvRefusedError(`${file} refused: ${size} bytes, more than the ${CSV_LIMITS.maxFileBytes}-byte limit for one CSV/TXT file`);
    }
    return { data: await fh.readFile(), zip };
  } finally {
    await fh.close();
  }
}

/**
 * Cookies from paths given on the command line: zips, CSV/TXT (or any text) files, folders
 * (walked for .zip/.csv/.txt), `-` for stdin text.
 */
export async function harvestPaths(
  paths: string[],
  readStdin: () => Promise<string>,
  limits: ArchiveLimits = {},
  opts: HarvestOptions = {},
): Promise<Harvest> {
  const texts: ExtractSource[] = [];
  const files: string[] = [];
  const zips: Harvest[] = [];
  const expanded: string[] = [];
  for (const p of paths) {
    if (p === '-') {
      texts.push({ name: '(stdin)', data: await readStdin() });
      files.push('(stdin)');
      continue;
    }
    let st;
    try {
      st = await lstat(p);
    } catch {
      throw new UsageError(`cannot read ${p}: no such file or folder`);
    }
    if (st.isDirectory()) await walk(p, expanded);
    else expanded.push(p);
  }
  for (const file of expanded) {
    const { data, zip } = await readInput(file, limits.maxUnpackedBytes ?? MAX_UNPACKED_BYTES);
    if (zip) {
      zips.push(await harvestZip(data, file, limits, opts));
    } else {
      texts.push({ name: file, data });
      files.push(file);
    }
  }
  // One extraction over everything so duplicates across files collapse by identity.
  const extraction = extractCookies(texts, {}, opts);
  const direct = extraction.cookies;
  const sources = [...zips.map((z) => z.cookies), ...(texts.length ? [direct] : [])];
  const labelSources = [...zips.map((z) => z.labels), ...(texts.length ? [extraction.labels] : [])].filter((l) => l.size > 0);
  let labels: ReadonlyMap<string, string> = labelSources[0] ?? extraction.labels;
  if (labelSources.length > 1) {
    // A later source's label wins, as with `new Map([...all entries])`.
    const merged = new IdentityMap<string>();
    for (const source of labelSources) for (const [id, email] of source) merged.set(id, email);
    labels = merged;
  }
  // Each source is already deduplicated: only several need another pass (and then have no index).
  const index = sources.length !== 1 ? undefined : zips.length === 1 ? zips[0]!.index : extraction.index;
  return {
    cookies: sources.length === 1 ? sources[0]! : dedupeByIdentity(sources.flat()),
    files: [...zips.flatMap((z) => z.files), ...files],
    labels,
    ...(index ? { index } : {}),
  };
}
