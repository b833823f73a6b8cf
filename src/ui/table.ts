/** Aligned, borderless tables for human output (cli-table3). */
import { createRequire } from 'node:module';
import type TableType from 'cli-table3';

// cli-table3 (with string-width and emoji-regex) loads on first use, not at start-up: `--json` never needs it.
const require = createRequire(import.meta.url);
let TableClass: typeof TableType | undefined;

export type Align = 'left' | 'right';

export function renderTable(head: string[], rows: (string | number)[][], opts: { align?: Align[]; color?: boolean } = {}): string {
  TableClass ??= require('cli-table3') as typeof TableType;
  const table = new TableClass({
    head,
    chars: {
      top: '', 'top-mid': '', 'top-left': '', 'top-right': '',
      bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '',
      left: '', 'left-mid': '', mid: '', 'mid-mid': '',
      right: '', 'right-mid': '', middle: '  ',
    },
    style: { head: opts.color ? ['bold'] : [], border: [], 'padding-left': 0, 'padding-right': 0, compact: true },
    colAligns: opts.align ?? [],
  });
  for (const row of rows) table.push(row.map(String));
  return table
    .toString()
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n');
}
