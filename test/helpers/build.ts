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

/** True when dist/ lacks the CLI or some source (or the compiler settings) changed after the last build. */
export function distIsStale(root = ROOT): boolean {
  let built: number;
  try {
    built = statSync(join(root, 'dist', 'cli.js')).mtimeMs;
  } catch {
    return true;
  }
  // tsc rewrites every output file, so the entry's mtime dates the whole build.
  const sources = Math.max(newest(join(root, 'src'), '.ts'), statSync(join(root, 'tsconfig.json')).mtimeMs);
  return sources > built;
}

export default function setup(): void {
  if (!distIsStale()) return;
  process.stderr.write('dist/ is missing or older than src/: building (npm run build)\n');
  // tsc directly (no npm in between): it is a dev dependency, installed by `npm ci`.
  execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.json')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
}
