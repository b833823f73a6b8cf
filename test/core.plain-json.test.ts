import { describe, expect, it } from 'vitest';
import { isPlainAscii, readPlainList, readPlainMap } from '../src/core/plain-json.js';

const parsePlainStringList = (text: string) => readPlainList(text)?.items;
const parsePlainStringListMap = (text: string) => readPlainMap(text)?.map;
import { parseInvalid, parseKeys, PLAIN_READ_MIN_CHARS, serializeChunks } from '../src/store/format.js';
import { makeCookie } from './helpers/cookies.js';

/** JSON.parse's answer, or 'throws'. */
function json(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return 'throws';
  }
}

/** Plain objects compared with their key order (JSON.parse's order is the contract). */
function entries(v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v)) return Object.keys(v).map((k) => [k, (v as Record<string, unknown>)[k]]);
  return v;
}

const cookies = Array.from({ length: 5 }, (_, i) => makeCookie(i % 2 ? 'encoded' : 'decoded'));

/** Texts the fast reader must take, each in the shapes JSON.stringify and people write. */
const listTexts = [
  JSON.stringify(cookies, null, 2),
  JSON.stringify(cookies),
  JSON.stringify(cookies, null, 4),
  '[]',
  ' [ ] ',
  '[\n]',
  '["a"]',
  '[""]',
  '[ "x" , "y" ]\n',
  JSON.stringify(['é', '日本', '\u2028', 'a b', "it's", 'a/b', '\u007f']),
];
const mapTexts = [
  JSON.stringify({ 'sk-a': cookies.slice(0, 2), 'sk-b': cookies.slice(2), 'sk-c': [] }, null, 2),
  JSON.stringify({ 'sk-a': cookies }),
  '{}',
  ' { } ',
  '{\n}',
  '{"a":[],"b":["x"]}',
  // A repeated key: its first place, its last value.
  '{"a":["1"],"b":["2"],"a":["3"]}',
  // Keys JSON.parse orders as array indices, and keys an ordinary object would treat specially.
  '{"b":["1"],"2":["2"],"1":["3"],"__proto__":["4"],"constructor":["5"],"toString":[]}',
  JSON.stringify({ 'clé é': ['日本'], '': ['empty key'] }, null, 2),
];

/** Texts that must be left to JSON.parse (whether it takes them or refuses them). */
const fallBack = [
  '',
  ' ',
  '[',
  ']',
  '["a"',
  '["a",]',
  '[,"a"]',
  '["a" "b"]',
  '["a"]]',
  '["a"] x',
  '["a\\"b"]', // an escape
  '["a\\nb"]',
  '["\\u0041"]',
  '["a\tb"]', // a raw tab inside a string
  '[\t"a"]', // a tab between tokens (valid JSON, not plain)
  '[\r\n  "a"\r\n]', // CRLF (valid JSON, not plain)
  '["a\nb"]', // a raw line feed inside a string
  '["a\u0001b"]',
  '["a\u001fb"]',
  '[1]',
  '[null]',
  '["a", 1]',
  '[["a"]]',
  '{"a":"x"}', // a single string: parseKeys reads it as a one-element list, through JSON.parse
  '{"a":["x"],}',
  '{"a" ["x"]}',
  '{"a":["x"] "b":[]}',
  '{a:["x"]}',
  '{"a":["x"]',
  '{"a":["x"]}}',
  '{"a\\u0062":["x"]}',
  '{"a":["x"]}\u0000',
  '"a"',
  'null',
  '\ufeff["a"]', // a BOM (format.ts strips it before asking)
  '["😀"]', // a surrogate pair: plain, but JSON.stringify would escape a lone one, so left to JSON.parse
  '["\ud800"]',
  '{"😀":["a"]}',
];

