/**
 * Artifacts of a run (SPEC §5.5–6): list (retrying while the artifact has not appeared yet),
 * choose, refuse expired or oversized ones, download. The API answers the download with a
 * redirect to a storage host; the redirect is not followed by octokit (it would carry the
 * token): its Location is checked and fetched with a plain request without credentials, and so
 * is every further hop.
 */
import { isIP } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { isLoopbackHost, isPrivateHost, urlForDisplay } from '../core/url.js';
import { OperationalError } from '../errors.js';
import { statusOf, type GitHubClient } from './client.js';

export const MAX_ARTIFACT_BYTES = 50 * 1024 * 1024;
export const DEFAULT_ARTIFACT_NAME = 'Account Info';

export interface ArtifactInfo {
  id: number;
  name: string;
  sizeInBytes: number;
  expired: boolean;
  expiresAt: string | null;
}

interface RawArtifact {
  id: number;
  name: string;
  size_in_bytes: number;
  expired: boolean;
  expires_at?: string | null;
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(Math.max(0, ms), undefined, signal ? { signal } : {});
  } catch (e) {
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : e;
    throw e;
  }
}

export async function listArtifacts(gh: GitHubClient, runId: number): Promise<ArtifactInfo[]> {
  const { data } = await gh.call(`artifacts of run ${runId}`, () =>
    gh.octokit.request('GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts', { ...gh.repo, run_id: runId, per_page: 100 }),
  );
  return (data.artifacts as RawArtifact[]).map((a) => ({
    id: a.id,
    name: a.name,
    sizeInBytes: a.size_in_bytes,
    expired: a.expired,
    expiresAt: a.expires_at ?? null,
  }));
}

export interface ChooseOptions {
  /** ARTIFACT_NAME (case-insensitive). */
  name: string;
  /** How long to keep listing while the artifact has not appeared (s). */
  waitSec: number;
  /** Pause between listings (s). */
  everySec: number;
  runUrl?: string;
}

/**
 * Pick the artifact by name (case-insensitive), or else the only one; undefined when none fits
 * (yet). A configured name is preferred, but a run with a single artifact uses it whatever its
 * name (.env.example sets ARTIFACT_NAME, and forks rename the artifact).
 */
export function pickArtifact(list: ArtifactInfo[], name: string): ArtifactInfo | undefined {
  const wanted = name.toLowerCase();
  return list.find((a) => a.name.toLowerCase() === wanted) ?? (list.length === 1 ? list[0] : undefined);
}

/**
 * The run's artifact to harvest. Artifacts can appear a little after the run completes, so an
 * empty (or not yet matching) listing is retried for up to `waitSec`. Expired or oversized
 * artifacts are refused (exit 1).
 */
export async function chooseArtifact(gh: GitHubClient, runId: number, opts: ChooseOptions): Promise<ArtifactInfo> {
  const deadline = Date.now() + opts.waitSec * 1000;
  let list: ArtifactInfo[] = [];
  let announced = false;
  for (;;) {
    list = await listArtifacts(gh, runId);
    const chosen = pickArtifact(list, opts.name);
    if (chosen) {
      if (chosen.name.toLowerCase() !== opts.name.toLowerCase()) {
        gh.io.info(`run ${runId} has one artifact, "${chosen.name}" (not "${opts.name}"): using it`);
      }
      if (chosen.expired) {
        throw new OperationalError(
          `artifact "${chosen.name}" (id ${chosen.id}) of run ${runId} has expired${chosen.expiresAt ? ` (${chosen.expiresAt})` : ''}`,
          'artifacts are kept for a limited time (Cursor-Register: 1 day); start a new run with cookie-pool refresh',
        );
      }
      if (chosen.sizeInBytes > MAX_ARTIFACT_BYTES) {
        throw new OperationalError(
          `artifact "${chosen.name}" (id ${chosen.id}) of run ${runId} is ${(chosen.sizeInBytes / 1048576).toFixed(1)} MiB, over the 50 MiB limit: refused`,
        );
      }
      return chosen;
    }
    if (Date.now() >= deadline) break;
    if (!announced) {
      gh.io.info(`waiting for the artifact of run ${runId} to appear (up to ${opts.waitSec} s)`);
      announced = true;
    }
    await pause(Math.min(opts.everySec * 1000, Math.max(0, deadline - Date.now())), gh.signal);
  }
  const names = list.map((a) => `"${a.name}"`).join(', ');
  throw new OperationalError(
    list.length === 0
      ? `run ${runId} has no artifacts (waited ${opts.waitSec} s)${opts.runUrl ? `: ${opts.runUrl}` : ''}`
      : `run ${runId} has no artifact named "${opts.name}" (it has ${names})`,
    list.length === 0
      ? 'the workflow uploads its CSV files only with upload_artifact=true (REGISTER_UPLOAD_ARTIFACT=true)'
      : 'set ARTIFACT_NAME to the artifact that holds the account CSV files',
  );
}

