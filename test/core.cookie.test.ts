import { describe, expect, it } from 'vitest';
import { cookieIdentity, maskSecret, normalizeCookieText, parseCookie } from '../src/core/cookie.js';
import { expiredCookie, makeCookie, makeJwt } from './helpers/cookies.js';

describe('parseCookie', () => {
  it('accepts the three forms and gives them one identity', () => {
    const jwt = makeJwt({ sub: 'auth0|user_01XYZ' });
    const forms = [`user_01XYZ%3A%3A${jwt}`, `user_01XYZ%3a%3a${jwt}`, `user_01XYZ::${jwt}`, jwt, `  "${jwt}"\r\n`, `'user_01XYZ::${jwt}'`];
    for (const f of forms) {
      const r = parseCookie(f);
      expect(r.ok, f).toBe(true);
      if (r.ok) {
        expect(r.cookie.jwt).toBe(jwt);
        expect(r.cookie.userId).toBe('user_01XYZ');
      }
      expect(cookieIdentity(f)).toBe(jwt);
    }
  });

  it('keeps the form it arrived in', () => {
    const c = makeCookie('encoded');
    const r = parseCookie(` ${c} `);
    expect(r.ok && r.cookie.raw).toBe(c);
    expect(r.ok && r.cookie.form).toBe('encoded');
  });

  it('refuses truncated JWTs, non-JSON payloads and junk', () => {
    const jwt = makeJwt();
    const [h, p] = jwt.split('.');
    const bad = ['', '   ', 'hello', `${h}.${p}`, `${h}.${Buffer.from('not json').toString('base64url')}.sig`,
      `${h}.${Buffer.from('[1,2]').toString('base64url')}.sig`, `${h}.${p.slice(0, 7)}.x`, `${jwt} extra`,
      `${h}.${Buffer.from('{"exp":"soon"}').toString('base64url')}.sig`];
    for (const b of bad) expect(parseCookie(b).ok, b).toBe(false);
  });

  it('takes the user id from sub when there is no prefix, and reads exp', () => {
    const r = parseCookie(makeJwt({ sub: 'github|user_01GH', exp: 1234 }));
    expect(r.ok && r.cookie.userId).toBe('user_01GH');
    expect(r.ok && r.cookie.exp).toBe(1234);
    const noExp = parseCookie(makeJwt({ exp: null }));
    expect(noExp.ok && noExp.cookie.exp).toBeUndefined();
  });
});

describe('masking', () => {
  it('never shows the whole secret', () => {
    const c = makeCookie();
    const m = maskSecret(c);
    expect(m).not.toContain(c.slice(10, -6));
    expect(m.startsWith(c.slice(0, 8))).toBe(true);
    expect(maskSecret('short')).toBe('…');
  });
  it('normalises quotes and whitespace', () => {
    expect(normalizeCookieText(` "'abc'" `)).toBe('abc');
  });
});

