/**
 * A one-line progress bar for stderr on a TTY: `checking [#######-------] 120/400 30%  12.3/s`.
 * Redraws at most every `intervalMs`; `done()` clears the line. Callers only create it when
 * stderr is a TTY (import it lazily: nothing else needs it).
 */
export interface ProgressBar {
  update(done: number, total: number): void;
  done(): void;
}

export function createProgressBar(
  stream: NodeJS.WritableStream & { columns?: number },
  label: string,
  opts: { intervalMs?: number; now?: () => number } = {},
): ProgressBar {
  const now = opts.now ?? Date.now;
  const interval = opts.intervalMs ?? 100;
  const started = now();
  let last = 0;
  let drawn = false;
  const draw = (done: number, total: number) => {
    const cols = Math.max(40, Math.min(stream.columns ?? 80, 120));
    const pct = total > 0 ? done / total : 1;
    const elapsed = (now() - started) / 1000;
    const rate = elapsed > 0 ? `${(done / elapsed).toFixed(1)}/s` : '';
    const tail = ` ${done}/${total} ${Math.floor(pct * 100)}%  ${rate}`;
    const width = Math.max(10, cols - label.length - tail.length - 4);
    const fill = Math.round(pct * width);
    stream.write(`\r${label} [${'#'.repeat(fill)}${'-'.repeat(width - fill)}]${tail}\x1b[K`);
    drawn = true;
  };
  return {
    update(done, total) {
      const t = now();
      if (done < total && t - last < interval) return;
      last = t;
      draw(done, total);
    },
    done() {
      if (drawn) stream.write('\r\x1b[K');
      drawn = false;
    },
  };
}
