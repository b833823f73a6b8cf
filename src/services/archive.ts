/**
 * Safe unzip of artifact archives (SPEC §5.6), in memory: entries that escape the target
 * (`..`, absolute paths, drive letters, symlinks), more than MAX_ENTRIES entries, or more than
 * MAX_UNPACKED_BYTES unpacked are refused before anything is used. Inflation is bounded by the
 * remaining budget (zlib maxOutputLength), so a lying size header cannot blow up memory.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import { OperationalError } from '../errors.js';

export const MAX_ENTRIES = 1000;
export const MAX_UNPACKED_BYTES = 200 * 1024 * 1024;

export interface ArchiveLimits {
  maxEntries?: number;
  maxUnpackedBytes?: number;
}

export interface ArchiveFile {
  /** Normalised relative path inside the archive (`/` separators). */
  name: string;
  data: Buffer;
}

export class ArchiveRefusedError extends OperationalError {}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

/** Normalise an entry name; undefined if it would escape the extraction folder. */
export function safeEntryName(raw: string): string | undefined {
  const name = raw.replace(/\\/g, '/');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name) || name.includes('\0')) return undefined;
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.some((p) => p === '..')) return undefined;
  return parts.join('/');
}

/** An entry that passed the checks; `inflate()` unpacks it within the archive's remaining budget. */
export interface CheckedEntry {
  name: string;
  inflate(): Buffer;
}

/**
 * Check a zip held in memory and list the entries `filter` picks (all entries are checked).
 * Nothing is unpacked yet, so callers can unpack one entry at a time.
 * Throws ArchiveRefusedError (exit 1) naming the reason.
 */
export async function openZip(
  zip: Buffer,
  opts: ArchiveLimits & { filter?: (name: string) => boolean; label?: string } = {},
): Promise<CheckedEntry[]> {
  const maxEntries = opts.maxEntries ?? MAX_ENTRIES;
  const maxBytes = opts.maxUnpackedBytes ?? MAX_UNPACKED_BYTES;
  const label = opts.label ?? 'archive';
  const { default: AdmZip } = await import('adm-zip');
  let entries;
  try {
    entries = new AdmZip(zip).getEntries();
  } catch (e) {
    throw new ArchiveRefusedError(`${label} is not a readable zip: ${(e as Error).message}`);
  }
  if (entries.length > maxEntries) {
    throw new ArchiveRefusedError(`${label} refused: ${entries.length} entries (limit ${maxEntries})`);
  }
  let declared = 0;
  let unpacked = 0;
  const picked: CheckedEntry[] = [];
  for (const entry of entries) {
    const raw = entry.entryName;
    const name = safeEntryName(raw);
    if (name === undefined) throw new ArchiveRefusedError(`${label} refused: entry "${raw}" escapes the target folder`);
    if (((entry.header.attr >>> 16) & S_IFMT) === S_IFLNK) {
      throw new ArchiveRefusedError(`${label} refused: entry "${raw}" is a symbolic link`);
    }
    if (entry.header.encrypted) throw new ArchiveRefusedError(`${label} refused: entry "${raw}" is encrypted`);
    declared += entry.header.size;
    if (declared > maxBytes) {
      throw new ArchiveRefusedError(`${label} refused: more than ${maxBytes} bytes unpacked`);
    }
    if (entry.isDirectory || name === '' || !(opts.filter?.(name) ?? true)) continue;
    picked.push({
      name,
      inflate: () => {
        // The budget is what is left of the archive's limit: a lying size header cannot exceed it.
        const data = inflateEntry(entry.getCompressedData(), entry.header.method, maxBytes - unpacked, `${label}: ${name}`);
        unpacked += data.length;
        return data;
      },
    });
  }
  return picked;
}

/** Check and unpack a zip held in memory (see openZip). */
export async function readZip(
  zip: Buffer,
  opts: ArchiveLimits & { filter?: (name: string) => boolean; label?: string } = {},
): Promise<ArchiveFile[]> {
  return (await openZip(zip, opts)).map((e) => ({ name: e.name, data: e.inflate() }));
}

function inflateEntry(compressed: Buffer, method: number, budget: number, what: string): Buffer {
  if (method === 0) {
    if (compressed.length > budget) throw new ArchiveRefusedError(`${what}: too large unpacked`);
    return compressed;
  }
  if (method !== 8) throw new ArchiveRefusedError(`${what}: unsupported compression method ${method}`);
  try {
    return inflateRawSync(compressed, { maxOutputLength: Math.max(1, budget) });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE' || /maxOutputLength|too large/i.test((e as Error).message)) {
      throw new ArchiveRefusedError(`${what}: more than the unpacked size limit`);
    }
    throw new ArchiveRefusedError(`${what}: corrupt data (${(e as Error).message})`);
  }
}

/** Write extracted files below `outDir`, re-checking that each path stays inside it. */
export async function writeFiles(files: ArchiveFile[], outDir: string): Promise<string[]> {
  const root = resolve(outDir);
  const written: string[] = [];
  for (const f of files) {
    const target = resolve(root, f.name);
    if (!target.startsWith(root + sep)) throw new ArchiveRefusedError(`entry "${f.name}" escapes ${root}`);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, f.data, { mode: 0o600, flag: 'wx' });
    written.push(join(outDir, f.name));
  }
  return written;
}
