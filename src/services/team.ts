/**
 * `team` (SPEC §8): members, daily usage and spend from the Cursor Admin API.
 *
 * The pure parts (date parsing, window splitting, joining, totals, rates) are exported for unit
 * tests; the fetching parts take an AdminApiClient.
 */
import type { AdminApiClient, DailyUsageRow, MemberSpend, SortDirection, SpendRequest, SpendResponse, SpendSortBy, TeamMember } from '../cursor/admin-api.js';
import { MAX_USAGE_RANGE_DAYS } from '../cursor/admin-api.js';
import { UsageError } from '../errors.js';

export const DAY_MS = 86_400_000;
/** Epoch-ms values below this (early 1973) are almost surely seconds or a compact date typed by mistake. */
const MIN_EPOCH_MS = 100_000_000_000;

// ---------------------------------------------------------------------------------------------
// Dates and windows

/**
 * A `--from`/`--to` value as epoch ms. `YYYY-MM-DD` is a UTC day: the start of it for `start`,
 * its last millisecond for `end` (so `--to` includes the day). Digits are epoch milliseconds.
 */
export function parseDateArg(raw: string, what: string, edge: 'start' | 'end'): number {
  const v = raw.trim();
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const ms = Date.UTC(y, mo - 1, d);
    const back = new Date(ms);
    if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) {
      throw new UsageError(`${what}: "${raw}" is not a calendar date`);
    }
    return edge === 'start' ? ms : ms + DAY_MS - 1;
  }
  if (/^\d+$/.test(v)) {
    const ms = Number(v);
    if (!Number.isSafeInteger(ms) || ms < MIN_EPOCH_MS) {
      throw new UsageError(`${what}: "${raw}" is too small for epoch milliseconds (seconds? a compact date?); give YYYY-MM-DD or epoch ms`);
    }
    if (ms > 8_640_000_000_000_000) throw new UsageError(`${what}: "${raw}" is out of range`);
    return ms;
  }
  throw new UsageError(`${what} must be a date YYYY-MM-DD (UTC) or epoch milliseconds, got "${raw}"`);
}

export interface DateRange {
  startDate: number;
  endDate: number;
}

/** `--from`/`--to` with defaults: the last 30 days, today (UTC) included. */
export function resolveRange(from: string | undefined, to: string | undefined, nowMs: number): DateRange {
  const todayStart = Math.floor(nowMs / DAY_MS) * DAY_MS;
  const endDate = to === undefined ? todayStart + DAY_MS - 1 : parseDateArg(to, '--to', 'end');
  const startDate = from === undefined ? Math.floor(endDate / DAY_MS) * DAY_MS - 29 * DAY_MS : parseDateArg(from, '--from', 'start');
  if (startDate > endDate) {
    throw new UsageError(`--from (${isoDay(startDate)}) is after --to (${isoDay(endDate)})`);
  }
  return { startDate, endDate };
}

/**
 * Consecutive windows of at most `maxDays` days covering [startDate, endDate] (inclusive, ms):
 * each window starts one millisecond after the previous one ends, so nothing is asked twice and
 * nothing is skipped.
 */
export function splitWindows(startDate: number, endDate: number, maxDays = MAX_USAGE_RANGE_DAYS): DateRange[] {
  if (!(maxDays > 0)) throw new RangeError('maxDays must be positive');
  if (endDate < startDate) throw new RangeError('endDate is before startDate');
  const span = maxDays * DAY_MS;
  const windows: DateRange[] = [];
  for (let s = startDate; s <= endDate; s += span) {
    windows.push({ startDate: s, endDate: Math.min(s + span - 1, endDate) });
  }
  return windows;
}

export function isoDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

// ---------------------------------------------------------------------------------------------
// Usage rows: join, filter, totals

/** The row's day as epoch ms (the API sends epoch ms; tolerate numeric strings and ISO dates). */
export function rowDate(row: DailyUsageRow): number {
  const d = row.date as unknown;
  if (typeof d === 'number') return d;
  if (typeof d === 'string') {
    if (/^\d+$/.test(d.trim())) return Number(d);
    const p = Date.parse(d);
    if (!Number.isNaN(p)) return p;
  }
  return Number.NaN;
}

