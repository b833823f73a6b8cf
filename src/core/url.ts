/**
 * Host policy for URLs: which hosts are loopback (plain http is fine there: the traffic never
 * leaves the machine) and which are private (a redirect from a public API must not lead there),
 * and how a URL is shown in a message (scheme and host only: user info, paths and queries can
 * carry credentials, webhook secrets or signatures).
 */
import type { BlockList } from 'node:net';
import { createRequire } from 'node:module';

/** A URL's hostname as an address or a lower-case name: `[::1]` → `::1`, `Host.` → `host`. */
function bareHost(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
}

const isLocalhostName = (h: string): boolean => h === 'localhost' || h.endsWith('.localhost');

/**
 * 127.0.0.0/8, ::1 (IPv4-mapped too), `localhost` and `*.localhost` (RFC 6761). Hostnames come from
 * the WHATWG URL parser, which already writes IPv4 in dotted decimal and IPv6 compressed, so plain
 * string tests suffice here (this runs in every command: node:net is not loaded for it).
 */
export function isLoopbackHost(hostname: string): boolean {
  const h = bareHost(hostname);
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)) return true;
  if (h === '::1' || /^::ffff:(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|7f[0-9a-f]{2}:[0-9a-f]{1,4})$/.test(h)) return true;
  return isLocalhostName(h);
}

let ranges: { net: typeof import('node:net'); privateRanges: BlockList } | undefined;

/** Loopback, private, link-local, shared (CGNAT), unspecified and other non-public ranges (built on first use). */
function privateRanges(): { net: typeof import('node:net'); privateRanges: BlockList } {
  if (ranges) return ranges;
  const net = createRequire(import.meta.url)('node:net') as typeof import('node:net');
  const list = new net.BlockList();
  for (const [addr, prefix] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
  ] as const) {
    list.addSubnet(addr, prefix, 'ipv4');
  }
  for (const [addr, prefix] of [
    ['::', 128],
    ['::1', 128],
    ['fc00::', 7],
    ['fe80::', 10],
    ['ff00::', 8],
  ] as const) {
    list.addSubnet(addr, prefix, 'ipv6');
  }
  ranges = { net, privateRanges: list };
  return ranges;
}

/** A host that is not on the public internet: loopback, private or link-local addresses, localhost names. */
export function isPrivateHost(hostname: string): boolean {
  const h = bareHost(hostname);
  const { net, privateRanges: list } = privateRanges();
  const family = net.isIP(h);
  if (family === 0) return isLocalhostName(h);
  return list.check(h, family === 6 ? 'ipv6' : 'ipv4');
}

/** `https://host:port` (plus `/…` when there was more): what a message may show of a URL. */
export function urlForDisplay(url: URL | string): string {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : url;
  } catch {
    return '(an invalid URL)';
  }
  if (!/^https?:$/.test(u.protocol)) return `${u.protocol}…`;
  const more = u.pathname !== '/' || u.search !== '' || u.hash !== '' ? '/…' : '';
  return `${u.protocol}//${u.host}${more}`;
}
