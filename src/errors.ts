/** Errors that carry the process exit code of SPEC §4. */

export const EXIT = {
  OK: 0,
  FAILURE: 1,
  USAGE: 2,
  PARTIAL: 3,
  LOCKED: 75,
} as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
    /** A hint printed after the message. */
    readonly hint?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad flags, bad configuration, corrupt store: exit 2. */
export class UsageError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.USAGE, hint);
  }
}

/** Network, GitHub, failed run, nothing harvested: exit 1. */
export class OperationalError extends CliError {
  constructor(message: string, hint?: string) {
    super(message, EXIT.FAILURE, hint);
  }
}

/** Another refresh holds the refresh lock: exit 75. */
export class LockedError extends CliError {
  constructor(message: string) {
    super(message, EXIT.LOCKED);
  }
}

/**
 * SIGINT/SIGTERM stopped a long operation: exit 130 or 143. Here, beside the other errors, so the
 * adapters (github/) can raise it without importing the services that install the handlers.
 */
export class InterruptedError extends CliError {}

/** The store files are unreadable or have the wrong shape: exit 2, file untouched. */
export class StoreError extends UsageError {}
