/** The running-proxy guard of SPEC §9.1 (file backend). Being built: see the live-pool issue. */
import type { StorePaths } from './keystore.js';

export async function refuseUnderRunningProxy(_paths: StorePaths): Promise<void> {}
