/**
 * The invalid list (SPEC §4 `invalid`): pure functions over a Snapshot returning the Change to
 * write inside `KeyStore.update`. When keys and the invalid list change together the store
 * writes the invalid list first. Cookies are matched by identity (their JWT), so any form matches.
 */
import { cookieIdentity, emptyRejections, parseCookie, type RefusalReason } from '../core/cookie.js';
import { identitySet } from '../core/merge.js';
import { newKeyMap, type KeyMap } from '../core/key-map.js';
import type { Change, Snapshot } from '../store/pool.js';
import type { Refusal } from './pool.js';

export interface KeyRemoval {
  apiKey: string;
  before: number;
  removed: number;
  after: number;
}

export interface AddInvalidResult {
  added: number;
  rejected: Record<RefusalReason, number>;
  refusals: Refusal[];
  /** Cookies taken out of api keys because they are now listed as invalid. */
  removedFromKeys: number;
  keys: KeyRemoval[];
}

export interface RemoveInvalidResult {
  removed: number;
  notFound: string[];
  after: number;
}

export interface ClearInvalidResult {
  cleared: number;
}

export interface PurgeResult {
  /** Cookie entries removed from api keys. */
  removed: number;
  /** Keys that lost at least one cookie. */
  keys: KeyRemoval[];
  invalid: number;
}

/** Remove every cookie whose identity is in `ids` from every key. */
function removeFromKeys(keys: KeyMap, ids: ReadonlySet<string>): { keys: KeyMap; removed: number; perKey: KeyRemoval[] } {
  const next = newKeyMap();
  const perKey: KeyRemoval[] = [];
  let removed = 0;
  for (const [apiKey, list] of Object.entries(keys)) {
    let kept: string[] | undefined;
    for (let i = 0; i < list.length; i++) {
      const c = list[i]!;
      if (ids.has(cookieIdentity(c))) {
        kept ??= list.slice(0, i);
      } else if (kept) kept.push(c);
    }
    if (kept) {
      perKey.push({ apiKey, before: list.length, removed: list.length - kept.length, after: kept.length });
      removed += list.length - kept.length;
      next[apiKey] = kept;
    } else next[apiKey] = list;
  }
  return { keys: removed ? next : keys, removed, perKey };
}

/**
 * Mark cookies invalid (`invalid add`): append them to the invalid list (malformed ones are
 * refused, ones already listed are duplicates) and, unless `keepInKeys`, take every given
 * cookie out of every api key, as the proxy does when it retires a cookie.
 */
export function addInvalid(snap: Snapshot, candidates: readonly string[], opts: { keepInKeys?: boolean } = {}): Change<AddInvalidResult> {
  const listed = identitySet(snap.invalid);
  const rejected = emptyRejections();
  const refusals: Refusal[] = [];
  const fresh: string[] = [];
  const given = new Set<string>();
  const seen = new Set<string>();
  for (const candidate of candidates) {
    const p = parseCookie(candidate);
    if (!p.ok) {
      rejected.malformed++;
      refusals.push({ cookie: candidate, reason: 'malformed', detail: p.detail });
      continue;
    }
    const { jwt, raw } = p.cookie;
    given.add(jwt);
    if (listed.has(jwt) || seen.has(jwt)) {
      rejected.duplicate++;
      refusals.push({ cookie: raw, reason: 'duplicate', detail: listed.has(jwt) ? 'already in the invalid list' : 'repeated in the input' });
      continue;
    }
    seen.add(jwt);
    fresh.push(raw);
  }
  const purged = opts.keepInKeys ? { keys: snap.keys, removed: 0, perKey: [] } : removeFromKeys(snap.keys, given);
  const change: Change<AddInvalidResult> = {
    result: { added: fresh.length, rejected, refusals, removedFromKeys: purged.removed, keys: purged.perKey },
  };
  if (fresh.length) change.invalid = snap.invalid.concat(fresh);
  if (purged.removed) change.keys = purged.keys;
  return change;
}

/** Take cookies off the invalid list, by identity. */
export function removeInvalid(snap: Snapshot, cookies: readonly string[]): Change<RemoveInvalidResult> {
  const listed = identitySet(snap.invalid);
  const wanted = new Set<string>();
  const notFound: string[] = [];
  for (const c of cookies) {
    const id = cookieIdentity(c);
    if (id !== '' && listed.has(id)) wanted.add(id);
    else notFound.push(c);
  }
  const kept = wanted.size ? snap.invalid.filter((c) => !wanted.has(cookieIdentity(c))) : snap.invalid;
  const result = { removed: snap.invalid.length - kept.length, notFound, after: kept.length };
  return result.removed ? { invalid: kept, result } : { result };
}

/** Remove the invalid-list entry at `index` (the menu's choice), checking it is still the same cookie. */
export function removeInvalidAt(snap: Snapshot, index: number, expected: string): Change<RemoveInvalidResult> {
  if (snap.invalid[index] === expected) {
    return { invalid: snap.invalid.filter((_, i) => i !== index), result: { removed: 1, notFound: [], after: snap.invalid.length - 1 } };
  }
  // The list changed since it was shown: fall back to identity.
  return removeInvalid(snap, [expected]);
}

export function clearInvalid(snap: Snapshot): Change<ClearInvalidResult> {
  const result = { cleared: snap.invalid.length };
  return snap.invalid.length ? { invalid: [], result } : { result };
}

/** Remove every cookie of the invalid list from every api key (`invalid purge`). */
export function purgeInvalid(snap: Snapshot): Change<PurgeResult> {
  const purged = removeFromKeys(snap.keys, identitySet(snap.invalid));
  const result = { removed: purged.removed, keys: purged.perKey, invalid: snap.invalid.length };
  return purged.removed ? { keys: purged.keys, result } : { result };
}
