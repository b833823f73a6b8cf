/**
 * The merge plan: which target key gets which new cookie, what is refused and why,
 * what `replace` retires. Pure and linear in the number of cookies (sets, no scans).
 */
import { cookieIdentity, emptyRejections, isExpired, parseCookie, type RefusalReason } from './cookie.js';
import { IdentityMap, IdentitySet, type IdentityIndex } from './identity.js';
import { keyCookies, newKeyMap, type KeyMap } from './key-map.js';

export type RefreshMode = 'append' | 'replace';

export interface MergeInput {
  keys: KeyMap;
  invalid: string[];
  /** Candidate cookies, any form, possibly repeated. */
  candidates: Iterable<string>;
  /**
   * Where each candidate is by its identity, when they are already distinct (a harvest's index:
   * position i is candidates[i]'s): the plan then does not index them again. One that does not
   * match the candidates is not used.
   */
  candidateIndex?: IdentityIndex;
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

type Screened = { accepted: string[]; rejected: Record<RefusalReason, number>; refusals: { cookie: string; reason: RefusalReason }[] };

/** What screening asks about a candidate's identity. */
interface ScreenIndex {
  /**
   * Listed invalid, or a duplicate (stored, or accepted earlier in the batch), or neither. `at`:
   * the candidate's place in the list screened.
   */
  status(jwt: string, at: number): 'known-invalid' | 'duplicate' | undefined;
  /** The candidate with this identity (the one just asked about) was accepted. */
  accept(jwt: string): void;
}

/**
 * The refusal order, in one place: malformed, known-invalid, duplicate, expired. Accepted cookies
 * keep their order (first occurrence wins).
 */
function screen(candidates: Iterable<string>, index: ScreenIndex, nowSec: number): Screened {
  const rejected = emptyRejections();
  const refusals: { cookie: string; reason: RefusalReason }[] = [];
  const accepted: string[] = [];
  const refuse = (cookie: string, reason: RefusalReason) => {
    rejected[reason]++;
    refusals.push({ cookie, reason });
  };
  let at = -1;
  for (const candidate of candidates) {
    at++;
    const parsed = parseCookie(candidate);
    if (!parsed.ok) {
      refuse(candidate, 'malformed');
      continue;
    }
    const { jwt, raw } = parsed.cookie;
    const status = index.status(jwt, at);
    if (status !== undefined) refuse(raw, status);
    else if (isExpired(parsed.cookie, nowSec)) refuse(raw, 'expired');
    else {
      index.accept(jwt);
      accepted.push(raw);
    }
  }
  return { accepted, rejected, refusals };
}

/** Sort candidates into accepted (in order, first occurrence wins) and refused. */
export function screenCandidates(candidates: Iterable<string>, existing: IdentityLookup, knownInvalid: IdentityLookup, nowSec: number): Screened {
  const seen = new IdentitySet();
  return screen(
    candidates,
    {
      status: (jwt) => (knownInvalid.has(jwt) ? 'known-invalid' : existing.has(jwt) || seen.has(jwt) ? 'duplicate' : undefined),
      accept: (jwt) => seen.add(jwt),
    },
    nowSec,
  );
}

export function identitySet(cookies: Iterable<string>): Set<string> {
  const set = new Set<string>();
  for (const c of cookies) set.add(cookieIdentity(c));
  return set;
}

// What planMerge knows of an identity it asks the store about.
const LISTED_INVALID = 1;
const STORED = 2;
const ACCEPTED = 4;

/**
 * The identities planMerge asks about (the candidates; in replace mode the targets' cookies too),
 * each with what is known of it. The store is scanned once and only looked up: nothing is kept per
 * stored cookie, so a whole store costs no set of its own, and a candidate costs one lookup.
 *
 * Given the candidates' own index (distinct candidates, position i the i-th's), it is used as it
 * is, read only: positions below its size are its, the identities added later (`ask`, `mark`) get
 * the positions after, in an index of this plan's own.
 */
class Wanted {
  readonly #base: IdentityIndex | undefined;
  readonly #baseSize: number;
  readonly #own = new IdentityMap<true>();
  /** What is known of the identity at each position. */
  readonly #flags: number[] = [];
  /** The last identity asked about, and where it is (status and accept come in pairs). */
  #lastJwt: string | undefined;
  #lastAt = -1;

