import { createPublicKey, generateKeyPairSync, JsonWebKey, KeyObject, randomBytes, sign, verify } from 'node:crypto';
import { crc32 } from 'node:zlib';

/** A public RSA key as 8x8 serves it at `/chat-gateway/v1/jwk/{kid}/public`. */
export interface EightByEightPublicJwk {
  kty: 'RSA';
  e: string;
  kid: string;
  n: string;
}

/** The values an 8x8 webhook signature covers, besides the body. */
export interface EightByEightSignatureFields {
  tenantId: string;
  customerId: string;
  eventId: string;
  retry: number;
  transmissionTime: number;
}

/**
 * The signing keys of the simulator. A rotation makes a new key current and keeps serving the old ones, as a
 * real key set would, so deliveries already signed stay verifiable and a client meets an unknown `kid`.
 */
export class EightByEightSigningKeys {
  private readonly keys = new Map<string, { privateKey: KeyObject; jwk: EightByEightPublicJwk }>();
  private current = '';
  /** Every kid asked for at the JWK endpoints, known or not, in order: what a verifier's key fetches cost 8x8. */
  readonly requested: string[] = [];

  constructor(private readonly modulusLength = 2048) {
    this.rotate();
  }

  /** The `kid` new signatures use. */
  get currentKid(): string {
    return this.current;
  }

  get kids(): string[] {
    return [...this.keys.keys()];
  }

  /** Generates a new key and makes it current; returns its `kid`. */
  rotate(): string {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: this.modulusLength });
    // 16 random bytes in base64url: the 22-character shape of the kid in 8x8's example.
    const kid = randomBytes(16).toString('base64url');
    const exported = publicKey.export({ format: 'jwk' });
    this.keys.set(kid, { privateKey, jwk: { kty: 'RSA', e: exported.e as string, kid, n: exported.n as string } });
    this.current = kid;
    return kid;
  }

  publicJwk(kid: string): EightByEightPublicJwk | undefined {
    return this.keys.get(kid)?.jwk;
  }

  /** The `x-8x8-signature` value for a body sent with these header values. */
  sign(body: Buffer, fields: EightByEightSignatureFields): string {
    const key = this.keys.get(this.current);
    if (!key) throw new Error('No signing key');
    const header = encodeProtectedHeader(this.current);
    const signature = sign('sha256', Buffer.from(`${header}.${signaturePayload(body, fields)}`), key.privateKey);
    return `${header}..${signature.toString('base64url')}`;
  }
}

/**
 * The signed payload (8x8 webhook signature validation): compact JSON with the keys in exactly this order. The checksum
 * is the CRC32 of the raw body bytes (not of a re-serialized JSON), printed in decimal.
 */
export function signaturePayload(body: Buffer, fields: EightByEightSignatureFields): string {
  return JSON.stringify({
    checksum: crc32(body),
    cid: fields.customerId,
    eid: fields.eventId,
    retry: fields.retry,
    tid: fields.tenantId,
    tt: fields.transmissionTime,
  });
}

function encodeProtectedHeader(kid: string): string {
  // RFC 7797: b64=false (the payload is signed as is, never base64url-encoded) and it must be listed in crit.
  return Buffer.from(JSON.stringify({ b64: false, crit: ['b64'], kid, alg: 'RS256' })).toString('base64url');
}

/** Outcome of verifying an 8x8 webhook signature. */
export interface EightByEightSignatureCheck {
  valid: boolean;
  kid?: string;
  reason?: string;
}

type HeaderSource = Headers | Record<string, string | string[] | undefined>;

function header(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((candidate) => candidate.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : value;
}

/** The `kid` of an `x-8x8-signature` value, so a receiver knows which public key to fetch. */
export function readSignatureKid(signature: string): string | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(signature.split('.')[0], 'base64url').toString('utf8')) as { kid?: unknown };
    return typeof parsed.kid === 'string' ? parsed.kid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Verifies an 8x8 webhook signature from the request headers, the raw body and the public JWK. Meant for the
 * simulator's own tests and for integrators checking their setup; the gateway has its own verifier.
 */
export function verifyEightByEightSignature(headers: HeaderSource, rawBody: Buffer | string, jwk: JsonWebKey): EightByEightSignatureCheck {
  const signature = header(headers, 'x-8x8-signature');
  if (!signature) return { valid: false, reason: 'missing x-8x8-signature' };
  const parts = signature.split('.');
  if (parts.length !== 3 || parts[1] !== '') return { valid: false, reason: 'not a detached compact JWS' };
  let protectedHeader: { alg?: string; b64?: boolean; crit?: string[]; kid?: string };
  try {
    protectedHeader = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
  } catch {
    return { valid: false, reason: 'unreadable protected header' };
  }
  const kid = protectedHeader.kid;
  if (protectedHeader.alg !== 'RS256') return { valid: false, kid, reason: `unexpected alg ${protectedHeader.alg}` };
  if (protectedHeader.b64 !== false || !protectedHeader.crit?.includes('b64')) return { valid: false, kid, reason: 'payload is not unencoded (b64)' };
  if (jwk.kid !== undefined && jwk.kid !== kid) return { valid: false, kid, reason: `key ${jwk.kid} does not match kid ${kid}` };
  const fields: Partial<Record<keyof EightByEightSignatureFields, string>> = {
    tenantId: header(headers, 'x-8x8-tenant-id'),
    customerId: header(headers, 'x-8x8-customer-id'),
    eventId: header(headers, 'x-8x8-event-id'),
    retry: header(headers, 'x-8x8-retry'),
    transmissionTime: header(headers, 'x-8x8-transmission-time'),
  };
  const missing = Object.entries(fields).find(([, value]) => value === undefined);
  if (missing) return { valid: false, kid, reason: `missing header for ${missing[0]}` };
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody) : rawBody;
  const payload = signaturePayload(body, {
    tenantId: fields.tenantId!,
    customerId: fields.customerId!,
    eventId: fields.eventId!,
    retry: Number(fields.retry),
    transmissionTime: Number(fields.transmissionTime),
  });
  try {
    const key = createPublicKey({ key: jwk, format: 'jwk' });
    const valid = verify('sha256', Buffer.from(`${parts[0]}.${payload}`), key, Buffer.from(parts[2], 'base64url'));
    return valid ? { valid, kid } : { valid, kid, reason: 'signature mismatch' };
  } catch (error) {
    return { valid: false, kid, reason: (error as Error).message };
  }
}
