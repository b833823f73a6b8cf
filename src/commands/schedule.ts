import { Command, Option } from '../commander.js';
import { envString } from '../config.js';
import { contextOf, type AppContext } from '../context.js';
import { LockedError, UsageError } from '../errors.js';
import type { Job, SchedulerEvent } from '../services/scheduler.js';
import { collect, modeArg, positiveNumber, wholeNumber } from './options.js';
import { refreshOptions, seconds, type SharedRefreshFlags } from './refresh.js';
import type { RefreshOptions } from '../services/refresh.js';
import { printable } from '../ui/text.js';

export const DEFAULT_REFRESH_CRON = '0 */6 * * *';

interface ScheduleFlags extends SharedRefreshFlags {
  cron?: string;
  checkCron?: string;
  runNow?: boolean;
  timezone?: string;
  concurrency?: number;
  metricsPort?: string;
}

function refreshJob(ctx: AppContext, options: RefreshOptions, cron: string, source: string): Job {
  return {
    name: 'refresh',
    cron,
    source,
    run: async (signal) => {
      const { runRefresh } = await import('../services/refresh.js');
      try {
        const outcome = await runRefresh(ctx, options, signal);
        if (outcome.status === 'skipped') return { result: 'skipped', reason: outcome.reason };
        if (outcome.status === 'dry-run') return { result: 'dry-run' };
        const r = outcome.report;
        return {
          result: 'merged',
          runId: outcome.runId,
          artifactId: outcome.artifactId,
          harvested: r.harvested,
          added: r.added,
          rejected: r.rejected,
          keys: r.keys.map((k) => ({ apiKey: k.apiKey, before: k.before, after: k.after })),
        };
      } catch (e) {
        // Another refresh (a manual one, or a second scheduler) holds the refresh lock: not a failure.
        if (e instanceof LockedError) return { result: 'skipped', reason: e.message };
        throw e;
      }
    },
  };
}

function checkJob(ctx: AppContext, flags: ScheduleFlags, cron: string): Job {
  return {
    name: 'check',
    cron,
    source: '--check-cron',
    run: async (signal) => {
      const { runCheck } = await import('../services/check.js');
      // The same minimum as the refresh job's: a key the check leaves below --min-count is alerted.
      const r = await runCheck(ctx, { keys: flags.key, markInvalid: true, concurrency: flags.concurrency, signal, minCount: flags.minCount });
      return { checked: r.checked, valid: r.valid, invalid: r.invalid, expired: r.expired, unknown: r.unknown, marked: r.marked };
    },
  };
}