/**
 * Join the rows of consecutive windows: in window order, by day, without duplicates (a day the
 * server returns in two windows is kept once; rows are one per user per day).
 */
export function joinWindowRows(perWindow: DailyUsageRow[][]): DailyUsageRow[] {
  const seen = new Set<string>();
  const out: DailyUsageRow[] = [];
  for (const rows of perWindow) {
    for (const row of rows) {
      const date = rowDate(row);
      const normalized: DailyUsageRow = Number.isNaN(date) || date === row.date ? row : { ...row, date };
      const key = typeof row.email === 'string' && row.email !== '' ? `${date}|${row.email.toLowerCase()}` : `${date}|${JSON.stringify(row)}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(normalized);
    }
  }
  // Stable: rows of one day keep the server's order.
  return out.map((r, i) => ({ r, i })).sort((a, b) => rowDate(a.r) - rowDate(b.r) || a.i - b.i).map((x) => x.r);
}

export function filterByEmail(rows: DailyUsageRow[], email: string | undefined): DailyUsageRow[] {
  if (!email) return rows;
  const want = email.trim().toLowerCase();
  return rows.filter((r) => typeof r.email === 'string' && r.email.toLowerCase() === want);
}

/** The numeric fields of a daily-usage row that add up. */
export const USAGE_COUNTERS = [
  'totalLinesAdded',
  'totalLinesDeleted',
  'acceptedLinesAdded',
  'acceptedLinesDeleted',
  'totalApplies',
  'totalAccepts',
  'totalRejects',
  'totalTabsShown',
  'totalTabsAccepted',
  'composerRequests',
  'chatRequests',
  'agentRequests',
  'cmdkUsages',
  'subscriptionIncludedReqs',
  'apiKeyReqs',
  'usageBasedReqs',
  'bugbotUsages',
] as const;

export type UsageCounter = (typeof USAGE_COUNTERS)[number];
export type UsageTotals = Record<UsageCounter, number> & { rows: number; activeRows: number; users: number; days: number };

export function usageTotals(rows: DailyUsageRow[]): UsageTotals {
  const totals = Object.fromEntries(USAGE_COUNTERS.map((k) => [k, 0])) as Record<UsageCounter, number>;
  const users = new Set<string>();
  const days = new Set<number>();
  let activeRows = 0;
  for (const row of rows) {
    for (const k of USAGE_COUNTERS) {
      const v = row[k];
      if (typeof v === 'number' && Number.isFinite(v)) totals[k] += v;
    }
    if (isActiveRow(row)) {
      activeRows++;
      if (row.email) users.add(row.email.toLowerCase());
      days.add(rowDate(row));
    }
  }
  return { ...totals, rows: rows.length, activeRows, users: users.size, days: days.size };
}

/** Active by the API's flag, or (without it) by any non-zero counter. */
export function isActiveRow(row: DailyUsageRow): boolean {
  if (row.isActive === true) return true;
  return USAGE_COUNTERS.some((k) => typeof row[k] === 'number' && (row[k] as number) !== 0);
}

export interface AcceptanceRates {
  /** acceptedLinesAdded / totalLinesAdded, percent. */
  lines: number | null;
  /** totalTabsAccepted / totalTabsShown, percent. */
  tabs: number | null;
  /** totalAccepts / (totalAccepts + totalRejects), percent. */
  suggestions: number | null;
}

export function percent(part: number, whole: number): number | null {
  if (!(whole > 0)) return null;
  return Math.round((part / whole) * 1000) / 10;
}

export function acceptanceRates(t: Pick<UsageTotals, UsageCounter>): AcceptanceRates {
  return {
    lines: percent(t.acceptedLinesAdded, t.totalLinesAdded),
    tabs: percent(t.totalTabsAccepted, t.totalTabsShown),
    suggestions: percent(t.totalAccepts, t.totalAccepts + t.totalRejects),
  };
}

export interface UsageReport {
  startDate: number;
  endDate: number;
  email?: string;
  windows: DateRange[];
  rows: DailyUsageRow[];
  totals: UsageTotals;
  rates: AcceptanceRates;
}

/** Fetch [startDate, endDate] window by window, in order, and join the rows. */
export async function fetchUsage(
  client: Pick<AdminApiClient, 'dailyUsage'>,
  range: DateRange,
  opts: { email?: string; onWindow?: (index: number, count: number, w: DateRange) => void } = {},
): Promise<UsageReport> {
  const windows = splitWindows(range.startDate, range.endDate);
  const perWindow: DailyUsageRow[][] = [];
  for (const [i, w] of windows.entries()) {
    opts.onWindow?.(i, windows.length, w);
    const res = await client.dailyUsage(w.startDate, w.endDate);
    perWindow.push(res.data);
  }
  const rows = filterByEmail(joinWindowRows(perWindow), opts.email);
  const totals = usageTotals(rows);
  return { ...range, ...(opts.email ? { email: opts.email } : {}), windows, rows, totals, rates: acceptanceRates(totals) };
}

// ---------------------------------------------------------------------------------------------
// Members

export async function fetchMembers(client: Pick<AdminApiClient, 'members'>): Promise<TeamMember[]> {
  return client.members();
}

// ---------------------------------------------------------------------------------------------
// Spend

export interface SpendOptions {
  search?: string;
  sort?: SpendSortBy;
  order?: SortDirection;
  page?: number;
  pageSize?: number;
  all?: boolean;
}

export interface SpendReport {
  /** The pages fetched, in order. */
  pages: number[];
  totalPages: number;
  totalMembers: number | undefined;
  subscriptionCycleStart: number | undefined;
  members: MemberSpend[];
  totalSpendCents: number;
}

/** Pages followed with --all, at most (a guard against a server that never stops). */
export const MAX_SPEND_PAGES = 1000;

export async function fetchSpend(
  client: Pick<AdminApiClient, 'spend'>,
  opts: SpendOptions,
  onPage?: (page: number, totalPages: number) => void,
): Promise<SpendReport> {
  const base: SpendRequest = {};
  if (opts.search !== undefined && opts.search !== '') base.searchTerm = opts.search;
  if (opts.sort) base.sortBy = opts.sort;
  if (opts.order) base.sortDirection = opts.order;
  if (opts.pageSize !== undefined) base.pageSize = opts.pageSize;

  const firstPage = opts.all ? 1 : opts.page;
  const first = await client.spend(firstPage === undefined ? base : { ...base, page: firstPage });
  const totalPages = pageCount(first);
  const responses: { page: number; res: SpendResponse }[] = [{ page: firstPage ?? 1, res: first }];
  onPage?.(firstPage ?? 1, totalPages);
  if (opts.all) {
    const last = Math.min(totalPages, MAX_SPEND_PAGES);
    for (let page = 2; page <= last; page++) {
      const res = await client.spend({ ...base, page });
      onPage?.(page, totalPages);
      responses.push({ page, res });
      if (res.teamMemberSpend.length === 0) break;
    }
  }
  // Joined in page order; a member who moved between pages while we paged is kept once.
  const seen = new Set<string>();
  const members: MemberSpend[] = [];
  for (const { res } of responses) {
    for (const m of res.teamMemberSpend) {
      const key = typeof m.email === 'string' && m.email ? m.email.toLowerCase() : JSON.stringify(m);
      if (seen.has(key)) continue;
      seen.add(key);
      members.push(m);
    }
  }
  const lastRes = responses[responses.length - 1]?.res ?? first;
  return {
    pages: responses.map((r) => r.page),
    totalPages,
    totalMembers: typeof lastRes.totalMembers === 'number' ? lastRes.totalMembers : first.totalMembers,
    subscriptionCycleStart: first.subscriptionCycleStart,
    members,
    totalSpendCents: members.reduce((sum, m) => sum + (typeof m.spendCents === 'number' ? m.spendCents : 0), 0),
  };
}

function pageCount(res: SpendResponse): number {
  const n = res.totalPages;
  return typeof n === 'number' && Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
}

/** Cents as dollars for people: `$1,234.50`. */
export function dollars(cents: number | undefined): string {
  if (typeof cents !== 'number' || !Number.isFinite(cents)) return '';
  return new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(cents / 100);
}

/** Cents as a plain decimal dollar amount for machines: `1234.5`. */
export function centsToDollars(cents: number | undefined): number | undefined {
  if (typeof cents !== 'number' || !Number.isFinite(cents)) return undefined;
  return Math.round(cents) / 100;
}
