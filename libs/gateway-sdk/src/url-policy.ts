import { isIP } from 'node:net';

/** Addresses never allowed as operator-configured targets: link-local (cloud metadata lives there) and unspecified. */
const ALWAYS_DENIED_V4 = [
  ['169.254.0.0', 16],
  ['0.0.0.0', 8],
  ['100.100.100.200', 32],
] as const;
const PRIVATE_V4 = [
  ['10.0.0.0', 8],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['127.0.0.0', 8],
  ['100.64.0.0', 10],
] as const;
const DENIED_HOSTNAMES = new Set(['metadata.google.internal', 'metadata', 'instance-data']);

function v4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, part) => (acc << 8) + Number(part), 0) >>> 0;
}

function inRange(ip: string, [base, bits]: readonly [string, number]): boolean {
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (v4ToInt(ip) & mask) === (v4ToInt(base) & mask);
}

/**
 * Checks a URL an operator configures (service URLs, callbacks). Literal addresses are checked by range; host names
 * are not resolved here, so the well-known metadata names are refused by name.
 * Returns a problem message, or null when the URL is acceptable.
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
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (DENIED_HOSTNAMES.has(host)) return 'points at a cloud metadata service';
  if (isIP(host)) return checkOutboundAddress(host, allowPrivateNetworks);
  if (!allowPrivateNetworks && (host === 'localhost' || host.endsWith('.localhost'))) return 'points at a private or loopback address';
  return null;
}

/**
 * Checks an IP address an outbound request is about to connect to: the literal of a URL, or what a host name resolved
 * to (see `outbound-http.ts`). Returns a problem message, or null when the address is acceptable.
 */
export function checkOutboundAddress(address: string, allowPrivateNetworks: boolean): string | null {
  const ip = address.toLowerCase();
  // An IPv4 address written as IPv6 (::ffff:a.b.c.d, or ::ffff:abcd:ef01 as URLs normalize it) is that IPv4 address.
  const mapped = mappedV4(ip);
  const version = mapped ? 4 : isIP(ip);
  if (version === 4) {
    const v4 = mapped ?? ip;
    if (ALWAYS_DENIED_V4.some((range) => inRange(v4, range))) return 'points at a link-local or reserved address';
    if (!allowPrivateNetworks && PRIVATE_V4.some((range) => inRange(v4, range))) return 'points at a private or loopback address';
    return null;
  }
  if (version === 6) {
    if (ip.startsWith('fe80:') || ip === '::' || ip.startsWith('fd00:ec2')) return 'points at a link-local or reserved address';
    if (!allowPrivateNetworks && (ip === '::1' || ip.startsWith('fc') || ip.startsWith('fd'))) return 'points at a private or loopback address';
    return null;
  }
  return 'is not an IP address';
}

function mappedV4(ip: string): string | undefined {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(ip);
  if (dotted) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ip);
  if (!hex) return undefined;
  const [high, low] = [parseInt(hex[1], 16), parseInt(hex[2], 16)];
  return `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;
}
