/** The `proxy` backend (SPEC §9.1). Being built: see the live-pool issue. */
import { UsageError } from '../errors.js';
import type { OpenOptions } from './open.js';
import type { Pool } from './pool.js';

export function openProxyPool(_opts: OpenOptions): Pool {
  throw new UsageError('the proxy backend is not built yet');
}
