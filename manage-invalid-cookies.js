#!/usr/bin/env -S node --
// `node manage-invalid-cookies` from the repository root, the command the proxy's users know:
// Node resolves the `.js`, and this defers to the menu's executable in bin/.
import { existsSync } from 'node:fs';

if (!existsSync(new URL('./dist/cookie-pool.cjs', import.meta.url))) {
  // A clone that was never installed: say what to run instead of a module-not-found stack trace.
  process.stderr.write('cookie-pool is not built yet: run `npm ci` in this folder first (it installs and builds).\n');
  process.exit(2);
}
await import('./bin/manage-invalid-cookies.js');
