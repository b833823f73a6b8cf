/**
 * The documentation stays in step with the code: every environment variable the code reads is
 * described in docs/reference.md and listed in .env.example, and neither lists one the code does
 * not read. A new variable without docs fails here — on purpose. Also: the README links to the
 * reference, no link leaves the repository, and the reference's own anchors resolve.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REGISTER_VARIABLES } from '../src/core/inputs.js';
import { ROOT } from './helpers/cli.js';

const NAME = '[A-Z][A-Z0-9_]*';

/**
 * How src/ reads a variable: a helper called with the environment first (`envString(env, 'X')`,
 * `envInt(ctx.env, 'X', …)`, config.ts's own `value(env, 'X')`), a property (`env.X`,
 * `process.env.X`, `env['X']`), or a presence test (`'X' in env`).
 */
const READS = [
  new RegExp(`\\(\\s*(?:[\\w.]+\\.)?env\\s*,\\s*['"](${NAME})['"]`, 'g'),
  new RegExp(`\\benv\\.(${NAME})\\b`, 'g'),
  new RegExp(`\\benv\\[\\s*['"](${NAME})['"]\\s*\\]`, 'g'),
  new RegExp(`['"](${NAME})['"]\\s+in\\s+(?:process\\.)?env\\b`, 'g'),
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

/** Variable → the source files that read it. */
function variablesReadBy(files: string[]): Map<string, Set<string>> {
  const found = new Map<string, Set<string>>();
  const add = (name: string, file: string) => (found.get(name) ?? found.set(name, new Set()).get(name)!).add(relative(ROOT, file));
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    for (const re of READS) for (const m of text.matchAll(re)) add(m[1]!, file);
  }
  // Read through a table (src/core/inputs.ts: variable → workflow input).
  for (const name of Object.keys(REGISTER_VARIABLES)) add(name, join(ROOT, 'src', 'core', 'inputs.ts'));
  return found;
}

/** Names in .env.example, set or commented out: `NAME=…` or `# NAME=…` at the start of a line. */
function envExampleNames(text: string): string[] {
  return [...text.matchAll(new RegExp(`^#?[ \\t]*(${NAME})=`, 'gm'))].map((m) => m[1]!);
}

/** Names in the first column of the table under `## Environment variables` in the reference. */
function referenceNames(text: string): string[] {
  const start = text.indexOf('\n## Environment variables\n');
  if (start < 0) return [];
  const end = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, end < 0 ? undefined : end);
  const names: string[] = [];
  for (const line of section.split('\n')) {
    if (!line.startsWith('|')) continue;
    const first = line.split('|')[1] ?? '';
    for (const m of first.matchAll(new RegExp(`\`(${NAME})\``, 'g'))) names.push(m[1]!);
  }
  return names;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of markdown.matchAll(/^#{1,6} (.+)$/gm)) {
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Markdown link targets (`[text](target)`), outside code blocks. */
function links(markdown: string): string[] {
  const prose = markdown.replace(/^```[\s\S]*?^```/gm, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

describe('environment variables: code, docs/reference.md and .env.example in step', () => {
  const code = variablesReadBy(sourceFiles(join(ROOT, 'src')));
  const reference = referenceNames(read('docs/reference.md'));
  const example = envExampleNames(read('.env.example'));
  const where = (names: string[]) => names.map((n) => `${n} (${[...(code.get(n) ?? [])].join(', ')})`);

  it('finds the variables the code reads, by every way it reads them', () => {
    // One of each kind: a config.ts helper, ctx.env through a helper, process.env.X, `'X' in env`, the table.
    for (const n of ['DATA_DIR', 'MIN_COOKIE_COUNT', 'REFRESH_CRON', 'COOKIE_POOL_DEBUG', 'NO_COLOR', 'REGISTER_NUMBER']) {
      expect(code.has(n), n).toBe(true);
    }
    // The scanner itself: each pattern, and nothing from messages or unrelated strings.
    const sample = [
      "envString(env, 'A_ONE'); envInt(ctx.env, 'B_TWO', 2); value(env, 'C_THREE');",
      "process.env.D_FOUR; opts.env['E_FIVE']; 'F_SIX' in process.env;",
      "throw new UsageError('G_SEVEN must be a number'); const H_EIGHT = 1;",
    ].join('\n');
    const found = [...READS.flatMap((re) => [...sample.matchAll(re)].map((m) => m[1]!))].sort();
    expect(found).toEqual(['A_ONE', 'B_TWO', 'C_THREE', 'D_FOUR', 'E_FIVE', 'F_SIX']);
  });

  it('every variable the code reads is described in docs/reference.md', () => {
    const missing = [...code.keys()].filter((n) => !reference.includes(n)).sort();
    expect(where(missing), 'add a row to the "Environment variables" table of docs/reference.md').toEqual([]);
  });

  it('every variable the code reads is listed in .env.example', () => {
    const missing = [...code.keys()].filter((n) => !example.includes(n)).sort();
    expect(where(missing), 'add a commented line to .env.example').toEqual([]);
  });

  it('neither lists a variable the code does not read, nor one twice', () => {
    expect(reference.filter((n) => !code.has(n)), 'docs/reference.md lists variables the code does not read').toEqual([]);
    expect(example.filter((n) => !code.has(n)), '.env.example lists variables the code does not read').toEqual([]);
    expect(reference.filter((n, i) => reference.indexOf(n) !== i), 'listed twice in docs/reference.md').toEqual([]);
    expect(example.filter((n, i) => example.indexOf(n) !== i), 'listed twice in .env.example').toEqual([]);
  });
});

describe('links stay inside the repository', () => {
  it('README links to docs/reference.md, and every relative link of README and the reference resolves inside the repo', () => {
    const readme = read('README.md');
    expect(links(readme)).toContain('docs/reference.md');
    for (const doc of ['README.md', 'docs/reference.md']) {
      for (const target of links(read(doc))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#')) continue;
        const file = resolve(ROOT, dirname(doc), target.split('#')[0]!);
        expect(relative(ROOT, file).startsWith('..'), `${doc} links outside the repository: ${target}`).toBe(false);
        expect(existsSync(file), `${doc} links to a missing file: ${target}`).toBe(true);
      }
    }
  });

  it("the reference's anchors, and README's anchors into it, name real headings", () => {
    const anchors = anchorsOf(read('docs/reference.md'));
    expect(anchors.has('environment-variables')).toBe(true);
    const targets = [
      ...links(read('docs/reference.md')).filter((t) => t.startsWith('#')).map((t) => t.slice(1)),
      ...links(read('README.md')).filter((t) => t.startsWith('docs/reference.md#')).map((t) => t.split('#')[1]!),
    ];
    expect(targets.length).toBeGreaterThan(5);
    expect(targets.filter((t) => !anchors.has(t))).toEqual([]);
  });
});
