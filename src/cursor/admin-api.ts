/**
 * A small typed client for the Cursor Admin API (https://api.cursor.com), over global fetch.
 *
 * - Basic auth: the admin key is the user name, the password is empty.
 * - Every request has a timeout (AbortSignal.timeout).
 * - 429 and 5xx (and network failures) are retried a bounded number of times with exponential
 *   backoff; a `Retry-After` header (seconds or an HTTP date) is honoured.
 * - Errors are CliErrors with clear messages; the key never appears in them, nor in --verbose.
 *
 * Shapes follow Cursor's Admin API documentation (docs.cursor.com/account/teams/admin-api);
 * fields the docs do not promise are optional.
 */
import { checkUrl, envString, type Env } from '../config.js';
import { OperationalError, UsageError } from '../errors.js';

export const DEFAULT_ADMIN_API_URL = 'https://api.cursor.com';
/** The Admin API refuses daily-usage ranges longer than this. */
export const MAX_USAGE_RANGE_DAYS = 90;

export interface TeamMember {
  name: string;
  email: string;
  role: string;
  id?: number | string;
  isRemoved?: boolean;
  [extra: string]: unknown;
}

export interface DailyUsageRow {
  /** Day, epoch ms (UTC midnight). */
  date: number;
  email?: string;
  isActive?: boolean;
  totalLinesAdded?: number;
  totalLinesDeleted?: number;
  acceptedLinesAdded?: number;
  acceptedLinesDeleted?: number;
  totalApplies?: number;
  totalAccepts?: number;
  totalRejects?: number;
  totalTabsShown?: number;
  totalTabsAccepted?: number;
  composerRequests?: number;
  chatRequests?: number;
  agentRequests?: number;
  cmdkUsages?: number;
  subscriptionIncludedReqs?: number;
  apiKeyReqs?: number;
  usageBasedReqs?: number;
  bugbotUsages?: number;
  mostUsedModel?: string;
  applyMostUsedExtension?: string;
  tabMostUsedExtension?: string;
  clientVersion?: string;
  [extra: string]: unknown;
}

export interface DailyUsageResponse {
  data: DailyUsageRow[];
  period?: { startDate: number; endDate: number };
}

export type SpendSortBy = 'amount' | 'date' | 'user';
export type SortDirection = 'asc' | 'desc';

export interface SpendRequest {
  searchTerm?: string;
  sortBy?: SpendSortBy;
  sortDirection?: SortDirection;
  page?: number;
  pageSize?: number;
}

export interface MemberSpend {
  name?: string;
  email: string;
  role?: string;
  spendCents: number;
  fastPremiumRequests?: number;
  hardLimitOverrideDollars?: number;
  [extra: string]: unknown;
}

export interface SpendResponse {
  teamMemberSpend: MemberSpend[];
  /** Start of the current billing cycle, epoch ms. */
  subscriptionCycleStart?: number;
  totalMembers?: number;
  totalPages?: number;
}

export interface AdminApiOptions {
  apiKey: string;
  baseUrl?: string;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** Total tries for one request (first try included). */
  maxAttempts?: number;
  /** First backoff delay when the server gives no Retry-After; doubles each retry. */
  baseDelayMs?: number;
  /** The longest wait we accept (a longer Retry-After ends the retries). */
  maxDelayMs?: number;
  /** Diagnostics (--verbose); never receives the key. */
  debug?: (line: string) => void;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  fetch?: typeof fetch;
}

/** An HTTP error answer from the Admin API, as a CliError with exit code 1. */
export class AdminApiError extends OperationalError {
  constructor(
    message: string,
    readonly status: number,
    readonly serverMessage: string | undefined,
    hint?: string,
  ) {
    super(message, hint);
  }
}

