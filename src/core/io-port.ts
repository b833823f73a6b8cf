/**
 * What the layers below ui/ (the GitHub and Cursor adapters, the services) need of the IO. The
 * ui's IO implements it; the lower layers depend on this interface only, never on ui/ itself, so
 * every import runs down the layers. Text given here is printed through the ui's sanitiser.
 */

/** A live one-line status on stderr: redrawn in place on a terminal, one line per change otherwise. */
export interface StatusLine {
  update(text: string, suffix?: string): void;
  /** Clear the line (on a terminal). */
  done(): void;
}

export interface IOPort {
  readonly quiet: boolean;
  readonly verbose: boolean;
  /** Progress and notices on stderr (silenced by --quiet). */
  info(line: string): void;
  warn(line: string): void;
  /** Only with --verbose. */
  debug(line: string): void;
  statusLine(): StatusLine;
}
