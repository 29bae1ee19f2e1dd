import { createHmac, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '@app/gateway-sdk';

/**
 * X-Twilio-Signature (https://www.twilio.com/docs/usage/security#validating-requests): Base64 of HMAC-SHA1, keyed by
 * the Auth Token, over the full URL Twilio requested (with its query string) followed by every POST parameter's name
 * and value, sorted by name. A repeated name contributes each distinct value, sorted.
 */
export function expectedSignature(authToken: string, url: string, params: Array<[string, string]>): string {
  const byName = new Map<string, Set<string>>();
  for (const [name, value] of params) byName.set(name, (byName.get(name) ?? new Set<string>()).add(value));
  let data = url;
  for (const name of [...byName.keys()].sort()) for (const value of [...byName.get(name)!].sort()) data += name + value;
  return createHmac('sha1', authToken).update(data, 'utf8').digest('base64');
}

/**
 * The forms of a URL Twilio may have signed: as given, without its port, and with the scheme's default port written
 * out. Twilio's own validators accept all of them, since a URL configured as https://host/ may reach a server that
 * sees https://host:443/ and the reverse.
 */
export function signedUrlCandidates(url: string): string[] {
  const match = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/i.exec(url);
  if (!match) return [url];
  const [, scheme, authority, rest] = match;
  const at = authority.lastIndexOf('@') + 1;
  const hostPort = authority.slice(at);
  const colon = hostPort.indexOf(':', hostPort.lastIndexOf(']') + 1);
  const host = authority.slice(0, at) + (colon < 0 ? hostPort : hostPort.slice(0, colon));
  const defaultPort = scheme.toLowerCase() === 'https://' ? ':443' : ':80';
  return [...new Set([url, scheme + host + rest, colon < 0 ? scheme + host + defaultPort + rest : url])];
}

/** Throws `auth_failed` unless the signature matches one of the tokens over one form of one of the URLs. */
export function verifyTwilioSignature(signature: string | undefined, urls: string[], params: Array<[string, string]>, authTokens: string[]): void {
  if (!signature) throw new GatewayError('auth_failed', 'Twilio webhook without X-Twilio-Signature');
  const given = Buffer.from(signature);
  for (const url of urls) {
    for (const candidate of signedUrlCandidates(url)) {
      for (const token of authTokens) {
        const expected = Buffer.from(expectedSignature(token, candidate, params));
        if (expected.length === given.length && timingSafeEqual(expected, given)) return;
      }
    }
  }
  throw new GatewayError('auth_failed', 'Twilio webhook signature does not match the Auth Token and the webhook URL');
}
