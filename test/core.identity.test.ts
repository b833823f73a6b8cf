/** IdentityMap / IdentitySet: exact like Map / Set, even when identities share a fingerprint. */
import { describe, expect, it } from 'vitest';
import { IdentityMap, IdentitySet } from '../src/core/identity.js';
import { makeJwt } from './helpers/cookies.js';

/** Identities of one length and the same last 100 characters: they share a fingerprint. */
function colliding(n: number): string[] {
  const tail = 'T'.repeat(100);
  return Array.from({ length: n }, (_, i) => `head${String(i).padStart(6, '0')}.${tail}`);
}

describe('IdentityMap', () => {
  it('behaves as a Map: insertion order, overwrite in place, misses', () => {
    const [a, b, c] = [makeJwt(), makeJwt(), makeJwt()];
    const m = new IdentityMap<number>();
    m.set(a, 1).set(b, 2).set(a, 3);
    expect(m.size).toBe(2);
    expect(m.get(a)).toBe(3);
    expect(m.has(c)).toBe(false);
    expect(m.get(c)).toBeUndefined();
    expect([...m]).toEqual([[a, 3], [b, 2]]);
    expect([...m.keys()]).toEqual([a, b]);
    expect([...m.values()]).toEqual([3, 2]);
    const seen: [string, number][] = [];
    m.forEach((v, k) => seen.push([k, v]));
    expect(seen).toEqual([[a, 3], [b, 2]]);
    expect(new Map(m)).toEqual(new Map([[a, 3], [b, 2]]));
  });

  it('compares whole strings: equal text in another string object is found, a near miss is not', () => {
    const a = makeJwt();
    const m = new IdentityMap<string>();
    m.set(a, 'x');
    const copy = `${a.slice(0, 10)}${a.slice(10)}`;
    expect(m.get(copy)).toBe('x');
    expect(m.keyOf(copy)).toBe(a);
    const nearMiss = `${a[0] === 'e' ? 'f' : 'e'}${a.slice(1)}`;
    expect(m.has(nearMiss)).toBe(false);
  });

  it('stays exact when many identities share a fingerprint', () => {
    const ids = colliding(500);
    const m = new IdentityMap<number>();
    ids.forEach((id, i) => expect(m.setIfAbsent(id, i)).toBeUndefined());
    expect(m.size).toBe(500);
    ids.forEach((id, i) => expect(m.get(id)).toBe(i));
    expect(m.setIfAbsent(`${ids[7]!}`, 99)).toBe(ids[7]);
    expect(m.get(ids[7]!)).toBe(7);
    expect(m.has(`head999999.${'T'.repeat(100)}`)).toBe(false);
    expect([...m.keys()]).toEqual(ids);
  });
});

describe('IdentitySet', () => {
  it('adds once, reports whether it added, and answers like a Set', () => {
    const [a, b] = [makeJwt(), makeJwt()];
    const s = new IdentitySet([a]);
    expect(s.add(a)).toBe(false);
    expect(s.add(b)).toBe(true);
    expect(s.size).toBe(2);
    expect(s.has(b)).toBe(true);
    const ids = colliding(50);
    const t = new IdentitySet(ids);
    expect(t.size).toBe(50);
    expect(ids.every((id) => t.has(id))).toBe(true);
    expect(t.has(a)).toBe(false);
  });
});
