/**
 * Limits on what an artifact or a CSV file may cost (issue 13 #2 and #4): each is enforced before
 * the cost is paid, with a clear message, the store untouched. In-process checks (adm-zip is
 * watched) and the built CLI with its peak RSS measured.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ArchiveRefusedError, openZip, readZipDirectory } from '../src/services/archive.js';
import { CSV_LIMITS } from '../src/core/extract.js';
import { harvestZip } from '../src/services/harvest.js';
import { buildRawZip, buildZip } from './fake-github.js';
import { BIN, baseEnv, TempStore } from './helpers/cli.js';
import { makeCookie } from './helpers/cookies.js';

/** Every adm-zip construction is counted: a refused archive must never reach it. */
const admZip = vi.hoisted(() => ({ constructed: 0 }));
vi.mock('adm-zip', async (importOriginal) => {
  const Real = ((await importOriginal()) as { default: new (...args: unknown[]) => object }).default;
  function Counting(...args: unknown[]): object {
    admZip.constructed++;
    return new Real(...args);
  }
  return { default: Counting };
});

/**
 * A zip of `count` empty stored entries, written directly (adm-zip would take seconds to build
 * it): local headers, central directory, then zip64 records when the count needs them.
 */
function manyEntriesZip(count: number): Buffer {
  const name = (i: number) => Buffer.from(i.toString(36).padStart(5, '0'));
  const nameLen = 5;
  const zip64 = count > 0xffff;
  const localSize = 30 + nameLen;
  const centralSize = 46 + nameLen;
  const cdOffset = count * localSize;
  const cdSize = count * centralSize;
  const buf = Buffer.alloc(cdOffset + cdSize + (zip64 ? 56 + 20 : 0) + 22);
  for (let i = 0; i < count; i++) {
    const at = i * localSize;
    buf.writeUInt32LE(0x04034b50, at);
    buf.writeUInt16LE(20, at + 4);
    buf.writeUInt16LE(nameLen, at + 26);
    name(i).copy(buf, at + 30);
    const c = cdOffset + i * centralSize;
    buf.writeUInt32LE(0x02014b50, c);
    buf.writeUInt16LE(0x031e, c + 4);
    buf.writeUInt16LE(20, c + 6);
    buf.writeUInt16LE(nameLen, c + 28);
    buf.writeUInt32LE((0o100644 << 16) >>> 0, c + 38);
    buf.writeUInt32LE(at, c + 42);
    name(i).copy(buf, c + 46);
  }
  let at = cdOffset + cdSize;
  if (zip64) {
    buf.writeUInt32LE(0x06064b50, at);
    buf.writeBigUInt64LE(44n, at + 4);
    buf.writeUInt16LE(45, at + 12);
    buf.writeUInt16LE(45, at + 14);
    buf.writeBigUInt64LE(BigInt(count), at + 24);
    buf.writeBigUInt64LE(BigInt(count), at + 32);
    buf.writeBigUInt64LE(BigInt(cdSize), at + 40);
    buf.writeBigUInt64LE(BigInt(cdOffset), at + 48);
    const locator = at + 56;
    buf.writeUInt32LE(0x07064b50, locator);
    buf.writeBigUInt64LE(BigInt(at), locator + 8);
    buf.writeUInt32LE(1, locator + 16);
    at = locator + 20;
  }
  buf.writeUInt32LE(0x06054b50, at);
  buf.writeUInt16LE(zip64 ? 0xffff : count, at + 8);
  buf.writeUInt16LE(zip64 ? 0xffff : count, at + 10);
  buf.writeUInt32LE(cdSize, at + 12);
  buf.writeUInt32LE(cdOffset, at + 16);
  return buf;
}

beforeEach(() => {
  admZip.constructed = 0;
});

