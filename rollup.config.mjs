/**
 * The bundle the executables run (`npm run build`: tsc compiles src/ to dist/, then this bundles
 * tsc's output into dist/cookie-pool.cjs and dist/chunk-*.cjs).
 *
 * Why (issue 12, P2: `status --json` within 2× of `node -e 0`; figures from `bench/startup.mjs`):
 * - Node 20 pays about 0.7 ms for every ES module it loads (resolve, read, compile, link), and
 *   `status` loaded 22 of ours. Everything the entry and `status` load at start-up goes into one
 *   chunk, the entry `dist/cookie-pool.cjs` itself; everything else keeps its own chunk behind the
 *   same dynamic `import()` as in the source, so octokit, inquirer, adm-zip and the rarely used
 *   commands load only when a run needs them.
 * - The bundle is CommonJS (the source stays ES modules): an ES entry makes Node start its ES
 *   loader, ~4 ms of a ~55 ms `status`; a CommonJS one does not. Packages that exist only as ES
 *   modules (octokit, chalk) are loaded with `import()` in the source, which stays `import()`
 *   here (`dynamicImportInCjs`); the others are required. The executables in bin/ are CommonJS
 *   (bin/package.json) and require the entry.
 * - commander is bundled into that chunk too (seven CommonJS files resolved, read and compiled one
 *   by one otherwise). Its command module requires `node:child_process` at the top, only to spawn
 *   stand-alone executable subcommands, which cookie-pool does not have; that require would load
 *   child_process with net and stream behind it, so it gets a stand-in that loads the real module
 *   on first use.
 * Other packages stay external (loaded from node_modules at run time). tsc's own output stays in
 * dist/ beside the bundle (the merge benchmark and the source maps use it); chunks sit in dist/
 * itself, so `import.meta.url`-relative paths (rollup turns them into the chunk's own file URL)
 * mean the same in both.
 */
import { readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';

const dist = fileURLToPath(new URL('./dist/', import.meta.url));

/** The modules a quick command runs from start to end: they and all they import statically go into one chunk. */
const START = ['cli.js', 'commands/status.js', 'services/history.js'].map((f) => dist + f);
const COMMANDER = /[\\/]node_modules[\\/]commander[\\/]/;
const LAZY_CHILD_PROCESS = '\0lazy-child-process';

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

/** commander's `require('node:child_process')` → a stand-in that requires the real module on first use. */
const lazyChildProcess = {
  name: 'lazy-child-process',
  resolveId(id, importer) {
    if ((id === 'node:child_process' || id === 'child_process') && importer && COMMANDER.test(importer)) return LAZY_CHILD_PROCESS;
    return null;
  },
  load(id) {
    if (id !== LAZY_CHILD_PROCESS) return null;
    return [
      "import { createRequire } from 'node:module';",
      'let real;',
      "const load = () => (real ??= createRequire(import.meta.url)('node:child_process'));",
      'export default new Proxy({}, { get: (_t, key) => load()[key], has: (_t, key) => key in load() });',
    ].join('\n');
  },
};

export default {
  input: { 'cookie-pool': `${dist}cli.js` },
  // The entry is the start chunk itself (other chunks import from it), not a module that re-exports it.
  preserveEntrySignatures: 'allow-extension',
  // Packages (commander apart) and Node's built-ins load from node_modules / Node at run time.
  external: (id) => !(id.startsWith('.') || id.startsWith('/') || id.startsWith('\0') || id === 'commander' || COMMANDER.test(id) || id.includes('child_process')),
  plugins: [
    lazyChildProcess,
    nodeResolve({ resolveOnly: ['commander'] }),
    commonjs(),
    {
      // Chunk names follow the source, so a rename would leave the old chunk behind: remove strays
      // (and the ES bundle of earlier builds: dist/cookie-pool.js, dist/chunk-*.js).
      name: 'remove-stale-chunks',
      writeBundle(_options, bundle) {
        for (const f of readdirSync(dist)) {
          const stale = (f.startsWith('chunk-') && (f.endsWith('.js') || f.endsWith('.cjs')) && !(f in bundle)) || f === 'cookie-pool.js';
          if (stale) rmSync(dist + f);
        }
      },
    },
  ],
  output: {
    dir: dist,
    format: 'cjs',
    entryFileNames: '[name].cjs',
    chunkFileNames: 'chunk-[name].cjs',
    // `import()` of a package stays `import()` (octokit and chalk are ES modules only).
    dynamicImportInCjs: true,
    // A chunk need not repeat the imports of the chunks it imports (Node loads those anyway).
    hoistTransitiveImports: false,
    // The start-up modules, commander and its stand-in form the entry chunk itself.
    manualChunks: (id, { getModuleInfo }) =>
      startSet(getModuleInfo).has(id) || COMMANDER.test(id) || id === LAZY_CHILD_PROCESS ? 'cookie-pool' : undefined,
  },
  onwarn(warning, warn) {
    // A chunk that requires the start chunk which loads it lazily is fine: the start chunk has run by then.
    if (warning.code === 'CIRCULAR_DEPENDENCY') return;
    warn(warning);
  },
};
