/**
 * The key store's map of api keys to cookie lists, as every layer builds and reads it. Its own
 * module (the merge plan uses it, but reading the store does not need the merge plan).
 */

export type KeyMap = Record<string, string[]>;

/**
 * A new KeyMap without a prototype: api keys named `__proto__`, `constructor` or `toString` are
 * own keys like any other (with `{}`, `keys.__proto__ = [...]` would set the prototype and vanish,
 * and `keys.toString` would be a function). Insertion order is kept, so `JSON.stringify` writes
 * the keys in order, `__proto__` as an ordinary key. Build every KeyMap with this.
 */
export function newKeyMap(from?: KeyMap): KeyMap {
  const map = Object.create(null) as KeyMap;
  // Assignment on a null-prototype object defines an own property, `__proto__` included.
  if (from) for (const k of Object.keys(from)) map[k] = from[k]!;
  return map;
}

/** The cookies of `apiKey` when the map holds that key itself (never an inherited property). */
export function keyCookies(keys: KeyMap, apiKey: string): string[] | undefined {
  return Object.hasOwn(keys, apiKey) ? keys[apiKey] : undefined;
}