describe('zip limits before adm-zip parses anything', () => {
  it('a 34 MB zip of 400k empty entries (zip64) is refused at once, never parsed', async () => {
    const zip = manyEntriesZip(400_000);
    expect(zip.length).toBeGreaterThan(30 * 1024 * 1024);
    const t0 = performance.now();
    const heap0 = process.memoryUsage().heapUsed;
    await expect(openZip(zip, { label: 'big.zip' })).rejects.toThrow('big.zip refused: 400000 entries (limit 1000)');
    expect(performance.now() - t0).toBeLessThan(3000);
    // adm-zip built an object per entry (3.8 GB for this zip); nothing of the kind happened.
    expect(process.memoryUsage().heapUsed - heap0).toBeLessThan(50 * 1024 * 1024);
    expect(admZip.constructed).toBe(0);
  });

  it('the same count limit without zip64, and zip64 archives within it are read', async () => {
    await expect(openZip(manyEntriesZip(1001))).rejects.toThrow(/1001 entries \(limit 1000\)/);
    expect(admZip.constructed).toBe(0);
    expect(readZipDirectory(manyEntriesZip(70_000))).toMatchObject({ entries: 70_000, zip64: true });
    // A zip64 archive of a few entries passes the check and adm-zip reads the same count.
    const small = manyEntriesZip(3);
    expect(readZipDirectory(small)).toMatchObject({ entries: 3, zip64: false });
    const entries = await openZip(small);
    expect(entries.map((e) => e.name)).toEqual(['00000', '00001', '00002']);
    expect(admZip.constructed).toBe(1);
  });

  it('a directory record that cannot be true is refused as unreadable, unparsed', async () => {
    const zip = manyEntriesZip(10);
    const end = zip.length - 22;
    zip.writeUInt32LE(10 * 46 - 1, end + 12); // directory smaller than 10 minimal headers
    await expect(openZip(zip)).rejects.toThrow(/not a readable zip: the central directory does not fit/);
    zip.writeUInt32LE(zip.length, end + 16); // directory past the end of the file
    await expect(openZip(zip)).rejects.toThrow(/does not fit/);
    await expect(openZip(Buffer.from('PK\x05\x06 too short'))).rejects.toBeInstanceOf(ArchiveRefusedError);
    expect(admZip.constructed).toBe(0);
  });

  it('a CSV entry declared larger than the CSV limit is refused before it is unpacked', async () => {
    const zip = buildRawZip([{ name: 'token.csv', data: `${makeCookie()}\r\n`, declaredSize: CSV_LIMITS.maxFileBytes + 1 }]);
    await expect(harvestZip(zip, 'art.zip')).rejects.toThrow(`art.zip refused: entry "token.csv" is more than ${CSV_LIMITS.maxFileBytes} bytes unpacked`);
  });

  it('a lying size header cannot stream past the budget either', async () => {
    const bomb = Buffer.alloc(3 * 1024 * 1024, 0x61);
    const zip = buildRawZip([{ name: 'liar.csv', data: bomb, declaredSize: 10 }]);
    const [entry] = await openZip(zip, { maxUnpackedBytes: 1024 * 1024 });
    let seen = 0;
    await expect(entry!.inflatePieces((p) => ((seen += p.length), true), 64 * 1024)).rejects.toThrow(/more than the unpacked size limit/);
    expect(seen).toBeLessThanOrEqual(1024 * 1024);
  });
});

/** Run the built CLI with its peak RSS recorded (a preload writes it at exit). */
function runMeasured(s: TempStore, args: string[]): Promise<{ code: number | null; stderr: string; ms: number; maxRssMb: number }> {
  const preload = join(s.dir, 'rss.mjs');
  const out = join(s.dir, 'rss.txt');
  writeFileSync(preload, `import { writeFileSync } from 'node:fs';\nprocess.on('exit', () => writeFileSync(${JSON.stringify(out)}, String(process.resourceUsage().maxRSS)));\n`);
  return new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--import', preload, '--', BIN, ...args], {
      cwd: s.dir,
      env: baseEnv({ DATA_DIR: s.dataDir }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      resolvePromise({ code, stderr, ms, maxRssMb: existsSync(out) ? Number(readFileSync(out, 'utf8')) / 1024 : Infinity });
    });
  });
}

