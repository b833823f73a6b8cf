/** The `token-api` backend (SPEC §9.2). Being built: see the live-pool issue. */
import { UsageError } from '../errors.js';
import type { OpenOptions } from './open.js';
import type { Pool } from './pool.js';

export function openTokenApiPool(_opts: OpenOptions): Pool {
  throw new UsageError('the token-api backend is not built yet');
}