describe('JWT payload decoding', () => {
  it('decodes UTF-8 payloads, with or without padding, and refuses broken base64', async () => {
    const { decodeJwtPayload } = await import('../src/core/cookie.js');
    const h = Buffer.from('{"alg":"HS256"}').toString('base64url');
    const body = { sub: 'auth0|user_01Ü', name: 'héllo ✓', exp: 42 };
    const p = Buffer.from(JSON.stringify(body)).toString('base64url');
    expect(decodeJwtPayload(`${h}.${p}.sig`)).toEqual(body);
    const padded = Buffer.from(JSON.stringify(body)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    expect(decodeJwtPayload(`${h}.${padded}.sig`)).toEqual(body);
    expect(decodeJwtPayload(`${h}.${p}a.sig`)).toBeUndefined(); // length % 4 == 1: not base64
    expect(decodeJwtPayload(`${h}.${p}.`)).toEqual(body); // empty signature allowed
    expect(decodeJwtPayload(`${h}.${p}.s.x`)).toBeUndefined();
  });
});

describe('payload decoding against the one-pattern decoder it replaced (issue 12 #4)', () => {
  // The decoder before the part-by-part check: one pattern for the whole JWT, then atob, then UTF-8.
  const SHAPE = /^[A-Za-z0-9_-]+={0,2}\.([A-Za-z0-9_-]+={0,2})\.(?:[A-Za-z0-9_-]+={0,2})?$/;
  function reference(jwt: string): Record<string, unknown> | undefined {
    const p = SHAPE.exec(jwt)?.[1];
    if (p === undefined) return undefined;
    try {
      const binary = atob(p.replace(/-/g, '+').replace(/_/g, '/'));
      const text = /[^\x00-\x7f]/.test(binary) ? Buffer.from(binary, 'latin1').toString('utf8') : binary;
      const v: unknown = JSON.parse(text);
      return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
  const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
  const pad = (s: string) => s + '='.repeat((4 - (s.length % 4)) % 4);
  const header = enc({ alg: 'HS256', typ: 'JWT' });
  const payloads: unknown[] = [
    { sub: 'auth0|user_01ABC', exp: 1893456000, iss: 'https://authentication.cursor.sh' },
    { sub: 'auth0|user_01Ü', name: 'héllo ✓', exp: 42 },
    { sub: 'google-oauth2|ünï', exp: '42' },
    { 'clé': 'v', sub: 'x', exp: null },
    { exp: 1e300 },
    {},
    [],
    'plain text',
    '{"sub":"a","sub":"b\u00e9"}',
    '{"sub":"\u00e9","sub":"b"}',
    `{"sub":"${'\u00ff'.repeat(3)}"}`,
    'x',
    'ab',
    'abc',
  ];
  const bases: string[] = [];
  for (const p of payloads) {
    const e = enc(p);
    bases.push(`${header}.${e}.c2lnbmF0dXJlc2lnbmF0dXJl`, `${header}.${pad(e)}.`, `${header}.${e}.`, `${pad(header)}.${e}.${pad('c2ln')}`);
  }
  // The standard base64 alphabet (`+`, `/`) where base64url has `-`, `_`: atob would take it.
  const std = Buffer.from(JSON.stringify({ sub: 'a???>>>', exp: 1 })).toString('base64').replace(/=+$/, '');
  expect(std).toMatch(/[+/]/);
  bases.push(`${header}.${std}.sig`, `${header}.${std.replace(/\+/g, '-').replace(/\//g, '_')}.sig`);
  // Raw bytes that are not UTF-8 (a payload of latin1 bytes), and one with a bad sequence.
  bases.push(`${header}.${Buffer.from([0x7b, 0x22, 0x73, 0x75, 0x62, 0x22, 0x3a, 0x22, 0xe9, 0x22, 0x7d]).toString('base64url')}.sig`);
  bases.push(`${header}.${Buffer.from('{"sub":"\xff\xfe","exp":5}', 'latin1').toString('base64url')}.sig`);
  const inserts = [' ', '\t', '\n', '\r', '\f', '\v', '\u00a0', '+', '/', '=', '==', '===', '.', '-', '_', 'A', 'é', '%', ':', '"', '\u2028', '\ud83d'];

  it('gives the same payload (or none) for every JWT damaged anywhere', async () => {
    const { decodeJwtPayload } = await import('../src/core/cookie.js');
    let checked = 0;
    let decoded = 0;
    for (const jwt of bases) {
      const variants = [jwt];
      for (let i = 0; i <= jwt.length; i++) {
        variants.push(jwt.slice(0, i) + jwt.slice(i + 1));
        for (const ins of inserts) variants.push(jwt.slice(0, i) + ins + jwt.slice(i), jwt.slice(0, i) + ins + jwt.slice(i + 1));
      }
      for (const v of variants) {
        const want = reference(v);
        expect(decodeJwtPayload(v), JSON.stringify(v)).toEqual(want);
        if (want) decoded++;
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(50_000);
    expect(decoded).toBeGreaterThan(1_000);
  });

  it('parseCookie reads exp and the user id from the same payload', async () => {
    const { parseCookie } = await import('../src/core/cookie.js');
    for (const jwt of bases) {
      const want = reference(jwt);
      const got = parseCookie(jwt);
      if (!want) {
        expect(got.ok, jwt).toBe(false);
        continue;
      }
      const exp = want.exp;
      const expOk = exp === undefined || (typeof exp === 'number' && Number.isFinite(exp) && Math.abs(exp) <= 8.64e12);
      expect(got.ok, jwt).toBe(expOk);
      if (got.ok) {
        expect(got.cookie.exp).toBe(exp);
        const sub = typeof want.sub === 'string' ? want.sub.slice(want.sub.lastIndexOf('|') + 1) || undefined : undefined;
        expect(got.cookie.userId, jwt).toBe(sub);
      }
    }
    // A non-ASCII user id comes out as UTF-8, not as its bytes.
    const r = parseCookie(`${header}.${enc({ sub: 'auth0|ünï', exp: 42 })}.sig`);
    expect(r.ok && r.cookie.userId).toBe('ünï');
  });
});

describe('cookieExpiries (what status needs of every cookie of a store)', () => {
  it('gives parseCookie’s verdict for each cookie, whatever the mix and the order', async () => {
    const { cookieExpiries } = await import('../src/core/cookie.js');
    const h = Buffer.from('{"alg":"HS256"}').toString('base64url');
    const part = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
    const padded = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    const jwtOf = (p: string) => `${h}.${p}.sig`;
    // Payloads of every length mod 4 (each is completed to whole base64 groups, then cut back).
    const lengths = Array.from({ length: 8 }, (_, i) => jwtOf(part({ sub: `auth0|user_${'x'.repeat(i)}`, exp: 1_900_000_000 + i })));
    const corpus = [
      makeCookie('encoded'),
      makeCookie('decoded'),
      makeCookie('jwt'),
      expiredCookie(),
      makeCookie('encoded', { exp: null }),
      ...lengths,
      jwtOf(part({ sub: 'auth0|user_01Ü', name: 'héllo ✓', exp: 42 })), // UTF-8 payload
      jwtOf(padded({ sub: 'auth0|user_pad', exp: 7 })), // padding
      jwtOf(`${part({ a: 1 })}a`), // length % 4 == 1: not base64
      // Length % 4 == 1 again, where the lone character would decode to a space after the JSON.
      jwtOf(`${part({ exp: 9 })}I`),
      jwtOf(part('not json')),
      jwtOf(part([1, 2])), // JSON, but not an object
      jwtOf(part('null')),
      jwtOf(part({ exp: 'soon' })),
      jwtOf(part({ exp: null })),
      jwtOf(part('{"exp":1e400}')), // Infinity
      jwtOf(part({ exp: 1e300 })),
      jwtOf(part({ exp: -5 })),
      jwtOf(part('{"__proto__":{"exp":5}}')),
      `user_01AB%3A%3A${jwtOf(part({ exp: 5 }))}`,
      `user_01AB%3a%3a${jwtOf(part({ exp: 6 }))}`,
      `bad prefix!%3A%3A${jwtOf(part({ exp: 5 }))}`,
      `::${jwtOf(part({ exp: 5 }))}`,
      '',
      '  ',
      'hello',
      `${h}.${part({ a: 1 })}`,
      `  "${makeCookie('decoded')}"\r\n`,
      `'${makeCookie('jwt')}'`,
      `user_01A::${h}.${part({ exp: 3 })}. x`,
    ];
    const expected = (c: string) => {
      const r = parseCookie(c);
      return r.ok ? (r.cookie.exp ?? null) : undefined;
    };
    for (const list of [corpus, [...corpus].reverse(), corpus.filter((_, i) => i % 2 === 0), corpus.filter((_, i) => i % 3 === 1), []]) {
      expect(cookieExpiries(list)).toEqual(list.map(expected));
    }
    const all = cookieExpiries(corpus);
    expect(all.filter((e) => typeof e === 'number').length).toBeGreaterThan(15);
    expect(all.filter((e) => e === null).length).toBeGreaterThan(1);
    expect(all.filter((e) => e === undefined).length).toBeGreaterThan(10);
  });
});
