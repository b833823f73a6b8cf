/**
 * src/stdio.ts: standard output and error written to the descriptor for pipes and files, through
 * the process stream for terminals, with the order kept when a write would block. Unit tests give
 * the writer a fake system; the end-to-end tests run the built CLI with stdout and stderr as
 * files, and as a pipe whose reader is slow (the closed pipe is in cli.config.test.ts).
 */
import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StdWriter, type StdPort } from '../src/stdio.js';
import { BIN, baseEnv, TempStore } from './helpers/cli.js';
import { makeCookie } from './helpers/cookies.js';

class ClosedPipe extends Error {}

/** A fake system: at most `chunk` bytes per write call; `fail` gives each call's error in turn (undefined: none). */
function fakePort(opts: { charDevice?: boolean; tty?: boolean; chunk?: number; fail?: string[] } = {}) {
  // Bytes as written (a multi-byte character may be cut between two writes); `text()` joins them.
  const direct: Buffer[] = [];
  const viaStream: Buffer[] = [];
  const stream = Object.assign(new EventEmitter(), {
    isTTY: opts.tty ?? false,
    columns: opts.tty ? 132 : undefined,
    write: (data: string | Uint8Array) => viaStream.push(Buffer.from(data)),
  });
  const fail = [...(opts.fail ?? [])];
  let streamsMade = 0;
  const port: StdPort = {
    writeSync: (_fd, bytes, offset, length) => {
      const code = fail.shift();
      if (code) throw Object.assign(new Error(code), { code });
      const n = Math.min(length, opts.chunk ?? length);
      direct.push(Buffer.from(bytes.subarray(offset, offset + n)));
      return n;
    },
    isCharacterDevice: () => opts.charDevice ?? false,
    stream: () => {
      streamsMade++;
      return stream as unknown as NodeJS.WriteStream;
    },
    closedPipe: () => {
      throw new ClosedPipe();
    },
  };
  const text = (parts: Buffer[]) => Buffer.concat(parts).toString('utf8');
  return { port, direct: () => text(direct), viaStream: () => text(viaStream), writes: () => direct.length, stream, streamsMade: () => streamsMade };
}

describe('StdWriter', () => {
  it('writes a pipe or file straight to the descriptor, partial writes included, and never makes the stream', () => {
    const f = fakePort({ chunk: 3 });
    const w = new StdWriter(1, f.port);
    w.write('héllo ✓\n');
    w.write('second\n');
    expect(f.direct()).toBe('héllo ✓\nsecond\n');
    expect(f.writes()).toBeGreaterThan(4); // three bytes at a time
    expect(f.viaStream()).toBe('');
    expect(f.streamsMade()).toBe(0);
    expect(w.isTTY()).toBe(false);
    expect(w.columns()).toBeUndefined();
  });

  it('a write that would block hands the rest to the stream, and every later write follows it (order kept)', () => {
    const f = fakePort({ chunk: 4, fail: [undefined as unknown as string, 'EAGAIN'] });
    const w = new StdWriter(1, f.port);
    w.write('abcdefghij');
    w.write('KLM');
    expect(f.direct()).toBe('abcd');
    expect(f.viaStream()).toBe('efghijKLM');
  });

  it('a closed pipe ends the run (EPIPE), directly and through the stream; other errors are thrown', () => {
    const f = fakePort({ fail: ['EPIPE'] });
    expect(() => new StdWriter(1, f.port).write('x')).toThrow(ClosedPipe);
    const g = fakePort({ fail: ['EIO'] });
    expect(() => new StdWriter(2, g.port).write('x')).toThrow('EIO');
    const h = fakePort({ charDevice: true });
    new StdWriter(1, h.port).write('to the terminal');
    expect(() => h.stream.emit('error', Object.assign(new Error('EPIPE'), { code: 'EPIPE' }))).toThrow(ClosedPipe);
  });

  it('a terminal (a character device) goes through the process stream, which knows its width', () => {
    const f = fakePort({ charDevice: true, tty: true });
    const w = new StdWriter(2, f.port);
    expect(w.isTTY()).toBe(true);
    expect(w.columns()).toBe(132);
    w.write('coloured\n');
    expect(f.viaStream()).toBe('coloured\n');
    expect(f.direct()).toBe('');
  });

  it('code that takes the stream (a progress bar, a prompt) makes later writes go through it too', () => {
    const f = fakePort();
    const w = new StdWriter(2, f.port);
    w.write('one\n');
    w.stream();
    w.write('two\n');
    expect(f.direct()).toBe('one\n');
    expect(f.viaStream()).toBe('two\n');
  });
});

describe('the CLI on files and pipes', () => {
  let store: TempStore | undefined;
  afterEach(() => {
    store?.cleanup();
    store = undefined;
  });

  it('stdout and stderr to files: every line, in order, nothing lost', () => {
    store = new TempStore();
    const cookies = Array.from({ length: 2000 }, () => makeCookie());
    store.writeKeys({ k: cookies });
    const out = join(store.dir, 'out.txt');
    const err = join(store.dir, 'err.txt');
    const r = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" --reveal cookies list k > "${out}" 2> "${err}"; "${process.execPath}" "${BIN}" status --bogus 2>> "${err}"`], {
      cwd: store.dir,
      env: baseEnv({ DATA_DIR: store.dataDir }),
    });
    expect(r.status).toBe(2);
    const text = readFileSync(out, 'utf8');
    for (const [i, c] of [0, 999, 1999].map((i) => [i, cookies[i]!] as const)) expect(text, `cookie #${i}`).toContain(c);
    expect(text.indexOf(cookies[0]!)).toBeLessThan(text.indexOf(cookies[1999]!));
    expect(readFileSync(err, 'utf8')).toMatch(/unknown option '--bogus'/);
  });

  it('a pipe whose reader is slow loses nothing: more output than the pipe holds waits for the reader', async () => {
    store = new TempStore();
    const cookies = Array.from({ length: 1500 }, () => makeCookie()); // ~600 KB of output, > a pipe's 64 KiB
    store.writeKeys({ k: cookies });
    // A parent that reads nothing for 300 ms, then everything. (A write that would block on a
    // non-blocking pipe, EAGAIN, is covered by the StdWriter tests above: Node makes its children's
    // standard descriptors blocking, so a test cannot hand the CLI a non-blocking one.)
    const wrapper = `
      const { spawn } = require('node:child_process');
      const c = spawn(process.execPath, process.argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'] });
      c.stdout.pause();
      setTimeout(() => { c.stdout.pipe(process.stdout); c.stdout.resume(); }, 300);
      c.on('close', (code) => { process.exitCode = code; });`;
    const child = spawn(process.execPath, ['-e', wrapper, BIN, '--reveal', 'cookies', 'list', 'k'], {
      cwd: store.dir,
      env: baseEnv({ DATA_DIR: store.dataDir }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise((r) => child.on('close', r));
    expect(err).toBe('');
    expect(code).toBe(0);
    for (const c of cookies) if (!out.includes(c)) throw new Error('a cookie line is missing');
    expect(out.indexOf(cookies[0]!)).toBeLessThan(out.indexOf(cookies[1499]!));
  });
});
