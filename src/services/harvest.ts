/**
 * Gathering candidate cookies from artifact zips, CSV/TXT files and folders (`import`, and the
 * artifact step of `refresh`).
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { dedupeByIdentity, extractCookies, isCookieFile } from '../core/extract.js';
import { UsageError } from '../errors.js';
import { openZip, type ArchiveLimits } from './archive.js';

export interface Harvest {
  /** Distinct candidate cookies (by identity). */
  cookies: string[];
  /** Files that were scanned (inside zips: `zip!entry`). */
  files: string[];
  /** The account email beside a cookie, by identity (see Extraction.labels). */
  labels: Map<string, string>;
}

/** Cookies in a zip held in memory, unpacking one file at a time (only one is in memory at once). */
export async function harvestZip(zip: Buffer, label: string, limits: ArchiveLimits = {}): Promise<Harvest> {
  const entries = await openZip(zip, { ...limits, filter: isCookieFile, label });
  const { cookies, labels } = extractCookies((function* () {
    for (const e of entries) yield e.inflate();
  })());
  return { cookies, files: entries.map((e) => `${label}!${e.name}`), labels };
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

/**
 * Cookies from paths given on the command line: zips, CSV/TXT (or any text) files, folders
 * (walked for .zip/.csv/.txt), `-` for stdin text.
 */
export async function harvestPaths(paths: string[], readStdin: () => Promise<string>, limits: ArchiveLimits = {}): Promise<Harvest> {
  const texts: (string | Buffer)[] = [];
  const files: string[] = [];
  const zips: Harvest[] = [];
  const expanded: string[] = [];
  for (const p of paths) {
    if (p === '-') {
      texts.push(await readStdin());
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
    const data = await readFile(file);
    if (extname(file).toLowerCase() === '.zip' || data.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) {
      zips.push(await harvestZip(data, file, limits));
    } else {
      texts.push(data);
      files.push(file);
    }
  }
  // One extraction over everything so duplicates across files collapse by identity.
  const extraction = extractCookies(texts);
  const direct = extraction.cookies;
  const sources = [...zips.map((z) => z.cookies), ...(texts.length ? [direct] : [])];
  const labels = zips.length === 0 ? extraction.labels : new Map([...zips.flatMap((z) => [...z.labels]), ...extraction.labels]);
  return {
    // Each source is already deduplicated: only several need another pass.
    cookies: sources.length === 1 ? sources[0]! : dedupeByIdentity(sources.flat()),
    files: [...zips.flatMap((z) => z.files), ...files],
    labels,
  };
}
