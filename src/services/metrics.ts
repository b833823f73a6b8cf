/**
 * Prometheus metrics and a health check for `schedule` (SPEC §11), served with prom-client on
 * `--metrics-port` / METRICS_PORT, bound to METRICS_HOST (default 127.0.0.1: only this machine).
 *
 * - The pool gauges (`cookie_pool_cookies`, `cookie_pool_expiring_soon`, `cookie_pool_invalid`)
 *   are read from the pool at scrape time (prom-client `collect()`), so they follow the store after
 *   every tick and after changes made by other processes. One pool read serves a whole scrape.
 * - The job metrics (`cookie_pool_refresh_*`, `cookie_pool_check_total`) and `/healthz` follow the
 *   scheduler's events: 'done' and 'failed' of each job (a run aborted by the stop is neither).
 * - `api_key` labels are masked like cookies; a key is never exposed whole.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { envString, minCookieCount, type Env } from '../config.js';
import type { AppContext } from '../context.js';
import { maskSecret } from '../core/cookie.js';
import { UsageError } from '../errors.js';
import type { SchedulerEvent } from './scheduler.js';
import { statusReport, type StatusReport } from './status.js';

export const DEFAULT_METRICS_HOST = '127.0.0.1';
/** Refresh runs last from seconds (nothing to harvest) to the workflow's hour. */
const DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600];
const REFRESH_OUTCOMES = ['merged', 'skipped', 'failed'] as const;
const CHECK_STATUSES = ['valid', 'invalid', 'expired', 'unknown'] as const;

export interface MetricsSettings {
  port: number;
  host: string;
  /** Where the port came from, for messages: `--metrics-port` or `METRICS_PORT`. */
  portSource: string;
}

/** The metrics settings, or undefined when neither the flag nor METRICS_PORT asks for them. Exit 2 on a bad one. */
export function metricsSettings(env: Env, flagPort?: string): MetricsSettings | undefined {
  const portSource = flagPort !== undefined ? '--metrics-port' : 'METRICS_PORT';
  const raw = flagPort ?? envString(env, 'METRICS_PORT');
  if (raw === undefined) return undefined;
  if (!/^\s*\d+\s*$/.test(raw) || Number(raw) > 65535) {
    throw new UsageError(`${portSource} must be a TCP port from 0 to 65535, got "${raw}"`);
  }
  const host = envString(env, 'METRICS_HOST', DEFAULT_METRICS_HOST);
  if (/[\s/]/.test(host)) throw new UsageError(`METRICS_HOST must be a host name or IP address, got "${host}"`);
  return { port: Number(raw), host, portSource };
}

export interface JobHealth {
  ok: boolean;
  time: string;
  error?: string;
}

type PromClient = typeof import('prom-client');

export class SchedulerMetrics {
  readonly registry: Registry;
  private readonly refreshTotal;
  private readonly refreshLastSuccess;
  private readonly refreshDuration;
  private readonly checkTotal;
  private readonly jobs = new Map<string, JobHealth>();
  /** The pool as read for the scrape in progress (one read for every pool gauge). */
  private poolView: Promise<StatusReport | undefined> | undefined;
  private poolError: string | undefined;
  private server: Server | undefined;

