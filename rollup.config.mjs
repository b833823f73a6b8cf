/**
 * The bundle the executables run (`npm run build`: tsc compiles src/ to dist/, then this).
 *
 * Why: Node 20 pays about 0.7 ms for every ES module it loads (resolve, read, compile, link), and
 * `cookie-pool status` used to load 22 of ours. Rollup gathers everything the entry and the quick
 * commands load at start-up into one chunk (`dist/chunk-start.js`); everything else keeps its own
 * chunk behind the same dynamic `import()` as in the source, so octokit, inquirer, adm-zip and the
 * rarely used commands still load only when a run needs them. Packages stay external (loaded from
 * node_modules as before); tsc's own output stays in dist/ beside the bundle (the benchmarks and
 * the source maps use it). Chunks sit in dist/ itself, so `import.meta.url`-relative paths mean the
 * same in the bundle as in tsc's output.
 */
import { readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = fileURLToPath(new URL('./dist/', import.meta.url));

/** The modules a quick command runs from start to end: they and all they import statically go into one chunk. */
const START = ['cli.js', 'commands/status.js', 'services/history.js'].map((f) => dist + f);

let start;
/** Every module reachable from START through static imports (computed once the graph is known). */
function startSet(getModuleInfo) {
  if (start) return start;
  start = new Set();
  const todo = [...START];
  while (todo.length) {
    const id = todo.pop();
    if (start.has(id)) continue;
    const info = getModuleInfo(id);
    if (!info || info.isExternal) continue;
    start.add(id);
    todo.push(...info.importedIds);
  }
  return start;
}

export default {
  input: { 'cookie-pool': `${dist}cli.js` },
  // Packages and Node's built-ins load from node_modules / Node at run time, as they do from tsc's output.
  external: (id) => !id.startsWith('.') && !id.startsWith('/'),
  output: {
    dir: dist,
    format: 'es',
    entryFileNames: '[name].js',
    chunkFileNames: 'chunk-[name].js',
    manualChunks: (id, { getModuleInfo }) => (startSet(getModuleInfo).has(id) ? 'start' : undefined),
  },
  plugins: [
    {
      // Chunk names follow the source, so a rename would leave the old chunk behind: remove strays.
      name: 'remove-stale-chunks',
      writeBundle(_options, bundle) {
        for (const f of readdirSync(dist)) if (f.startsWith('chunk-') && f.endsWith('.js') && !(f in bundle)) rmSync(dist + f);
      },
    },
  ],
  onwarn(warning, warn) {
    // A chunk that imports the start chunk which imports it back lazily is fine for ES modules.
    if (warning.code === 'CIRCULAR_DEPENDENCY') return;
    warn(warning);
  },
};
