/**
 * Standard output and error, written to their file descriptors while they are pipes, sockets or
 * files, and through `process.stdout` / `process.stderr` when they are terminals.
 *
 * Why: the first touch of `process.stdout` sets up a stream, and for a pipe (cron, `| jq`, a
 * parent process) that is a socket with Node's net and stream modules behind it — about 5% of
 * `cookie-pool status`'s start-up, for a few lines of output. Node writes to pipes and files
 * synchronously on Linux anyway, so a `writeSync` loop says the same thing in the same order.
 *
 * A write that would block (a non-blocking pipe that is full) hands the rest to the process
 * stream, which queues it, and every later write of that descriptor goes the same way, so the
 * order holds. Code that needs the stream itself (a progress bar, a prompt) takes it with
 * `stream()` (`io.stdout`, `io.stderr`), and from then on the descriptor's writes go through it
 * too. A closed pipe (`cookie-pool … | head`) ends the run quietly with the exit code it had.
 */
import { fstatSync, writeSync } from 'node:fs';
import { UsageError } from './errors.js';

export type StdFd = 1 | 2;

/** What a StdWriter needs of the system (the tests give it fakes). */
export interface StdPort {
  /** fs.writeSync: bytes written, or throws (EAGAIN, EPIPE, …). */
  writeSync(fd: number, bytes: Uint8Array, offset: number, length: number): number;
  /** Whether the descriptor is a character device (a terminal, /dev/null); throws when it is closed. */
  isCharacterDevice(fd: number): boolean;
  /** The process stream of the descriptor. */
  stream(): NodeJS.WriteStream;
  /** A closed pipe: end the run. */
  closedPipe(): never;
}

/** Where text goes: standard output or error (a StdWriter), or a stream given instead (tests, a prompt's output). */
export interface TextSink {
  write(text: string): void;
  isTTY(): boolean;
  columns(): number | undefined;
  /** The stream itself, for code that needs one (a progress bar, a prompt). */
  stream(): NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/** A given stream as a TextSink. */
export function streamSink(stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number }): TextSink {
  return {
    write: (text) => void stream.write(text),
    isTTY: () => Boolean(stream.isTTY),
    columns: () => stream.columns,
    stream: () => stream,
  };
}

export class StdWriter implements TextSink {
  /** Written directly (true), through the process stream (false), not decided yet. */
  private direct: boolean | undefined;
  private guarded = false;

  constructor(
    private readonly fd: number,
    private readonly port: StdPort,
  ) {}

  /** A character device (a terminal, /dev/null) keeps the process stream: terminals need it (columns, raw mode). */
  private isDirect(): boolean {
    if (this.direct === undefined) {
      try {
        this.direct = !this.port.isCharacterDevice(this.fd);
      } catch {
        this.direct = false;
      }
    }
    return this.direct;
  }

  /** The process stream, with the closed-pipe handler; the descriptor's writes go through it from now on. */
  stream(): NodeJS.WriteStream {
    this.direct = false;
    const stream = this.port.stream();
    if (!this.guarded) {
      this.guarded = true;
      stream.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'EPIPE') this.port.closedPipe();
        throw e;
      });
    }
    return stream;
  }

  write(text: string): void {
    if (!this.isDirect()) {
      this.stream().write(text);
      return;
    }
    const bytes = Buffer.from(text, 'utf8');
    let done = 0;
    try {
      while (done < bytes.length) done += this.port.writeSync(this.fd, bytes, done, bytes.length - done);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') this.port.closedPipe();
      if (code !== 'EAGAIN') throw e;
      this.stream().write(bytes.subarray(done));
    }
  }

  /** Whether the descriptor is a terminal (asked of the process stream only when it is a character device). */
  isTTY(): boolean {
    return !this.isDirect() && Boolean(this.stream().isTTY);
  }

  /** The terminal's width, when the descriptor is one. */
  columns(): number | undefined {
    return this.isDirect() ? undefined : this.stream().columns;
  }
}

function processPort(fd: StdFd): StdPort {
  return {
    writeSync: (f, bytes, offset, length) => writeSync(f, bytes, offset, length),
    isCharacterDevice: (f) => fstatSync(f).isCharacterDevice(),
    stream: () => (fd === 1 ? process.stdout : process.stderr),
    closedPipe: () => process.exit(process.exitCode ?? 0),
  };
}

const writers: Record<StdFd, StdWriter> = { 1: new StdWriter(1, processPort(1)), 2: new StdWriter(2, processPort(2)) };

/**
 * All of standard input as UTF-8 text. More than `maxBytes` is a usage error, raised as soon as
 * the count passes it: a runaway pipe (`yes | cookie-pool import -`) is refused, not held in memory.
 */
export async function readStdinText(stdin: NodeJS.ReadableStream, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += bytes.length;
    if (size > maxBytes) {
      (stdin as { destroy?: () => void }).destroy?.();
      throw new UsageError(
        `standard input holds more than ${maxBytes} bytes, the limit for one cookie file`,
        'give a zip, a folder or smaller files instead',
      );
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Standard output (1) or error (2) as a TextSink. */
export const stdSink = (fd: StdFd): TextSink => writers[fd];

/** Write text to standard output (1) or error (2). */
export const writeStd = (fd: StdFd, text: string): void => writers[fd].write(text);

/** Whether standard output or error is a terminal. */
export const stdIsTTY = (fd: StdFd): boolean => writers[fd].isTTY();

/** The terminal's width, when standard output or error is one. */
export const stdColumns = (fd: StdFd): number | undefined => writers[fd].columns();
