/**
 * What `status --json` loads at start-up (issue 12, P2: its time is measured by bench/startup.mjs,
 * never here). A run with stdout on a pipe, as cron and scripts have it, loads one module of ours
 * besides the executable (the start chunk the build makes), both CommonJS, so Node never starts its
 * ES loader; and none of the Node built-ins that a careless import pulls in: sockets and streams
 * (process.stdout on a pipe, an ES import of node:fs), child_process (commander's executable
 * subcommands), http, zlib, crypto.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, baseEnv, ROOT, TempStore } from './helpers/cli.js';
import { makeCookie } from './helpers/cookies.js';

const hooks = mkdtempSync(join(tmpdir(), 'cookie-pool-startup-'));
afterAll(() => rmSync(hooks, { recursive: true, force: true }));

// Reports every file module the ES loader loads (the hooks run in a thread of their own, which
// loads built-ins of its own: the built-ins are looked at in a run without them).
writeFileSync(join(hooks, 'loader.mjs'), `export async function load(url, context, next) {
  if (url.startsWith('file:')) process._rawDebug('MODULE ' + url);
  return next(url, context);
}`);
writeFileSync(
  join(hooks, 'watch.mjs'),
  `import { register } from 'node:module';
register(${JSON.stringify(pathToFileURL(join(hooks, 'loader.mjs')).href)});`,
);
// Reports, at exit, the built-ins the main thread loaded, the CommonJS modules it required, and
// whether the ES loader ran (it loads its module jobs only then).
writeFileSync(
  join(hooks, 'builtins.cjs'),
  `process.on('exit', () => {
  process._rawDebug('BUILTINS ' + process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)).join(' '));
  process._rawDebug('REQUIRED ' + Object.keys(require.cache).join(' '));
  process._rawDebug('ESM ' + process.moduleLoadList.includes('NativeModule internal/modules/esm/module_job'));
});`,
);

describe('status --json at start-up', () => {
  it('loads the start chunk only, and no sockets, streams, child_process, http, zlib or crypto', () => {
    const store = new TempStore();
    try {
      store.writeKeys({ a: Array.from({ length: 50 }, () => makeCookie()), b: [makeCookie()] });
      const status = (preload: string[]) =>
        spawnSync(process.execPath, [...preload, BIN, 'status', '--json'], {
          cwd: store.dir,
          env: baseEnv({ DATA_DIR: store.dataDir }),
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        });
      // With the ES loader's hooks on (--import loads the entry through it): nothing of ours but the
      // entry itself goes through the ES loader.
      const withHooks = status(['--import', pathToFileURL(join(hooks, 'watch.mjs')).href]);
      expect(withHooks.status, withHooks.stderr).toBe(0);
      expect(JSON.parse(withHooks.stdout).keys).toHaveLength(2);
      const root = pathToFileURL(ROOT).href;
      const esm = [...withHooks.stderr.matchAll(/^MODULE (\S+)$/gm)].map((m) => m[1]!).filter((u) => u.startsWith(root));
      expect(esm.map((u) => u.slice(root.length + 1))).toEqual(['bin/cookie-pool.js']);

      const plain = status(['--require', join(hooks, 'builtins.cjs')]);
      expect(plain.status, plain.stderr).toBe(0);
      expect(JSON.parse(plain.stdout).keys).toHaveLength(2);
      const required = (/^REQUIRED (.*)$/m.exec(plain.stderr)?.[1] ?? '').split(' ').filter((f) => f.startsWith(ROOT));
      expect(required.map((f) => f.slice(ROOT.length + 1)).filter((f) => !f.startsWith('/tmp'))).toEqual(['bin/cookie-pool.js', 'dist/cookie-pool.cjs']);
      // The ES loader never started (an ES entry or an ES import of ours would start it).
      expect(/^ESM (\w+)$/m.exec(plain.stderr)?.[1]).toBe('false');
      const builtins = new Set(/^BUILTINS (.*)$/m.exec(plain.stderr)?.[1]?.split(' '));
      expect(builtins.size).toBeGreaterThan(10);
      for (const heavy of ['net', 'stream', 'internal/fs/streams', 'tty', 'child_process', 'http', 'https', 'zlib', 'crypto', 'readline']) {
        expect(builtins.has(heavy), heavy).toBe(false);
      }
    } finally {
      store.cleanup();
    }
  });
});
