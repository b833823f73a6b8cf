/** Unit tests for src/core: cookie edge cases and the merge plan. */
import { describe, expect, it } from 'vitest';
import {
  cookieIdentity,
  isExpired,
  maskSecret,
  parseCookie,
  sessionTokenHeaderValue,
  type RefusalReason,
} from '../src/core/cookie.js';
import { planMerge } from '../src/core/merge.js';
import type { KeyMap } from '../src/core/key-map.js';
import { expiredCookie, makeCookie, makeJwt } from './helpers/cookies.js';

const NOW = Math.floor(Date.now() / 1000);
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const jwtWith = (payload: unknown, sig = 'c2lnbmF0dXJl') => `${b64({ alg: 'HS256' })}.${b64(payload)}.${sig}`;

describe('parseCookie edge cases', () => {
  it('accepts the separator in any case and keeps the encoded form', () => {
    const jwt = makeJwt({ sub: 'auth0|user_01MIX' });
    for (const sep of ['%3A%3a', '%3a%3A', '%3a%3a']) {
      const r = parseCookie(`user_01MIX${sep}${jwt}`);
      expect(r.ok && r.cookie.form).toBe('encoded');
      expect(r.ok && r.cookie.jwt).toBe(jwt);
      expect(r.ok && r.cookie.raw).toBe(`user_01MIX${sep}${jwt}`);
    }
  });

  it('trims tabs, CRLF, nested quotes and backticks', () => {
    const c = makeCookie('decoded');
    for (const wrapped of [`\t${c}\r\n`, `"'${c}'"`, `\`${c}\``, `  " ${c} "  `]) {
      const r = parseCookie(wrapped);
      expect(r.ok, wrapped).toBe(true);
      expect(r.ok && r.cookie.raw).toBe(c);
    }
  });

  it('names the problem of malformed cookies', () => {
    const jwt = makeJwt();
    const cases: [string, RegExp][] = [
      [`user_01A B::${jwt}`, /whitespace/],
      [`user<01>::${jwt}`, /prefix/],
      [jwtWith(null), /JSON payload/],
      [jwtWith('"a string"'), /JSON payload/],
      [jwtWith({ exp: 'tomorrow' }), /exp/],
      [jwtWith({ exp: null }), /exp/],
      [`${jwt}.extra`, /JSON payload/],
      ['a.b!.c', /JSON payload/],
      ['""', /empty/],
    ];
    for (const [input, why] of cases) {
      const r = parseCookie(input);
      expect(r.ok, input).toBe(false);
      if (!r.ok) {
        expect(r.reason).toBe('malformed');
        expect(r.detail).toMatch(why);
      }
    }
  });

  it('accepts an empty signature and padded base64url, and a missing exp', () => {
    const r1 = parseCookie(jwtWith({ sub: 'x|user_01SIG' }, ''));
    expect(r1.ok && r1.cookie.userId).toBe('user_01SIG');
    const payload = Buffer.from(JSON.stringify({ sub: 'user_01PAD', exp: NOW + 100 })).toString('base64');
    const r2 = parseCookie(`${b64({ alg: 'none' })}.${payload}.sig`);
    expect(r2.ok).toBe(true);
    const r3 = parseCookie(jwtWith({ sub: 'user_01NOEXP' }));
    expect(r3.ok && r3.cookie.exp).toBeUndefined();
    expect(r3.ok && isExpired(r3.cookie, NOW + 10 ** 9)).toBe(false);
  });

  it('user id: prefix first, then sub after the last bar, else the plain sub', () => {
    const jwt = jwtWith({ sub: 'auth0|user_01SUB' });
    const prefixed = parseCookie(`user_01PREFIX::${jwt}`);
    expect(prefixed.ok && prefixed.cookie.userId).toBe('user_01PREFIX');
    const plain = parseCookie(jwtWith({ sub: 'user_01PLAIN' }));
    expect(plain.ok && plain.cookie.userId).toBe('user_01PLAIN');
    const emptyTail = parseCookie(jwtWith({ sub: 'auth0|' }));
    expect(emptyTail.ok && emptyTail.cookie.userId).toBeUndefined();
    const noSub = parseCookie(jwtWith({ exp: NOW + 5 }));
    expect(noSub.ok && sessionTokenHeaderValue(noSub.cookie)).toBeUndefined();
    const decoded = parseCookie(`user_01HDR::${jwt}`);
    expect(decoded.ok && sessionTokenHeaderValue(decoded.cookie)).toBe(`user_01HDR%3A%3A${jwt}`);
  });

  it('expiry is inclusive at exp', () => {
    expect(isExpired({ exp: NOW }, NOW)).toBe(true);
    expect(isExpired({ exp: NOW + 1 }, NOW)).toBe(false);
    expect(isExpired({ exp: undefined }, NOW)).toBe(false);
  });

  it('identity is the JWT for all forms, and the trimmed text for junk', () => {
    const jwt = makeJwt();
    expect(cookieIdentity(`user_01A%3a%3A${jwt}`)).toBe(jwt);
    expect(cookieIdentity(` 'user_01B::${jwt}' `)).toBe(jwt);
    expect(cookieIdentity('  junk ')).toBe('junk');
  });

  it('masks by length and never reveals the middle', () => {
    expect(maskSecret('abcdefghijkl')).toBe('abc…kl');
    expect(maskSecret('abcdefghijk')).toBe('…');
    const c = makeCookie('jwt');
    const m = maskSecret(`"${c}"`);
    expect(m).toBe(`${c.slice(0, 8)}…${c.slice(-4)}`);
    expect(m.length).toBeLessThan(20);
  });
});