export const scheduleCommand = (): Command =>
  new Command('schedule')
    .description('run refresh on a cron schedule (and optionally check --mark-invalid); stops cleanly on SIGINT/SIGTERM')
    .option('--cron <expr>', `refresh schedule (default: $REFRESH_CRON or "${DEFAULT_REFRESH_CRON}"; 6 fields = with seconds)`)
    .option('--check-cron <expr>', 'also run `check --mark-invalid` on this schedule')
    .option('--run-now', 'run each job once at start, then on schedule')
    .option('--timezone <tz>', 'time zone of the cron expressions (default: the system one)')
    .option('--key <key>', 'limit refresh and check to this key (repeatable)', collect, [])
    .option('--force', 'refresh the keys on every tick even when they hold enough cookies')
    .option('--mode <mode>', 'append | replace (default: $COOKIE_REFRESH_MODE or append)', modeArg)
    .option('--min-count <n>', 'a key with fewer cookies needs a refresh (default: $MIN_COOKIE_COUNT or 2)', wholeNumber(0))
    .option('--share', 'every target key gets every new cookie')
    .option('--no-trigger', 'do not dispatch: harvest the latest successful run')
    .option('--timeout <min>', 'minutes to wait for each run', positiveNumber, 60)
    .option('--poll-interval <sec>', 'seconds between status polls', positiveNumber, 10)
    .option('--concurrency <n>', 'requests in flight for the check job (default 8)', wholeNumber(1))
    .option('--metrics-port <port>', 'serve Prometheus /metrics and /healthz on this port (default: $METRICS_PORT; bound to $METRICS_HOST or 127.0.0.1)')
    .addOption(new Option('--artifact-wait <sec>', 'seconds to wait for the artifact to appear').argParser(seconds).default(60).hideHelp())
    .addHelpText(
      'after',
      `
One log line per event on stdout (start, run, done, failed, skipped, stopping, stop); with --json,
one JSON object per line. A tick that finds the previous run of its job still going is skipped and
logged; a failing run is logged and the scheduler keeps going. SIGINT/SIGTERM abort the running
job (locks released, no half-written file) and exit 0.

With --metrics-port (or METRICS_PORT), /metrics serves the pool and job metrics for Prometheus and
/healthz answers 200 while the last run of each job succeeded, 503 otherwise. With NOTIFY_URL set,
failed refreshes, short or empty keys and mass invalidations are posted to the webhooks.

Examples:
  cookie-pool schedule --run-now
  cookie-pool schedule --check-cron "30 * * * *" --metrics-port 9464
  cookie-pool schedule --cron "0 */4 * * *" --check-cron "30 * * * *" --json >> /var/log/cookie-pool.jsonl`,
    )
    .action(async (flags: ScheduleFlags, cmd: Command) => {
      const ctx = contextOf(cmd);
      const { io } = ctx;
      if (ctx.pool.backend === 'proxy') {
        // A given PROXY_ADMIN_TOKEN expires after 24 h: a scheduler must be able to log in again.
        const { requireRenewableLogin } = await import('../store/proxy.js');
        requireRenewableLogin(ctx.env);
      }
      const { Scheduler, formatEvent, validateCron } = await import('../services/scheduler.js');
      const cronSource = flags.cron !== undefined ? '--cron' : 'REFRESH_CRON';
      const cron = flags.cron ?? envString(ctx.env, 'REFRESH_CRON', DEFAULT_REFRESH_CRON);
      await validateCron(cron, cronSource);
      if (flags.timezone !== undefined) {
        try {
          new Intl.DateTimeFormat('en', { timeZone: flags.timezone });
        } catch {
          throw new UsageError(`--timezone: unknown time zone "${flags.timezone}"`);
        }
      }
      if (flags.checkCron !== undefined) await validateCron(flags.checkCron, '--check-cron');

      // Alerts and metrics (SPEC §11): a bad setting or a taken port stops it before any job runs.
      const { notifySettings } = await import('../services/notify.js');
      notifySettings(ctx.env);
      const { metricsSettings, SchedulerMetrics } = await import('../services/metrics.js');
      const served = metricsSettings(ctx.env, flags.metricsPort);
      const metrics = served ? await SchedulerMetrics.create(ctx) : undefined;

      // number=auto sizes for the retirements expected before this schedule's next run.
      const schedule = { cron, source: cronSource, ...(flags.timezone !== undefined ? { timezone: flags.timezone } : {}) };
      const jobs = [refreshJob(ctx, { ...refreshOptions(flags, cmd), schedule }, cron, cronSource)];
      if (flags.checkCron !== undefined) jobs.push(checkJob(ctx, flags, flags.checkCron));

      // A failed job's line carries its error (GitHub's words among them): sanitised like all human output.
      const emit = (e: SchedulerEvent) => {
        metrics?.observe(e);
        io.out(io.json ? JSON.stringify(e) : printable(formatEvent(e)));
      };
      const scheduler = new Scheduler(jobs, emit);
      if (metrics && served) emit({ time: new Date().toISOString(), event: 'metrics', url: await metrics.listen(served) });

      await new Promise<void>((resolve, reject) => {
        let stopping = false;
        const onSignal = (sig: NodeJS.Signals) => {
          if (stopping) {
            // Second signal: leave now (proper-lockfile's exit hook removes held locks).
            process.exit(sig === 'SIGINT' ? 130 : 143);
          }
          stopping = true;
          scheduler.stop(sig).then(() => {
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
            resolve();
          }, reject);
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        scheduler.start({ runNow: flags.runNow, timezone: flags.timezone }).catch(reject);
        // The metrics server closes with the scheduler (or when it cannot start).
      }).finally(() => metrics?.close());
    });
