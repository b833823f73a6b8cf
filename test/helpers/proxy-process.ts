/**
 * The fake proxy (test/fake-proxy.ts) as a real running process laid out like the Cursor-To-OpenAI
 * proxy: `<dir>/package.json` named `cursor-to-openai`, started as `node src/app.js` with `<dir>` as
 * its working directory and its pool in `<dir>/data/`. The running-proxy guard must find it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT } from './cli.js';

export interface ProxyProcess {
  child: ChildProcess;
  pid: number;
  url: string;
  stop(): Promise<void>;
}

export interface ProxyProcessOptions {
  /** package.json name (default `cursor-to-openai`, as the proxy and its forks are named). */
  packageName?: string;
  /** The entry script, relative to dir (default `src/app.js`). */
  script?: string;
  admin?: { username: string; password: string };
  jwtSecret?: string;
}

/** Lay out `dir` as the proxy's project folder and start it; resolves once it listens. */
export async function startProxyProcess(dir: string, opts: ProxyProcessOptions = {}): Promise<ProxyProcess> {
  const script = opts.script ?? 'src/app.js';
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: opts.packageName ?? 'cursor-to-openai', version: '1.3.0', type: 'module', scripts: { start: `node ${script}` } }, null, 2)}\n`,
  );
  const source = readFileSync(join(ROOT, 'test', 'fake-proxy.ts'), 'utf8');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  writeFileSync(join(dir, 'src', 'fake-proxy.js'), js);
  const admin = opts.admin ?? { username: 'admin', password: 'admin-password' };
  writeFileSync(
    join(dir, script),
    [
      "import { FakeProxy } from './fake-proxy.js';",
      `const proxy = await FakeProxy.start({ dir: process.cwd(), admin: ${JSON.stringify(admin)}, jwtSecret: ${JSON.stringify(opts.jwtSecret ?? 'test-jwt-secret')} });`,
      "process.stdout.write(`listening ${proxy.port}\\n`);",
      "process.on('SIGTERM', () => proxy.close().then(() => process.exit(0)));",
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [script], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`fake proxy exited early (${code})`)));
  });
  return {
    child,
    pid: child.pid!,
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Log in to a proxy as its admin and call one admin route (what an operator's browser does). */
export async function adminCall(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  admin = { username: 'admin', password: 'admin-password' },
): Promise<unknown> {
  const login = (await (await fetch(`${url}/v1/admin/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(admin) })).json()) as {
    token: string;
  };
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${login.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.json();
}
