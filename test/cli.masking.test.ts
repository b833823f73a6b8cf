/** No command prints a whole cookie (or its JWT) unless --reveal: stdout and stderr, human and JSON. */
import { afterAll, describe, expect, it } from 'vitest';
import { cookieIdentity } from '../src/core/cookie.js';
import { leakedSecrets, TempStore } from './helpers/cli.js';
import { expiredCookie, makeCookie } from './helpers/cookies.js';

const t = new TempStore();
afterAll(() => t.cleanup());

describe('masking', () => {
  it('list/add/remove/purge/status/import-env, human and --json, verbose: nothing whole leaks', async () => {
    const held = [makeCookie('encoded'), makeCookie('decoded'), makeCookie('jwt')];
    const dead = makeCookie();
    const expired = expiredCookie();
    const fresh = makeCookie();
    const other = makeCookie();
    const secrets = [...held, dead, expired, fresh, other];
    const all = [...secrets, ...secrets.map(cookieIdentity)];
    t.writeKeys({ k: [...held, dead], k2: [other] });
    t.writeInvalid([dead]);
    const runs: string[][] = [
      ['status'],
      ['status', '--json'],
      ['keys', 'list'],
      ['cookies', 'list'],
      ['cookies', 'list', 'k', '--json'],
      ['invalid', 'list'],
      ['invalid', 'list', '--json'],
      ['cookies', 'add', 'k', fresh, held[0]!, expired, dead, '-v'],
      ['cookies', 'add', 'k', fresh, expired, '--json'],
      ['cookies', 'remove', 'k', held[1]!, makeCookie(), '-v'],
      ['cookies', 'remove', 'k', held[2]!, makeCookie(), '--json'],
      ['invalid', 'purge'],
      ['invalid', 'purge', '--json'],
      ['invalid', 'add', other, 'x', '-v'],
      ['invalid', 'add', other, '--json'],
      ['invalid', 'remove', other, makeCookie()],
      ['invalid', 'remove', dead, '--json'],
      ['keys', 'add', 'k3', fresh, '--json'],
      ['keys', 'import-env', '-v'],
      ['keys', 'import-env', '--json'],
      ['cookies', 'add', 'nope', fresh],
    ];
    const env = { API_KEYS: JSON.stringify({ k: [fresh, expired], k4: held[0] }) };
    let seen = 0;
    for (const args of runs) {
      const r = await t.run(args, { env });
      const text = r.stdout + r.stderr;
      expect(leakedSecrets(text, all), `${args.join(' ')}\n${text}`).toEqual([]);
      // Masked forms do appear where cookies are reported.
      if (/…/.test(text)) seen++;
    }
    expect(seen).toBeGreaterThan(10);
  });

  it('--reveal prints them whole', async () => {
    const c = makeCookie();
    t.writeKeys({ r: [c] });
    t.writeInvalid([c]);
    const list = await t.run(['cookies', 'list', 'r', '--reveal']);
    expect(list.stdout).toContain(c);
    const inv = await t.run(['invalid', 'list', '--json', '--reveal']);
    expect(JSON.parse(inv.stdout).invalid).toEqual([c]);
  });
});
