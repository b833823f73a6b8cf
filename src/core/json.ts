/**
 * JSON parsing whose errors never quote the input. Node 20's own messages do
 * (`Unexpected token 'u', "{"k": user_01D9C"... is not valid JSON`), and the inputs here are API_KEYS,
 * WORKFLOW_INPUTS and the store files: cookies and passwords. A failed parse is reported by its
 * position (line, column, character offset) and the kind of mistake only.
 */
import { createRequire } from 'node:module';

export class JsonSyntaxError extends Error {
  constructor(
    /** 0-based character offset of the mistake. */
    readonly position: number,
    readonly line: number,
    readonly column: number,
    what: string,
  ) {
    super(`${what} at line ${line}, column ${column} (character ${position + 1})`);
    this.name = 'JsonSyntaxError';
  }
}

/** jsonc-parser's error codes, in words. */
const WHAT: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'malformed number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: 'expected ":"',
  CommaExpected: 'expected ","',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: 'unexpected text after the JSON value',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'unterminated comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unterminated number',
  InvalidUnicode: 'malformed \\u escape',
  InvalidEscapeCharacter: 'malformed escape',
  InvalidCharacter: 'control character in a string',
};

function lineAndColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < position; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: position - start + 1 };
}

/**
 * Where and what the mistake is. V8 gives the offset for most mistakes ("… in JSON at position
 * 7"), not for an unexpected token (it quotes the text instead): then the strict scanner of
 * jsonc-parser (loaded only on this error path) finds it.
 */
function locate(text: string, err: Error): { position: number; what: string } {
  const m = /^(.*?) in JSON at position (\d+)/.exec(err.message);
  if (m) {
    // The description names a token at most ("Expected ',' or ']'"); a quoted text ("…") would go.
    const what = m[1]!.replace(/\s*".*"/g, '').replace(/,\s*$/, '').trim();
    return { position: Number(m[2]), what: what ? what[0]!.toLowerCase() + what.slice(1) : 'syntax error' };
  }
  if (/^Unexpected end of JSON input/.test(err.message)) return { position: text.length, what: 'unexpected end of the text' };
  const require = createRequire(import.meta.url);
  const jsonc = require('jsonc-parser') as typeof import('jsonc-parser');
  const errors: import('jsonc-parser').ParseError[] = [];
  jsonc.parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (!first) return { position: 0, what: 'syntax error' };
  return { position: first.offset, what: WHAT[jsonc.printParseErrorCode(first.error)] ?? 'syntax error' };
}

/** JSON.parse, throwing a JsonSyntaxError (position only, no quoted input) on a mistake. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    const { position, what } = locate(text, e);
    const { line, column } = lineAndColumn(text, position);
    throw new JsonSyntaxError(position, line, column, what);
  }
}
