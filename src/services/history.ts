/**
 * The pool's history (SPEC §10): one JSON line per pool change, `check` and `refresh` in
 * `$STATE/.cookie-pool/history.jsonl` (HISTORY_FILE overrides), whatever the backend.
 *
 * - Appends never interleave: each line is ONE `write` on a file opened with O_APPEND, which the
 *   kernel applies at the end of the file as a whole, whichever process writes.
 * - Rotation by size: past HISTORY_MAX_BYTES (10 MiB) the file becomes `.1` (`.1` → `.2`, …, the
 *   last HISTORY_KEEP = 5 kept), under a small lock so two processes never rotate twice. A
 *   process that opened the file just before still appends to what is now `.1`: read too, not lost.
 * - Reading is streamed line by line over the rotated files, oldest first; a damaged line (a torn
 *   write, a hand edit) is skipped and counted, never a crash.
 * - Recording: the pool is wrapped (RecordingPool) where the context is built, so every backend
 *   records, and the per-key counts come from the snapshot and the Change a `decide` returns.
 *   `refresh` and `check` write one event of their own (recordRun). No cookie is ever written.
 * - Nothing is recorded when nothing changed; a failed append is a warning, never a failure.
 */
import { statSync } from 'node:fs';
import { mkdir, open, rename, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { envString, resolvePath, storePaths, type Env } from '../config.js';
import type { AppContext } from '../context.js';
import { cookieIdentity, maskSecret } from '../core/cookie.js';
import {
  DEFAULT_WINDOW_DAYS,
  DAY_MS,
  HistoryAggregator,
  parseEntry,
  type HistoryEntry,
  type HistoryEventName,
  type HistorySummary,
  type KeyCounts,
  type ParsedEntry,
  type SummaryOptions,
} from '../core/history.js';
import { CliError, LockedError, UsageError } from '../errors.js';
import { sameKeys, sameList } from '../store/format.js';
import type { Applied, BackendName, Change, Decide, Pool, PoolDescription, Snapshot } from '../store/pool.js';
import type { IOPort } from '../core/io-port.js';

/** Rotate past this size (bytes). */
export const HISTORY_MAX_BYTES = 10 * 1024 * 1024;
/** Rotated files kept (`.1` … `.5`): with the live one, about 60 MiB of history at most. */
export const HISTORY_KEEP = 5;

/** What locates the history: the configuration, the backend and the state folder. */
export type HistoryContext = Pick<AppContext, 'env' | 'stateDir' | 'dataDirFlag' | 'io' | 'nowMs'> & { pool: Pick<Pool, 'backend'> };

/**
 * The history file: HISTORY_FILE, else `.cookie-pool/history.jsonl` in the folder of the store —
 * for the file backend beside the keys file, as its lock and backups are ($DATA_DIR unless
 * API_KEYS_FILE puts the file elsewhere: a run from another folder then leaves nothing behind
 * there), for the other backends in the state folder.
 */
export function historyFile(ctx: Omit<HistoryContext, 'io' | 'nowMs'>, cwd = process.cwd()): string {
  const set = envString(ctx.env, 'HISTORY_FILE');
  if (set) return resolvePath(ctx.env, set, 'HISTORY_FILE', cwd);
  const folder = ctx.pool.backend === 'file' ? dirname(storePaths(ctx.env, ctx.dataDirFlag, cwd).keysFile) : ctx.stateDir;
  return join(folder, '.cookie-pool', 'history.jsonl');
}

/**
 * Test seam (like COOKIE_POOL_RETRY_BASE_MS): `COOKIE_POOL_HISTORY_MAX_BYTES` makes rotation
 * testable without writing 10 MiB. Not a setting for operators.
 */
function maxBytesFromEnv(env: Env): number {
  const raw = envString(env, 'COOKIE_POOL_HISTORY_MAX_BYTES');
  const n = raw === undefined ? Number.NaN : Number(raw);
  return Number.isInteger(n) && n > 0 ? n : HISTORY_MAX_BYTES;
}

export class HistoryLog {
  readonly maxBytes: number;
  readonly keep: number;

  constructor(
    readonly file: string,
    opts: { maxBytes?: number; keep?: number } = {},
  ) {
    this.maxBytes = opts.maxBytes ?? HISTORY_MAX_BYTES;
    this.keep = Math.max(1, opts.keep ?? HISTORY_KEEP);
  }

  /** The files of the history, oldest first: `.keep`, …, `.1`, then the live one. */
  files(): string[] {
    const out: string[] = [];
    for (let i = this.keep; i >= 1; i--) out.push(`${this.file}.${i}`);
    out.push(this.file);
    return out;
  }

  /** Append one entry as one line, in one write (O_APPEND): concurrent appends never interleave. */
  async append(entry: HistoryEntry): Promise<void> {
    const line = Buffer.from(`${JSON.stringify(entry)}\n`, 'utf8');
    await mkdir(dirname(this.file), { recursive: true, mode: 0o700 });
    if ((await sizeOf(this.file)) + line.length > this.maxBytes) await this.rotate(line.length);
    const fh = await open(this.file, 'a', 0o600);
    try {
      let done = 0;
      // One write in practice (regular files take it whole); the loop only finishes a short write
      // (a full disk), where a torn line is then skipped on read.
      while (done < line.length) done += (await fh.write(line, done)).bytesWritten;
    } finally {
      await fh.close();
    }
  }

  /** Shift `.1` → `.2` … and the live file → `.1`, under a lock; re-checked under it (another process may have rotated). */
  private async rotate(incoming: number): Promise<void> {
    const { withLock } = await import('../store/lock.js');
    await withLock(`${this.file}.lock`, { wait: true }, async () => {
      const size = await sizeOf(this.file);
      if (size === 0 || size + incoming <= this.maxBytes) return;
      for (let i = this.keep - 1; i >= 1; i--) await renameIfPresent(`${this.file}.${i}`, `${this.file}.${i + 1}`);
      await renameIfPresent(this.file, `${this.file}.1`);
    });
  }
}

async function sizeOf(file: string): Promise<number> {
  try {
    return (await stat(file)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw e;
  }
}

async function renameIfPresent(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

export interface ReadStats {
  lines: number;
  damaged: number;
  /** Files that were read (existing ones), oldest first. */
  files: string[];
}

/**
 * Stream every entry of the history, oldest file first, line by line (memory does not grow with
 * the file). Blank lines are ignored; damaged ones are counted and skipped. Lines are split by
 * hand on 1 MiB chunks: readline's iterator costs more than twice as much on a 100k-line file.
 */
export async function readHistory(
  log: HistoryLog,
  onEntry: (e: ParsedEntry) => void,
  opts: { skipBeforeMs?: number; onSkippedFirst?: (e: ParsedEntry) => void } = {},
): Promise<ReadStats> {
  const stats: ReadStats = { lines: 0, damaged: 0, files: [] };
  const skip = opts.skipBeforeMs === undefined ? new Set<string>() : await filesBefore(log, opts.skipBeforeMs);
  const take = (raw: string): void => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    stats.lines++;
    const parsed = parseEntry(line);
    if (parsed) onEntry(parsed);
    else stats.damaged++;
  };
  for (const file of log.files()) {
    if (skip.has(file)) {
      // Only its first line counts (the history's start), and only for the oldest file.
      if (stats.files.length === 0 && opts.onSkippedFirst) {
        const first = await firstLine(file);
        const parsed = first === undefined ? undefined : parseEntry(first);
        if (parsed) opts.onSkippedFirst(parsed);
      }
      stats.files.push(file);
      continue;
    }
    let stream;
    try {
      stream = (await open(file, 'r')).createReadStream({ encoding: 'utf8', highWaterMark: 1 << 20 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw e;
    }
    stats.files.push(file);
    let rest = '';
    for await (const chunk of stream as AsyncIterable<string>) {
      const text = rest + chunk;
      let start = 0;
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
        take(text.slice(start, nl));
        start = nl + 1;
      }
      rest = text.slice(start);
    }
    // A last line without its newline (a torn write) is read like any other: whole, or damaged.
    take(rest);
  }
  return stats;
}

/**
 * Rotated files wholly before `beforeMs` whose next newer file is too: they can hold nothing of
 * the window, and the newer file has every key's last count before it (each event samples the
 * whole pool), so `status` and `history` skip them. Told by modification time (the last append).
 */
async function filesBefore(log: HistoryLog, beforeMs: number): Promise<Set<string>> {
  const files = log.files();
  const mtimes = await Promise.all(files.map((f) => stat(f).then((st) => st.mtimeMs, () => undefined)));
  const out = new Set<string>();
  for (let i = 0; i < files.length - 1; i++) {
    const next = mtimes[i + 1];
    if (mtimes[i] !== undefined && next !== undefined && next < beforeMs) out.add(files[i]!);
  }
  return out;
}

async function firstLine(file: string): Promise<string | undefined> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(64 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    const nl = text.indexOf('\n');
    return nl === -1 ? undefined : text.slice(0, nl);
  } finally {
    await fh.close();
  }
}

/** Whether any history file exists (status reads the history only then: it stays fast). */
export async function historyExists(log: HistoryLog): Promise<boolean> {
  // Synchronous, no exception for a missing file: `status` asks this on every run, mostly of
  // files that are not there, and an ENOENT error object per rotated file cost a millisecond.
  const nonEmpty = (f: string) => {
    try {
      return (statSync(f, { throwIfNoEntry: false })?.size ?? 0) > 0;
    } catch {
      return false;
    }
  };
  return log.files().some(nonEmpty);
}

export interface SummaryRequest extends Omit<SummaryOptions, 'nowMs'> {
  /** Window start (ms); default DEFAULT_WINDOW_DAYS before now. */
  sinceMs?: number;
}

/** Stream the history into a summary; one warning for damaged lines. */
export async function summarizeHistory(ctx: HistoryContext, req: SummaryRequest): Promise<{ summary: HistorySummary; stats: ReadStats; file: string }> {
  const log = historyRecorder(ctx).log;
  const nowMs = ctx.nowMs();
  const sinceMs = req.sinceMs ?? nowMs - DEFAULT_WINDOW_DAYS * DAY_MS;
  const agg = new HistoryAggregator(sinceMs);
  const stats = await readHistory(log, (e) => agg.add(e), { skipBeforeMs: sinceMs, onSkippedFirst: (e) => agg.noteTime(e.timeMs) });
  if (stats.damaged) ctx.io.warn(`history: skipped ${stats.damaged} damaged line(s) in ${log.file} (or its rotated files)`);
  return { summary: agg.summarize({ ...req, nowMs }), stats, file: log.file };
}

// ───────────────────────────── recording ─────────────────────────────

/** Counts taken at one moment (`timeMs`): by a read, or around a write. */
export interface Observation {
  timeMs: number;
  keys: Record<string, KeyCounts>;
  write: boolean;
}

/** Writes entries for one context; a failed write warns once and never changes the outcome. */
export class HistoryRecorder {
  private warned = false;

  constructor(
    readonly log: HistoryLog,
    private readonly io: IOPort,
    readonly nowMs: () => number,
  ) {}

  async write(entry: HistoryEntry): Promise<void> {
    try {
      await this.log.append(entry);
    } catch (e) {
      if (this.warned) return;
      this.warned = true;
      this.io.warn(`history: cannot append to ${this.log.file}: ${(e as Error).message}`);
    }
  }
}

const recorders = new WeakMap<object, HistoryRecorder>();

/** The recorder of a context (one per context). */
export function historyRecorder(ctx: HistoryContext): HistoryRecorder {
  let r = recorders.get(ctx);
  if (!r) {
    r = new HistoryRecorder(new HistoryLog(historyFile(ctx), { maxBytes: maxBytesFromEnv(ctx.env) }), ctx.io, () => ctx.nowMs());
    recorders.set(ctx, r);
  }
  return r;
}

/** The event of a command's pool changes, by command path (`cookies add` → add, …). */
const COMMAND_EVENTS: Readonly<Record<string, HistoryEventName>> = {
  'keys add': 'add',
  'cookies add': 'add',
  'keys remove': 'remove',
  'cookies remove': 'remove',
  'keys import-env': 'import',
  import: 'import',
  'invalid purge': 'purge',
  'invalid add': 'invalid',
  'invalid remove': 'invalid',
  'invalid clear': 'invalid',
};

export function eventForCommand(path: string | undefined): HistoryEventName | undefined {
  return path === undefined ? undefined : COMMAND_EVENTS[path];
}

/** Every key's count, unchanged (an observation without a change). */
export function snapshotCounts(snapshot: Snapshot): Record<string, KeyCounts> {
  const keys: Record<string, KeyCounts> = {};
  for (const [k, list] of Object.entries(snapshot.keys)) keys[k] = { before: list.length, after: list.length };
  return keys;
}

/** Whether a Change changes anything (the same test the file backend uses before writing). */
function changes(snapshot: Snapshot, change: Change<unknown>): boolean {
  return Boolean((change.keys && !sameKeys(change.keys, snapshot.keys)) || (change.invalid && !sameList(change.invalid, snapshot.invalid)));
}

/**
 * Per key, the count before and after a Change: every key of the pool (unchanged ones too, so
 * each event samples the whole pool), new keys from 0, removed keys to 0 (`removed`). Cookies
 * the backend did not keep (`dropped`) are taken off the key that was to get them.
 */
export function changeCounts(snapshot: Snapshot, change: Change<unknown>, dropped: readonly string[] = []): Record<string, KeyCounts> {
  const next = change.keys ?? snapshot.keys;
  const keys: Record<string, KeyCounts> = {};
  for (const [k, list] of Object.entries(snapshot.keys)) {
    keys[k] = Object.hasOwn(next, k) ? { before: list.length, after: next[k]!.length } : { before: list.length, after: 0, removed: true };
  }
  for (const [k, list] of Object.entries(next)) if (!Object.hasOwn(snapshot.keys, k)) keys[k] = { before: 0, after: list.length };
  if (dropped.length && change.keys) {
    const lost = new Set(dropped.map(cookieIdentity));
    for (const [k, list] of Object.entries(change.keys)) {
      const old = snapshot.keys[k];
      if (list === old) continue;
      const had = new Set((old ?? []).map(cookieIdentity));
      let n = 0;
      for (const c of list) {
        const id = cookieIdentity(c);
        if (lost.has(id) && !had.has(id)) n++;
      }
      if (n) keys[k]!.after = Math.max(0, keys[k]!.after - n);
    }
  }
  return keys;
}

/** The event of a change made outside any named command: told from what it changed. */
function inferEvent(snapshot: Snapshot, change: Change<unknown>, counts: Record<string, KeyCounts>): HistoryEventName {
  if (change.invalid && !sameList(change.invalid, snapshot.invalid)) return 'invalid';
  return Object.values(counts).some((c) => c.after < c.before) ? 'remove' : 'add';
}

type Target = { event: HistoryEventName | undefined } | { collect: (o: Observation) => void };

/**
 * A Pool that records its changes (a decorator: every backend records the same way). `decide` is
 * wrapped to see the snapshot and the Change, so the counts need no extra read. In `collect`
 * mode (refresh, check) nothing is written here: the observation goes to the run's own event,
 * and a read counts too (the counts a failed refresh or an unmarked check saw).
 */
export class RecordingPool implements Pool {
  constructor(
    readonly inner: Pool,
    readonly recorder: HistoryRecorder,
    private readonly target: Target = { event: undefined },
  ) {}

  get backend(): BackendName {
    return this.inner.backend;
  }

  get multiKey(): boolean {
    return this.inner.multiKey;
  }

  get keepsLabels(): boolean {
    return this.inner.keepsLabels;
  }

  describe(): PoolDescription {
    return this.inner.describe();
  }

  /** The same pool, recording its changes as `event`. */
  as(event: HistoryEventName): RecordingPool {
    return new RecordingPool(this.inner, this.recorder, { event });
  }

  /** The same pool, handing each observation to `sink` instead of writing it. */
  collecting(sink: (o: Observation) => void): RecordingPool {
    return new RecordingPool(this.inner, this.recorder, { collect: sink });
  }

  async read(): Promise<Snapshot> {
    const snapshot = await this.inner.read();
    if ('collect' in this.target) this.target.collect({ timeMs: this.recorder.nowMs(), keys: snapshotCounts(snapshot), write: false });
    return snapshot;
  }

  async update<T>(decide: Decide<T>): Promise<Applied<T>> {
    let seen: { snapshot: Snapshot; change: Change<T>; timeMs: number } | undefined;
    const applied = await this.inner.update(async (snapshot) => {
      const change = await decide(snapshot);
      // Taken under the store lock (file backend): events of concurrent writers keep their order.
      seen = { snapshot, change, timeMs: this.recorder.nowMs() };
      return change;
    });
    if (seen && changes(seen.snapshot, seen.change)) {
      const keys = changeCounts(seen.snapshot, seen.change, applied.dropped);
      if ('collect' in this.target) this.target.collect({ timeMs: seen.timeMs, keys, write: true });
      else {
        const event = this.target.event ?? inferEvent(seen.snapshot, seen.change, keys);
        await this.recorder.write({ time: new Date(seen.timeMs).toISOString(), event, ok: true, keys });
      }
    }
    return applied;
  }
}

/** `pool` recording as `event` (when it records at all). */
export function poolAs(pool: Pool, event: HistoryEventName): Pool {
  return pool instanceof RecordingPool ? pool.as(event) : pool;
}

/**
 * An error message as it may go into the file: messages carry no secret by design, but one from
 * a lower layer (a URL with a cookie in its path) must not put a cookie in the history either.
 */
export function scrubSecrets(text: string): string {
  return text.replace(/(?:user_[A-Za-z0-9]+(?:%3A%3A|::))?eyJ[\w-]+\.[\w-]+\.[\w-]+/gi, (m) => maskSecret(m));
}

export interface RunFacts {
  facts?: Omit<HistoryEntry, 'time' | 'event' | 'ok' | 'keys'>;
  /** Adjust the observed counts (a refresh adds what it retired in replace mode). */
  keys?: (keys: Record<string, KeyCounts>) => void;
}

/**
 * Run `fn` (a refresh or a check) on a collecting view of the pool and write ONE event for it:
 * the last observation's counts (the final write's, else the first read's), `ok`, what `done`
 * says of the result (undefined: record nothing — a skipped refresh, a dry run), the error of a
 * failure, and the duration. Not recorded: a refresh that found the refresh lock taken (exit 75:
 * another process's run), and usage or configuration errors (exit 2: the run never started).
 */
export async function recordRun<T>(
  ctx: AppContext,
  event: 'refresh' | 'check',
  fn: (ctx: AppContext) => Promise<T>,
  done: (result: T) => RunFacts | undefined,
): Promise<T> {
  const recorder = ctx.pool instanceof RecordingPool ? ctx.pool.recorder : historyRecorder(ctx);
  let observed: Observation | undefined;
  const sink = (o: Observation): void => {
    // The counts of a write win over those of a read: the last write, else the first read.
    if (!observed || o.write) observed = o;
  };
  const base = ctx.pool instanceof RecordingPool ? ctx.pool.inner : ctx.pool;
  const pool = new RecordingPool(base, recorder, { collect: sink });
  const started = performance.now();
  const entry = (ok: boolean, facts: RunFacts['facts'] = {}, adjust?: RunFacts['keys']): HistoryEntry => {
    const keys = structuredClone(observed?.keys ?? {});
    adjust?.(keys);
    return {
      time: new Date(observed?.timeMs ?? recorder.nowMs()).toISOString(),
      event,
      ok,
      keys,
      ...facts,
      durationSec: Math.round(performance.now() - started) / 1000,
    };
  };
  let result: T;
  try {
    result = await fn({ ...ctx, pool });
  } catch (e) {
    if (!(e instanceof LockedError) && !(e instanceof UsageError)) {
      const error = scrubSecrets(e instanceof CliError || e instanceof Error ? e.message.split('\n')[0]! : String(e));
      await recorder.write(entry(false, { error }));
    }
    throw e;
  }
  const r = done(result);
  if (r) await recorder.write(entry(true, r.facts, r.keys));
  return result;
}

/**
 * The forecast `status` shows (SPEC §10): per key, when it falls below the minimum at the
 * retirement rate of the last DEFAULT_WINDOW_DAYS, from its live count. Undefined while there is
 * no history file or under two days of history; only then is the file read (streamed).
 */
export async function statusForecast(
  ctx: HistoryContext,
  current: Record<string, number>,
  minCookieCount: number,
): Promise<Map<string, string | null> | undefined> {
  if (!(await historyExists(historyRecorder(ctx).log))) return undefined;
  const { summary } = await summarizeHistory(ctx, { minCookieCount, keys: Object.keys(current), current });
  if (!summary.forecast) return undefined;
  return new Map(summary.keys.map((k) => [k.apiKey, k.runsDryAt]));
}
