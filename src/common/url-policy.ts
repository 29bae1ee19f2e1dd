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
  const version = isIP(host);
  if (version === 4) {
    if (ALWAYS_DENIED_V4.some((range) => inRange(host, range))) return 'points at a link-local or reserved address';
    if (!allowPrivateNetworks && PRIVATE_V4.some((range) => inRange(host, range))) return 'points at a private or loopback address';
  } else if (version === 6) {
    if (host.startsWith('fe80:') || host === '::' || host.startsWith('fd00:ec2')) return 'points at a link-local or reserved address';
    if (!allowPrivateNetworks && (host === '::1' || host.startsWith('fc') || host.startsWith('fd'))) return 'points at a private or loopback address';
  } else if (!allowPrivateNetworks && (host === 'localhost' || host.endsWith('.localhost'))) {
    return 'points at a private or loopback address';
  }
  return null;
}
