/** Unit tests for the pure store flows of src/services (pool, invalid, cookie input). */
import { describe, expect, it } from 'vitest';
import { cookieIdentity } from '../src/core/cookie.js';
import { UsageError } from '../src/errors.js';
import { splitCookieText } from '../src/services/cookie-input.js';
import { addInvalid, clearInvalid, purgeInvalid, removeInvalid, removeInvalidAt } from '../src/services/invalid.js';
import {
  addCookies,
  exitCodeFor,
  failedRefusals,
  importEnvKeys,
  parseApiKeysEnv,
  removeCookies,
  removeKey,
} from '../src/services/pool.js';
import { expiredCookie, makeCookie } from './helpers/cookies.js';

const NOW = Math.floor(Date.now() / 1000);
const decodedFormOf = (c: string) => `user_01ANY::${cookieIdentity(c)}`;

describe('pool services', () => {
  it('addCookies: refuses with reasons in words, unknown key is a usage error unless create', () => {
    const held = makeCookie();
    const invalid = makeCookie();
    const snap = { keys: { k: [held] }, invalid: [invalid] };
    const fresh = makeCookie('jwt');
    const ch = addCookies(snap, 'k', [fresh, held, invalid, expiredCookie(), 'bad', fresh], NOW);
    expect(ch.keys?.k).toEqual([held, fresh]);
    expect(ch.result).toMatchObject({ apiKey: 'k', created: false, before: 1, added: 1, after: 2 });
    expect(ch.result.refusals.map((r) => [r.reason, r.detail])).toEqual([
      ['duplicate', 'already in api key "k"'],
      ['known-invalid', 'it is in the invalid list'],
      ['expired', 'its JWT has expired'],
      ['malformed', 'not a JWT with a JSON payload'],
      ['duplicate', 'repeated in the input'],
    ]);
    expect(failedRefusals(ch.result.refusals)).toBe(3);
    expect(() => addCookies(snap, 'nope', [fresh], NOW)).toThrow(UsageError);
    const created = addCookies(snap, 'nope', [], NOW, { create: true });
    expect(created.keys).toEqual({ k: [held], nope: [] });
    expect(created.result.created).toBe(true);
    expect(() => addCookies(snap, 'has space', [], NOW, { create: true })).toThrow(/whitespace/);
  });

  it('addCookies with nothing accepted asks for no write', () => {
    const held = makeCookie();
    const ch = addCookies({ keys: { k: [held] }, invalid: [] }, 'k', [held], NOW);
    expect(ch.keys).toBeUndefined();
    expect(ch.invalid).toBeUndefined();
  });

  it('removeCookies matches any form, reports the rest, and can retire to the invalid list', () => {
    const a = makeCookie('encoded');
    const b = makeCookie('decoded');
    const c = makeCookie('jwt');
    const snap = { keys: { k: [a, b, c], other: [a] }, invalid: [b] };
    const ch = removeCookies(snap, 'k', [decodedFormOf(a), cookieIdentity(b), 'missing-one'], { invalidate: true });
    expect(ch.keys).toEqual({ k: [c], other: [a] });
    expect(ch.invalid).toEqual([b, a]);
    expect(ch.result).toMatchObject({ before: 3, removed: 2, after: 1, notFound: ['missing-one'], invalidated: 1 });
    const plain = removeCookies(snap, 'k', [c]);
    expect(plain.invalid).toBeUndefined();
    expect(() => removeCookies(snap, 'zzz', [a])).toThrow(/no api key "zzz"/);
    expect(removeCookies(snap, 'k', ['nothing']).keys).toBeUndefined();
  });

  it('removeKey keeps the order of the others', () => {
    const ch = removeKey({ keys: { a: [], b: ['x', 'y'], c: [] }, invalid: [] }, 'b');
    expect(Object.keys(ch.keys!)).toEqual(['a', 'c']);
    expect(ch.result.cookies).toBe(2);
    expect(() => removeKey({ keys: {}, invalid: [] }, 'b')).toThrow(UsageError);
  });

  it('import-env: string or list values, duplicates across keys and against the store', () => {
    const stored = makeCookie();
    const x = makeCookie();
    const y = makeCookie();
    const wanted = parseApiKeysEnv({ one: x, two: [y, x, decodedFormOf(stored), 'bad'], old: [] });
    const ch = importEnvKeys({ keys: { old: [stored] }, invalid: [] }, wanted, NOW);
    expect(ch.keys).toEqual({ old: [stored], one: [x], two: [y] });
    expect(ch.result.added).toBe(2);
    expect(ch.result.rejected).toEqual({ malformed: 1, expired: 0, duplicate: 2, 'known-invalid': 0 });
    expect(ch.result.refusals.every((r) => r.apiKey === 'two')).toBe(true);
    expect(ch.result.keys.map((k) => [k.apiKey, k.created, k.added])).toEqual([
      ['one', true, 1],
      ['two', true, 1],
      ['old', false, 0],
    ]);
  });

  it('parseApiKeysEnv names API_KEYS for wrong shapes', () => {
    for (const bad of [[], 'str', 5, null, { k: 5 }, { k: [1] }]) {
      expect(() => parseApiKeysEnv(bad)).toThrow(/API_KEYS/);
    }
  });

  it('importEnvKeys applies the key-name rule to the keys it creates only', () => {
    const c = makeCookie();
    const snap = { keys: { 'legacy key': [] }, invalid: [] };
    // An existing key keeps working whatever its name (the proxy's page can create such keys).
    const ok = importEnvKeys(snap, parseApiKeysEnv({ 'legacy key': c }), NOW);
    expect(ok.keys).toEqual({ 'legacy key': [c] });
    for (const bad of ['', 'a b', 'tab\there', c]) {
      expect(() => importEnvKeys(snap, parseApiKeysEnv({ [bad]: [] }), NOW)).toThrow(/API_KEYS: /);
    }
    // A cookie given as a key name is masked in the error.
    const err = (() => {
      try {
        importEnvKeys(snap, parseApiKeysEnv({ [c]: [] }), NOW);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(err?.message).toMatch(/^API_KEYS: "user_01.….{4}" is a cookie, not an api key name/);
    expect(err?.message).not.toContain(cookieIdentity(c).slice(0, 20));
  });

  it('exit codes: 0 all done / nothing to do, 3 partly, 1 none done', () => {
    expect(exitCodeFor(0, 0)).toBe(0);
    expect(exitCodeFor(5, 0)).toBe(0);
    expect(exitCodeFor(5, 1)).toBe(3);
    expect(exitCodeFor(0, 2)).toBe(1);
  });
});

describe('invalid services', () => {
  it('addInvalid lists new cookies, refuses malformed, skips listed ones, and takes them out of every key', () => {
    const listed = makeCookie();
    const a = makeCookie('encoded');
    const keep = makeCookie();
    const snap = { keys: { k1: [a, keep], k2: [keep], k3: [listed] }, invalid: [listed] };
    const ch = addInvalid(snap, [decodedFormOf(a), listed, 'junk', expiredCookie()]);
    expect(ch.invalid).toEqual([listed, decodedFormOf(a), ch.invalid![2]]);
    expect(ch.result.added).toBe(2);
    expect(ch.result.rejected).toMatchObject({ malformed: 1, duplicate: 1 });
    // Every given cookie (including one already listed) leaves the keys.
    expect(ch.keys).toEqual({ k1: [keep], k2: [keep], k3: [] });
    expect(ch.result.removedFromKeys).toBe(2);
    expect(ch.result.keys.map((k) => k.apiKey)).toEqual(['k1', 'k3']);
    const kept = addInvalid(snap, [a], { keepInKeys: true });
    expect(kept.keys).toBeUndefined();
    expect(kept.invalid).toEqual([listed, a]);
  });

  it('removeInvalid by identity, removeInvalidAt by position with an identity fallback, clear', () => {
    const a = makeCookie();
    const b = makeCookie();
    const snap = { keys: {}, invalid: [a, b, decodedFormOf(a)] };
    const r = removeInvalid(snap, [cookieIdentity(a), 'nope']);
    expect(r.invalid).toEqual([b]);
    expect(r.result).toEqual({ removed: 2, notFound: ['nope'], after: 1 });
    expect(removeInvalidAt(snap, 1, b).invalid).toEqual([a, decodedFormOf(a)]);
    // The list moved on since it was shown: the chosen cookie is found by identity.
    expect(removeInvalidAt({ keys: {}, invalid: [b] }, 1, b).invalid).toEqual([]);
    expect(clearInvalid(snap)).toEqual({ invalid: [], result: { cleared: 3 } });
    expect(clearInvalid({ keys: {}, invalid: [] }).invalid).toBeUndefined();
  });

  it('purgeInvalid removes listed cookies in any form from every key and leaves the rest in order', () => {
    const bad1 = makeCookie('encoded');
    const bad2 = makeCookie('jwt');
    const good = [makeCookie(), makeCookie()];
    const snap = {
      keys: { a: [good[0]!, decodedFormOf(bad1), good[1]!], b: [bad2], c: [good[1]!] },
      invalid: [bad1, `user_01Q%3A%3A${bad2}`],
    };
    const ch = purgeInvalid(snap);
    expect(ch.keys).toEqual({ a: good, b: [], c: [good[1]] });
    expect(ch.invalid).toBeUndefined();
    expect(ch.result.removed).toBe(2);
    expect(ch.result.keys).toEqual([
      { apiKey: 'a', before: 3, removed: 1, after: 2 },
      { apiKey: 'b', before: 1, removed: 1, after: 0 },
    ]);
    expect(purgeInvalid({ keys: { c: good }, invalid: [bad1] }).keys).toBeUndefined();
  });
});

describe('splitCookieText', () => {
  it('reads lines, CSV rows, comments, CRLF and a BOM', () => {
    const a = makeCookie();
    const b = makeCookie('jwt');
    const c = makeCookie('decoded');
    const text = `\ufeff# exported\r\n${a}\r\n\r\nuser@example.com,${b}\n"${c}" ; other\nname,email\n`;
    // As `import` reads it: a row without a cookie (a header) is no candidate at all.
    expect(splitCookieText(text)).toEqual([a, b, c]);
  });

  it('extracts like import: a CSV header and an email column are not cookies; a broken cookie is kept to be refused', () => {
    const a = makeCookie();
    const b = makeCookie('jwt');
    const broken = `${b.slice(0, 40)}.x`;
    expect(splitCookieText(`email,password,token\r\nme@x.io,pw,${a}\r\n`)).toEqual([a]);
    expect(splitCookieText(`${a} ${b};${broken}\n`)).toEqual([a, b, broken]);
  });
  it('reads a JSON list of strings', () => {
    const a = makeCookie();
    expect(splitCookieText(JSON.stringify([a, 'x'], null, 2))).toEqual([a, 'x']);
  });
});
