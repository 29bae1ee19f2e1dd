import ipaddr from 'ipaddr.js';
import { isIP } from 'node:net';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** How the policy sees an address: reachable, reachable only where private networks are allowed, or never. */
type Reach = 'public' | 'private' | 'denied';

/** ipaddr.js range names of loopback and private networks; every named range not here (and not unicast) is denied. */
const PRIVATE_RANGES = new Set(['private', 'loopback', 'carrierGradeNat', 'uniqueLocal']);

/** Cloud metadata endpoints that sit inside ranges otherwise counted as private (Alibaba's, AWS's IPv6 one). */
const METADATA: Parameters<typeof ipaddr.subnetMatch>[1] = {
  metadata: [ipaddr.parseCIDR('100.100.100.200/32'), ipaddr.parseCIDR('fd00:ec2::254/128')],
};

/** Names of metadata services, refused by name since host names are not resolved at write time. */
const DENIED_HOSTNAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata', 'instance-data', 'instance-data.ec2.internal']);

const PROBLEM: Record<Exclude<Reach, 'public'>, string> = {
  private: 'points at a private or loopback address',
  denied: 'points at a link-local or reserved address',
};

/**
 * Checks a URL the service will request (service URLs, callbacks, links, redirect targets). Literal addresses are
 * judged by range; host names are not resolved here (`guardedLookup` judges what they resolve to when a connection is
 * made), so the well-known metadata names are refused by name. Returns a problem message, or null when acceptable.
 */
export function checkOutboundUrl(raw: string, allowPrivateNetworks: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must use http or https';
  if (url.username || url.password) return 'must not carry credentials; use the credential settings';
  const host = outboundHost(url.hostname);
  if (host === '') return 'must name a host';
  if (DENIED_HOSTNAMES.has(host)) return 'points at a cloud metadata service';
  if (isIP(host)) return checkOutboundAddress(host, allowPrivateNetworks);
  if (!allowPrivateNetworks && (host === 'localhost' || host.endsWith('.localhost'))) return PROBLEM.private;
  return null;
}

/**
 * A URL's host name as a connection sees it: without the brackets of an IPv6 literal, lower case, and without the
 * trailing dots of a fully qualified name (`metadata.google.internal.` is `metadata.google.internal`).
 */
export function outboundHost(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, '').toLowerCase().replace(/\.+$/, '');
}

/**
 * Checks an IP address an outbound request is about to connect to: the literal of a URL, or what a host name resolved
 * to (see `outbound-http.ts`). An IPv4 address carried in an IPv6 one (mapped, compatible, NAT64, 6to4, Teredo) is
 * judged as that IPv4 address. Returns a problem message, or null when the address is acceptable.
 */
export function checkOutboundAddress(address: string, allowPrivateNetworks: boolean): string | null {
  if (!isIP(address)) return 'is not an IP address';
  const reach = reachOf(ipaddr.parse(address));
  if (reach === 'public' || (reach === 'private' && allowPrivateNetworks)) return null;
  return PROBLEM[reach];
}

function reachOf(address: Address): Reach {
  if (ipaddr.subnetMatch(address, METADATA, 'other') === 'metadata') return 'denied';
  if (address.kind() === 'ipv6') {
    const carried = carriedIPv4(address as ipaddr.IPv6);
    if (carried.length > 0) return carried.map(reachOf).reduce(worse);
  }
  const range = address.range();
  if (range === 'unicast') return 'public';
  return PRIVATE_RANGES.has(range) ? 'private' : 'denied';
}

function worse(a: Reach, b: Reach): Reach {
  return a === 'denied' || b === 'denied' ? 'denied' : a === 'private' || b === 'private' ? 'private' : 'public';
}

/**
 * The IPv4 addresses an IPv6 address carries, by the forms that deliver to them: IPv4-mapped and -translated
 * (::ffff:a.b.c.d, ::ffff:0:a.b.c.d), IPv4-compatible (::a.b.c.d), NAT64 (RFC 6052), 6to4 (2002:AABB:CCDD::) and
 * Teredo (its server, and its client stored inverted). Empty for an address that carries none.
 */
function carriedIPv4(address: ipaddr.IPv6): ipaddr.IPv4[] {
  const bytes = address.toByteArray();
  const v4 = (...at: number[]) => new ipaddr.IPv4(at.map((i) => bytes[i]));
  const last = v4(12, 13, 14, 15);
  switch (address.range()) {
    case 'ipv4Mapped':
    case 'rfc6145':
      return [last];
    case 'rfc6052':
      return nat64(bytes, v4);
    case '6to4':
      return [v4(2, 3, 4, 5)];
    case 'teredo':
      return [v4(4, 5, 6, 7), new ipaddr.IPv4(bytes.slice(12).map((byte) => byte ^ 0xff))];
    case 'unicast':
      // ::/96 past :: and ::1 (ipaddr.js names those two and leaves the rest unnamed).
      return bytes.slice(0, 12).every((byte) => byte === 0) ? [last] : [];
    default:
      return [];
  }
}

/**
 * The well-known prefix 64:ff9b::/96 carries its IPv4 address in the last 32 bits. The local-use 64:ff9b:1::/48 may be
 * cut into a translator prefix of any RFC 6052 length from 48 to 96 bits: every layout whose reserved octet and
 * suffix are zero, as that length would write them, is a possible reading, and all of them are judged.
 */
function nat64(bytes: number[], v4: (...at: number[]) => ipaddr.IPv4): ipaddr.IPv4[] {
  const readings = [v4(12, 13, 14, 15)];
  // 64:ff9b::/96, the well-known prefix: its third group is 0 (the local-use prefix's is 1).
  if (bytes[4] === 0 && bytes[5] === 0) return readings;
  // Byte positions of the IPv4 address per prefix length (bits 64-71 are the reserved octet), then the suffix's start.
  const layouts: Array<[number[], number]> = [
    [[6, 7, 9, 10], 11],
    [[7, 9, 10, 11], 12],
    [[9, 10, 11, 12], 13],
  ];
  for (const [at, suffix] of layouts) {
    if (bytes[8] === 0 && bytes.slice(suffix).every((byte) => byte === 0)) readings.push(v4(...at));
  }
  return readings;
}
