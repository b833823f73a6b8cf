/**
 * Api keys and their cookies (SPEC §4 `keys`, `cookies`): pure functions over a Snapshot that
 * return the Change to write, meant to run inside `KeyStore.update` (under the store lock).
 * Linear in the number of cookies: identity sets, no scans inside loops.
 */
import { cookieIdentity, emptyRejections, parseCookie, type RefusalReason } from '../core/cookie.js';
import { identitySet, planMerge, screenCandidates, type KeyMap } from '../core/merge.js';
import { UsageError } from '../errors.js';
import type { Change, Snapshot } from '../store/pool.js';

export interface Refusal {
  /** The candidate as given (mask before display). */
  cookie: string;
  reason: RefusalReason;
  /** Why, in words: "not a JWT with a JSON payload", "already in the store", ... */
  detail: string;
  /** The key it was meant for (import-env). */
  apiKey?: string;
}

export interface AddCookiesResult {
  apiKey: string;
  /** The key did not exist before. */
  created: boolean;
  before: number;
  added: number;
  after: number;
  rejected: Record<RefusalReason, number>;
  refusals: Refusal[];
}

export interface RemoveCookiesResult {
  apiKey: string;
  before: number;
  /** Entries removed from the key (every form of a given cookie goes). */
  removed: number;
  after: number;
  /** Given cookies that the key does not hold. */
  notFound: string[];
  /** Removed cookies newly added to the invalid list (`--invalidate`). */
  invalidated: number;
}

export interface RemoveKeyResult {
  apiKey: string;
  /** Cookies the key held (they remain in the backups). */
  cookies: number;
}

export interface ImportEnvKey {
  apiKey: string;
  created: boolean;
  before: number;
  added: number;
  after: number;
}

export interface ImportEnvResult {
  keys: ImportEnvKey[];
  added: number;
  rejected: Record<RefusalReason, number>;
  refusals: Refusal[];
}

/**
 * The exit code of an operation on several items (SPEC §4): 0 when nothing failed (including
 * "nothing to do"), 3 when some were done and some failed, 1 when some failed and none was done.
 */
export function exitCodeFor(done: number, failed: number): 0 | 1 | 3 {
  if (failed === 0) return 0;
  return done > 0 ? 3 : 1;
}

/** Refusals that count as failures: a cookie already present ("duplicate") is merely nothing to do. */
export function failedRefusals(refusals: readonly Refusal[]): number {
  let n = 0;
  for (const r of refusals) if (r.reason !== 'duplicate') n++;
  return n;
}

export function validateApiKey(apiKey: string): string {
  if (apiKey.trim() === '' || /\s/.test(apiKey)) {
    throw new UsageError(`api key ${JSON.stringify(apiKey)} is empty or contains whitespace`);
  }
  return apiKey;
}

function unknownKey(apiKey: string, keys: KeyMap): UsageError {
  const known = Object.keys(keys);
  const list = known.length ? `known keys: ${known.slice(0, 10).join(', ')}${known.length > 10 ? ', …' : ''}` : 'the store has no api keys';
  return new UsageError(`no api key "${apiKey}" (${list})`, 'create it with: cookie-pool keys add <key> [cookie...]');
}

/** Attach a reason in words to each refusal. */
export function describeRefusals(
  refusals: readonly { cookie: string; reason: RefusalReason }[],
  inStore: ReadonlySet<string>,
  apiKey?: string,
): Refusal[] {
  return refusals.map(({ cookie, reason }) => {
    let detail: string;
    switch (reason) {
      case 'malformed': {
        const p = parseCookie(cookie);
        detail = p.ok ? 'malformed' : p.detail;
        break;
      }
      case 'expired':
        detail = 'its JWT has expired';
        break;
      case 'known-invalid':
        detail = 'it is in the invalid list';
        break;
      case 'duplicate':
        detail = inStore.has(cookieIdentity(cookie)) ? 'already in the store' : 'repeated in the input';
        break;
    }
    return apiKey === undefined ? { cookie, reason, detail } : { cookie, reason, detail, apiKey };
  });
}

function storeIdentities(keys: KeyMap): Set<string> {
  const set = new Set<string>();
  for (const list of Object.values(keys)) for (const c of list) set.add(cookieIdentity(c));
  return set;
}

/**
 * Add cookies to one key (`cookies add`, `keys add`): refuses malformed, expired, duplicate (in
 * the store under any key, or repeated in the input) and known-invalid candidates.
 * `create`: make the key when it is absent (otherwise an unknown key is a usage error).
 */
