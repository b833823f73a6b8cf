/**
 * Where candidate cookies come from on the command line: arguments, `--from-file F` and `-`
 * (standard input). A file holds one cookie a line (blank lines and `#` comments skipped), a CSV
 * such as `email,token` (the fields that are cookies are taken), or a JSON list of strings.
 */
import { readFile, stat } from 'node:fs/promises';
import { CSV_LIMITS, extractCookies } from '../core/extract.js';
import { UsageError } from '../errors.js';
import { readStdinText } from '../stdio.js';

/**
 * Split the text of a cookie file into candidates, with the extraction `import` uses (SPEC §5.7):
 * every CSV field that is (or is meant to be) a cookie, deduplicated by identity, so a header row
 * or an email column is not a "malformed cookie". A JSON list of strings is taken item by item
 * (each then screened, so a bad item is reported). Before extraction, `#` comment lines are
 * dropped and, on lines without quotes, spaces, tabs and semicolons separate fields like commas
 * (cookies pasted on one line).
 */
export function splitCookieText(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const trimmed = body.trim();
  if (trimmed.startsWith('[')) {
    try {
      const value: unknown = JSON.parse(trimmed);
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
    } catch {
      // Not JSON after all: extract from it as from any text.
    }
  }
  const lines: string[] = [];
  for (const line of body.split(/\r?\n|\r/)) {
    if (line.trimStart().startsWith('#')) continue;
    lines.push(line.includes('"') ? line : line.replace(/[\s;]+/g, ','));
  }
  return extractCookies([lines.join('\n')]).cookies;
}

/**
 * Collect candidates from arguments (`-` reads standard input) and `--from-file` paths
 * (`-` again standard input, read once). Order is kept. Sources that hold no cookie at all are
 * "no cookies given" (exit 2).
 */
export async function gatherCookies(args: readonly string[], fromFiles: readonly string[], stdin: NodeJS.ReadableStream): Promise<string[]> {
  let stdinText: string | undefined;
  const fromStdin = async () => {
    stdinText ??= await readStdinText(stdin, CSV_LIMITS.maxFileBytes);
    return splitCookieText(stdinText);
  };
  const out: string[] = [];
  for (const a of args) {
    if (a === '-') out.push(...(await fromStdin()));
    else out.push(a);
  }
  const sources: string[] = [];
  for (const f of fromFiles) {
    if (f === '-') {
      out.push(...(await fromStdin()));
      continue;
    }
    sources.push(f);
    let text: string;
    try {
      // The same limit as a cookie file given to `import`: a file too large is refused unread.
      if ((await stat(f)).size > CSV_LIMITS.maxFileBytes) {
        throw new UsageError(`${f} holds more than ${CSV_LIMITS.maxFileBytes} bytes, the limit for one cookie file`);
      }
      text = await readFile(f, 'utf8');
    } catch (e) {
      if (e instanceof UsageError) throw e;
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(`cannot read ${f}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    out.push(...splitCookieText(text));
  }
  // Input was named but held no cookie (empty stdin, an empty file): "no cookies given", exit 2,
  // as for `import` of the same input.
  if (out.length === 0 && (args.length > 0 || fromFiles.length > 0)) {
    if (stdinText !== undefined) sources.unshift('standard input');
    throw new UsageError(`no cookies given: no cookie found in ${sources.join(', ')}`, 'give one cookie a line, CSV rows such as email,token, or a JSON list');
  }
  return out;
}
