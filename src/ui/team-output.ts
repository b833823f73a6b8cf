/**
 * Output of the `team` commands: aligned tables that fit the terminal (100 columns when stdout
 * is not a terminal), one JSON document, or CSV with a header row (csv-stringify, loaded lazily).
 */
import type { DailyUsageRow, MemberSpend, TeamMember } from '../cursor/admin-api.js';
import { UsageError } from '../errors.js';
import { USAGE_COUNTERS, centsToDollars, dollars, isActiveRow, isoDay, rowDate, type SpendReport, type UsageReport } from '../services/team.js';
import type { IO } from './io.js';
import { renderTable, type Align } from './table.js';
import { printable } from './text.js';

export type OutputFormat = 'table' | 'json' | 'csv';
export const FORMATS: readonly OutputFormat[] = ['table', 'json', 'csv'];

/** `--format` with the global `--json`: json unless another format is asked for explicitly. */
export function resolveFormat(format: string | undefined, json: boolean | undefined): OutputFormat {
  if (format === undefined) return json ? 'json' : 'table';
  const f = format.trim().toLowerCase();
  if (!(FORMATS as readonly string[]).includes(f)) throw new UsageError(`--format must be table, json or csv, got "${format}"`);
  if (json && f !== 'json') throw new UsageError(`--json conflicts with --format ${f}`);
  return f as OutputFormat;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** A string no wider than `width`, cut with an ellipsis. */
export function truncate(text: string, width: number): string {
  if (width < 1) return '';
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}…`;
}

/**
 * Shrink the `flexible` columns (widest first, not below `minWidth`) so the table fits in
 * `columns` characters with two-space gaps; returns the rows with those cells truncated.
 */
export function fitTable(head: string[], rows: string[][], flexible: number[], columns: number, minWidth = 8): string[][] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const total = (): number => widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
  while (total() > columns) {
    const candidates = flexible.filter((i) => (widths[i] ?? 0) > Math.max(minWidth, head[i]?.length ?? 0));
    if (candidates.length === 0) break;
    const widest = candidates.reduce((a, b) => ((widths[b] ?? 0) > (widths[a] ?? 0) ? b : a));
    widths[widest] = (widths[widest] ?? 0) - 1;
  }
  return rows.map((r) => r.map((cell, i) => (flexible.includes(i) ? truncate(cell, widths[i] ?? cell.length) : cell)));
}

/** Every cell is text from the Admin API (names, emails, models): sanitised before it is measured. */
function table(io: IO, head: string[], rows: string[][], align: Align[], flexible: number[]): string {
  const clean = rows.map((r) => r.map(printable));
  return renderTable(head, fitTable(head, clean, flexible, io.columns), { align, color: io.c.level > 0 });
}

/**
 * Records as CSV with a header row and RFC 4180 quoting. A cell that starts with = + - @, a tab or
 * a CR (member names and emails come from outside) gets a `'` in front, so a spreadsheet shows it
 * as text instead of running it as a formula (negative numbers stay numbers).
 */
export async function toCsv(records: Record<string, unknown>[], columns: string[]): Promise<string> {
  const { stringify } = await import('csv-stringify/sync');
  return stringify(records, {
    header: true,
    columns,
    cast: { boolean: (v: boolean) => String(v) },
    record_delimiter: 'unix',
    escape_formulas: true,
  });
}

function pct(v: number | null): string {
  return v === null ? '–' : `${v.toFixed(1)}%`;
}

function num(v: unknown): string {
  return typeof v === 'number' && Number.isFinite(v) ? String(v) : '0';
}

// ---------------------------------------------------------------------------------------------
// members

export const MEMBER_CSV_COLUMNS = ['name', 'email', 'role', 'isRemoved'];

export async function renderMembers(io: IO, members: TeamMember[], format: OutputFormat): Promise<void> {
  if (format === 'json') {
    io.printJson({ members, count: members.length });
    return;
  }
  if (format === 'csv') {
    io.write(await toCsv(members as Record<string, unknown>[], MEMBER_CSV_COLUMNS));
    return;
  }
  if (members.length === 0) {
    io.out('The team has no members.');
    return;
  }
  const rows = members.map((m) => [m.name ?? '', m.email ?? '', `${m.role ?? ''}${m.isRemoved ? ' (removed)' : ''}`]);
  io.out(table(io, ['NAME', 'EMAIL', 'ROLE'], rows, ['left', 'left', 'left'], [0, 1]));
  const removed = members.filter((m) => m.isRemoved).length;
  const roles = new Map<string, number>();
  for (const m of members) if (!m.isRemoved) roles.set(m.role, (roles.get(m.role) ?? 0) + 1);
  const byRole = [...roles].map(([r, n]) => `${printable(String(r))}: ${n}`).join(', ');
  const active = members.length - removed;
  io.out(`\n${active} member${active === 1 ? '' : 's'}${byRole ? ` (${byRole})` : ''}${removed ? `; ${removed} removed` : ''}.`);
}

// ---------------------------------------------------------------------------------------------
// usage

export const USAGE_CSV_COLUMNS = [
  'day',
  'date',
  'email',
  'isActive',
  ...USAGE_COUNTERS,
  'mostUsedModel',
  'applyMostUsedExtension',
  'tabMostUsedExtension',
  'clientVersion',
];

function withDay(row: DailyUsageRow): DailyUsageRow & { day: string } {
  const d = rowDate(row);
  return { day: Number.isNaN(d) ? '' : isoDay(d), ...row };
}

export async function renderUsage(io: IO, report: UsageReport, format: OutputFormat): Promise<void> {
  if (format === 'json') {
    io.printJson({
      from: isoDay(report.startDate),
      to: isoDay(report.endDate),
      startDate: report.startDate,
      endDate: report.endDate,
      ...(report.email ? { email: report.email } : {}),
      windows: report.windows.map((w) => ({ ...w, from: isoDay(w.startDate), to: isoDay(w.endDate) })),
      rows: report.rows.map(withDay),
      totals: report.totals,
      acceptance: report.rates,
    });
    return;
  }
  if (format === 'csv') {
    io.write(await toCsv(report.rows.map(withDay) as Record<string, unknown>[], USAGE_CSV_COLUMNS));
    return;
  }

  const t = report.totals;
  const span = Math.round((report.endDate - report.startDate + 1) / 86_400_000);
  const range = `${isoDay(report.startDate)} → ${isoDay(report.endDate)} (${span} day${span === 1 ? '' : 's'}, ${report.windows.length} request${report.windows.length === 1 ? '' : 's'})`;
  const shown = report.rows.filter(isActiveRow);
  if (shown.length === 0) {
    io.out(`No usage${report.email ? ` for ${report.email}` : ''} in ${range}.`);
    return;
  }
  // One team domain: show the local part and say the domain once.
  const emails = shown.map((r) => r.email ?? '');
  const domain = commonDomain(emails);
  const user = (e: string): string => (domain && e.endsWith(domain) ? e.slice(0, -domain.length) : e);

  const head = ['DATE', 'USER', 'ADDED', 'DELETED', 'ACCEPTED', 'TABS', 'TAB-ACC', 'COMP', 'CHAT', 'AGENT', 'UBR'];
  const cells = (r: Partial<Record<(typeof USAGE_COUNTERS)[number], unknown>>): string[] => [
    num(r.totalLinesAdded),
    num(r.totalLinesDeleted),
    num(r.acceptedLinesAdded),
    num(r.totalTabsShown),
    num(r.totalTabsAccepted),
    num(r.composerRequests),
    num(r.chatRequests),
    num(r.agentRequests),
    num(r.usageBasedReqs),
  ];
  const rows = shown.map((r) => {
    const d = rowDate(r);
    return [Number.isNaN(d) ? '?' : isoDay(d), user(r.email ?? ''), ...cells(r)];
  });
  rows.push(['TOTAL', `${t.users} user${t.users === 1 ? '' : 's'}`, ...cells(t)]);
  const align: Align[] = ['left', 'left', ...Array<Align>(9).fill('right')];
  io.out(table(io, head, rows, align, [1]));

  const hidden = report.rows.length - shown.length;
  io.out('');
  io.out(`Range: ${range}${domain ? ` · users ${printable(domain)}` : ''}`);
  io.out(`Rows: ${shown.length} active${hidden ? `, ${hidden} inactive not shown (json/csv have every row)` : ''}`);
  io.out(`Acceptance: lines ${pct(report.rates.lines)} (accepted/added) · tabs ${pct(report.rates.tabs)} (accepted/shown)`);
  io.out(`            suggestions ${pct(report.rates.suggestions)} (accepts/(accepts+rejects))`);
  io.out(`Requests: composer ${t.composerRequests} · chat ${t.chatRequests} · agent ${t.agentRequests} · cmd-K ${t.cmdkUsages} · usage-based ${t.usageBasedReqs}`);
  io.out('ACCEPTED: accepted lines added · TAB-ACC: tabs accepted · COMP: composer · UBR: usage-based');
}

function commonDomain(emails: string[]): string | undefined {
  let domain: string | undefined;
  for (const e of emails) {
    const at = e.lastIndexOf('@');
    if (at <= 0) return undefined;
    const d = e.slice(at).toLowerCase();
    if (domain === undefined) domain = d;
    else if (domain !== d) return undefined;
  }
  return domain;
}

// ---------------------------------------------------------------------------------------------
// spend

export const SPEND_CSV_COLUMNS = ['name', 'email', 'role', 'spendCents', 'spendDollars', 'fastPremiumRequests', 'hardLimitOverrideDollars'];

function withDollars(m: MemberSpend): MemberSpend & { spendDollars?: number } {
  return { ...m, spendDollars: centsToDollars(m.spendCents) };
}

export async function renderSpend(io: IO, report: SpendReport, format: OutputFormat, all: boolean): Promise<void> {
  const cycleStart = typeof report.subscriptionCycleStart === 'number' ? isoDay(report.subscriptionCycleStart) : undefined;
  if (format === 'json') {
    io.printJson({
      pages: report.pages,
      totalPages: report.totalPages,
      ...(report.totalMembers !== undefined ? { totalMembers: report.totalMembers } : {}),
      ...(report.subscriptionCycleStart !== undefined ? { subscriptionCycleStart: report.subscriptionCycleStart, cycleStart } : {}),
      totalSpendCents: report.totalSpendCents,
      totalSpendDollars: centsToDollars(report.totalSpendCents),
      members: report.members.map(withDollars),
    });
    return;
  }
  if (format === 'csv') {
    io.write(await toCsv(report.members.map(withDollars) as Record<string, unknown>[], SPEND_CSV_COLUMNS));
    return;
  }
  const where = all
    ? `${report.pages.length} page${report.pages.length === 1 ? '' : 's'}`
    : `page ${report.pages[0] ?? 1} of ${report.totalPages}`;
  const facts = [
    where,
    report.totalMembers !== undefined ? `${report.totalMembers} member${report.totalMembers === 1 ? '' : 's'}` : undefined,
    cycleStart ? `billing cycle since ${cycleStart}` : undefined,
  ].filter(Boolean);
  if (report.members.length === 0) {
    io.out(`No spend to show (${facts.join(' · ')}).`);
    return;
  }
  const rows = report.members.map((m) => [
    m.name ?? '',
    m.email ?? '',
    m.role ?? '',
    dollars(m.spendCents),
    typeof m.fastPremiumRequests === 'number' ? String(m.fastPremiumRequests) : '',
    typeof m.hardLimitOverrideDollars === 'number' ? dollars(Math.round(m.hardLimitOverrideDollars * 100)) : '–',
  ]);
  io.out(
    table(io, ['NAME', 'EMAIL', 'ROLE', 'SPEND', 'PREMIUM REQS', 'LIMIT'], rows, ['left', 'left', 'left', 'right', 'right', 'right'], [0, 1]),
  );
  io.out('');
  io.out(`${facts.join(' · ')} · ${all ? 'total' : 'on this page'} ${dollars(report.totalSpendCents)}`);
  if (!all && report.totalPages > (report.pages[0] ?? 1)) io.out('More pages: --page N, or --all for every page.');
}
