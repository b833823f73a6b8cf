/**
 * The running-proxy guard of SPEC §9.1 (file backend).
 *
 * The Cursor-To-OpenAI proxy reads `data/api_keys.json` once at start and rewrites the whole file
 * from memory whenever it changes its pool (it retires failing cookies all day), so a change written
 * to the file under a running proxy is never served and is erased by its next save. Before the file
 * backend writes, this looks (Linux: /proc) for a process running the proxy whose project folder is
 * the folder holding the store's data folder, and refuses the write (exit 2) when it finds one.
 *
 * How the proxy is started (its package.json, named `cursor-to-openai` in the original and in the
 * forks): `npm start` → `node src/app.js` (older releases: `node src/index.js`); it keeps its files
 * in `<project>/data/`, relative to its sources, and is normally started from `<project>`.
 *
 * A process counts as the proxy when its command line names `cursor-to-openai`, or when it runs the
 * proxy's entry script (`src/app.js`, `src/index.js`) or `npm|yarn|pnpm [run] start` in a folder
 * whose package.json is named `cursor-to-openai…`. Its project folder is its working directory, or
 * `<root>` when it runs `<root>/src/app.js` by absolute path.
 *
 * Cheap, as it runs before every file write: one read of each /proc/<pid>/cmdline (a few hundred
 * small reads, about 10 ms), and readlink of the working directory only for the few that look
 * like the proxy.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import type { StorePaths } from './keystore.js';

export interface ProxyProcess {
  pid: number;
  /** Its command line, shortened for messages. */
  command: string;
  /** The proxy's project folder (the one holding its `data/`). */
  folder: string;
}

const ENTRY_SCRIPT = /(?:^|\/)src\/(?:app|index)\.js$/;
const NAMED = /cursor-to-openai/i;
const RUNNERS = new Set(['npm', 'yarn', 'pnpm', 'npm-cli.js', 'yarn.js', 'pnpm.cjs', 'pnpm.js']);

/** Folders a running proxy would have to use for its `data/` to be this store. */
export function storeProjectFolders(paths: StorePaths): string[] {
  const dirs = new Set([paths.dataDir, dirname(paths.keysFile), dirname(paths.invalidFile)]);
  return [...new Set([...dirs].map((d) => dirname(resolve(d))))];
}

/** The script a node command line runs (first argument after node's own options), if any. */
function nodeScript(argv: readonly string[]): string | undefined {
  if (!argv.length || !/^node(?:js)?(?:\d+)?$/.test(basename(argv[0]!))) return undefined;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') return argv[i + 1];
    // Options of node that take a separate value.
    if (/^(?:-r|--require|--import|--loader|--experimental-loader|--env-file|--inspect-port|--title|-e|--eval|-p|--print)$/.test(a)) {
      if (a === '-e' || a === '--eval' || a === '-p' || a === '--print') return undefined;
      i++;
      continue;
    }
    if (a.startsWith('-')) continue;
    return a;
  }
  return undefined;
}

/** `npm start`, `npm run start`, `yarn start`, `pnpm run start` (possibly through node …/npm-cli.js). */
function runsStartScript(argv: readonly string[]): boolean {
  const i = argv.findIndex((a) => RUNNERS.has(basename(a)));
  if (i < 0) return false;
  const rest = argv.slice(i + 1).filter((a) => !a.startsWith('-'));
  return rest[0] === 'start' || (rest[0] === 'run' && rest[1] === 'start') || (rest[0] === 'run-script' && rest[1] === 'start');
}

function packageName(folder: string): string | undefined {
  try {
    const pkg: unknown = JSON.parse(readFileSync(resolve(folder, 'package.json'), 'utf8'));
    return pkg && typeof pkg === 'object' && typeof (pkg as { name?: unknown }).name === 'string' ? (pkg as { name: string }).name : undefined;
  } catch {
    return undefined;
  }
}

async function realOrSame(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return resolve(path);
  }
}

/**
 * Running proxies whose project folder is one of `folders` (Linux only; elsewhere, or without
 * /proc, none are found). Processes of other users whose details cannot be read are skipped.
 */
export async function findRunningProxies(folders: readonly string[], procRoot = '/proc'): Promise<ProxyProcess[]> {
  if (process.platform !== 'linux') return [];
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return [];
  }
  const wanted = new Set(await Promise.all(folders.map(realOrSame)));
  const found: ProxyProcess[] = [];
  // Synchronous on purpose: /proc reads are served from memory, and a plain loop over a few
  // hundred of them takes a fraction of the time the thread pool needs to schedule them.
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let raw: string;
    try {
      raw = readFileSync(`${procRoot}/${name}/cmdline`, 'latin1');
    } catch {
      continue;
    }
    if (!raw) continue;
    let argv = raw.replace(/\0+$/, '').split('\0');
    // npm sets its process title ("npm start"), which Linux shows as one space-separated string.
    if (argv.length === 1) argv = argv[0]!.trim().split(/\s+/);
    const script = nodeScript(argv);
    const named = NAMED.test(raw);
    const entry = script !== undefined && ENTRY_SCRIPT.test(script);
    if (!named && !entry && !runsStartScript(argv)) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`${procRoot}/${name}/cwd`);
    } catch {
      continue;
    }
    const candidates = [cwd];
    // `node /opt/proxy/src/app.js` keeps its store in /opt/proxy/data wherever it was started.
    if (entry && isAbsolute(script!)) candidates.push(dirname(dirname(script!)));
    const folder = candidates.find((f) => wanted.has(f) && (named || NAMED.test(packageName(f) ?? '')));
    if (folder === undefined) continue;
    const command = argv.join(' ');
    found.push({ pid, command: command.length > 120 ? `${command.slice(0, 119)}…` : command, folder });
  }
  return found;
}

/** The running proxies that have this store loaded. */
export async function runningProxiesFor(paths: StorePaths): Promise<ProxyProcess[]> {
  return findRunningProxies(storeProjectFolders(paths));
}

/** Exit 2 before a file write when a running proxy has the store loaded (`--force-file` skips this). */
export async function refuseUnderRunningProxy(paths: StorePaths): Promise<void> {
  const [proxy, ...more] = await runningProxiesFor(paths);
  if (!proxy) return;
  const others = more.length ? ` (and ${more.length} more: pid ${more.map((p) => p.pid).join(', ')})` : '';
  throw new UsageError(
    `refusing to write ${paths.keysFile}: a running Cursor-To-OpenAI proxy has this store loaded (pid ${proxy.pid}: ${proxy.command}, in ${proxy.folder})${others}; ` +
      'it keeps the pool in memory and its next save would erase this change',
    'set PROXY_ADMIN_URL (with PROXY_ADMIN_USER + PROXY_ADMIN_PASSWORD) to change the pool through the proxy, or pass --force-file to write the file anyway',
  );
}
