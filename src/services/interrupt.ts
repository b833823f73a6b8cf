/**
 * SIGINT/SIGTERM during a long operation (refresh, workflow watch): the first signal aborts the
 * operation through an AbortSignal, so it unwinds through its `finally` blocks (locks released,
 * nothing half-written) and the command exits 130 (SIGINT) or 143 (SIGTERM). A second signal
 * exits at once (proper-lockfile's exit hook still removes held locks).
 */
import { InterruptedError } from '../errors.js';
import { writeStd } from '../stdio.js';

export { InterruptedError };

export const SIGNAL_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM', number>> = { SIGINT: 130, SIGTERM: 143 };

export async function withInterrupts<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((sig) => {
    const handler = () => {
      if (controller.signal.aborted) process.exit(SIGNAL_EXIT[sig]);
      writeStd(2, `\ncookie-pool: ${sig} received, stopping (again to force)\n`);
      controller.abort(new InterruptedError(`interrupted by ${sig}`, SIGNAL_EXIT[sig]));
    };
    process.on(sig, handler);
    return [sig, handler] as const;
  });
  try {
    const result = await fn(controller.signal);
    return result;
  } catch (e) {
    // Whatever the abort surfaced as (AbortError, a wrapped request error), report the interruption.
    if (controller.signal.aborted) throw controller.signal.reason;
    throw e;
  } finally {
    for (const [sig, handler] of handlers) process.off(sig, handler);
  }
}
