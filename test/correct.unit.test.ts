/** Unit tests of issue 14's pure pieces: key names, prototype-named keys, `exp` range, config paths. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEnv, resolvePath, storePaths } from '../src/config.js';
import { parseCookie } from '../src/core/cookie.js';
import { keyNameForDisplay, looksLikeCookie, newKeyNameProblem } from '../src/core/key-name.js';
import { planMerge } from '../src/core/merge.js';
import { newKeyMap } from '../src/core/key-map.js';
import { diffPool } from '../src/core/pool-diff.js';
import { parseKeys, serialize, serializeChunks } from '../src/store/format.js';
import { addCookies, removeCookies, removeKey } from '../src/services/pool.js';
import { purgeInvalid } from '../src/services/invalid.js';
import { formatExp } from '../src/ui/pool.js';
import { makeCookie, makeJwt } from './helpers/cookies.js';

const NOW = Math.floor(Date.now() / 1000);
const PROTO_NAMES = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'];

describe('the key-name rule (only for keys being created)', () => {
  it('refuses empty names, whitespace, control characters and cookies; accepts ordinary names', () => {
    for (const ok of ['sk-team-a', 'k', '__proto__', 'constructor', 'key.with.dots', 'ключ']) expect(newKeyNameProblem(ok)).toBeUndefined();
    expect(newKeyNameProblem('')).toMatch(/empty/);
    expect(newKeyNameProblem('  ')).toMatch(/empty/);
    expect(newKeyNameProblem('a b')).toMatch(/whitespace/);
    expect(newKeyNameProblem('a\u0007b')).toMatch(/control/);
    for (const form of ['encoded', 'decoded', 'jwt'] as const) {
      const c = makeCookie(form);
      expect(looksLikeCookie(c)).toBe(true);
      const problem = newKeyNameProblem(c)!;
      expect(problem).toMatch(/is a cookie, not an api key name/);
      expect(problem).not.toContain(c.slice(12));
    }
    // A cookie cut short, or quoted, is still a secret.
    expect(looksLikeCookie(makeJwt().slice(0, 60))).toBe(true);
    expect(looksLikeCookie(`"${makeCookie()}"`)).toBe(true);
    expect(looksLikeCookie('sk-eyJhbGciOi')).toBe(false);
    expect(keyNameForDisplay('sk-a')).toBe('sk-a');
  });
});

describe('api keys named like Object.prototype properties', () => {
  it('parse as own keys, and serialise back byte for byte in order', () => {
    const c = makeCookie();
    const text = JSON.stringify({ a: [c] }, null, 2).replace('{\n', `{\n  "__proto__": ["${c}"],\n  "constructor": [],\n  "toString": "${c}",\n`);
    const keys = parseKeys(text, 'api_keys.json');
    expect(Object.keys(keys)).toEqual(['__proto__', 'constructor', 'toString', 'a']);
    expect(keys.__proto__).toEqual([c]);
    expect(keys.toString).toEqual([c]);
    const expected = `{\n  "__proto__": [\n    "${c}"\n  ],\n  "constructor": [],\n  "toString": [\n    "${c}"\n  ],\n  "a": [\n    "${c}"\n  ]\n}`;
    expect(serialize(keys)).toBe(expected);
    expect([...serializeChunks(keys)].join('')).toBe(expected);
  });

  it('are created, filled, removed and purged like any other key', () => {
    for (const name of PROTO_NAMES) {
      const c = makeCookie();
      const empty = { keys: newKeyMap(), invalid: [] };
      expect(() => addCookies(empty, name, [c], NOW)).toThrow(/no api key/);
      const created = addCookies(empty, name, [c], NOW, { create: true });
      expect(created.result).toMatchObject({ created: true, added: 1, after: 1 });
      expect(Object.keys(created.keys!)).toEqual([name]);
      expect(serialize(created.keys!)).toBe(`{\n  "${name}": [\n    "${c}"\n  ]\n}`);
      const snap = { keys: created.keys!, invalid: [c] };
      expect(removeCookies(snap, name, [c]).keys![name]).toEqual([]);
      expect(Object.keys(removeKey(snap, name).keys!)).toEqual([]);
      expect(purgeInvalid(snap).keys![name]).toEqual([]);
      expect(diffPool({ keys: newKeyMap(), invalid: [] }, { keys: created.keys! }).keys.map((k) => k.apiKey)).toEqual([name]);
    }
  });

  it('the merge plan creates such a target as an own key and fills an existing one', () => {
    const c = makeCookie();
    const plan = planMerge({ keys: newKeyMap(), invalid: [], candidates: [c], targets: ['toString', '__proto__'], mode: 'append', share: true, nowSec: NOW });
    expect(Object.keys(plan.keys)).toEqual(['toString', '__proto__']);
    expect(plan.perKey.map((k) => [k.apiKey, k.before, k.after])).toEqual([
      ['toString', 0, 1],
      ['__proto__', 0, 1],
    ]);
  });
});

describe('`exp` beyond what a Date can hold', () => {
  it('is malformed, and a table renders such a value instead of dying', () => {
    const p = parseCookie(makeJwt({ exp: 1e15 }));
    expect(p).toMatchObject({ ok: false, detail: '`exp` is out of range' });
    expect(parseCookie(makeJwt({ exp: 8.64e12 })).ok).toBe(true);
    expect(formatExp(1e15)).toBe('?');
    expect(formatExp(0)).toBe('1970-01-01 00:00');
  });
});

describe('configuration paths', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cookie-pool-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a leading ~ or ~/ is the home folder; ~user is refused with the variable named', () => {
    const env = { HOME: '/home/someone' };
    expect(resolvePath(env, '~/x', 'DATA_DIR', '/cwd')).toBe('/home/someone/x');
    expect(resolvePath(env, '~', 'DATA_DIR', '/cwd')).toBe('/home/someone');
    expect(resolvePath({}, '~/y', 'DATA_DIR', '/cwd')).toBe(join(homedir(), 'y'));
    expect(resolvePath(env, 'rel/~/x', 'DATA_DIR', '/cwd')).toBe('/cwd/rel/~/x');
    expect(() => resolvePath(env, '~bob/x', 'API_KEYS_FILE', '/cwd')).toThrow(/API_KEYS_FILE: "~bob\/x"/);
    expect(storePaths({ HOME: '/h', DATA_DIR: '~/pool' }, undefined, '/cwd')).toEqual({
      dataDir: '/h/pool',
      keysFile: '/h/pool/api_keys.json',
      invalidFile: '/h/pool/invalid_cookies.json',
    });
    expect(storePaths({ HOME: '/h', API_KEYS_FILE: '~/k.json' }, '~/d', '/cwd').dataDir).toBe('/h/d');
    expect(storePaths({ HOME: '/h', API_KEYS_FILE: '~/k.json' }, undefined, '/cwd').keysFile).toBe('/h/k.json');
  });

  it('a UTF-8 BOM at the start of .env does not hide the first variable', () => {
    writeFileSync(join(dir, '.env'), '\ufeffDATA_DIR=./from-env\nMIN_COOKIE_COUNT=4\n');
    const { env, envFile } = loadEnv(undefined, {}, dir);
    expect(envFile).toBe(resolve(dir, '.env'));
    expect(env.DATA_DIR).toBe('./from-env');
    expect(env.MIN_COOKIE_COUNT).toBe('4');
  });
});
