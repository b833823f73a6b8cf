/**
 * The merge plan: which target key gets which new cookie, what is refused and why,
 * what `replace` retires. Pure and linear in the number of cookies (sets, no scans).
 */
import { cookieIdentity, emptyRejections, isExpired, parseCookie, type RefusalReason } from './cookie.js';
import { IdentitySet } from './identity.js';

export type RefreshMode = 'append' | 'replace';
export type KeyMap = Record<string, string[]>;

export interface MergeInput {
  keys: KeyMap;
  invalid: string[];
  /** Candidate cookies, any form, possibly repeated. */
  candidates: Iterable<string>;
  /** Keys that receive cookies; created when absent from `keys`. */
  targets: string[];
  mode: RefreshMode;
  /** Every target gets every accepted cookie (otherwise they are dealt round-robin, fewest first). */
  share: boolean;
  nowSec: number;
}

export interface KeyOutcome {
  apiKey: string;
  before: number;
  added: number;
  retired: number;
  after: number;
}

export interface MergePlan {
  keys: KeyMap;
  invalid: string[];
  /** Distinct cookies accepted (each counted once even when shared with several keys). */
  added: number;
  rejected: Record<RefusalReason, number>;
  /** One entry a refusal, for verbose reporting (cookie as given). */
  refusals: { cookie: string; reason: RefusalReason }[];
  perKey: KeyOutcome[];
  keysChanged: boolean;
  invalidChanged: boolean;
}

/** Identities to look a candidate up in: a Set, or an IdentitySet for whole stores. */
export interface IdentityLookup {
  has(identity: string): boolean;
}

/** Sort candidates into accepted (in order, first occurrence wins) and refused. */
export function screenCandidates(
  candidates: Iterable<string>,
  existing: IdentityLookup,
  knownInvalid: IdentityLookup,
  nowSec: number,
): { accepted: string[]; rejected: Record<RefusalReason, number>; refusals: { cookie: string; reason: RefusalReason }[] } {
  const rejected = emptyRejections();
  const refusals: { cookie: string; reason: RefusalReason }[] = [];
  const accepted: string[] = [];
  const seen = new IdentitySet();
  const refuse = (cookie: string, reason: RefusalReason) => {
    rejected[reason]++;
    refusals.push({ cookie, reason });
  };
  for (const candidate of candidates) {
    const parsed = parseCookie(candidate);
    if (!parsed.ok) {
      refuse(candidate, 'malformed');
      continue;
    }
    const { jwt, raw } = parsed.cookie;
    if (knownInvalid.has(jwt)) refuse(raw, 'known-invalid');
    else if (existing.has(jwt) || seen.has(jwt)) refuse(raw, 'duplicate');
    else if (isExpired(parsed.cookie, nowSec)) refuse(raw, 'expired');
    else {
      seen.add(jwt);
      accepted.push(raw);
    }
  }
  return { accepted, rejected, refusals };
}

export function identitySet(cookies: Iterable<string>): Set<string> {
  const set = new Set<string>();
  for (const c of cookies) set.add(cookieIdentity(c));
  return set;
}

/**
 * The identities of `wanted` that occur in `lists`. Only looks stored cookies up: nothing is kept
 * per stored cookie, so a whole store costs no set of its own (and no memory that outlives it).
 */
function found(wanted: IdentitySet, lists: Iterable<readonly string[]>): IdentitySet {
  const hits = new IdentitySet();
  for (const list of lists) {
    for (const c of list) {
      const id = cookieIdentity(c);
      if (wanted.has(id)) hits.add(id);
    }
  }
  return hits;
}

/**
 * Plan the merge of `candidates` into `keys`. Returns new key/invalid values; the inputs are not mutated.
 *
 * - Refusal order: malformed, known-invalid, duplicate (in the store under any key, or repeated
 *   in the batch), expired.
 * - One target: it gets all accepted cookies. Several: round-robin, each cookie to the target that
 *   currently holds the fewest (ties: the order given). `share`: every target gets every cookie.
 * - `replace`: a target that received at least one new cookie has its old cookies retired to the
 *   invalid list; a target that received none is left as it was (a refresh never empties a key).
 */
export function planMerge(input: MergeInput): MergePlan {
  const { keys, invalid, mode, share, nowSec } = input;
  const targets = [...new Set(input.targets)];
  const candidates = Array.isArray(input.candidates) ? (input.candidates as string[]) : [...input.candidates];
  // What the store is asked about: the candidates, and in replace mode the targets' cookies (which
  // are retired unless already listed). The store is then scanned once for just those.
  const wanted = new IdentitySet(candidates.map(cookieIdentity));
  if (mode === 'replace') for (const t of targets) for (const c of keys[t] ?? []) wanted.add(cookieIdentity(c));
  const knownInvalid = found(wanted, [invalid]);
  const screened = screenCandidates(candidates, found(wanted, Object.values(keys)), knownInvalid, nowSec);
  const { accepted } = screened;

  const assigned = new Map<string, string[]>(targets.map((t) => [t, []]));
  if (targets.length === 1 || share) {
    for (const t of targets) assigned.set(t, accepted);
  } else if (targets.length > 1) {
    // Fewest first: the count a key will hold after the merge (in replace mode its old cookies go).
    const load = targets.map((t) => (mode === 'replace' ? 0 : (keys[t]?.length ?? 0)));
    const buckets = targets.map(() => [] as string[]);
    for (const cookie of accepted) {
      let best = 0;
      for (let i = 1; i < load.length; i++) if (load[i]! < load[best]!) best = i;
      buckets[best]!.push(cookie);
      load[best]!++;
    }
    targets.forEach((t, i) => assigned.set(t, buckets[i]!));
  }

  const nextKeys: KeyMap = { ...keys };
  let nextInvalid = invalid;
  let keysChanged = false;
  const perKey: KeyOutcome[] = [];
  for (const t of targets) {
    const old = keys[t] ?? [];
    const fresh = assigned.get(t) ?? [];
    let retired = 0;
    if (!(t in keys)) keysChanged = true;
    if (fresh.length === 0) {
      nextKeys[t] = old;
    } else if (mode === 'replace') {
      const toRetire = old.filter((c) => !knownInvalid.has(cookieIdentity(c)));
      for (const c of toRetire) knownInvalid.add(cookieIdentity(c));
      if (toRetire.length) nextInvalid = nextInvalid === invalid ? [...invalid, ...toRetire] : nextInvalid.concat(toRetire);
      retired = old.length;
      nextKeys[t] = fresh.slice();
      keysChanged = true;
    } else {
      nextKeys[t] = old.concat(fresh);
      keysChanged = true;
    }
    perKey.push({ apiKey: t, before: old.length, added: fresh.length, retired, after: nextKeys[t]!.length });
  }

  return {
    keys: nextKeys,
    invalid: nextInvalid,
    added: accepted.length,
    rejected: screened.rejected,
    refusals: screened.refusals,
    perKey,
    keysChanged,
    invalidChanged: nextInvalid !== invalid,
  };
}