const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class AdminApiClient {
  readonly baseUrl: string;
  private readonly authHeader: string;
  private readonly secrets: RegExp[];
  private readonly keyPrefix: string | undefined;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly debug: (line: string) => void;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly fetchImpl: typeof fetch;

  constructor(opts: AdminApiOptions) {
    if (!opts.apiKey) throw new UsageError('CURSOR_ADMIN_API_KEY is not set');
    this.baseUrl = normalizeBaseUrl(opts.baseUrl ?? DEFAULT_ADMIN_API_URL, 'CURSOR_ADMIN_API_URL');
    const token = Buffer.from(`${opts.apiKey}:`).toString('base64');
    this.authHeader = `Basic ${token}`;
    this.secrets = secretPatterns(opts.apiKey, token);
    this.keyPrefix = opts.apiKey.length >= 16 ? opts.apiKey.slice(0, 12).toLowerCase() : undefined;
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 4);
    this.baseDelayMs = opts.baseDelayMs ?? 500;
    this.maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.debug = opts.debug ?? (() => {});
    this.sleep = opts.sleep ?? defaultSleep;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  /** GET /teams/members. Accepts both `{teamMembers: [...]}` and the older bare array. */
  async members(): Promise<TeamMember[]> {
    const body = await this.request<unknown>('GET', '/teams/members');
    const list = Array.isArray(body) ? body : (body as { teamMembers?: unknown })?.teamMembers;
    if (!Array.isArray(list)) throw this.shapeError('/teams/members', 'teamMembers');
    return list as TeamMember[];
  }

  /** POST /teams/daily-usage-data for one window of at most 90 days (epoch ms, inclusive). */
  async dailyUsage(startDate: number, endDate: number): Promise<DailyUsageResponse> {
    const body = await this.request<DailyUsageResponse>('POST', '/teams/daily-usage-data', { startDate, endDate });
    if (!body || !Array.isArray(body.data)) throw this.shapeError('/teams/daily-usage-data', 'data');
    return body;
  }

  /** POST /teams/spend: one page. */
  async spend(req: SpendRequest = {}): Promise<SpendResponse> {
    const payload: SpendRequest = {};
    if (req.searchTerm !== undefined) payload.searchTerm = req.searchTerm;
    if (req.sortBy !== undefined) payload.sortBy = req.sortBy;
    if (req.sortDirection !== undefined) payload.sortDirection = req.sortDirection;
    if (req.page !== undefined) payload.page = req.page;
    if (req.pageSize !== undefined) payload.pageSize = req.pageSize;
    const body = await this.request<SpendResponse>('POST', '/teams/spend', payload);
    if (!body || !Array.isArray(body.teamMemberSpend)) throw this.shapeError('/teams/spend', 'teamMemberSpend');
    return body;
  }

  /** One request with timeout, bounded retries and error mapping. */
  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const url = `${this.baseUrl}${path}`;
    const payload = body === undefined ? undefined : JSON.stringify(body);
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= this.maxAttempts;
      this.debug(`${method} ${url}${payload ? ` ${payload}` : ''}${attempt > 1 ? ` (try ${attempt}/${this.maxAttempts})` : ''}`);
      const started = Date.now();
      let res: Response;
      let text: string;
      try {
        res = await this.fetchImpl(url, {
          method,
          headers: {
            Authorization: this.authHeader,
            Accept: 'application/json',
            ...(payload ? { 'Content-Type': 'application/json' } : {}),
          },
          body: payload,
          signal: AbortSignal.timeout(this.timeoutMs),
        });
        text = await res.text();
      } catch (e) {
        const err = e as Error & { cause?: { code?: string; message?: string } };
        if (err.name === 'TimeoutError' || err.name === 'AbortError') {
          throw new OperationalError(`the Cursor Admin API did not answer ${method} ${path} within ${Math.round(this.timeoutMs / 1000)}s`);
        }
        const reason = err.cause?.code ?? err.cause?.message ?? err.message;
        if (!last) {
          const wait = this.backoff(attempt);
          this.debug(`${method} ${path}: ${this.scrub(String(reason))}; retrying in ${wait} ms`);
          await this.sleep(wait);
          continue;
        }
        throw new OperationalError(
          `cannot reach the Cursor Admin API at ${this.baseUrl}: ${this.scrub(String(reason))}`,
          'check the network and CURSOR_ADMIN_API_URL',
        );
      }
      this.debug(`${method} ${path} → ${res.status} (${Date.now() - started} ms, ${text.length} bytes)`);

      if (res.ok) {
        if (text.trim() === '') return undefined as T;
        try {
          return JSON.parse(text) as T;
        } catch {
          throw new OperationalError(`the Cursor Admin API answered ${method} ${path} with something that is not JSON`);
        }
      }

      const retryable = res.status === 429 || res.status >= 500;
      if (retryable && !last) {
        const retryAfter = parseRetryAfter(res.headers.get('retry-after'), Date.now());
        const wait = retryAfter ?? this.backoff(attempt);
        if (wait <= this.maxDelayMs) {
          this.debug(`${method} ${path}: HTTP ${res.status}; retrying in ${wait} ms${retryAfter !== undefined ? ' (Retry-After)' : ''}`);
          await this.sleep(wait);
          continue;
        }
        this.debug(`${method} ${path}: Retry-After ${wait} ms is longer than we wait`);
      }
      throw this.httpError(method, path, res.status, text, res.headers.get('retry-after'));
    }
  }

  private backoff(attempt: number): number {
    const exp = this.baseDelayMs * 2 ** (attempt - 1);
    const jitter = Math.floor(Math.random() * this.baseDelayMs * 0.25);
    return Math.min(this.maxDelayMs, exp + jitter);
  }

  /**
   * Remove the key (and its Basic token) from anything the server echoes back, in any case and
   * URL-encoded; a text that still holds the start of the key (a cut or re-encoded echo) is
   * withheld whole.
   */
  private scrub(text: string): string {
    let out = text;
    for (const re of this.secrets) out = out.replace(re, '***');
    if (this.keyPrefix !== undefined && out.toLowerCase().includes(this.keyPrefix)) {
      return '(the server\'s message is withheld: it repeats part of the admin key)';
    }
    return out;
  }

  private shapeError(path: string, field: string): OperationalError {
    return new OperationalError(`unexpected answer from the Cursor Admin API ${path}: no "${field}" list`);
  }

  private httpError(method: string, path: string, status: number, text: string, retryAfter: string | null): AdminApiError {
    const server = serverMessage(text);
    const said = server ? this.scrub(server) : undefined;
    const suffix = said ? `: ${said}` : '';
    switch (status) {
      case 401:
        return new AdminApiError(
          `the admin API key was refused (HTTP 401)${suffix}`,
          status,
          said,
          'check CURSOR_ADMIN_API_KEY: an Admin API key from cursor.com/dashboard → Settings → Cursor Admin API Keys',
        );
      case 403:
        return new AdminApiError(
          `the admin API key may not use ${method} ${path} (HTTP 403)${suffix}`,
          status,
          said,
          'the key must belong to an admin of a team whose plan includes the Admin API',
        );
      case 400:
        return new AdminApiError(`the Cursor Admin API rejected ${method} ${path} (HTTP 400)${suffix || ': bad request'}`, status, said);
      case 404:
        return new AdminApiError(`${method} ${path} was not found on ${this.baseUrl} (HTTP 404)${suffix}`, status, said, 'check CURSOR_ADMIN_API_URL');
      case 429:
        return new AdminApiError(
          `the Cursor Admin API is rate limiting us (HTTP 429) after ${this.maxAttempts} tries${suffix}`,
          status,
          said,
          retryAfter ? `try again in ${retryAfter}${/^\d+$/.test(retryAfter.trim()) ? ' s' : ''}` : 'try again in a minute',
        );
      default:
        return new AdminApiError(
          `the Cursor Admin API answered ${method} ${path} with HTTP ${status}${status >= 500 ? ` after ${this.maxAttempts} tries` : ''}${suffix}`,
          status,
          said,
        );
    }
  }
}

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Case-insensitive patterns for every spelling of the key an echo may use. */
function secretPatterns(apiKey: string, basicToken: string): RegExp[] {
  const forms = new Set([apiKey, basicToken, encodeURIComponent(apiKey), encodeURIComponent(basicToken), JSON.stringify(apiKey).slice(1, -1)]);
  return [...forms]
    .filter((s) => s.length >= 4)
    .sort((a, b) => b.length - a.length)
    .map((s) => new RegExp(escapeRegExp(s), 'gi'));
}

