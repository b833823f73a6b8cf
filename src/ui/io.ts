/**
 * Injected IO (as the GitHub CLI's IOStreams): results to stdout, progress and diagnostics to
 * stderr, colour only when wanted, secrets masked unless --reveal. Everything said on stderr goes
 * through the sanitiser (it often carries text from outside: server messages, names); stdout
 * callers sanitise the external cells they print themselves, since their lines carry colour.
 */
import type { ChalkInstance } from 'chalk';
import { maskSecret } from '../core/cookie.js';
import type { IOPort, StatusLine } from '../core/io-port.js';
import { stdIsTTY, stdSink, streamSink, type TextSink } from '../stdio.js';
import { printable, printableLines } from './text.js';

// chalk loads only when this process has a terminal to colour (loadColours, which main awaits
// first): pipes, cron and --json start faster. (Not a top-level await: the bundle is CommonJS.)
let chalk: typeof import('chalk') | undefined;

/** Load chalk when stdout or stderr is a terminal; before any IO is made (main awaits it first). */
export async function loadColours(): Promise<void> {
  if (chalk === undefined && (stdIsTTY(1) || stdIsTTY(2))) chalk = await import('chalk');
}

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

/**
 * Without injected streams, text goes to the process's standard output and error through
 * `../stdio.ts` (straight to the descriptor for a pipe or file); the process streams themselves
 * are set up only for a terminal or for code that asks for `io.stdout` / `io.stderr`.
 */
export class IO implements IOPort {
  private readonly outSink: TextSink;
  private readonly errSink: TextSink;
  private stdinStream: IOOptions['stdin'];
  private readonly outTTY: boolean;
  private readonly errTTY: boolean;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbose: boolean;
  readonly reveal: boolean;
  /** Colours for stdout. */
  readonly c: ChalkInstance;
  /** Colours for stderr. */
  readonly ce: ChalkInstance;

  constructor(opts: IOOptions = {}) {
    this.outSink = opts.stdout ? streamSink(opts.stdout) : stdSink(1);
    this.errSink = opts.stderr ? streamSink(opts.stderr) : stdSink(2);
    this.stdinStream = opts.stdin;
    this.outTTY = this.outSink.isTTY();
    this.errTTY = this.errSink.isTTY();
    this.json = opts.json ?? false;
    this.quiet = opts.quiet ?? false;
    this.verbose = opts.verbose ?? false;
    this.reveal = opts.reveal ?? false;
    const wanted = opts.color ?? (!('NO_COLOR' in process.env) || process.env.NO_COLOR === '');
    this.c = colours(wanted && this.outTTY ? 1 : 0);
    this.ce = colours(wanted && this.errTTY ? 1 : 0);
  }

  /** The output stream itself, for code that needs one (a prompt, a progress bar). */
  get stdout(): NonNullable<IOOptions['stdout']> {
    return this.outSink.stream();
  }

  get stderr(): NonNullable<IOOptions['stderr']> {
    return this.errSink.stream();
  }

  /** Text on stdout as it is (no newline added). */
  write(text: string): void {
    this.outSink.write(text);
  }

  /** Text on stderr as it is. */
  writeErr(text: string): void {
    this.errSink.write(text);
  }

  /**
   * Standard input, opened on first use: `process.stdin` sets up a stream (a socket for a pipe),
   * which commands that never read it (most of them) should not pay for at start-up.
   */
  get stdin(): NonNullable<IOOptions['stdin']> {
    return (this.stdinStream ??= process.stdin);
  }

  get isInteractive(): boolean {
    return Boolean(this.outTTY && this.stdin.isTTY);
  }

  get stderrIsTTY(): boolean {
    return this.errTTY;
  }

  get columns(): number {
    return this.outSink.columns() ?? 100;
  }

  /** The width of stderr when it is a terminal. */
  get stderrColumns(): number | undefined {
    return this.errSink.columns();
  }

  /** A cookie for display: masked unless --reveal (a malformed one may hold control characters). */
  cookie(value: string): string {
    return printable(this.reveal ? value : maskSecret(value));
  }

  /** A result line on stdout. */
  out(line = ''): void {
    this.write(`${line}\n`);
  }

  /** The single JSON document of --json. */
  printJson(value: unknown): void {
    this.write(`${JSON.stringify(value, null, 2)}\n`);
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
    if (!this.quiet) this.writeErr(`${line}\n`);
  }

  warn(line: string): void {
    this.writeErr(`${this.ce.yellow('warning:')} ${printableLines(line)}\n`);
  }

  error(line: string): void {
    this.writeErr(`${this.ce.red('error:')} ${printableLines(line)}\n`);
  }

  debug(line: string): void {
    if (this.verbose) this.writeErr(`${this.ce.dim(printableLines(line))}\n`);
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
      const cols = this.io.stderrColumns ?? 100;
      const line = `${clean}${printable(suffix)}`;
      this.io.writeErr(`\r${line.length > cols - 1 ? `${line.slice(0, cols - 2)}…` : line}\x1b[K`);
      this.drawn = true;
    } else if (clean !== this.last) {
      this.io.writeErr(`${clean}\n`);
    }
    this.last = clean;
  }

  done(): void {
    if (this.drawn) this.io.writeErr('\r\x1b[K');
    this.drawn = false;
  }
}