export interface DownloadOptions {
  maxBytes?: number;
  /** Attempts for transient failures (default 3). */
  attempts?: number;
  /** Back-off base between attempts, ms (default 1000: 1 s, 4 s). */
  retryBaseMs?: number;
  /** Timeout of one storage download, ms (default 5 min). */
  timeoutMs?: number;
}

/** Redirects followed from the API's answer to the bytes (GitHub uses one; storage may add one). */
export const MAX_REDIRECTS = 5;

class TransientError extends Error {}

/**
 * Why a redirect to `url` must not be followed, or undefined when it may be: https only (plain
 * http, and private or loopback hosts, only when the API itself is on loopback, as a test or
 * local mirror is), no `data:`, `file:` or other schemes, no credentials in the URL. The hop is
 * fetched without the token whatever its host.
 */
export function redirectProblem(url: URL, apiUrl: URL): string | undefined {
  const local = isLoopbackHost(apiUrl.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    return url.protocol === 'http:' ? 'plain http (a downgrade from https)' : `a ${url.protocol} URL`;
  }
  if (url.username !== '' || url.password !== '') return 'a URL with credentials in it';
  if (!local && isPrivateHost(url.hostname)) return `a private or loopback host (${url.hostname})`;
  return undefined;
}

/** A host name that resolves to a private address is refused like a private address. */
async function resolvedProblem(url: URL, apiUrl: URL): Promise<string | undefined> {
  if (isLoopbackHost(apiUrl.hostname) || isIP(url.hostname.replace(/^\[(.*)\]$/, '$1')) !== 0) return undefined;
  const { lookup } = await import('node:dns/promises');
  let addresses: { address: string }[];
  try {
    addresses = await lookup(url.hostname, { all: true });
  } catch (e) {
    throw new TransientError(`cannot resolve the storage host ${url.hostname}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const inner = addresses.find((a) => isPrivateHost(a.address));
  return inner ? `a host that resolves to a private address (${url.hostname} → ${inner.address})` : undefined;
}

/** Read a body, refusing it as soon as it passes `maxBytes` (the declared length is checked first). */
async function readCapped(body: ReadableStream<Uint8Array> | null, declaredLength: string | null | undefined, maxBytes: number, what: string): Promise<Buffer> {
  const declared = Number(declaredLength);
  if (declaredLength != null && Number.isFinite(declared) && declared > maxBytes) {
    await body?.cancel().catch(() => undefined);
    throw new OperationalError(`${what} is ${declared} bytes, over the ${maxBytes}-byte limit: refused`);
  }
  if (!body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let total = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) throw new OperationalError(`${what} is over the ${maxBytes}-byte limit: refused`);
      chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    }
  } catch (e) {
    // Stop the transfer: nothing more of an oversized (or failed) body is read.
    await reader.cancel().catch(() => undefined);
    throw e;
  }
  return Buffer.concat(chunks, total);
}

/**
 * Download an artifact's zip. The API's redirect is read, not followed, so the token is sent to
 * GITHUB_API_URL only; the storage URL (signed, short-lived) is fetched without credentials, and
 * every further redirect is checked before it is followed (redirectProblem). Bodies are read with
 * the size cap applied while reading. Transient failures (network, 5xx, a storage URL that
 * expired) are retried from the API.
 */
export async function downloadArtifact(gh: GitHubClient, artifact: ArtifactInfo, opts: DownloadOptions = {}): Promise<Buffer> {
  const maxBytes = opts.maxBytes ?? MAX_ARTIFACT_BYTES;
  const attempts = opts.attempts ?? 3;
  const base = opts.retryBaseMs ?? 1000;
  const what = `artifact "${artifact.name}" (id ${artifact.id})`;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await downloadOnce(gh, artifact, maxBytes, what, opts.timeoutMs ?? 5 * 60_000);
    } catch (e) {
      if (!(e instanceof TransientError)) throw e;
      lastError = e;
      if (attempt < attempts) {
        gh.io.warn(`${e.message}; retrying (${attempt}/${attempts - 1})`);
        await pause(base * attempt * attempt, gh.signal);
      }
    }
  }
  throw new OperationalError(`could not download ${what}: ${lastError?.message ?? 'unknown error'}`);
}

async function downloadOnce(gh: GitHubClient, artifact: ArtifactInfo, maxBytes: number, what: string, timeoutMs: number): Promise<Buffer> {
  const res = await gh.call(`the download of ${what}`, async () => {
    try {
      return await gh.octokit.request('GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}', {
        ...gh.repo,
        artifact_id: artifact.id,
        archive_format: 'zip',
        // The body stays a stream: a server that answers with the zip itself is read with the cap.
        request: { redirect: 'manual', parseSuccessResponseBody: false },
      });
    } catch (e) {
      if (statusOf(e) === 410) {
        throw new OperationalError(`${what} has expired (410 Gone)`, 'start a new run with cookie-pool refresh');
      }
      throw e;
    }
  });
  const body = (res.data ?? null) as unknown as ReadableStream<Uint8Array> | null;
  if (res.status < 300 || res.status >= 400) return readCapped(body, res.headers['content-length'] as string | undefined, maxBytes, what);
  await body?.cancel().catch(() => undefined);
  const location = res.headers.location;
  if (typeof location !== 'string' || location === '') throw new TransientError(`the download of ${what} redirected nowhere`);
  return fetchStorage(gh, location, maxBytes, what, timeoutMs);
}

/** Follow the storage redirects by hand, each hop checked, never with the token. */
async function fetchStorage(gh: GitHubClient, location: string, maxBytes: number, what: string, timeoutMs: number): Promise<Buffer> {
  const apiUrl = new URL(gh.settings.apiUrl);
  const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(gh.signal ? [gh.signal] : [])]);
  let url: URL;
  try {
    url = new URL(location, gh.settings.apiUrl);
  } catch {
    throw new OperationalError(`the download of ${what} was redirected to an invalid URL`);
  }
  for (let hop = 1; ; hop++) {
    const problem = redirectProblem(url, apiUrl) ?? (await resolvedProblem(url, apiUrl));
    if (problem) {
      throw new OperationalError(
        `the download of ${what} was redirected to ${problem}: refused (${urlForDisplay(url)})`,
        'artifacts are only fetched from https storage hosts on the public internet; check GITHUB_API_URL',
      );
    }
    gh.io.debug(`storage: GET ${urlForDisplay(url)} (without credentials)`);
    let storage: Response;
    try {
      // No Authorization header: the signed URL is the credential.
      storage = await fetch(url, { redirect: 'manual', signal, headers: { 'user-agent': 'cookie-pool/0.1.0' } });
    } catch (e) {
      if (gh.signal?.aborted) throw gh.signal.reason instanceof Error ? gh.signal.reason : e;
      throw new TransientError(`the download of ${what} failed: ${((e as Error).cause as Error | undefined)?.message ?? (e as Error).message}`);
    }
    gh.io.debug(`storage: → ${storage.status}`);
    if (storage.status >= 300 && storage.status < 400 && storage.headers.has('location')) {
      await storage.body?.cancel().catch(() => undefined);
      if (hop > MAX_REDIRECTS) throw new OperationalError(`the download of ${what} was redirected more than ${MAX_REDIRECTS} times: refused`);
      try {
        url = new URL(storage.headers.get('location')!, url);
      } catch {
        throw new OperationalError(`the download of ${what} was redirected to an invalid URL`);
      }
      continue;
    }
    if (storage.status >= 500 || storage.status === 403 || storage.status === 408 || storage.status === 429) {
      await storage.body?.cancel().catch(() => undefined);
      throw new TransientError(`the storage host answered ${storage.status} for ${what}`);
    }
    if (!storage.ok) {
      await storage.body?.cancel().catch(() => undefined);
      throw new OperationalError(`the storage host answered ${storage.status} for ${what}`);
    }
    return readCapped(storage.body, storage.headers.get('content-length'), maxBytes, what);
  }
}
