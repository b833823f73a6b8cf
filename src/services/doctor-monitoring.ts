/**
 * `doctor` lines for alerts and metrics (SPEC §11): NOTIFY_URL and its companions, and the
 * metrics settings of `schedule`. Like every doctor check they only read: no alert is posted (the
 * `--online` probe is a HEAD request), and the metrics port is bound for a moment and released.
 */
import { createServer } from 'node:net';
import type { AppContext } from '../context.js';
import { maskUrl } from '../core/alerts.js';
import { CliError } from '../errors.js';
import type { DoctorCheck } from './doctor.js';
import { metricsSettings } from './metrics.js';
import { notifySettings } from './notify.js';

type Outcome = Omit<DoctorCheck, 'name'>;

const fixHint = 'fix the variable in .env or the environment (see .env.example)';

/** Whether something answers HTTP at a webhook URL, without posting to it. */
async function probe(url: string, timeoutMs: number): Promise<string | undefined> {
  try {
    const res = await fetch(url, { method: 'HEAD', redirect: 'manual', signal: AbortSignal.timeout(timeoutMs), headers: { 'user-agent': 'cookie-pool/0.1.0 doctor' } });
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    return err.name === 'TimeoutError' ? `no answer within ${Math.round(timeoutMs / 1000)} s` : (err.cause?.code ?? err.cause?.message ?? err.message);
  }
}

export async function notifyCheck(ctx: Pick<AppContext, 'env'>, online: boolean, timeoutMs: number): Promise<Outcome> {
  let settings;
  try {
    settings = notifySettings(ctx.env);
  } catch (e) {
    return { status: 'fail', detail: (e as Error).message, hint: e instanceof CliError && e.hint ? e.hint : fixHint };
  }
  if (!settings) return { status: 'ok', detail: 'NOTIFY_URL not set: no alerts are sent' };
  const shown = settings.urls.map(maskUrl);
  const detail = `${settings.urls.length} webhook(s): ${shown.join(', ')}; cool-down ${settings.cooldown}, mass invalidation above ${Math.round(settings.invalidRatio * 100)}%`;
  if (!online) return { status: 'ok', detail: `${detail} (not contacted: pass --online, or post a test with \`cookie-pool notify test\`)` };
  const unreachable = (await Promise.all(settings.urls.map(async (u, i) => ({ url: shown[i], why: await probe(u, timeoutMs) })))).filter((r) => r.why);
  if (unreachable.length) {
    return {
      status: 'fail',
      detail: `${detail}; cannot reach ${unreachable.map((r) => `${r.url} (${r.why})`).join(', ')}`,
      hint: 'check NOTIFY_URL, DNS, proxies and the firewall of this machine; then `cookie-pool notify test`',
    };
  }
  return { status: 'ok', detail: `${detail}; every webhook host answers (\`cookie-pool notify test\` posts a real message)` };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** Bind the port for a moment: free, taken (code), or not bindable. */
function tryBind(port: number, host: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
}

export async function metricsCheck(ctx: Pick<AppContext, 'env'>): Promise<Outcome> {
  let s;
  try {
    s = metricsSettings(ctx.env);
  } catch (e) {
    return { status: 'fail', detail: (e as Error).message, hint: fixHint };
  }
  if (!s) return { status: 'ok', detail: 'METRICS_PORT not set: schedule serves /metrics only with --metrics-port' };
  const where = `${s.host}:${s.port}`;
  const problem = await tryBind(s.port, s.host);
  if (problem === 'EADDRINUSE') {
    return { status: 'warn', detail: `port ${where} is in use (a running schedule, or another program)`, hint: 'schedule exits 2 if it cannot take the port; pick another METRICS_PORT if it is not a schedule' };
  }
  if (problem) return { status: 'fail', detail: `cannot serve on ${where}: ${problem}`, hint: 'METRICS_HOST must be an address of this machine (default 127.0.0.1)' };
  const served = `schedule will serve http://${s.host.includes(':') ? `[${s.host}]` : s.host}:${s.port}/metrics and /healthz`;
  if (!LOOPBACK.has(s.host)) {
    return { status: 'warn', detail: `${served}, reachable from other machines`, hint: '/metrics has no authentication: allow only your Prometheus server in the firewall' };
  }
  return { status: 'ok', detail: served };
}
