import { describe, expect, it } from 'vitest';
import { cookieIdentity } from '../src/core/cookie.js';
import { applyKeyDiff, diffPool, emptyDiff } from '../src/core/pool-diff.js';
import { makeCookie } from './helpers/cookies.js';

const decodedOf = (c: string): string => c.replace('%3A%3A', '::');

describe('diffPool', () => {
  it('is empty when nothing changes (same objects or omitted parts)', () => {
    const keys = { a: [makeCookie()] };
    const invalid = [makeCookie()];
    expect(emptyDiff(diffPool({ keys, invalid }, {}))).toBe(true);
    expect(emptyDiff(diffPool({ keys, invalid }, { keys, invalid }))).toBe(true);
    expect(emptyDiff(diffPool({ keys, invalid }, { keys: { a: [...keys.a] }, invalid: [...invalid] }))).toBe(true);
  });

  it('names additions (forms kept, deduplicated by identity), removals, new and removed keys', () => {
    const [a, b, c, d] = [makeCookie(), makeCookie(), makeCookie(), makeCookie()];
    const prev = { keys: { k1: [a, b], gone: [d] }, invalid: [] };
    const next = { keys: { k1: [decodedOf(a), c, decodedOf(c)], k2: [] } };
    const diff = diffPool(prev, next);
    expect(diff.removedKeys).toEqual(['gone']);
    expect(diff.keys.map((k) => [k.apiKey, k.created, k.add, [...k.remove]])).toEqual([
      ['k1', false, [c], [cookieIdentity(b)]],
      ['k2', true, [], []],
    ]);
  });

  it('diffs the invalid list, and flags a clear', () => {
    const [a, b, c] = [makeCookie(), makeCookie(), makeCookie()];
    const diff = diffPool({ keys: {}, invalid: [a, b] }, { invalid: [b, c] });
    expect(diff.invalidAdd).toEqual([c]);
    expect([...diff.invalidRemove]).toEqual([cookieIdentity(a)]);
    expect(diff.invalidCleared).toBe(false);
    expect(diffPool({ keys: {}, invalid: [a] }, { invalid: [] }).invalidCleared).toBe(true);
  });
});

describe('applyKeyDiff', () => {
  it('applies the plan to the list as it is now: what another writer retired stays out, what it added stays in', () => {
    const [a, b, c, x, n1, n2] = [makeCookie(), makeCookie(), makeCookie(), makeCookie(), makeCookie(), makeCookie()];
    // Planned on [a, b, c]: remove b, add n1 and n2.
    const diff = diffPool({ keys: { k: [a, b, c] }, invalid: [] }, { keys: { k: [a, c, n1, n2] } }).keys[0]!;
    // Meanwhile the other writer retired c (and listed n2 as invalid) and added x.
    const now = [a, b, x];
    expect(applyKeyDiff(now, diff, new Set([cookieIdentity(c), cookieIdentity(n2)]))).toEqual([a, x, n1]);
  });

  it('does not add a cookie twice when it is already there in another form', () => {
    const a = makeCookie();
    const diff = diffPool({ keys: { k: [] }, invalid: [] }, { keys: { k: [a] } }).keys[0]!;
    expect(applyKeyDiff([decodedOf(a)], diff)).toEqual([decodedOf(a)]);
  });
});
