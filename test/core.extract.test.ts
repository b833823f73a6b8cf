import AdmZip from 'adm-zip';
import { describe, expect, it } from 'vitest';
import { cookieIdentity } from '../src/core/cookie.js';
import { dedupeByIdentity, extractCookies, isCookieFile } from '../src/core/extract.js';
import { readZip, safeEntryName, writeFiles } from '../src/services/archive.js';
import { harvestZip } from '../src/services/harvest.js';
import { makeCookie, makeJwt } from './helpers/cookies.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';

describe('extractCookies', () => {
  it('keeps the account email beside each cookie (output_*.csv rows), none for token-only rows', () => {
    const a = makeCookie('encoded');
    const b = makeCookie('encoded');
    const c = makeCookie('encoded');
    const out = extractCookies([`alice@example.com,${a}\r\n"bob@mail.test","${b}"\r\n`, `${c}\r\n${a}\r\n`]);
    expect(out.cookies).toEqual([a, b, c]);
    expect(out.labels.get(cookieIdentity(a))).toBe('alice@example.com');
    expect(out.labels.get(cookieIdentity(b))).toBe('bob@mail.test');
    expect(out.labels.has(cookieIdentity(c))).toBe(false);
  });

  it('reads both Cursor-Register files (CRLF, no header) and dedupes across them', () => {
    const a = makeCookie('encoded');
    const b = makeCookie('encoded');
    const token = `${a}\r\n${b}\r\n`;
    const output = `one@example.com,${a}\r\ntwo@example.com,${b}\r\n`;
    const r = extractCookies([token, output]);
    expect(r.cookies).toEqual([a, b]);
    expect(r.found).toBe(4);
  });

  it('handles headers, quotes, BOM, bare JWTs, the cookie-name prefix and odd separators', () => {
    const a = makeCookie('decoded');
    const j = makeJwt();
    const c = makeCookie('encoded');
    const text = `\uFEFFemail,token,password\n"x@y.z","${a}","p,w"\n${j}\n\nWorkosCursorSessionToken=${c}\n`;
    expect(extractCookies([text]).cookies).toEqual([a, j, c]);
  });

  it('treats the same JWT in two forms as one cookie', () => {
    const enc = makeCookie('encoded');
    const dec = enc.replace('%3A%3A', '::');
    expect(extractCookies([`${enc}\n${dec}\n`]).cookies).toEqual([enc]);
    expect(dedupeByIdentity([dec, enc])).toEqual([dec]);
  });

  it('passes broken cookie-like fields through (to be refused as malformed) but ignores prose', () => {
    const broken = 'user_01ABCDEF::eyJhbGciOiJIUzI1NiJ9.notbase64!!.x';
    const r = extractCookies([`hello,world,${broken},some@mail.com\n`]);
    expect(r.cookies).toEqual([broken]);
  });

  it('survives text that is not valid CSV', () => {
    const a = makeCookie();
    expect(extractCookies([`"unclosed quote ${a}\n${a}`]).cookies.map(cookieIdentity)).toContain(cookieIdentity(a));
  });

  it('knows which files to scan', () => {
    expect(isCookieFile('token_2026-11-27.csv')).toBe(true);
    expect(isCookieFile('NOTES.TXT')).toBe(true);
    expect(isCookieFile('run.log')).toBe(false);
  });
});

