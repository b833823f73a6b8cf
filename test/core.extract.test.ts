import AdmZip from 'adm-zip';
import { describe, expect, it } from 'vitest';
import { cookieIdentity } from '../src/core/cookie.js';
import { CookieExtractor, dedupeByIdentity, extractCookies, isCookieFile } from '../src/core/extract.js';
import { readZip, safeEntryName, writeFiles } from '../src/services/archive.js';
import { harvestZip } from '../src/services/harvest.js';
import { buildRawZip } from './fake-github.js';
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

describe('extraction limits and streamed scanning', () => {
  it('refuses a file, a line or a row beyond the limits, naming the file', () => {
    const c = makeCookie();
    expect(() => extractCookies([{ name: 'a.csv', data: `${c}\n` }], { maxFileBytes: 100 })).toThrow(/a\.csv refused: more than 100 bytes/);
    expect(() => extractCookies([{ name: 'b.csv', data: `${c}\n${'x'.repeat(600)}\n` }], { maxRecordSize: 500 })).toThrow(
      /b\.csv refused: line 2 is longer than 500 bytes/,
    );
    expect(() => extractCookies([{ name: 'c.csv', data: `${c}\r\n${'a,'.repeat(20)}\r\n` }], { maxFields: 10 })).toThrow(
      /c\.csv refused: line 2 has more than 10 fields/,
    );
    // The same limits on the quoted (csv-parse) and not-CSV (fallback) paths.
    expect(() => extractCookies([{ name: 'd.csv', data: `"${c}"\n${'a,'.repeat(20)}\n` }], { maxFields: 10 })).toThrow(/d\.csv refused: line 2 has more than 10 fields/);
    expect(() => extractCookies([{ name: 'e.csv', data: `"x\n${'y'.repeat(600)}\n` }], { maxRecordSize: 500 })).toThrow(/e\.csv refused: line 2 is longer than 500 bytes/);
    // At the limits exactly, nothing is refused.
    expect(extractCookies([{ name: 'f.csv', data: `${c}\n${'a,'.repeat(9)}a\n` }], { maxFields: 10 }).cookies).toEqual([c]);
  });

  it('CR-only files and odd line ends read like the rest', () => {
    const [a, b, c] = [makeCookie(), makeCookie(), makeCookie()];
    expect(extractCookies([`x@y.z,${a}\r${b}\r\r\n\n${c}`]).cookies).toEqual([a, b, c]);
    expect(extractCookies([`x@y.z,${a}\r${b}\r`]).labels.get(cookieIdentity(a))).toBe('x@y.z');
  });

  it('a file scanned in pieces gives what the whole file gives, whatever the cuts', () => {
    const cookies = Array.from({ length: 40 }, (_, i) => makeCookie(i % 3 === 0 ? 'jwt' : 'encoded'));
    // BOM, CRLF and LF lines, one- and two-field rows, no line break at the end.
    const rows = cookies.map((c, i) => (i % 2 ? `user${i}@mail.test,${c}` : c));
    const body = Buffer.from(`\uFEFF${rows.map((r, i) => r + (i % 5 ? '\r\n' : '\n')).join('').trimEnd()}`);
    const whole = extractCookies([body]);
    for (const size of [1, 7, 64, 433, 4096]) {
      const x = new CookieExtractor();
      const scan = x.open('piece.csv');
      for (let at = 0; at < body.length; at += size) expect(scan.write(body.subarray(at, at + size))).toBe(true);
      scan.end();
      const got = x.result();
      expect(got.cookies).toEqual(whole.cookies);
      expect([...got.labels]).toEqual([...whole.labels]);
      expect(got.found).toBe(whole.found);
    }
  });

  it('a streamed file that turns out to hold quotes yields nothing until read whole', () => {
    const [a, b] = [makeCookie(), makeCookie()];
    const x = new CookieExtractor();
    const scan = x.open('late.csv');
    expect(scan.write(Buffer.from(`${a}\n`))).toBe(true);
    expect(scan.write(Buffer.from(`"q@r.st","${b}"\n`))).toBe(false);
    scan.end();
    expect(x.result().cookies).toEqual([]);
    x.add({ name: 'late.csv', data: `${a}\n"q@r.st","${b}"\n` });
    expect(x.result().cookies).toEqual([a, b]);
    expect(x.result().labels.get(cookieIdentity(b))).toBe('q@r.st');
  });

  it('a zip entry larger than one unpacked piece is scanned across pieces (stored and deflated)', async () => {
    const cookies = Array.from({ length: 6000 }, () => makeCookie());
    const token = cookies.map((c) => `${c}\r\n`).join('');
    const output = cookies.map((c, i) => `u${i}@mail.test,${c}\r\n`).join('');
    expect(token.length).toBeGreaterThan(1024 * 1024); // more than one 1 MiB piece
    const zip = new AdmZip();
    zip.addFile('output_1.csv', Buffer.from(output));
    zip.addFile('token_1.csv', Buffer.from(token));
    const h = await harvestZip(zip.toBuffer(), 'big.zip');
    expect(h.cookies).toEqual(cookies);
    expect(h.labels.size).toBe(cookies.length);
    expect(h.labels.get(cookieIdentity(cookies[5999]!))).toBe('u5999@mail.test');
    const stored = buildRawZip([{ name: 'token_2.csv', data: token, method: 'store' }]);
    expect((await harvestZip(stored, 'stored.zip')).cookies).toEqual(cookies);
    // For a store that keeps no labels the e-mails are not looked for: same cookies, no labels.
    const bare = await harvestZip(zip.toBuffer(), 'big.zip', {}, { labels: false });
    expect(bare.cookies).toEqual(cookies);
    expect(bare.labels.size).toBe(0);
  });

  it('labels: false finds the same cookies in every kind of file, and no e-mail', () => {
    const [a, b, c] = [makeCookie('encoded'), makeCookie('decoded'), makeCookie('jwt')];
    const sources = [
      `alice@example.com,${a}\r\n`, // plain CSV
      `"bob@mail.test","${b}"\r\n`, // quoted (csv-parse)
      `"carol@x.io" ${c} "\r\n`, // stray quotes (the line fallback)
      `${a}\r\n`,
    ];
    const full = extractCookies(sources);
    expect(full.labels.size).toBe(3);
    const bare = extractCookies(sources, {}, { labels: false });
    expect(bare.cookies).toEqual(full.cookies);
    expect(bare.found).toBe(full.found);
    expect(bare.labels.size).toBe(0);
    expect([...bare.labels]).toEqual([]);
    const x = new CookieExtractor({}, { labels: false });
    const scan = x.open('output_1.csv');
    expect(scan.write(Buffer.from(`dave@mail.test,${a}\n`))).toBe(true);
    scan.end();
    expect(x.result().cookies).toEqual([a]);
    expect(x.result().labels.size).toBe(0);
  });
});