/**
 * The server's own words from an error body: `{error}`, `{message}`, `{error:{message}}` or short
 * text, on one line (it is quoted inside our messages).
 */
export function serverMessage(text: string): string | undefined {
  const said = rawServerMessage(text);
  return said === undefined ? undefined : said.replace(/\s+/g, ' ').trim() || undefined;
}

function rawServerMessage(text: string): string | undefined {
  const t = text.trim();
  if (!t) return undefined;
  try {
    const j = JSON.parse(t) as unknown;
    if (typeof j === 'string') return j;
    if (j && typeof j === 'object') {
      const o = j as Record<string, unknown>;
      for (const k of ['message', 'error', 'detail', 'error_description']) {
        const v = o[k];
        if (typeof v === 'string' && v) return v;
        if (v && typeof v === 'object' && typeof (v as Record<string, unknown>).message === 'string') {
          return (v as Record<string, string>).message;
        }
      }
    }
    return t.slice(0, 200);
  } catch {
    // HTML error pages say nothing useful.
    if (/^<(!doctype|html)/i.test(t)) return undefined;
    return t.replace(/\s+/g, ' ').slice(0, 200);
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value == null) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

function normalizeBaseUrl(raw: string, variable: string): string {
  return checkUrl(raw, variable).toString().replace(/\/+$/, '');
}

/** A client configured from the environment (SPEC §3); a missing key is a usage error naming it. */
export function adminClientFromEnv(env: Env, extra: Omit<AdminApiOptions, 'apiKey' | 'baseUrl'> = {}): AdminApiClient {
  const apiKey = envString(env, 'CURSOR_ADMIN_API_KEY');
  if (!apiKey) {
    throw new UsageError(
      'CURSOR_ADMIN_API_KEY is not set: the team commands need a Cursor Admin API key',
      'create one at cursor.com/dashboard → Settings → Cursor Admin API Keys, then set CURSOR_ADMIN_API_KEY in .env or the environment',
    );
  }
  return new AdminApiClient({ ...extra, apiKey, baseUrl: envString(env, 'CURSOR_ADMIN_API_URL', DEFAULT_ADMIN_API_URL) });
}
