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
 * `stdioStream()`, and from then on the descriptor's writes go through it too. A closed pipe
 * (`cookie-pool … | head`) ends the run quietly with the exit code it had, as before.
 */
import { fstatSync, writeSync } from 'node:fs';

export type StdFd = 1 | 2;

/** Per descriptor: written directly (true), through the process stream (false), not decided yet. */
const direct: Record<StdFd, boolean | undefined> = { 1: undefined, 2: undefined };
const guarded = new Set<StdFd>();

function closedPipe(): never {
  process.exit(process.exitCode ?? 0);
}

/** A character device (a terminal, /dev/null) keeps the process stream: terminals need it (columns, raw mode). */
function isDirect(fd: StdFd): boolean {
  if (direct[fd] === undefined) {
    try {
      direct[fd] = !fstatSync(fd).isCharacterDevice();
    } catch {
      direct[fd] = false;
    }
  }
  return direct[fd];
}

/** The process stream of a descriptor, with the closed-pipe handler; the descriptor's writes go through it from now on. */
export function stdioStream(fd: StdFd): NodeJS.WriteStream {
  direct[fd] = false;
  const stream = fd === 1 ? process.stdout : process.stderr;
  if (!guarded.has(fd)) {
    guarded.add(fd);
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') closedPipe();
      throw e;
    });
  }
  return stream;
}

/** Write text to standard output (1) or error (2). */
export function writeStd(fd: StdFd, text: string): void {
  if (!isDirect(fd)) {
    stdioStream(fd).write(text);
    return;
  }
  const bytes = Buffer.from(text, 'utf8');
  let done = 0;
  try {
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPIPE') closedPipe();
    if (code !== 'EAGAIN') throw e;
    stdioStream(fd).write(bytes.subarray(done));
  }
}

/** Whether the descriptor is a terminal (asked of the process stream only when it is a character device). */
export function stdIsTTY(fd: StdFd): boolean {
  return !isDirect(fd) && Boolean(stdioStream(fd).isTTY);
}

/** The terminal's width, when the descriptor is one. */
export function stdColumns(fd: StdFd): number | undefined {
  return isDirect(fd) ? undefined : stdioStream(fd).columns;
}
