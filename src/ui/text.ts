/**
 * The one sanitiser for text from outside (GitHub and Admin API answers, job and step names, zip
 * entry names, team member names) on its way to a terminal: C0 and C1 control characters (ESC,
 * CSI, BEL, CR, backspace, …) would let that text move the cursor, rewrite earlier lines, retitle
 * the window or hide itself; Unicode bidi overrides would reorder what is shown. JSON output needs
 * none of this (JSON.stringify escapes control characters).
 */

import { stripVTControlCharacters } from 'node:util';

// C0 (U+0000–U+001F), DEL, C1 (U+0080–U+009F), and the bidi embedding/override/isolate marks.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const CONTROLS_BUT_NEWLINE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * One line of external text, safe to print: whole escape sequences go first (so no `[31m` is left
 * behind), whitespace controls become spaces, every other control character goes.
 */
export function printable(text: string): string {
  return stripVTControlCharacters(text).replace(/[\t\n\v\f\r]+/g, ' ').replace(CONTROLS, '');
}

/** Several lines (a message with a list under it): newlines are kept, every other control goes. */
export function printableLines(text: string): string {
  return stripVTControlCharacters(text).replace(/\r\n?/g, '\n').replace(/\t/g, ' ').replace(CONTROLS_BUT_NEWLINE, '');
}