  constructor(base?: IdentityIndex) {
    this.#base = base;
    this.#baseSize = base?.size ?? 0;
    for (let i = 0; i < this.#baseSize; i++) this.#flags.push(0);
  }

  #find(id: string): number {
    const at = this.#base === undefined ? -1 : this.#base.indexOf(id);
    if (at >= 0 || this.#own.size === 0) return at;
    const own = this.#own.indexOf(id);
    return own < 0 ? -1 : this.#baseSize + own;
  }

  #add(id: string, flag: number): void {
    this.#own.set(id, true);
    this.#flags.push(flag);
  }

  ask(ids: Iterable<string>): void {
    for (const id of ids) if (this.#find(id) < 0) this.#add(id, 0);
  }

  /** Mark the wanted identities that occur in `lists`. */
  scan(lists: Iterable<readonly string[]>, flag: number): void {
    for (const list of lists) {
      for (const c of list) {
        const at = this.#find(cookieIdentity(c));
        if (at >= 0) this.#flags[at]! |= flag;
      }
    }
  }

  #at(jwt: string): number {
    if (jwt !== this.#lastJwt) {
      this.#lastJwt = jwt;
      this.#lastAt = this.#find(jwt);
    }
    return this.#lastAt;
  }

  has(jwt: string, flag: number): boolean {
    const at = this.#at(jwt);
    return at >= 0 && (this.#flags[at]! & flag) !== 0;
  }

  mark(jwt: string, flag: number): void {
    const at = this.#at(jwt);
    if (at >= 0) this.#flags[at]! |= flag;
    else {
      this.#add(jwt, flag);
      this.#lastJwt = undefined;
    }
  }

  readonly index: ScreenIndex = {
    status: (jwt, at) => {
      // A candidate's place in the list is its place in the candidates' own index.
      if (at < this.#baseSize) {
        this.#lastJwt = jwt;
        this.#lastAt = at;
      }
      return this.has(jwt, LISTED_INVALID) ? 'known-invalid' : this.has(jwt, STORED | ACCEPTED) ? 'duplicate' : undefined;
    },
    accept: (jwt) => this.mark(jwt, ACCEPTED),
  };
}

/**
 * The candidates' index when it is theirs: the same size, and the first, middle and last
 * candidates where it says (a cheap check that it came with this list, not a proof).
 */
function ownIndex(candidates: readonly string[], index: IdentityIndex | undefined): IdentityIndex | undefined {
  if (!index || index.size !== candidates.length) return undefined;
  const n = candidates.length;
  for (const i of n === 0 ? [] : [0, n >> 1, n - 1]) if (index.indexOf(cookieIdentity(candidates[i]!)) !== i) return undefined;
  return index;
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
  // are retired unless already listed).
  const given = ownIndex(candidates, input.candidateIndex);
  const wanted = new Wanted(given);
  if (!given) wanted.ask(candidates.map(cookieIdentity));
  if (mode === 'replace') for (const t of targets) wanted.ask((keys[t] ?? []).map(cookieIdentity));
  wanted.scan([invalid], LISTED_INVALID);
  wanted.scan(Object.values(keys), STORED);
  const screened = screen(candidates, wanted.index, nowSec);
  const { accepted } = screened;

  const assigned = new Map<string, string[]>(targets.map((t) => [t, []]));
  if (targets.length === 1 || share) {
    for (const t of targets) assigned.set(t, accepted);
  } else if (targets.length > 1) {
    // Fewest first: the count a key will hold after the merge (in replace mode its old cookies go).
    const load = targets.map((t) => (mode === 'replace' ? 0 : (keyCookies(keys, t)?.length ?? 0)));
    const buckets = targets.map(() => [] as string[]);
    for (const cookie of accepted) {
      let best = 0;
      for (let i = 1; i < load.length; i++) if (load[i]! < load[best]!) best = i;
      buckets[best]!.push(cookie);
      load[best]!++;
    }
    targets.forEach((t, i) => assigned.set(t, buckets[i]!));
  }

  const nextKeys = newKeyMap(keys);
  let nextInvalid = invalid;
  let keysChanged = false;
  const perKey: KeyOutcome[] = [];
  for (const t of targets) {
    const held = keyCookies(keys, t);
    const old = held ?? [];
    const fresh = assigned.get(t) ?? [];
    let retired = 0;
    if (held === undefined) keysChanged = true;
    if (fresh.length === 0) {
      nextKeys[t] = old;
    } else if (mode === 'replace') {
      const toRetire = old.filter((c) => !wanted.has(cookieIdentity(c), LISTED_INVALID));
      for (const c of toRetire) wanted.mark(cookieIdentity(c), LISTED_INVALID);
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