describe('planMerge', () => {
  const base = (keys: KeyMap, candidates: string[], extra: Partial<Parameters<typeof planMerge>[0]> = {}) =>
    planMerge({ keys, invalid: [], candidates, targets: ['a'], mode: 'append', share: false, nowSec: NOW, ...extra });

  it('refuses each reason and counts them (known-invalid beats duplicate and expired)', () => {
    const inStore = makeCookie('encoded');
    const invalidCookie = makeCookie('decoded');
    const invalidAndExpired = expiredCookie('jwt');
    const fresh = makeCookie('jwt');
    const jwtOfStored = cookieIdentity(inStore);
    const plan = base({ a: [inStore] }, [
      'garbage',
      expiredCookie(),
      `user_01OTHER::${jwtOfStored}`, // same identity as a stored cookie, other form
      invalidCookie,
      invalidAndExpired,
      fresh,
      ` ${fresh} `, // repeated in the batch
    ], { invalid: [invalidCookie, invalidAndExpired] });
    expect(plan.rejected).toEqual({ malformed: 1, expired: 1, duplicate: 2, 'known-invalid': 2 });
    expect(plan.refusals.map((r) => r.reason)).toEqual(['malformed', 'expired', 'duplicate', 'known-invalid', 'known-invalid', 'duplicate']);
    expect(plan.added).toBe(1);
    expect(plan.keys.a).toEqual([inStore, fresh]);
  });

  it('a duplicate under another key is refused too', () => {
    const c = makeCookie();
    const plan = base({ a: [], b: [c] }, [c]);
    expect(plan.rejected.duplicate).toBe(1);
    expect(plan.keysChanged).toBe(false);
  });

  it('creates an absent target and keeps key order', () => {
    const c = makeCookie();
    const plan = base({ z: [], y: [] }, [c], { targets: ['new'] });
    expect(Object.keys(plan.keys)).toEqual(['z', 'y', 'new']);
    expect(plan.keys.new).toEqual([c]);
    expect(plan.perKey).toEqual([{ apiKey: 'new', before: 0, added: 1, retired: 0, after: 1 }]);
  });

  it('deals round-robin to the target with the fewest cookies first (ties in the given order)', () => {
    const keys: KeyMap = { A: [makeCookie(), makeCookie(), makeCookie()], B: [], C: [makeCookie()] };
    const fresh = Array.from({ length: 6 }, () => makeCookie());
    const plan = base(keys, fresh, { targets: ['A', 'B', 'C'] });
    // loads 3,0,1 → B,B,C,B,C,A
    expect(plan.keys.B).toEqual([fresh[0], fresh[1], fresh[3]]);
    expect(plan.keys.C).toEqual([keys.C![0], fresh[2], fresh[4]]);
    expect(plan.keys.A).toEqual([...keys.A!, fresh[5]]);
    expect(plan.perKey.map((k) => k.added)).toEqual([1, 3, 2]);
    expect(plan.added).toBe(6);
  });

  it('share gives every target every cookie, counted once', () => {
    const fresh = [makeCookie(), makeCookie()];
    const plan = base({ A: [], B: [makeCookie()] }, fresh, { targets: ['A', 'B'], share: true });
    expect(plan.keys.A).toEqual(fresh);
    expect(plan.keys.B!.slice(1)).toEqual(fresh);
    expect(plan.added).toBe(2);
  });

  it('replace retires the old cookies of a key that got new ones, in order, without listing one twice', () => {
    const old1 = makeCookie();
    const old2 = makeCookie();
    const already = 'x';
    const fresh = makeCookie();
    const plan = base({ a: [old1, old2] }, [fresh], { mode: 'replace', invalid: [already, old2] });
    expect(plan.keys.a).toEqual([fresh]);
    expect(plan.invalid).toEqual([already, old2, old1]);
    expect(plan.perKey[0]).toEqual({ apiKey: 'a', before: 2, added: 1, retired: 2, after: 1 });
    expect(plan.invalidChanged).toBe(true);
  });

  it('replace never empties a key: no accepted cookie, or a target that got none, keeps its cookies', () => {
    const keys: KeyMap = { A: [makeCookie()], B: [makeCookie(), makeCookie()] };
    const none = base(keys, [expiredCookie(), 'junk'], { targets: ['A', 'B'], mode: 'replace' });
    expect(none.keys).toEqual(keys);
    expect(none.invalid).toEqual([]);
    expect(none.keysChanged || none.invalidChanged).toBe(false);
    const one = base(keys, [makeCookie()], { targets: ['A', 'B'], mode: 'replace' });
    // In replace mode every target counts as empty: the first target (A) gets the one cookie.
    expect(one.keys.A).toHaveLength(1);
    expect(one.keys.A![0]).not.toBe(keys.A![0]);
    expect(one.keys.B).toEqual(keys.B);
    expect(one.invalid).toEqual(keys.A);
    expect(one.perKey.find((k) => k.apiKey === 'B')).toMatchObject({ added: 0, retired: 0, after: 2 });
  });

  it('does not mutate its inputs', () => {
    const keys: KeyMap = { a: [makeCookie()] };
    const invalid = ['x'];
    const snapshot = JSON.stringify({ keys, invalid });
    base(keys, [makeCookie(), makeCookie()], { invalid, mode: 'replace' });
    expect(JSON.stringify({ keys, invalid })).toBe(snapshot);
  });
});

