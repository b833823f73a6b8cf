/**
 * The long-running scheduler of SPEC §7: jobs on cron expressions (node-cron), one run of a job
 * at a time (a tick that finds the previous one still running is skipped and logged), a failing
 * run logged without stopping the scheduler, and a clean stop: tasks stopped, the running job
 * aborted through its AbortSignal and awaited, so no lock and no half-written file is left.
 */
import type { ScheduledTask } from 'node-cron';
import { UsageError } from '../errors.js';

export interface Job {
  name: string;
  cron: string;
  /** Where the expression came from, for error messages (e.g. "REFRESH_CRON", "--check-cron"). */
  source: string;
  /** Runs one tick; resolves to a summary logged with the "done" event. */
  run: (signal: AbortSignal) => Promise<Record<string, unknown>>;
}

/** `metrics`: where /metrics is served (schedule --metrics-port). */
export type SchedulerEventName = 'start' | 'run' | 'done' | 'failed' | 'skipped' | 'stopping' | 'stop' | 'metrics';

export interface SchedulerEvent {
  time: string;
  event: SchedulerEventName;
  job?: string;
  [detail: string]: unknown;
}

export type EventSink = (event: SchedulerEvent) => void;

/** Validate a cron expression (five fields, or six with seconds); exit 2 naming its source. */
export async function validateCron(expr: string, source: string): Promise<void> {
  const { validateDetailed } = await import('node-cron');
  const fields = expr.trim().split(/\s+/).length;
  const v = validateDetailed(expr.trim());
  if (fields < 5 || fields > 6 || !v.valid) {
    const why = v.errors.map((e) => `${e.field}: ${e.message}`).join('; ');
    throw new UsageError(`${source} is not a valid cron expression: "${expr}"${why ? ` (${why})` : ''}`);
  }
}

export class Scheduler {
  private tasks: ScheduledTask[] = [];
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private stopped = false;

  constructor(
    private readonly jobs: Job[],
    private readonly emit: EventSink,
  ) {}

  private log(event: SchedulerEventName, job?: string, details: Record<string, unknown> = {}): void {
    this.emit({ time: new Date().toISOString(), event, ...(job ? { job } : {}), ...details });
  }

  async start(opts: { runNow?: boolean; timezone?: string } = {}): Promise<void> {
    for (const job of this.jobs) await validateCron(job.cron, job.source);
    const cron = await import('node-cron');
    for (const job of this.jobs) {
      const task = cron.schedule(job.cron, () => this.tick(job, 'scheduled'), {
        name: job.name,
        timezone: opts.timezone,
      });
      this.tasks.push(task);
      this.log('start', job.name, { cron: job.cron, next: task.getNextRun()?.toISOString() ?? null });
    }
    if (opts.runNow) for (const job of this.jobs) void this.tick(job, 'run-now');
  }

  /** Run a job once unless it is already running. */
  tick(job: Job, reason: 'scheduled' | 'run-now'): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running.has(job.name)) {
      this.log('skipped', job.name, { reason: 'previous run still running' });
      return Promise.resolve();
    }
    const controller = new AbortController();
    const started = Date.now();
    this.log('run', job.name, { trigger: reason });
    const done = job
      .run(controller.signal)
      .then(
        (summary) => this.log('done', job.name, { ms: Date.now() - started, ...summary }),
        (e: unknown) => {
          const err = e as Error & { exitCode?: number };
          this.log('failed', job.name, {
            ms: Date.now() - started,
            error: err?.message ?? String(e),
            ...(err?.exitCode !== undefined ? { exitCode: err.exitCode } : {}),
            ...(controller.signal.aborted ? { aborted: true } : {}),
          });
        },
      )
      .finally(() => this.running.delete(job.name));
    this.running.set(job.name, { controller, done });
    return done;
  }

  get busy(): boolean {
    return this.running.size > 0;
  }

  /** Stop scheduling, abort running jobs and wait for them to unwind. */
  async stop(signal: string): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.log('stopping', undefined, { signal, running: [...this.running.keys()] });
    for (const t of this.tasks) await t.destroy();
    const pending = [...this.running.values()];
    for (const r of pending) r.controller.abort(new Error(`stopped by ${signal}`));
    await Promise.all(pending.map((r) => r.done));
    this.log('stop');
  }
}

/** One human log line: `2026-11-27T10:00:00.000Z refresh done added=3 keys=2`. */
export function formatEvent(e: SchedulerEvent): string {
  const { time, event, job, ...rest } = e;
  const details = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' && !/\s/.test(v) ? v : JSON.stringify(v)}`);
  return [time, job ?? 'scheduler', event, ...details].join(' ');
}
