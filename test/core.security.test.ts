/**
 * The pure pieces of the hardening: the terminal sanitiser, the URL host policy and validator,
 * JSON errors without text, which workflow input values may be shown, and the layering rule
 * that imports only run down (issue 12 #7).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkUrl, envUrl } from '../src/config.js';
import { inputsForDisplay, type DeclaredInput } from '../src/core/inputs.js';
import { parseJson } from '../src/core/json.js';
import { isLoopbackHost, isPrivateHost, urlForDisplay } from '../src/core/url.js';
import { UsageError } from '../src/errors.js';
import { printable, printableLines } from '../src/ui/text.js';

describe('printable', () => {
  it('drops escape sequences whole, C0/C1 controls and bidi overrides; keeps other text', () => {
    expect(printable('a\u001b[31mred\u001b[0m \u001b]0;title\u0007b \u009b2Jc \u202eevil\u202c ✓ é 名')).toBe('ared b c evil ✓ é 名');
    expect(printable('one\r\ntwo\tthree\u0008\u007f')).toBe('one two three');
  });
  it('printableLines keeps line breaks (CRLF as LF) and nothing else', () => {
    expect(printableLines('a\r\nb\rc\n\u001b[2Jd\u0000')).toBe('a\nb\nc\nd');
  });
});

describe('URL policy', () => {
  it('knows loopback and private hosts in every spelling the URL parser leaves', () => {
    for (const h of ['127.0.0.1', '127.8.9.10', '[::1]', 'localhost', 'LOCALHOST.', 'api.localhost', new URL('http://0x7f.1/').hostname, new URL('http://[::ffff:127.0.0.1]/').hostname]) {
      expect(isLoopbackHost(h), h).toBe(true);
      expect(isPrivateHost(h), h).toBe(true);
    }
    for (const h of ['10.0.0.1', '172.31.255.255', '192.168.0.1', '169.254.169.254', '100.64.0.1', '[fc00::1]', '[fe80::1]', '0.0.0.0']) {
      expect(isLoopbackHost(h), h).toBe(false);
      expect(isPrivateHost(h), h).toBe(true);
    }
    for (const h of ['api.github.com', '140.82.112.6', '[2606:4700::1111]', 'localhost.example.com', '172.32.0.1']) {
      expect(isPrivateHost(h), h).toBe(false);
    }
  });
  it('shows a URL as scheme and host only', () => {
    expect(urlForDisplay('https://hooks.slack.com/services/T0/B0/secret?x=1')).toBe('https://hooks.slack.com/…');
    expect(urlForDisplay('http://u:p@127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
    expect(urlForDisplay('not a url')).toBe('(an invalid URL)');
  });
  it('checkUrl/envUrl: user info and non-loopback http refused without echoing the URL; loopback http, https and unset accepted', () => {
    const refuse = (raw: string, pattern: RegExp): void => {
      let err: unknown;
      try {
        checkUrl(raw, 'PROXY_ADMIN_URL');
      } catch (e) {
        err = e;
      }
      expect(err, raw).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(pattern);
      expect(`${(err as Error).message} ${(err as UsageError).hint ?? ''}`).not.toContain('s3cr3t');
    };
    refuse('https://admin:s3cr3t@proxy.example.com', /PROXY_ADMIN_URL must not contain a user name or password/);
    refuse('http://:s3cr3t@127.0.0.1:3010', /must not contain a user name or password/);
    refuse('http://proxy.example.com:3010/s3cr3t', /must use https.*got http:\/\/proxy\.example\.com:3010\/…/);
    refuse('ftp://example.com/s3cr3t', /must be an http\(s\) URL, not ftp:/);
    refuse('::s3cr3t::', /is not a valid URL$/);
    expect(checkUrl('http://127.0.0.1:3010/', 'X').port).toBe('3010');
    expect(checkUrl('http://localhost:3010', 'X').hostname).toBe('localhost');
    expect(envUrl({ NOTIFY_URL: ' https://hooks.slack.com/services/T/B/x ' }, 'NOTIFY_URL')).toBe('https://hooks.slack.com/services/T/B/x');
    expect(envUrl({}, 'CURSOR_API_URL')).toBeUndefined();
    expect(envUrl({}, 'GITHUB_API_URL', 'https://api.github.com')).toBe('https://api.github.com');
  });
});

describe('parseJson', () => {
  it('reports line, column and kind, never the text', () => {
    const secret = 'user_01SECRET::eyJhbGciOi';
    const cases: [string, RegExp][] = [
      [`{"k": ${secret}}`, /^unexpected character at line 1, column 7 \(character 7\)$/],
      [`{\n  "k": [\n    "a"\n    "${secret}"\n  ]\n}`, /^expected ',' or ']' after array element at line 4, column 5/],
      [`{"k": ["${secret}`, /^unterminated string at line 1, column \d+ \(character \d+\)$/],
      [`{"k": [`, /^unexpected end of the text at line 1, column 8/],
      [`{"k": "${secret}\n"}`, /^bad control character in string literal at line 1/],
      [`// ${secret}\n{}`, /^comments are not allowed in JSON at line 1, column 1/],
    ];
    for (const [text, pattern] of cases) {
      let message = '';
      try {
        parseJson(text);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message, text).toMatch(pattern);
      expect(message).not.toContain('SECRET');
      expect(message).not.toContain('eyJ');
    }
    expect(parseJson('{"a": [1, "x"]}')).toEqual({ a: [1, 'x'] });
  });
});

describe('inputsForDisplay', () => {
  const d = (name: string, type: DeclaredInput['type']): DeclaredInput => ({ name, type, required: false, default: undefined, options: undefined, description: undefined });
  it('shows the values of choices, booleans and numbers; hides free text and names that say secret', () => {
    const declared = {
      number: d('number', 'number'),
      email_server: d('email_server', 'choice'),
      upload_artifact: d('upload_artifact', 'boolean'),
      email_configs: d('email_configs', 'string'),
      note: d('note', 'string'),
      env: d('env', 'environment'),
      use_config_file: d('use_config_file', 'boolean'),
      api_key_count: d('api_key_count', 'number'),
      imap_pass: d('imap_pass', 'choice'),
      oneapi_token: d('oneapi_token', 'boolean'),
      client_secret: d('client_secret', 'number'),
    };
    const values = Object.fromEntries(Object.keys(declared).map((k) => [k, `v-${k}`]));
    expect(inputsForDisplay(values, declared)).toEqual({
      number: 'v-number',
      email_server: 'v-email_server',
      upload_artifact: 'v-upload_artifact',
      email_configs: '***',
      note: '***',
      env: '***',
      use_config_file: '***',
      api_key_count: '***',
      imap_pass: '***',
      oneapi_token: '***',
      client_secret: '***',
    });
    expect(inputsForDisplay({ undeclared: 'x' }, {})).toEqual({ undeclared: '***' });
  });
});

describe('layering (issue 12 #7): imports only run down', () => {
  const SRC = resolve(import.meta.dirname, '..', 'src');
  const files = (dir: string): string[] =>
    readdirSync(join(SRC, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  const importsOf = (file: string): string[] => {
    const text = readFileSync(join(SRC, file), 'utf8');
    const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.[^']+)'/g)].map((m) => m[1]!);
    return specs.map((s) => relative(SRC, resolve(join(SRC, file, '..'), s)).replace(/\.js$/, '.ts'));
  };
  const above: Record<string, string[]> = {
    core: ['store/', 'github/', 'cursor/', 'services/', 'ui/', 'commands/', 'context.ts', 'cli.ts', 'config.ts'],
    github: ['services/', 'ui/', 'commands/', 'context.ts', 'cli.ts'],
    cursor: ['services/', 'ui/', 'commands/', 'context.ts', 'cli.ts'],
    store: ['services/', 'ui/', 'commands/', 'context.ts', 'cli.ts', 'github/', 'cursor/'],
    services: ['ui/', 'commands/', 'cli.ts'],
  };
  for (const [layer, forbidden] of Object.entries(above)) {
    it(`${layer}/ imports nothing from ${forbidden.join(', ')}`, () => {
      const bad = files(layer).flatMap((f) => importsOf(f).filter((i) => forbidden.some((p) => i.startsWith(p))).map((i) => `${f} → ${i}`));
      expect(bad).toEqual([]);
    });
  }
  it('rendering lives in ui/: team output is there', () => {
    expect(files('ui')).toContain(join('ui', 'team-output.ts'));
    expect(files('services')).not.toContain(join('services', 'team-output.ts'));
  });
});
