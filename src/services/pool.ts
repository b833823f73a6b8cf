/**
 * Api keys and their cookies (SPEC §4 `keys`, `cookies`): pure functions over a Snapshot that
 * return the Change to write, meant to run inside `KeyStore.update` (under the store lock).
 * Linear in the number of cookies: identity sets, no scans inside loops.
 */
import { cookieIdentity, emptyRejections, parseCookie, type RefusalReason } from '../core/cookie.js';
import { keyNameForDisplay, newKeyNameProblem } from '../core/key-name.js';
import { identitySet, planMerge, screenCandidates } from '../core/merge.js';
import { keyCookies, newKeyMap, type KeyMap } from '../core/key-map.js';
import { UsageError } from '../errors.js';
import type { Change, Snapshot } from '../store/pool.js';

export interface Refusal {
  /** The candidate as given (mask before display). */
  cookie: string;
  reason: RefusalReason;
  /** Why, in words: "not a JWT with a JSON payload", "already under api key \"sk-b\"", ... */
  detail: string;
  /** The key it was meant for (import-env). */
  apiKey?: string;
  /**
   * A duplicate already held by another api key: that key. Unlike a cookie the target key holds
   * already (nothing to do), this counts as a refusal for the exit code.
   */
  heldBy?: string;
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

/**
 * Refusals that count as failures: a cookie the key holds already, or repeated in the input, is
 * merely nothing to do; one held by another api key is refused (it names that key).
 */
export function failedRefusals(refusals: readonly Refusal[]): number {
  let n = 0;
  for (const r of refusals) if (r.reason !== 'duplicate' || r.heldBy !== undefined) n++;
  return n;
}

/**
 * The key-name rule (src/core/key-name.ts) for a key about to be CREATED: exit 2 with the reason
 * (a cookie given as the name is masked). Existing keys are used whatever their name.
 */
export function assertNewKeyName(apiKey: string, where?: string): string {
  const problem = newKeyNameProblem(apiKey);
  if (problem !== undefined) {
    throw new UsageError(`${where ? `${where}: ` : ''}${problem}`, 'an api key name is one word without spaces, such as sk-team-a');
  }
  return apiKey;
}

/** An unknown key: exit 2 naming it (masked when it is a cookie) and the keys there are. */
export function unknownKey(apiKey: string, keys: KeyMap): UsageError {
  const known = Object.keys(keys);
  const list = known.length
    ? `known keys: ${known.slice(0, 10).map(keyNameForDisplay).join(', ')}${known.length > 10 ? ', …' : ''}`
    : 'the store has no api keys';
  return new UsageError(`no api key "${keyNameForDisplay(apiKey)}" (${list})`, 'create it with: cookie-pool keys add <key> [cookie...]');
}

/**
 * Attach a reason in words to each refusal. `holders` tells which api key holds a cookie (by
 * identity) in the store; `target` is the key the cookies were meant for, named in each refusal
 * when `labelled` (import-env, several keys at once).
 */
export function describeRefusals(
  refusals: readonly { cookie: string; reason: RefusalReason }[],
  holders: ReadonlyMap<string, string>,
  target: string,
  labelled = false,
): Refusal[] {
  return refusals.map(({ cookie, reason }) => {
    let detail: string;
    let heldBy: string | undefined;
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
      case 'duplicate': {
        const holder = holders.get(cookieIdentity(cookie));
        if (holder === undefined) detail = 'repeated in the input';
        else if (holder === target) detail = `already in api key "${keyNameForDisplay(target)}"`;
        else {
          heldBy = holder;
          detail = `already under api key "${keyNameForDisplay(holder)}"`;
        }
        break;
      }
    }
    return { cookie, reason, detail, ...(labelled ? { apiKey: target } : {}), ...(heldBy !== undefined ? { heldBy } : {}) };
  });
}

/**
 * The api key holding each cookie of the store, by identity (the first key, when several do).
 * Built only when a refusal needs naming: one pass over the store.
 */
function storeHolders(keys: KeyMap): Map<string, string> {
  const holders = new Map<string, string>();
  for (const apiKey of Object.keys(keys)) {
    for (const c of keys[apiKey]!) {
      const id = cookieIdentity(c);
      if (!holders.has(id)) holders.set(id, apiKey);
    }
  }
  return holders;
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
  const exists = Object.hasOwn(snap.keys, apiKey);
  if (!exists) {
    if (!opts.create) throw unknownKey(apiKey, snap.keys);
    assertNewKeyName(apiKey);
  }
  const plan = planMerge({ keys: snap.keys, invalid: snap.invalid, candidates, targets: [apiKey], mode: 'append', share: false, nowSec });
  const outcome = plan.perKey[0]!;
  const refusals = plan.refusals.length ? describeRefusals(plan.refusals, storeHolders(snap.keys), apiKey) : [];
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
  const old = keyCookies(snap.keys, apiKey);
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
  const keys = newKeyMap(snap.keys);
  keys[apiKey] = kept;
  const change: Change<RemoveCookiesResult> = { keys, result };
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
  const keys = newKeyMap();
  for (const [k, v] of Object.entries(snap.keys)) if (k !== apiKey) keys[k] = v;
  return { keys, result: { apiKey, cookies: snap.keys[apiKey]!.length } };
}

/**
 * Validate the value of `API_KEYS`: `{ key: cookie | [cookies] }`. Key names are checked by
 * `importEnvKeys`, and only for keys it creates.
 */
export function parseApiKeysEnv(value: unknown, name = 'API_KEYS'): KeyMap {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${name} must be a JSON object {"<apiKey>": "<cookie>" or ["<cookie>", ...]}`);
  }
  const out = newKeyMap();
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = [v];
    else if (Array.isArray(v) && v.every((c) => typeof c === 'string')) out[k] = v as string[];
    else throw new UsageError(`${name}: the value of key "${keyNameForDisplay(k)}" must be a cookie string or a list of cookie strings`);
  }
  return out;
}

/**
 * Merge `API_KEYS` into the store (`keys import-env`): missing keys are created, cookies are
 * screened as by `cookies add` (a cookie already under any key, or earlier in API_KEYS, is a duplicate).
 */
export function importEnvKeys(snap: Snapshot, wanted: KeyMap, nowSec: number): Change<ImportEnvResult> {
  // Every key to create is checked before anything is decided: a bad name stops the whole import.
  for (const apiKey of Object.keys(wanted)) if (!Object.hasOwn(snap.keys, apiKey)) assertNewKeyName(apiKey, 'API_KEYS');
  const existing = new Set<string>();
  for (const list of Object.values(snap.keys)) for (const c of list) existing.add(cookieIdentity(c));
  let holders: Map<string, string> | undefined;
  const knownInvalid = identitySet(snap.invalid);
  const keys = newKeyMap(snap.keys);
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
    if (screened.refusals.length) refusals.push(...describeRefusals(screened.refusals, (holders ??= storeHolders(snap.keys)), apiKey, true));
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
