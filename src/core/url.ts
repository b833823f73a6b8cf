/**
 * Host policy for URLs: which hosts are loopback (plain http is fine there: the traffic never
 * leaves the machine) and which are private (a redirect from a public API must not lead there),
 * and how a URL is shown in a message (scheme and host only: user info, paths and queries can
 * carry credentials, webhook secrets or signatures).
 */
import { BlockList, isIP } from 'node:net';

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Loopback, private, link-local, shared (CGNAT), unspecified and other non-public ranges. */
const PRIVATE = new BlockList();
for (const [net, prefix] of [
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
  PRIVATE.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['ff00::', 8],
] as const) {
  PRIVATE.addSubnet(net, prefix, 'ipv6');
}

/** A URL's hostname as an address or a lower-case name: `[::1]` → `::1`, `Host.` → `host`. */
function bareHost(hostname: string): string {
  return hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
}

const isLocalhostName = (h: string): boolean => h === 'localhost' || h.endsWith('.localhost');

/** 127.0.0.0/8, ::1 (IPv4-mapped too), `localhost` and `*.localhost` (RFC 6761). */
export function isLoopbackHost(hostname: string): boolean {
  const h = bareHost(hostname);
  const family = isIP(h);
  if (family === 0) return isLocalhostName(h);
  return LOOPBACK.check(h, family === 6 ? 'ipv6' : 'ipv4');
}

/** A host that is not on the public internet: loopback, private or link-local addresses, localhost names. */
export function isPrivateHost(hostname: string): boolean {
  const h = bareHost(hostname);
  const family = isIP(h);
  if (family === 0) return isLocalhostName(h);
  return PRIVATE.check(h, family === 6 ? 'ipv6' : 'ipv4');
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
