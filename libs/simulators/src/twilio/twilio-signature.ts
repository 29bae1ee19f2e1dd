import { createHmac } from 'node:crypto';

/** Form parameters as sent on the wire: a name may repeat (`MediaUrl`), order as given. */
export type TwilioParams = Array<[string, string]>;

/**
 * `X-Twilio-Signature`: Base64(HMAC-SHA1(auth token, url + each parameter's name and value, sorted by name)), as
 * https://www.twilio.com/docs/usage/security#validating-requests describes. A repeated name contributes each of its
 * distinct values in sorted order. Values are signed decoded (a `+` in a phone number is a plus).
 */
export function twilioSignature(authToken: string, url: string, params: TwilioParams): string {
  const byName = new Map<string, Set<string>>();
  for (const [name, value] of params) {
    const values = byName.get(name) ?? new Set<string>();
    values.add(value);
    byName.set(name, values);
  }
  let data = url;
  for (const name of [...byName.keys()].sort()) for (const value of [...byName.get(name)!].sort()) data += name + value;
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/** The URL with the scheme's default port written out (`https://host:443/path`), or as it is when it names a port. */
export function withDefaultPort(url: string): string {
  const match = /^(https?:\/\/)([^/?#]*)(.*)$/i.exec(url);
  if (!match || /:\d+$/.test(match[2].replace(/^\[.*\]/, ''))) return url;
  return `${match[1]}${match[2]}${match[1].toLowerCase() === 'https://' ? ':443' : ':80'}${match[3]}`;
}

/** The URL without any port in its authority. */
export function withoutPort(url: string): string {
  const match = /^(https?:\/\/)([^/?#]*)(.*)$/i.exec(url);
  if (!match) return url;
  const bracket = match[2].lastIndexOf(']');
  const colon = match[2].indexOf(':', bracket + 1);
  return `${match[1]}${colon < 0 ? match[2] : match[2].slice(0, colon)}${match[3]}`;
}
