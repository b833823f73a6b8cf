/**
 * Opens the pool the configuration names (SPEC §9). The `file` backend is built at once (it is
 * cheap); the others load their module on first use, so quick commands on the file backend never
 * load HTTP or token-file code.
 */
import { resolve } from 'node:path';
import { envString, storePaths, type Env } from '../config.js';
import { UsageError } from '../errors.js';
import { KeyStore } from './keystore.js';
import type { Applied, BackendName, Decide, Pool, PoolDescription, Snapshot } from './pool.js';

export interface OpenOptions {
  backend: BackendName;
  env: Env;
  /** `--data-dir` as given. */
  dataDirFlag?: string;
  /** `--force-file`: write the files even under a running proxy. */
  forceFile?: boolean;
  /** Notices for the user on stderr (silenced by --quiet), such as a long wait for the store lock. */
  notice?: (line: string) => void;
}

/** A backend's module: builds the backend from the configuration (throws UsageError when it is incomplete). */
export type BackendFactory = (opts: OpenOptions) => Pool | Promise<Pool>;

const LOADERS: Record<Exclude<BackendName, 'file'>, () => Promise<BackendFactory>> = {
  proxy: async () => (await import('./proxy.js')).openProxyPool,
  'token-file': async () => (await import('./token-file.js')).openTokenFilePool,
  'token-api': async () => (await import('./token-api.js')).openTokenApiPool,
};

/** Backends with one pool (no api keys): cursor-api's. They are also the ones that write labels. */
const SINGLE_POOL: ReadonlySet<BackendName> = new Set(['token-file', 'token-api']);

export function openFilePool(opts: OpenOptions): KeyStore {
  const store = new KeyStore(storePaths(opts.env, opts.dataDirFlag), { notice: opts.notice });
  if (!opts.forceFile) {
    store.beforeWrite = async () => {
      const { refuseUnderRunningProxy } = await import('./proxy-guard.js');
      await refuseUnderRunningProxy(store.paths);
    };
  }
  return store;
}

/** A URL without credentials, query or fragment, for messages. */
function safeUrl(raw: string | undefined): string {
  if (!raw) return '(not set)';
  try {
    const u = new URL(raw);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/$/, '')}`;
  } catch {
    return '(not a URL)';
  }
}

function configuredWhere(backend: Exclude<BackendName, 'file'>, env: Env): string {
  switch (backend) {
    case 'proxy':
      return safeUrl(envString(env, 'PROXY_ADMIN_URL'));
    case 'token-file':
      return resolve(envString(env, 'TOKEN_FILE', '.token'));
    case 'token-api':
      return safeUrl(envString(env, 'CURSOR_API_URL'));
  }
}

/** A pool that builds its backend on first use. */
class LazyPool implements Pool {
  readonly multiKey: boolean;
  readonly keepsLabels: boolean;
  private pool?: Promise<Pool>;

  constructor(
    readonly backend: BackendName,
    private readonly opts: OpenOptions,
  ) {
    this.multiKey = !SINGLE_POOL.has(backend);
    this.keepsLabels = SINGLE_POOL.has(backend);
  }

  private get(): Promise<Pool> {
    this.pool ??= (async () => {
      const factory = await LOADERS[this.backend as Exclude<BackendName, 'file'>]();
      return factory(this.opts);
    })();
    return this.pool;
  }

  /** Before the backend is built: where the configuration says the pool is (no secrets). */
  describe(): PoolDescription {
    return { backend: this.backend, where: configuredWhere(this.backend as Exclude<BackendName, 'file'>, this.opts.env), details: [] };
  }

  /** The description of the built backend (it needs the configuration checked). */
  async describeLoaded(): Promise<PoolDescription> {
    return (await this.get()).describe();
  }

  async read(): Promise<Snapshot> {
    return (await this.get()).read();
  }

  async update<T>(decide: Decide<T>): Promise<Applied<T>> {
    return (await this.get()).update(decide);
  }
}

export function openPool(opts: OpenOptions): Pool {
  if (opts.backend === 'file') return openFilePool(opts);
  return new LazyPool(opts.backend, opts);
}

/** The description of a pool, building its backend if needed (through a decorator's `inner`: the history recorder). */
export async function describePool(pool: Pool): Promise<PoolDescription> {
  if (pool instanceof LazyPool) return pool.describeLoaded();
  const inner = (pool as { inner?: unknown }).inner;
  return inner && typeof inner === 'object' && 'describe' in inner ? describePool(inner as Pool) : pool.describe();
}

/** Exit 2 naming the backend, for what a one-pool backend cannot express (SPEC §9). */
export function requireMultiKey(pool: Pool, what: string): void {
  if (!pool.multiKey) {
    throw new UsageError(
      `${what} is not possible on the ${pool.backend} backend: cursor-api has one pool (shown as key "default") and no api keys`,
      'use the file or proxy backend for api keys (POOL_BACKEND / --backend)',
    );
  }
}
