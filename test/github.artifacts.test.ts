/**
 * Artifact downloads (issue 13 #7) through the real octokit client and fetch, against a small
 * loopback server: redirects are followed by hand and each hop is checked (no data:, file: or other
 * schemes, a bounded number of hops, never the token), and a zip answered without a redirect is
 * read with the size cap applied while reading. The host policy itself (https only, no private
 * hosts unless the API is loopback) is checked on its pure function, since tests stay on 127.0.0.1.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createGitHubClient, type GitHubClient } from '../src/github/client.js';
import { downloadArtifact, redirectProblem, type ArtifactInfo } from '../src/github/artifacts.js';
import { IO } from '../src/ui/io.js';

const TOKEN = 'ghp_' + 'A1b2C3d4'.repeat(5);
const ARTIFACT: ArtifactInfo = { id: 7, name: 'Account Info', sizeInBytes: 100, expired: false, expiresAt: null };

interface Seen {
  path: string;
  authorization: string | undefined;
}

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse, base: string) => void): Promise<{ base: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  let base = '';
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    handler(req, res, base);
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { base, seen };
}

async function client(apiUrl: string): Promise<GitHubClient> {
  const io = new IO({ stdout: new PassThrough(), stderr: new PassThrough() });
  return createGitHubClient({ token: TOKEN, owner: 'o', repo: 'r', workflowId: 'w.yml', apiUrl, ref: undefined }, { io, retryBaseMs: 1 });
}

const ZIP_PATH = '/repos/o/r/actions/artifacts/7/zip';

describe('artifact download redirects', () => {
  it('refuses a data: URL in the API answer instead of "downloading" it', async () => {
    const zip = Buffer.from('PK\u0005\u0006'.padEnd(22, '\0'));
    const { base, seen } = await serve((req, res) => {
      res.writeHead(302, { location: `data:application/zip;base64,${zip.toString('base64')}` }).end();
    });
    const err = await downloadArtifact(await client(base), ARTIFACT, { attempts: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/redirected to a data: URL: refused/);
    expect(seen.map((s) => s.path)).toEqual([ZIP_PATH]);
  });

  it('checks every hop: a storage redirect to file: is refused, and the token never leaves the API request', async () => {
    const { base, seen } = await serve((req, res) => {
      if (req.url === ZIP_PATH) res.writeHead(302, { location: `${base}/blob/7?sig=abc` }).end();
      else res.writeHead(302, { location: 'file:///etc/passwd' }).end();
    });
    const err = await downloadArtifact(await client(base), ARTIFACT, { attempts: 1 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/redirected to a file: URL: refused/);
    expect(seen.map((s) => s.path)).toEqual([ZIP_PATH, '/blob/7?sig=abc']);
    expect(seen[0]!.authorization).toBe(`token ${TOKEN}`);
    expect(seen[1]!.authorization).toBeUndefined();
  });

  it('follows storage redirects by hand, without the token, and stops after a bounded number of hops', async () => {
    const { base, seen } = await serve((req, res) => {
      if (req.url === ZIP_PATH) res.writeHead(302, { location: `${base}/hop/0` }).end();
      else if (req.url === '/hop/2') res.writeHead(200, { 'content-type': 'application/zip' }).end('zip bytes');
      else res.writeHead(307, { location: `/hop/${Number(req.url!.split('/')[2]) + 1}` }).end();
    });
    const gh = await client(base);
    expect((await downloadArtifact(gh, ARTIFACT, { attempts: 1 })).toString()).toBe('zip bytes');
    expect(seen.filter((s) => s.path.startsWith('/hop/')).every((s) => s.authorization === undefined)).toBe(true);

    await new Promise<void>((r) => server!.close(() => r()));
    const loop = await serve((req, res) => {
      if (req.url === ZIP_PATH) res.writeHead(302, { location: `${loop.base}/again` }).end();
      else res.writeHead(302, { location: `${loop.base}/again` }).end();
    });
    const err = await downloadArtifact(await client(loop.base), ARTIFACT, { attempts: 1 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/redirected more than 5 times: refused/);
    expect(loop.seen.length).toBeLessThanOrEqual(7);
  });

  it('reads a zip answered without a redirect with the cap applied while reading', async () => {
    const total = 40 * 1024 * 1024;
    const chunk = Buffer.alloc(256 * 1024, 0x41);
    let sent = 0;
    let closed!: () => void;
    const gone = new Promise<void>((r) => (closed = r));
    const { base } = await serve((_req, res) => {
      // No content-length: only reading can tell the size.
      res.writeHead(200, { 'content-type': 'application/zip' });
      res.on('close', () => closed());
      const pump = (): void => {
        while (sent < total && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const err = await downloadArtifact(await client(base), ARTIFACT, { attempts: 1, maxBytes: 64 * 1024 }).catch((e: unknown) => e);
    expect((err as Error).message).toMatch(/over the 65536-byte limit: refused/);
    await gone;
    // The transfer stopped soon after the cap (socket buffers hold a few MiB at most).
    expect(sent).toBeLessThan(total / 2);
  });
});

describe('redirectProblem: the host policy of a hop', () => {
  const github = new URL('https://api.github.com');
  const local = new URL('http://127.0.0.1:8080');
  it('allows https storage hosts on the public internet', () => {
    expect(redirectProblem(new URL('https://productionresultssa1.blob.core.windows.net/x?sig=1'), github)).toBeUndefined();
  });
  it('refuses an https→http downgrade, other schemes, credentials, and private or loopback hosts', () => {
    expect(redirectProblem(new URL('http://productionresultssa1.blob.core.windows.net/x'), github)).toMatch(/plain http/);
    expect(redirectProblem(new URL('data:application/zip;base64,UEsFBg=='), github)).toMatch(/data: URL/);
    expect(redirectProblem(new URL('file:///etc/passwd'), github)).toMatch(/file: URL/);
    expect(redirectProblem(new URL('https://u:p@example.com/x'), github)).toMatch(/credentials/);
    for (const host of ['127.0.0.1', 'localhost', '[::1]', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '[fd00::1]', '[::ffff:127.0.0.1]', '0.0.0.0']) {
      expect(redirectProblem(new URL(`https://${host}/x`), github), host).toMatch(/private or loopback host/);
    }
  });
  it('allows http and loopback hosts only when the API itself is on loopback', () => {
    expect(redirectProblem(new URL('http://127.0.0.1:9000/blob/1'), local)).toBeUndefined();
    expect(redirectProblem(new URL('data:,x'), local)).toMatch(/data: URL/);
  });
});