export function addCookies(
  snap: Snapshot,
  apiKey: string,
  candidates: readonly string[],
  nowSec: number,
  opts: { create?: boolean } = {},
): Change<AddCookiesResult> {
  validateApiKey(apiKey);
  const exists = Object.hasOwn(snap.keys, apiKey);
  if (!exists && !opts.create) throw unknownKey(apiKey, snap.keys);
  const plan = planMerge({ keys: snap.keys, invalid: snap.invalid, candidates, targets: [apiKey], mode: 'append', share: false, nowSec });
  const outcome = plan.perKey[0]!;
  const refusals = plan.refusals.length ? describeRefusals(plan.refusals, storeIdentities(snap.keys)) : [];
  const result: AddCookiesResult = {
    apiKey,
    created: !exists,
    before: outcome.before,
    added: outcome.added,
    after: outcome.after,
    rejected: plan.rejected,
    refusals,
  };
  return plan.keysChanged ? { keys: plan.keys, result } : { result };
}

/** Remove cookies from a key by identity: any form of a cookie removes every form of it. */
export function removeCookies(
  snap: Snapshot,
  apiKey: string,
  cookies: readonly string[],
  opts: { invalidate?: boolean } = {},
): Change<RemoveCookiesResult> {
  const old = Object.hasOwn(snap.keys, apiKey) ? snap.keys[apiKey]! : undefined;
  if (!old) throw unknownKey(apiKey, snap.keys);
  const held = identitySet(old);
  const wanted = new Set<string>();
  const notFound: string[] = [];
  for (const c of cookies) {
    const id = cookieIdentity(c);
    if (id === '') continue;
    if (held.has(id)) wanted.add(id);
    else notFound.push(c);
  }
  const kept: string[] = [];
  const gone: string[] = [];
  for (const c of old) (wanted.has(cookieIdentity(c)) ? gone : kept).push(c);
  const result: RemoveCookiesResult = { apiKey, before: old.length, removed: gone.length, after: kept.length, notFound, invalidated: 0 };
  if (gone.length === 0) return { result };
  const change: Change<RemoveCookiesResult> = { keys: { ...snap.keys, [apiKey]: kept }, result };
  if (opts.invalidate) {
    const listed = identitySet(snap.invalid);
    const fresh: string[] = [];
    for (const c of gone) {
      const id = cookieIdentity(c);
      if (!listed.has(id)) {
        listed.add(id);
        fresh.push(c);
      }
    }
    if (fresh.length) change.invalid = snap.invalid.concat(fresh);
    result.invalidated = fresh.length;
  }
  return change;
}

/** Remove an api key with its cookies. */
export function removeKey(snap: Snapshot, apiKey: string): Change<RemoveKeyResult> {
  if (!Object.hasOwn(snap.keys, apiKey)) throw unknownKey(apiKey, snap.keys);
  const keys: KeyMap = {};
  for (const [k, v] of Object.entries(snap.keys)) if (k !== apiKey) keys[k] = v;
  return { keys, result: { apiKey, cookies: snap.keys[apiKey]!.length } };
}

/** Validate the value of `API_KEYS`: `{ key: cookie | [cookies] }`. */
export function parseApiKeysEnv(value: unknown, name = 'API_KEYS'): Record<string, string[]> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${name} must be a JSON object {"<apiKey>": "<cookie>" or ["<cookie>", ...]}`);
  }
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k.trim() === '' || /\s/.test(k)) throw new UsageError(`${name}: api key ${JSON.stringify(k)} is empty or contains whitespace`);
    if (typeof v === 'string') out[k] = [v];
    else if (Array.isArray(v) && v.every((c) => typeof c === 'string')) out[k] = v as string[];
    else throw new UsageError(`${name}: the value of key "${k}" must be a cookie string or a list of cookie strings`);
  }
  return out;
}

/**
 * Merge `API_KEYS` into the store (`keys import-env`): missing keys are created, cookies are
 * screened as by `cookies add` (a cookie already under any key, or earlier in API_KEYS, is a duplicate).
 */
export function importEnvKeys(snap: Snapshot, wanted: Record<string, string[]>, nowSec: number): Change<ImportEnvResult> {
  const inStore = storeIdentities(snap.keys);
  const existing = new Set(inStore);
  const knownInvalid = identitySet(snap.invalid);
  const keys: KeyMap = { ...snap.keys };
  const rejected = emptyRejections();
  const refusals: Refusal[] = [];
  const perKey: ImportEnvKey[] = [];
  let added = 0;
  let changed = false;
  for (const [apiKey, candidates] of Object.entries(wanted)) {
    const created = !Object.hasOwn(keys, apiKey);
    const old = created ? [] : keys[apiKey]!;
    const screened = screenCandidates(candidates, existing, knownInvalid, nowSec);
    for (const c of screened.accepted) existing.add(cookieIdentity(c));
    for (const r of Object.keys(rejected) as RefusalReason[]) rejected[r] += screened.rejected[r];
    refusals.push(...describeRefusals(screened.refusals, inStore, apiKey));
    if (created || screened.accepted.length) {
      keys[apiKey] = old.concat(screened.accepted);
      changed = true;
    }
    added += screened.accepted.length;
    perKey.push({ apiKey, created, before: old.length, added: screened.accepted.length, after: old.length + screened.accepted.length });
  }
  const result: ImportEnvResult = { keys: perKey, added, rejected, refusals };
  return changed ? { keys, result } : { result };
}