describe('plain JSON store texts (issue 12 #4)', () => {
  it('reads every plain list as JSON.parse does', () => {
    for (const text of listTexts) {
      const fast = parsePlainStringList(text);
      expect(fast, text).not.toBeUndefined();
      expect(fast, text).toEqual(json(text));
    }
  });

  it('reads every plain map as JSON.parse does, key order included, without a prototype', () => {
    for (const text of mapTexts) {
      const fast = parsePlainStringListMap(text);
      expect(fast, text).not.toBeUndefined();
      expect(Object.getPrototypeOf(fast)).toBeNull();
      expect(entries(fast), text).toEqual(entries(json(text)));
    }
    const odd = parsePlainStringListMap('{"b":["1"],"2":["2"],"1":["3"],"__proto__":["4"],"constructor":["5"]}')!;
    expect(Object.keys(odd)).toEqual(['1', '2', 'b', '__proto__', 'constructor']);
    expect(Object.hasOwn(odd, '__proto__')).toBe(true);
    expect(odd['__proto__']).toEqual(['4']);
  });

  it('leaves everything else to JSON.parse', () => {
    for (const text of fallBack) {
      expect(parsePlainStringList(text), JSON.stringify(text)).toBeUndefined();
      expect(parsePlainStringListMap(text), JSON.stringify(text)).toBeUndefined();
    }
    // And each shape refuses the other.
    for (const text of listTexts) expect(parsePlainStringListMap(text), text).toBeUndefined();
    for (const text of mapTexts) expect(parsePlainStringList(text), text).toBeUndefined();
  });

  it('never disagrees with JSON.parse on texts cut, doubled or altered anywhere', () => {
    const base = [listTexts[0]!, mapTexts[0]!, mapTexts[7]!, '["a","b"]', '{"k":["a","b"]}'];
    const inserts = ['', ' ', '\n', ',', '"', ':', '[', ']', '{', '}', '\\', '\t', '\r', 'x', '1', '\u0000', 'é'];
    let checked = 0;
    for (const text of base) {
      const step = Math.max(1, Math.floor(text.length / 60));
      for (let i = 0; i <= text.length; i += step) {
        const variants = [text.slice(0, i), text.slice(i), text.slice(0, i) + text.slice(i + 1)];
        for (const ins of inserts) variants.push(text.slice(0, i) + ins + text.slice(i));
        for (const v of variants) {
          const expected = json(v);
          const list = parsePlainStringList(v);
          if (list !== undefined) expect(list, JSON.stringify(v)).toEqual(expected);
          const map = parsePlainStringListMap(v);
          if (map !== undefined) expect(entries(map), JSON.stringify(v)).toEqual(entries(expected));
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(1000);
  });

  it('is what the store reader uses for large files, with JSON.parse and its errors for the rest', () => {
    const keysText = mapTexts[0]!;
    expect(parseKeys(keysText, 'api_keys.json')).toEqual(parsePlainStringListMap(keysText));
    expect(parseInvalid(listTexts[0]!, 'invalid_cookies.json')).toEqual(cookies);
    const big = Array.from({ length: 40_000 }, (_, i) => cookies[i % cookies.length]!);
    const bigText = JSON.stringify(big, null, 2);
    expect(bigText.length).toBeGreaterThan(PLAIN_READ_MIN_CHARS);
    expect(parseInvalid(bigText, 'invalid_cookies.json')).toEqual(big);
    expect(parseInvalid(`\ufeff${bigText}`, 'f')).toEqual(big);
    expect(() => parseInvalid(`${bigText.slice(0, -2)},]`, 'invalid_cookies.json')).toThrow(/invalid_cookies\.json: not valid JSON/);
    expect(() => parseInvalid(bigText.replace('",', '\u0001",'), 'invalid_cookies.json')).toThrow(/invalid_cookies\.json: not valid JSON/);
    // A BOM, CRLF, a single string: JSON.parse's way, same answer.
    expect(parseInvalid(`\ufeff${listTexts[0]}`, 'f')).toEqual(cookies);
    expect(parseInvalid(listTexts[0]!.replace(/\n/g, '\r\n'), 'f')).toEqual(cookies);
    expect({ ...parseKeys('{"sk-a": "c1"}', 'f') }).toEqual({ 'sk-a': ['c1'] });
    // Mistakes are still reported by position, never quoting the text.
    expect(() => parseInvalid('["a",]', 'invalid_cookies.json')).toThrow(/invalid_cookies\.json: not valid JSON .*line 1/);
    expect(() => parseKeys('{"sk-a": ["a\nb"]}', 'api_keys.json')).toThrow(/api_keys\.json: not valid JSON/);
    expect(() => parseKeys('{"sk-a": [1]}', 'api_keys.json')).toThrow(/cookie #1 is a number/);
  });
});

describe('plain bytes (the check made on a large file before it is decoded)', () => {
  /** What the text check says of the bytes decoded as latin1, for ASCII bytes. */
  const expected = (buf: Buffer) => buf.every((b) => b < 0x80) && /^[^\x00-\x09\x0b-\x1f\\]*$/.test(buf.toString('latin1'));

  it('agrees with the text check for every byte, at every place and alignment', () => {
    const backing = Buffer.alloc(64, 0x61);
    let checked = 0;
    for (let b = 0; b < 256; b++) {
      for (let offset = 0; offset < 4; offset++) {
        for (let length = 0; length <= 13; length++) {
          for (let at = 0; at < Math.max(1, length); at++) {
            backing.fill(0x61);
            const buf = backing.subarray(offset, offset + length);
            if (length > 0) buf[at] = b;
            expect(isPlainAscii(buf), `byte ${b} at ${at} of ${length}, offset ${offset}`).toBe(expected(buf));
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(50_000);
  });

  it('judges whole store texts as the text check does', () => {
    for (const text of [...listTexts, ...mapTexts, ...fallBack]) {
      const buf = Buffer.from(text, 'utf8');
      expect(isPlainAscii(buf), JSON.stringify(text)).toBe(expected(buf));
      // And vouching for the bytes gives the reader's own answer.
      if (isPlainAscii(buf)) expect(readPlainList(buf.toString('latin1'), { plain: true })).toEqual(readPlainList(text));
    }
  });
});

describe('writing back what was read (issue 12 #4)', () => {
  // Large enough for the plain reader (PLAIN_READ_MIN_CHARS): 300 cookies, repeated.
  const distinct = Array.from({ length: 300 }, (_, i) => makeCookie(i % 3 ? 'encoded' : 'jwt'));
  const many = Array.from({ length: 40_000 }, (_, i) => distinct[i % distinct.length]!);
  const store = { 'sk-a': many.slice(0, 24_000), 'sk-b': many.slice(24_000), 'sk-c': [] as string[], 'sk-d': [many[0]!] };
  const keysText = JSON.stringify(store, null, 2);
  const invalidText = JSON.stringify(many, null, 2);
  const fresh = Array.from({ length: 150 }, () => makeCookie('decoded'));
  const written = (value: Record<string, string[]> | string[], previous?: Record<string, string[]> | string[]) => [...serializeChunks(value, previous)].join('');
  const expected = (value: unknown) => JSON.stringify(value, null, 2);

  it('writes exactly what JSON.stringify writes, whatever became of the lists read', () => {
    const cases: [string, (keys: Record<string, string[]>) => Record<string, string[]>][] = [
      ['unchanged', (k) => ({ ...k })],
      ['appended', (k) => ({ ...k, 'sk-a': k['sk-a']!.concat(fresh) })],
      ['shortened', (k) => ({ ...k, 'sk-a': k['sk-a']!.slice(0, 199) })],
      ['first cookie dropped', (k) => ({ ...k, 'sk-a': k['sk-a']!.slice(1) })],
      ['replaced', (k) => ({ ...k, 'sk-a': fresh })],
      ['lists moved between keys', (k) => ({ 'sk-b': k['sk-a']!, 'sk-a': k['sk-b']!.concat(fresh), 'sk-new': k['sk-d']! })],
      ['changed in place', (k) => ((k['sk-a']![5] = fresh[0]!), k)],
      ['pushed in place', (k) => (k['sk-b']!.push(...fresh), k)],
      ['emptied', () => ({})],
    ];
    for (const [what, change] of cases) {
      const keys = parseKeys(keysText, 'f');
      const next = change(keys);
      expect(written(next, keys), what).toBe(expected(next));
    }
    expect(keysText.length).toBeGreaterThan(PLAIN_READ_MIN_CHARS);
    const invalid = parseInvalid(invalidText, 'f');
    expect(written(invalid.concat(fresh), invalid)).toBe(expected(invalid.concat(fresh)));
    expect(written(invalid.slice(0, 10), invalid)).toBe(expected(invalid.slice(0, 10)));
    expect([...serializeChunks(invalid.concat(fresh), invalid)].filter((c) => c === '[\n')).toHaveLength(1);
    // The wrong kind of previous value is ignored.
    expect(written(invalid, parseKeys(keysText, 'f'))).toBe(expected(invalid));
    expect(written(parseKeys(keysText, 'f'), invalid)).toBe(expected(store));
  });

  it('reuses the text read for the cookies a list kept, and only when laid out as written', () => {
    const keys = parseKeys(keysText, 'f');
    const next = { ...keys, 'sk-a': keys['sk-a']!.concat(fresh) };
    // sk-a: '[\n', its 200 cookies as read, then the 150 new ones in slices; sk-b: '[\n', as read.
    const chunks = [...serializeChunks(next, keys)];
    expect(chunks.filter((c) => c === '[\n')).toHaveLength(3); // sk-a, sk-b, sk-d
    expect(chunks.join('')).toBe(expected(next));
    const fresh2 = [...serializeChunks(next)];
    expect(fresh2.filter((c) => c === '[\n')).toHaveLength(0);
    // Lists not laid out as JSON.stringify(v, null, 2) lays them out are formatted again.
    const variants: [string, number][] = [
      [JSON.stringify(store), 0],
      [JSON.stringify(store, null, 4), 0],
      // One separator of sk-a off: sk-a is formatted again, sk-b and sk-d are not.
      [keysText.replace('",\n    "', '",\n     "'), 2],
      [keysText.replace('[\n    "', '[\n\n    "'), 2],
      [keysText.replace('"\n  ]', '"\n ]'), 2],
    ];
    for (const [text, reused] of variants) {
      const read = parseKeys(text, 'f');
      expect(Object.keys(read)).toEqual(Object.keys(store));
      const out = [...serializeChunks(read, read)];
      expect(out.join('')).toBe(expected(store));
      expect(out.filter((c) => c === '[\n'), text.slice(0, 40)).toHaveLength(reused);
    }
  });
});