/** A zip with one entry whose name and external attributes we choose (adm-zip sanitises names). */
function rawZip(name: string, content: Buffer, opts: { attr?: number; declaredSize?: number } = {}): Buffer {
  const data = deflateRawSync(content);
  const nameBuf = Buffer.from(name);
  const local = Buffer.alloc(30);
  local.writeUInt32LE(0x04034b50, 0);
  local.writeUInt16LE(20, 4);
  local.writeUInt16LE(8, 8);
  local.writeUInt32LE(0, 14);
  local.writeUInt32LE(data.length, 18);
  local.writeUInt32LE(opts.declaredSize ?? content.length, 22);
  local.writeUInt16LE(nameBuf.length, 26);
  const central = Buffer.alloc(46);
  central.writeUInt32LE(0x02014b50, 0);
  central.writeUInt16LE(0x031e, 4);
  central.writeUInt16LE(20, 6);
  central.writeUInt16LE(8, 10);
  central.writeUInt32LE(0, 16);
  central.writeUInt32LE(data.length, 20);
  central.writeUInt32LE(opts.declaredSize ?? content.length, 24);
  central.writeUInt16LE(nameBuf.length, 28);
  central.writeUInt32LE(opts.attr ?? 0o100644 * 65536, 38);
  central.writeUInt32LE(0, 42);
  const localPart = Buffer.concat([local, nameBuf, data]);
  const centralPart = Buffer.concat([central, nameBuf]);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(1, 8);
  end.writeUInt16LE(1, 10);
  end.writeUInt32LE(centralPart.length, 12);
  end.writeUInt32LE(localPart.length, 16);
  return Buffer.concat([localPart, centralPart, end]);
}

describe('readZip (safe unzip)', () => {
  it('reads a normal artifact and harvests its cookies', async () => {
    const a = makeCookie();
    const zip = new AdmZip();
    zip.addFile('token_x.csv', Buffer.from(`${a}\r\n`));
    zip.addFile('README.md', Buffer.from('ignore me'));
    const h = await harvestZip(zip.toBuffer(), 'artifact.zip');
    expect(h.cookies).toEqual([a]);
    expect(h.files).toEqual(['artifact.zip!token_x.csv']);
  });

  it('refuses entries that escape: .., absolute, drive letters, symlinks', async () => {
    await expect(readZip(rawZip('../evil.csv', Buffer.from('x')))).rejects.toThrow(/escapes/);
    await expect(readZip(rawZip('a/../../evil.csv', Buffer.from('x')))).rejects.toThrow(/escapes/);
    await expect(readZip(rawZip('/etc/evil.csv', Buffer.from('x')))).rejects.toThrow(/escapes/);
    await expect(readZip(rawZip('C:\\evil.csv', Buffer.from('x')))).rejects.toThrow(/escapes/);
    await expect(readZip(rawZip('link.csv', Buffer.from('/etc/passwd'), { attr: 0o120777 * 65536 }))).rejects.toThrow(/symbolic link/);
    expect(safeEntryName('dir\\sub\\./a.csv')).toBe('dir/sub/a.csv');
  });

  it('refuses too many entries and too many bytes, even when the header lies', async () => {
    const zip = new AdmZip();
    for (let i = 0; i < 11; i++) zip.addFile(`f${i}.csv`, Buffer.from('x'));
    await expect(readZip(zip.toBuffer(), { maxEntries: 10 })).rejects.toThrow(/11 entries/);
    const bomb = Buffer.alloc(5 * 1024 * 1024); // 5 MiB of zeros, a few KiB compressed
    await expect(readZip(rawZip('bomb.csv', bomb), { maxUnpackedBytes: 1024 * 1024 })).rejects.toThrow(/bytes unpacked/);
    // The header claims 10 bytes; inflation is still bounded by the budget.
    await expect(readZip(rawZip('liar.csv', bomb, { declaredSize: 10 }), { maxUnpackedBytes: 1024 * 1024 })).rejects.toThrow(/size limit/);
  });

  it('refuses garbage', async () => {
    await expect(readZip(Buffer.from('not a zip at all'))).rejects.toThrow(/not a readable zip/);
  });

  it('writes extracted files inside the folder only, never over an existing file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cp-out-'));
    try {
      const written = await writeFiles([{ name: 'sub/a.csv', data: Buffer.from('hi') }], dir);
      expect(readFileSync(written[0]!, 'utf8')).toBe('hi');
      await expect(writeFiles([{ name: 'sub/a.csv', data: Buffer.from('again') }], dir)).rejects.toThrow();
      await expect(writeFiles([{ name: '../x.csv', data: Buffer.from('x') }], dir)).rejects.toThrow(/escapes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
