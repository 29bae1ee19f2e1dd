import { createHash, generateKeyPairSync, KeyObject, randomUUID, sign, verify } from 'node:crypto';

/** A decoded JWT: header and claims as JSON, the signed input and the signature bytes. */
export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

/** An RSA signing key with the JWK fields the Bot Framework key service publishes. */
export interface TeamsSigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** Base64url SHA-1 of the public key's DER: stands in for the certificate thumbprint the real key set carries. */
  x5t: string;
  endorsements: string[];
}

export function createSigningKey(endorsements: string[] = ['msteams'], kid: string = randomUUID().replace(/-/g, '')): TeamsSigningKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const x5t = createHash('sha1').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url');
  return { kid, privateKey, publicKey, x5t, endorsements };
}

const shared = new Map<string, TeamsSigningKey>();

/**
 * One key per name for the whole process. RSA key generation takes a noticeable fraction of a second; keys whose only
 * job is to differ from the published signing key (or to sign tokens only this simulator checks) need not be new per
 * simulator instance.
 */
export function sharedSigningKey(name: string, endorsements: string[]): TeamsSigningKey {
  let key = shared.get(name);
  if (!key) {
    key = createSigningKey(endorsements);
    shared.set(name, key);
  }
  return key;
}

/** The key as a JWK of the `/v1/.well-known/keys` set. */
export function toJwk(key: TeamsSigningKey): Record<string, unknown> {
  const jwk = key.publicKey.export({ format: 'jwk' });
  return { kty: 'RSA', use: 'sig', kid: key.kid, x5t: key.x5t, n: jwk.n, e: jwk.e, endorsements: key.endorsements };
}

export function signJwt(claims: Record<string, unknown>, key: Pick<TeamsSigningKey, 'kid' | 'privateKey' | 'x5t'>, extraHeader: Record<string, unknown> = {}): string {
  const header = { alg: 'RS256', typ: 'JWT', kid: key.kid, x5t: key.x5t, ...extraHeader };
  const input = `${base64UrlJson(header)}.${base64UrlJson(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key.privateKey).toString('base64url')}`;
}

/** Undefined when the text is not three base64url parts with JSON header and claims. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  const header = decodeJson(parts[0]);
  const claims = decodeJson(parts[1]);
  if (!header || !claims) return undefined;
  return { header, claims, signingInput: `${parts[0]}.${parts[1]}`, signature: Buffer.from(parts[2], 'base64url') };
}

/** RS256 only: the Bot Framework and Entra sign with it, and a client assertion in another algorithm is refused. */
export function verifyRs256(jwt: DecodedJwt, publicKey: KeyObject): boolean {
  if (jwt.header.alg !== 'RS256') return false;
  try {
    return verify('sha256', Buffer.from(jwt.signingInput), publicKey, jwt.signature);
  } catch {
    return false;
  }
}

export function base64UrlJson(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
