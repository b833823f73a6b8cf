/**
 * vitest globalSetup: the tests run the built CLI (dist/), so build first when dist/ is missing or
 * older than any source file. `npm ci` already builds (the `prepare` script); this covers a
 * `git pull` or an edit followed by `npm test` without `npm run build`.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli.js';

/** Newest mtime (ms) of the files under `dir` whose name ends with `ext`; 0 when none. */
function newest(dir: string, ext: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith(ext)) max = Math.max(max, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return max;
}

/** True when dist/ lacks the CLI bundle or some source (or the build settings) changed after the last build. */
export function distIsStale(root = ROOT): boolean {
  let built: number;
  try {
    built = statSync(join(root, 'dist', 'cookie-pool.cjs')).mtimeMs;
  } catch {
    return true;
  }
  // rollup runs after tsc, so the bundle's entry dates the whole build.
  const settings = ['tsconfig.json', 'rollup.config.mjs'].map((f) => statSync(join(root, f)).mtimeMs);
  const sources = Math.max(newest(join(root, 'src'), '.ts'), ...settings);
  return sources > built;
}

export default function setup(): void {
  if (!distIsStale()) return;
  process.stderr.write('dist/ is missing or older than src/: building (npm run build)\n');
  // What `npm run build` runs, without npm in between: tsc, then rollup (dev dependencies, installed by `npm ci`).
  const run = (bin: string, ...args: string[]) => execFileSync(process.execPath, [join(ROOT, 'node_modules', bin), ...args], { cwd: ROOT, stdio: 'inherit' });
  run('typescript/bin/tsc', '-p', join(ROOT, 'tsconfig.json'));
  run('rollup/dist/bin/rollup', '-c', '--silent');
}