describe('which backends keep labels', () => {
  it('the token backends write the e-mails beside the cookies; the file and proxy backends do not (so a harvest for them skips the e-mails)', async () => {
    const { openPool } = await import('../src/store/open.js');
    const env = { PROXY_ADMIN_URL: 'http://127.0.0.1:1', PROXY_ADMIN_KEY: 'k', TOKEN_FILE: '/nonexistent/.token', CURSOR_API_URL: 'http://127.0.0.1:1', CURSOR_API_AUTH_TOKEN: 't' };
    const keeps = Object.fromEntries((['file', 'proxy', 'token-file', 'token-api'] as const).map((backend) => [backend, openPool({ backend, env }).keepsLabels]));
    expect(keeps).toEqual({ file: false, proxy: false, 'token-file': true, 'token-api': true });
  });
});

describe('planMerge with the harvest’s index of the candidates (issue 12 #4)', () => {
  it('plans exactly as without it, whatever the store, the candidates and the mode', async () => {
    const { IdentityMap } = await import('../src/core/identity.js');
    const { dedupeByIdentity } = await import('../src/core/extract.js');
    const pool = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? makeCookie('decoded') : makeCookie('encoded')));
    const expired = [expiredCookie(), expiredCookie()];
    const junk = ['not a cookie at all', 'user_01X%3A%3Aeyfoo.bar.baz'];
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
    const pick = (n: number) => Array.from({ length: n }, () => pool[rnd(pool.length)]!);
    for (let round = 0; round < 60; round++) {
      const keys: KeyMap = { 'sk-a': dedupeByIdentity(pick(5)), 'sk-b': dedupeByIdentity(pick(3)), 'sk-c': [] };
      const invalid = pick(4);
      // Candidates as a harvest gives them: distinct by identity, some stored, listed, expired or junk.
      const candidates = dedupeByIdentity([...pick(12), ...expired.slice(0, rnd(3)), ...junk.slice(0, rnd(3)), makeCookie('jwt')]);
      const index = new IdentityMap<null>();
      for (const c of candidates) index.indexOrAdd(cookieIdentity(c), null);
      for (const mode of ['append', 'replace'] as const) {
        for (const [targets, share] of [[['sk-a'], false], [['sk-a', 'sk-b', 'sk-new'], false], [['sk-b', 'sk-c'], true]] as const) {
          const input = { keys, invalid, candidates, targets: [...targets], mode, share, nowSec: NOW };
          const plain = planMerge(input);
          expect(planMerge({ ...input, candidateIndex: index }), `round ${round} ${mode} ${targets.join(',')}`).toEqual(plain);
        }
      }
    }
  });

  it('an index that is not the candidates’ is not used', async () => {
    const { IdentityMap } = await import('../src/core/identity.js');
    const [a, b, c] = [makeCookie(), makeCookie(), makeCookie()];
    const input = { keys: { 'sk-a': [a] }, invalid: [], candidates: [a, b, c], targets: ['sk-a'], mode: 'append' as const, share: false, nowSec: NOW };
    const plain = planMerge(input);
    expect(plain.added).toBe(2);
    const swapped = new IdentityMap<null>();
    for (const x of [c, b, a]) swapped.indexOrAdd(cookieIdentity(x), null);
    const short = new IdentityMap<null>();
    short.indexOrAdd(cookieIdentity(a), null);
    for (const candidateIndex of [swapped, short]) expect(planMerge({ ...input, candidateIndex })).toEqual(plain);
  });
});
