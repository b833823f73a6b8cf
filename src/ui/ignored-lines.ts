/** Lines of cursor-api's token files that it ignores (SPEC §9.2), as `status` shows them; the cookie in each is masked. */
import type { IgnoredLine } from '../store/pool.js';
import type { IO } from './io.js';

export function ignoredLinesJson(io: IO, lines: readonly IgnoredLine[]): { file: string; line: number; reason: string; text: string }[] {
  return lines.map((l) => ({ file: l.file, line: l.line, reason: l.reason, text: io.cookie(l.text) }));
}

/** One line each, after the status table. */
export function printIgnoredLines(io: IO, lines: readonly IgnoredLine[]): void {
  if (lines.length === 0) return;
  const { c } = io;
  io.out(`\n${c.yellow(`${lines.length} line(s) ignored by cursor-api`)} (it does not serve them; fix or remove them by hand):`);
  for (const l of lines) io.out(`  ${l.file} line ${l.line}: ${l.reason}: ${io.cookie(l.text)}`);
}