  constructor(
    private readonly ctx: Pick<AppContext, 'pool' | 'env' | 'io' | 'nowSec'>,
    prom: PromClient,
  ) {
    const registry = (this.registry = new prom.Registry());
    const registers = [registry];
    const view = () => (this.poolView ??= this.readPool());
    new prom.Gauge({
      name: 'cookie_pool_cookies',
      help: 'Cookies of each api key (api_key masked), read from the pool at scrape time.',
      labelNames: ['api_key'],
      registers,
      async collect() {
        this.reset();
        for (const k of (await view())?.keys ?? []) this.inc({ api_key: maskSecret(k.apiKey) }, k.cookies);
      },
    });
    new prom.Gauge({
      name: 'cookie_pool_expiring_soon',
      help: 'Cookies of each api key that expire within 3 days (api_key masked).',
      labelNames: ['api_key'],
      registers,
      async collect() {
        this.reset();
        for (const k of (await view())?.keys ?? []) this.inc({ api_key: maskSecret(k.apiKey) }, k.expiringSoon);
      },
    });
    new prom.Gauge({
      name: 'cookie_pool_invalid',
      help: 'Cookies in the invalid list.',
      registers,
      async collect() {
        const v = await view();
        if (v) this.set(v.invalid);
        else this.reset();
      },
    });
    this.refreshTotal = new prom.Counter({
      name: 'cookie_pool_refresh_total',
      help: 'Refresh ticks by outcome: merged, skipped (nothing to do, or another refresh held the lock), failed.',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of REFRESH_OUTCOMES) this.refreshTotal.inc({ outcome }, 0);
    this.refreshLastSuccess = new prom.Gauge({
      name: 'cookie_pool_refresh_last_success_timestamp_seconds',
      help: 'Unix time of the last refresh tick that ended without error (merged or nothing to do).',
      registers,
    });
    this.refreshDuration = new prom.Histogram({
      name: 'cookie_pool_refresh_duration_seconds',
      help: 'Duration of refresh ticks that ran the pipeline (merged or failed).',
      buckets: DURATION_BUCKETS,
      registers,
    });
    this.checkTotal = new prom.Counter({
      name: 'cookie_pool_check_total',
      help: 'Cookies checked by the check job, by status.',
      labelNames: ['status'],
      registers,
    });
    for (const status of CHECK_STATUSES) this.checkTotal.inc({ status }, 0);
  }

  static async create(ctx: Pick<AppContext, 'pool' | 'env' | 'io' | 'nowSec'>): Promise<SchedulerMetrics> {
    return new SchedulerMetrics(ctx, await import('prom-client'));
  }

  private async readPool(): Promise<StatusReport | undefined> {
    try {
      const report = statusReport(await this.ctx.pool.read(), minCookieCount(this.ctx.env), this.ctx.nowSec());
      if (this.poolError) this.ctx.io.info('metrics: the pool can be read again');
      this.poolError = undefined;
      return report;
    } catch (e) {
      // Reported once per outage, not at every scrape; the pool gauges are left out meanwhile.
      const why = (e as Error).message;
      if (this.poolError !== why) this.ctx.io.warn(`metrics: cannot read the pool, pool gauges left out: ${why}`);
      this.poolError = why;
      return undefined;
    }
  }

  /** Follow a scheduler event (job outcomes, health). */
  observe(e: SchedulerEvent): void {
    if (!e.job || (e.event !== 'done' && e.event !== 'failed')) return;
    if (e.event === 'failed' && e.aborted) return; // stopped, not failed
    const ok = e.event === 'done';
    this.jobs.set(e.job, { ok, time: e.time, ...(ok ? {} : { error: String(e.error ?? 'failed') }) });
    const seconds = typeof e.ms === 'number' ? e.ms / 1000 : undefined;
    if (e.job === 'refresh') {
      const outcome = !ok ? 'failed' : e.result === 'merged' ? 'merged' : 'skipped';
      this.refreshTotal.inc({ outcome });
      if (ok) this.refreshLastSuccess.set(Date.parse(e.time) / 1000);
      if (outcome !== 'skipped' && seconds !== undefined) this.refreshDuration.observe(seconds);
    } else if (e.job === 'check' && ok) {
      for (const status of CHECK_STATUSES) {
        const n = e[status];
        if (typeof n === 'number' && n > 0) this.checkTotal.inc({ status }, n);
      }
    }
  }

  /** Healthy while the last run of each job succeeded (or none ran yet). */
  health(): { ok: boolean; jobs: Record<string, JobHealth> } {
    const jobs = Object.fromEntries(this.jobs);
    return { ok: [...this.jobs.values()].every((j) => j.ok), jobs };
  }

  /** The exposition text of one scrape. */
  async scrape(): Promise<string> {
    try {
      return await this.registry.metrics();
    } finally {
      this.poolView = undefined;
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'text/plain; charset=utf-8', 'method not allowed\n');
    if (path === '/metrics') {
      try {
        return send(200, this.registry.contentType, await this.scrape());
      } catch (e) {
        return send(500, 'text/plain; charset=utf-8', `metrics unavailable: ${(e as Error).message}\n`);
      }
    }
    if (path === '/healthz') {
      const h = this.health();
      return send(h.ok ? 200 : 503, 'application/json', `${JSON.stringify(h)}\n`);
    }
    send(404, 'text/plain; charset=utf-8', 'not found: try /metrics or /healthz\n');
  }

  /** Serve /metrics and /healthz; resolves to the metrics URL. Exit 2 when the port is taken. */
  async listen(s: MetricsSettings): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(s.port, s.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const where = `${s.portSource} ${s.port} on ${s.host}`;
      if (code === 'EADDRINUSE') throw new UsageError(`${where}: the port is already in use`, 'is another schedule running? choose another port');
      if (code === 'EACCES') throw new UsageError(`${where}: permission denied (ports below 1024 need privileges)`);
      if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
        throw new UsageError(`METRICS_HOST "${s.host}" is not an address of this machine (${code})`, 'use 127.0.0.1, 0.0.0.0 or an address of this machine');
      }
      throw new UsageError(`cannot serve metrics on ${where}: ${(e as Error).message}`);
    }
    this.server = server;
    const { port } = server.address() as AddressInfo;
    const host = s.host.includes(':') ? `[${s.host}]` : s.host;
    return `http://${host}:${port}/metrics`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