describe('import refuses what would cost too much, quickly, in little memory, store untouched', () => {
  let s: TempStore;
  let before: string;
  beforeEach(() => {
    s = new TempStore('cookie-pool-limits-');
    s.writeKeys({ 'sk-a': [makeCookie()] });
    before = readFileSync(s.keysFile, 'utf8');
  });
  afterEach(() => s.cleanup());

  const refused = async (file: string, message: RegExp) => {
    const res = await runMeasured(s, ['import', file, '--key', 'sk-a']);
    expect(res.stderr).toMatch(message);
    expect(res.code).toBe(1);
    // Generous bounds (a shared machine): before the fix these took 16-20 s and 0.4-3.8 GB.
    expect(res.ms).toBeLessThan(10_000);
    expect(res.maxRssMb).toBeLessThan(250);
    expect(readFileSync(s.keysFile, 'utf8')).toBe(before);
    expect(existsSync(join(s.dataDir, '.backups'))).toBe(false);
  };

  it('a zip of 400k entries', async () => {
    const file = join(s.dir, 'big.zip');
    writeFileSync(file, manyEntriesZip(400_000));
    await refused(file, /big\.zip refused: 400000 entries \(limit 1000\)/);
  });

  it('a small zip of millions of commas after a quote (csv-parse): the field limit', async () => {
    const file = join(s.dir, 'commas.zip');
    // 20 MB of commas in a 20 KB zip: 16 s and 440 MB before the fix (csv-parse built the record).
    writeFileSync(file, buildZip({ 'output.csv': `"a@b.c",${','.repeat(20_000_000)}\n` }));
    expect(readFileSync(file).length).toBeLessThan(100 * 1024);
    await refused(file, /commas\.zip!output\.csv refused: line 1 has more than 1000 fields/);
  });

  it('commas without quotes: the record limit, and the field limit on shorter lines', async () => {
    const wide = join(s.dir, 'wide.zip');
    writeFileSync(wide, buildZip({ 'token.csv': `${makeCookie()}\r\n${','.repeat(4_000_000)}\r\n` }));
    await refused(wide, /wide\.zip!token\.csv refused: line 2 is longer than 65536 bytes/);
    const many = join(s.dir, 'many.csv');
    writeFileSync(many, `${makeCookie()}\n${'x,'.repeat(3000)}\n`);
    await refused(many, /many\.csv refused: line 2 has more than 1000 fields/);
  });

  it('a small zip of very long lines, with and without quotes', async () => {
    const plain = join(s.dir, 'long.zip');
    const lines = `${'A'.repeat(1_000_000)}\n`.repeat(40);
    writeFileSync(plain, buildZip({ 'token.txt': lines }));
    expect(readFileSync(plain).length).toBeLessThan(200 * 1024);
    await refused(plain, /long\.zip!token\.txt refused: line 1 is longer than 65536 bytes/);
    const quoted = join(s.dir, 'quoted.zip');
    writeFileSync(quoted, buildZip({ 'output.csv': `a@b.c,"${lines}` }));
    await refused(quoted, /quoted\.zip!output\.csv refused: line 1 is longer than 65536 bytes/);
  });

  it('a CSV file larger than the per-file limit is refused without being read', async () => {
    const file = join(s.dir, 'huge.csv');
    writeFileSync(file, '');
    truncateSync(file, CSV_LIMITS.maxFileBytes + 1); // sparse: nothing is really written
    await refused(file, new RegExp(`huge\\.csv refused: ${CSV_LIMITS.maxFileBytes + 1} bytes, more than the ${CSV_LIMITS.maxFileBytes}-byte limit`));
  });

  it('standard input past the per-file limit is refused as it streams in, for import - and cookies add -', async () => {
    // A runaway pipe: the child is fed 1 MiB chunks until it stops reading; it must refuse once
    // the count passes the limit, not read to the end (there is none) or hold it all.
    const feed = async (args: string[]) => {
      const child = spawn(process.execPath, [BIN, ...args], { cwd: s.dir, env: baseEnv({ DATA_DIR: s.dataDir }), stdio: ['pipe', 'pipe', 'pipe'] });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      child.stdin.on('error', () => undefined); // EPIPE once the child has stopped reading
      const chunk = Buffer.alloc(1024 * 1024, `${makeCookie()}\n`);
      let fed = 0;
      const done = new Promise<number | null>((r) => child.on('close', r));
      let closed = false;
      void done.then(() => (closed = true));
      // Until the child stops reading (its end closes: EPIPE here) or exits, or twice the limit.
      while (!closed && !child.stdin.destroyed && fed < 2 * CSV_LIMITS.maxFileBytes) {
        const more = child.stdin.write(chunk);
        fed += chunk.length;
        if (!more) await new Promise((r) => child.stdin.once('drain', r).once('close', r));
      }
      child.stdin.destroy();
      return { code: await done, err, fed };
    };
    for (const args of [['import', '-', '--key', 'sk-a'], ['cookies', 'add', 'sk-a', '-']]) {
      const r = await feed(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err).toMatch(new RegExp(`standard input holds more than ${CSV_LIMITS.maxFileBytes} bytes`));
      expect(r.fed).toBeLessThan(2 * CSV_LIMITS.maxFileBytes); // it stopped reading
    }
    expect(readFileSync(s.keysFile, 'utf8')).toBe(before);
  });

  it('a --from-file larger than the per-file limit is refused unread', async () => {
    const file = join(s.dir, 'huge.txt');
    writeFileSync(file, '');
    truncateSync(file, CSV_LIMITS.maxFileBytes + 1); // sparse
    const res = await runMeasured(s, ['cookies', 'add', 'sk-a', '--from-file', file]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/huge\.txt holds more than \d+ bytes, the limit for one cookie file/);
    expect(readFileSync(s.keysFile, 'utf8')).toBe(before);
  });

  it('within the limits the same files import as before', async () => {
    const a = makeCookie();
    const b = makeCookie();
    const file = join(s.dir, 'ok.zip');
    writeFileSync(file, buildZip({ 'token.csv': `${a}\r\n${b}\r\n`, 'output.csv': `"x@y.z","${a}"\r\nq@r.st,${b}\r\n` }));
    const res = await runMeasured(s, ['import', file, '--key', 'sk-a']);
    expect(res.code).toBe(0);
    expect(s.keys()['sk-a']).toHaveLength(3);
    expect(s.keys()['sk-a']!.slice(1)).toEqual([a, b]);
  });
});
