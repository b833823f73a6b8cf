/**
 * Injected IO (as the GitHub CLI's IOStreams): results to stdout, progress and diagnostics to
 * stderr, colour only when wanted, secrets masked unless --reveal. Everything said on stderr goes
 * through the sanitiser (it often carries text from outside: server messages, names); stdout
 * callers sanitise the external cells they print themselves, since their lines carry colour.
 */
import type { ChalkInstance } from 'chalk';
import { maskSecret } from '../core/cookie.js';
import type { IOPort, StatusLine } from '../core/io-port.js';
import { printable, printableLines } from './text.js';

// chalk loads only when this process has a terminal to colour: pipes, cron and --json start faster.
const chalk = process.stdout.isTTY || process.stderr.isTTY ? await import('chalk') : undefined;

const COLOUR_MODELS = new Set(['rgb', 'hex', 'ansi256', 'bgRgb', 'bgHex', 'bgAnsi256']);

/** A chalk look-alike that adds no colour: every style (chained too) returns its text; level 0. */
const plain: ChalkInstance = (() => {
  const proxy: ChalkInstance = new Proxy((() => '') as unknown as ChalkInstance, {
    get: (_t, prop) => {
      if (prop === 'level') return 0;
      if (typeof prop === 'symbol' || prop === 'then') return undefined;
      // Colour models take a colour first and return a style: c.hex('#f00')('text').
      if (COLOUR_MODELS.has(prop)) return () => proxy;
      return proxy;
    },
    apply: (_t, _this, args: unknown[]) => args.join(' '),
    set: () => true,
  });
  return proxy;
})();

function colours(level: 0 | 1): ChalkInstance {
  return chalk && level > 0 ? new chalk.Chalk({ level }) : plain;
}

export interface IOOptions {
  stdout?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  stdin?: NodeJS.ReadableStream & { isTTY?: boolean };
  color?: boolean;
  json?: boolean;
  quiet?: boolean;
  verbose?: boolean;
  reveal?: boolean;
}

export class IO implements IOPort {
  readonly stdout: NonNullable<IOOptions['stdout']>;
  readonly stderr: NonNullable<IOOptions['stderr']>;
  private stdinStream: IOOptions['stdin'];
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly reveal: boolean;
  /** Colours for stdout. */
  readonly c: ChalkInstance;
  /** Colours for stderr. */
  readonly ce: ChalkInstance;

  constructor(opts: IOOptions = {}) {
    this.stdout = opts.stdout ?? process.stdout;
    this.stderr = opts.stderr ?? process.stderr;
    this.stdinStream = opts.stdin;
    this.json = opts.json ?? false;
    this.quiet = opts.quiet ?? false;
    this.verbose = opts.verbose ?? false;
    this.reveal = opts.reveal ?? false;
    const wanted = opts.color ?? (!('NO_COLOR' in process.env) || process.env.NO_COLOR === '');
    this.c = colours(wanted && this.stdout.isTTY ? 1 : 0);
    this.ce = colours(wanted && this.stderr.isTTY ? 1 : 0);
  }

  /**
   * Standard input, opened on first use: `process.stdin` sets up a stream (a socket for a pipe),
   * which commands that never read it (most of them) should not pay for at start-up.
   */
  get stdin(): NonNullable<IOOptions['stdin']> {
    return (this.stdinStream ??= process.stdin);
  }

  get isInteractive(): boolean {
    return Boolean(this.stdin.isTTY && this.stdout.isTTY);
  }

  get stderrIsTTY(): boolean {
    return Boolean(this.stderr.isTTY);
  }

  get columns(): number {
    return this.stdout.columns ?? 100;
  }

  /** A cookie for display: masked unless --reveal (a malformed one may hold control characters). */
  cookie(value: string): string {
    return printable(this.reveal ? value : maskSecret(value));
  }

  /** A result line on stdout. */
  out(line = ''): void {
    this.stdout.write(`${line}\n`);
  }

  /** The single JSON document of --json. */
  printJson(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** Progress and notices on stderr (silenced by --quiet). */
  info(line: string): void {
    this.infoStyled(printableLines(line));
  }

  /**
   * A progress line that carries our own colours, so it is not sanitised: every part of it that
   * comes from outside must already have gone through printable() (io.cookie() does).
   */
  infoStyled(line: string): void {
    if (!this.quiet) this.stderr.write(`${line}\n`);
  }

  warn(line: string): void {
    this.stderr.write(`${this.ce.yellow('warning:')} ${printableLines(line)}\n`);
  }

  error(line: string): void {
    this.stderr.write(`${this.ce.red('error:')} ${printableLines(line)}\n`);
  }

  debug(line: string): void {
    if (this.verbose) this.stderr.write(`${this.ce.dim(printableLines(line))}\n`);
  }

  statusLine(): StatusLine {
    return new LiveLine(this);
  }
}

/** The live status line of a waiting command (`run 42: in progress · job "build" · step 3/9 "…"`). */
class LiveLine implements StatusLine {
  private last = '';
  private drawn = false;
  constructor(private readonly io: IO) {}

  update(text: string, suffix = ''): void {
    if (this.io.quiet) return;
    const clean = printable(text);
    if (this.io.stderrIsTTY) {
      const cols = (this.io.stderr as { columns?: number }).columns ?? 100;
      const line = `${clean}${printable(suffix)}`;
      this.io.stderr.write(`\r${line.length > cols - 1 ? `${line.slice(0, cols - 2)}…` : line}\x1b[K`);
      this.drawn = true;
    } else if (clean !== this.last) {
      this.io.stderr.write(`${clean}\n`);
    }
    this.last = clean;
  }

  done(): void {
    if (this.drawn) this.io.stderr.write('\r\x1b[K');
    this.drawn = false;
  }
}
