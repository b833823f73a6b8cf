/**
 * Where candidate cookies come from on the command line: arguments, `--from-file F` and `-`
 * (standard input). A file holds one cookie a line (blank lines and `#` comments skipped), a CSV
 * such as `email,token` (the fields that are cookies are taken), or a JSON list of strings.
 */
import { readFile } from 'node:fs/promises';
import { normalizeCookieText, parseCookie } from '../core/cookie.js';
import { UsageError } from '../errors.js';

/** Split the text of a cookie file into candidates. */
export function splitCookieText(text: string): string[] {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const trimmed = body.trim();
  if (trimmed.startsWith('[')) {
    try {
      const value: unknown = JSON.parse(trimmed);
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
    } catch {
      // Not JSON after all: read it line by line.
    }
  }
  const out: string[] = [];
  for (const rawLine of body.split(/\r?\n|\r/)) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (/[,;\t ]/.test(line)) {
      const fields = line
        .split(/[,;\s]+/)
        .map(normalizeCookieText)
        .filter((f) => f !== '');
      const cookies = fields.filter((f) => parseCookie(f).ok);
      // A row with no cookie in it is reported as one malformed candidate.
      if (cookies.length) out.push(...cookies);
      else out.push(line);
    } else out.push(line);
  }
  return out;
}

async function readStdin(stdin: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Collect candidates from arguments (`-` reads standard input) and `--from-file` paths
 * (`-` again standard input, read once). Order is kept.
 */
export async function gatherCookies(args: readonly string[], fromFiles: readonly string[], stdin: NodeJS.ReadableStream): Promise<string[]> {
  let stdinText: string | undefined;
  const fromStdin = async () => {
    stdinText ??= await readStdin(stdin);
    return splitCookieText(stdinText);
  };
  const out: string[] = [];
  for (const a of args) {
    if (a === '-') out.push(...(await fromStdin()));
    else out.push(a);
  }
  for (const f of fromFiles) {
    if (f === '-') {
      out.push(...(await fromStdin()));
      continue;
    }
    let text: string;
    try {
      text = await readFile(f, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new UsageError(`cannot read ${f}: ${code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
    }
    out.push(...splitCookieText(text));
  }
  return out;
}
