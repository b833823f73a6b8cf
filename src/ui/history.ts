/**
 * Rendering of `history` (SPEC §10): per key a chart of the cookie count over the window
 * (asciichart), its retirement rate and forecast; cookies retired per day; refresh statistics.
 * With colour (a terminal, no NO_COLOR) the chart is drawn with box-drawing glyphs in colour;
 * otherwise in plain ASCII, so logs and pipes get plain text.
 */
import { createRequire } from 'node:module';
import { DAY_MS, type HistorySummary, type KeyHistory } from '../core/history.js';
import type { IO } from './io.js';
import { renderTable } from './table.js';

// asciichart is CommonJS whose types describe a default export it does not have: load it with require.
const require = createRequire(import.meta.url);
type AsciiChart = typeof import('asciichart');

/** ASCII stand-ins for asciichart's glyphs (axis, ticks, line, corners, vertical). */
const PLAIN_SYMBOLS: [string, string, string, string, string, string, string, string, string, string] = [
  '+', '|', '-', '-', '-', "'", ',', '.', "'", '|',
];

const CHART_HEIGHT = 8;

/** `2026-04-08 14:00` (UTC). */
export function shortTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

export function formatSeconds(sec: number): string {
  const s = Math.round(sec);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** The count at the end of each of `width` equal slices of the window (the last known value carried forward). */
export function resample(key: KeyHistory, startMs: number, endMs: number, width: number): number[] {
  const points = key.series.map((p) => ({ t: Date.parse(p.time), n: p.cookies }));
  const out: number[] = [];
  let i = 0;
  let value = key.start ?? points[0]?.n ?? 0;
  const span = Math.max(1, endMs - startMs);
  for (let b = 0; b < width; b++) {
    const end = startMs + ((b + 1) * span) / width;
    while (i < points.length && points[i]!.t <= end) value = points[i++]!.n;
    out.push(value);
  }
  return out;
}

function chart(io: IO, values: number[]): string {
  const asciichart = require('asciichart') as AsciiChart;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const colour = io.c.level > 0;
  return asciichart
    .plot(values, {
      height: Math.min(CHART_HEIGHT, Math.max(1, max - min)),
      format: (x: number) => String(Math.round(x)).padStart(6),
      ...(colour ? { colors: [asciichart.cyan] } : { symbols: PLAIN_SYMBOLS }),
    })
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}

function forecastText(k: KeyHistory, s: HistorySummary): string {
  if (k.removed) return 'removed';
  if (!s.forecast) return `runs dry: no forecast yet (${s.historyDays.toFixed(1)} of 2 days of history)`;
  if (k.runsDryAt === null) return 'runs dry: not at this rate (no cookie retired in the window)';
  const at = Date.parse(k.runsDryAt);
  if (at <= s.nowMs) return `runs dry: now (below the minimum already)`;
  return `runs dry: ${shortTime(at)} UTC (in ${((at - s.nowMs) / DAY_MS).toFixed(1)} days)`;
}

export function renderHistory(io: IO, s: HistorySummary, opts: { file: string; minCookieCount: number }): void {
  const { c } = io;
  if (Number.isNaN(s.firstMs)) {
    io.out(`No history yet (${opts.file}): cookie-pool records every pool change, check and refresh there.`);
    return;
  }
  const days = (s.nowMs - s.windowStartMs) / DAY_MS;
  io.out(
    `${c.bold('History')} ${shortTime(s.windowStartMs)} → ${shortTime(s.nowMs)} UTC (${days.toFixed(1)} days, ${s.events} event(s)); minimum ${opts.minCookieCount}`,
  );
  // A terminal that reports no width (0) counts as 100 columns; at least room for the two dates below the chart.
  const width = Math.max(34, Math.min(72, (io.columns || 100) - 12));
  for (const k of s.keys) {
    io.out();
    io.out(`${c.bold(k.apiKey)}: ${k.removed ? 'removed' : `${k.current} cookie(s) now`}`);
    if (k.series.length || k.start !== undefined) {
      io.out(chart(io, resample(k, s.windowStartMs, s.nowMs, width)));
      const left = shortTime(s.windowStartMs);
      const right = shortTime(s.nowMs);
      io.out(`${' '.repeat(7)}${left}${' '.repeat(Math.max(1, width + 1 - left.length - right.length))}${right}`);
    } else io.out('  no history for this key');
    io.out(`  retired: ${k.retired} in the window, ${k.retiredPerDay}/day · ${forecastText(k, s)}`);
  }

  // Cookies retired per day, all the keys shown together, every day of the window.
  const perDay = new Map<string, number>();
  for (const k of s.keys) for (const [day, n] of k.retiredByDay) perDay.set(day, (perDay.get(day) ?? 0) + n);
  const rows: (string | number)[][] = [];
  for (let t = Date.parse(new Date(s.windowStartMs).toISOString().slice(0, 10)); t <= s.nowMs; t += DAY_MS) {
    const day = new Date(t).toISOString().slice(0, 10);
    rows.push([day, perDay.get(day) ?? 0]);
  }
  io.out();
  io.out(c.bold('Cookies retired per day (UTC)'));
  io.out(renderTable(['DAY', 'RETIRED'], rows, { align: ['left', 'right'], color: c.level > 0 }));

  const r = s.refresh;
  io.out();
  io.out(
    r.runs === 0
      ? 'Refresh runs: none in the window.'
      : `Refresh runs: ${r.runs} (${r.succeeded} succeeded, ${r.runs - r.succeeded} failed); ` +
          `${r.harvestedPerRun} cookie(s) harvested per successful run; mean duration ${formatSeconds(r.meanSeconds)}.`,
  );
}
