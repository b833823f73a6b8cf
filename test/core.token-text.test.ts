/** cursor-api's token files as text (src/core/token-text.ts): its load rules and our edits. */
import { describe, expect, it } from 'vitest';
import {
  applyTokenEdit,
  cursorApiTokenCount,
  ignoredLines,
  parseTokenFiles,
  sanitizeAlias,
  servedTokens,
  tokenLineFor,
} from '../src/core/token-text.js';
import { makeCookie, makeJwt } from './helpers/cookies.js';

const jwtOf = (cookie: string): string => cookie.split(/%3A%3A|::/i).pop()!;

describe('parsing by cursor-api rules', () => {
  it('serves token and alias::token lines of both files, skips blanks and # lines, ignores two "::" and bad list lines', () => {
    const [a, b, c, d] = [makeJwt(), makeJwt(), makeJwt(), makeJwt()];
    const files = parseTokenFiles(`# c\r\n  ${a}  \r\n\r\nme@x.io::${b}\r\nx::y::${c}\r\n`, `${b},cs1\nalias::${d},cs2\n${c}\n${a},x,y\n#note,1\n`);
    expect(servedTokens(files)).toEqual([a, b, d]);
    expect(ignoredLines(files)).toEqual([
      { file: 'token', line: 5, text: `x::y::${c}`, reason: 'more than one "::"' },
      { file: 'token-list', line: 3, text: c, reason: 'not "token,checksum" (1 fields)' },
      { file: 'token-list', line: 4, text: `${a},x,y`, reason: 'not "token,checksum" (3 fields)' },
    ]);
  });

  it('counts tokens as cursor-api reports them (current rules, and the legacy ones where # lines were tokens)', () => {
    const [a, b] = [makeJwt(), makeJwt()];
    const tokens = `# comment\n${a}\nme::${b}\n`;
    const list = `${a},cs\nme::${b},cs2\nbroken\n`;
    expect(cursorApiTokenCount(tokens, list)).toBe(2);
    // Legacy: "# comment" is a token, and the list's "me::b" is keyed whole.
    expect(cursorApiTokenCount(tokens, list, 'legacy')).toBe(4);
  });
});

describe('aliases', () => {
  it('the email (sanitised) else the user id; the bare JWT when neither', () => {
    const c = makeCookie('encoded');
    const [user, jwt] = c.split('%3A%3A') as [string, string];
    expect(tokenLineFor(c, 'a b:c,d#e@x.io')).toBe(`abcde@x.io::${jwt}`);
    expect(tokenLineFor(c)).toBe(`${user}::${jwt}`);
    const bare = makeJwt({ sub: '' });
    expect(tokenLineFor(bare)).toBe(bare);
    expect(sanitizeAlias(' ::#, \t')).toBe('');
  });
});

describe('applyTokenEdit', () => {
  it('removes lines from both files by identity, appends new cookies to .token only, keeps everything else', () => {
    const [a, b] = [makeJwt(), makeJwt()];
    const n = makeCookie('decoded');
    const tokens = `# keep\r\nold::${a}\r\n\r\n${b}`;
    const list = `${a},csA\nx::y::z,bad\n${b},csB`;
    const out = applyTokenEdit(tokens, list, { add: [n, `user_01Z%3A%3A${b}`], remove: new Set([a]), labels: new Map([[jwtOf(n), 'n@x.io']]) });
    expect(out.tokens).toBe(`# keep\n\n${b}\nn@x.io::${jwtOf(n)}\n`);
    expect(out.tokenList).toBe(`x::y::z,bad\n${b},csB`);
    expect(out).toMatchObject({ tokensChanged: true, tokenListChanged: true, added: [n], removedLines: 2 });
  });

  it('changes nothing (not even CRLF) when the edit is empty or already applied', () => {
    const a = makeJwt();
    const tokens = `${a}\r\n`;
    const out = applyTokenEdit(tokens, '', { add: [a], remove: new Set() });
    expect(out).toMatchObject({ tokens, tokenList: '', tokensChanged: false, tokenListChanged: false, added: [] });
  });
});
