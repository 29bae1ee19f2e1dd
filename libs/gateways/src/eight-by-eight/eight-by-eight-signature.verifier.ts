import { createPublicKey, KeyObject, verify } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { GatewayError, TokenCache } from '@app/gateway-sdk';

/** The `x-8x8-*` headers a signed delivery carries (8x8 webhook signature validation), read and checked. */
export interface EightByEightDelivery {
  eventId: string;
  customerId: string;
  tenantId: string;
  retry: number;
  transmissionTime: number;
  kid: string;
}

/** What the verifier needs around it: the key source and cache, and the freshness and tenant rules. */
export interface SignatureVerifierOptions {
  tokens: TokenCache;
  /** URL of the public JWK of a key id (also the cache key). */
  jwkUrl(kid: string): string;
  /** Fetches a JWK; undefined when 8x8 does not know the key. */
  fetchJwk(url: string): Promise<Record<string, unknown> | undefined>;
  /** When set, the delivery's x-8x8-tenant-id must equal it. */
  tenantId?: string;
  maxAgeSeconds: number;
  /** Clock skew tolerated for a transmission time ahead of ours (default 60 s). */
  maxFutureSeconds?: number;
  /**
   * The key fetches one gateway may make (a token bucket in `tokens` under `key`): a delivery naming a kid not in the
   * cache once the bucket is empty is refused without a fetch.
   */
  keyFetches: KeyFetchBudget;
}

/** A token bucket of key fetches: `burst` at once, then one every `refillMs`. */
export interface KeyFetchBudget {
  key: string;
  burst: number;
  refillMs: number;
}

/** How long a fetched key is trusted before it is fetched again, and how long an unknown kid stays unknown. */
const KEY_TTL_MS = 24 * 3600_000;
const UNKNOWN_KID_TTL_MS = 5 * 60_000;
const UNKNOWN = 'unknown';
const KID_PATTERN = /^[A-Za-z0-9._~-]{1,200}$/;
const INTEGER_PATTERN = /^\d{1,16}$/;

/**
 * Verifies 8x8's webhook signature (8x8 webhook signature validation): a JWS with a detached, unencoded payload
 * (RFC 7797). The protected header must be `{"b64":false,"crit":["b64"],"kid":…,"alg":"RS256"}`; the signed payload
 * is the compact JSON `{"checksum","cid","eid","retry","tid","tt"}` in that key order, whose checksum is the CRC32 of
 * the raw body bytes (8x8's JavaScript sample re-serializes the parsed body, which breaks on any whitespace or
 * key-order difference). Public keys are fetched by kid, cached in the process token cache, and fetched again once when
 * a delivery names a kid not seen before (key rotation). The kid arrives before anything is verified, so anyone can
 * name a new one per request: a kid 8x8 does not know is remembered as unknown, deliveries naming one kid at once share
 * one fetch, and fetches are bounded per gateway (`keyFetches`); past the bound an unknown kid is refused unfetched.
 * Every refusal is `auth_failed`; only a key that cannot be fetched for network reasons is `transient`, so 8x8's retry
 * can succeed later.
 */
export class EightByEightSignatureVerifier {
  constructor(private readonly options: SignatureVerifierOptions) {}

  async verify(headers: Record<string, string | undefined>, rawBody: Buffer, receivedAt: Date): Promise<EightByEightDelivery> {
    const signature = headers['x-8x8-signature'];
    if (!signature) throw refused('the webhook carries no x-8x8-signature');
    const [encodedHeader, detached, encodedSignature, ...rest] = signature.trim().split('.');
    if (rest.length > 0 || detached !== '' || !encodedHeader || !encodedSignature) throw refused('x-8x8-signature is not a detached JWS');
    const kid = protectedHeaderKid(encodedHeader);
    const delivery = readDelivery(headers, kid);
    this.checkTenant(delivery);
    this.checkFreshness(delivery, receivedAt);
    const payload = JSON.stringify({
      checksum: crc32(rawBody),
      cid: delivery.customerId,
      eid: delivery.eventId,
      retry: delivery.retry,
      tid: delivery.tenantId,
      tt: delivery.transmissionTime,
    });
    const key = await this.publicKey(kid);
    const signed = verify('sha256', Buffer.from(`${encodedHeader}.${payload}`, 'utf8'), key, Buffer.from(encodedSignature, 'base64url'));
    if (!signed) throw refused('the webhook signature does not match its body and headers');
    return delivery;
  }

  private checkTenant(delivery: EightByEightDelivery): void {
    if (this.options.tenantId && delivery.tenantId !== this.options.tenantId) {
      throw refused(`the webhook is for tenant "${delivery.tenantId}", not the configured "${this.options.tenantId}"`);
    }
  }

  private checkFreshness(delivery: EightByEightDelivery, receivedAt: Date): void {
    const ageMs = receivedAt.getTime() - delivery.transmissionTime;
    if (ageMs > this.options.maxAgeSeconds * 1000) {
      throw refused(`stale webhook: transmitted ${Math.round(ageMs / 1000)} s before it arrived, more than the ${this.options.maxAgeSeconds} s allowed`);
    }
    const aheadMs = -ageMs;
    const maxFuture = this.options.maxFutureSeconds ?? 60;
    if (aheadMs > maxFuture * 1000) throw refused(`webhook transmission time is ${Math.round(aheadMs / 1000)} s in the future`);
  }

  private async publicKey(kid: string): Promise<KeyObject> {
    const url = this.options.jwkUrl(kid);
    const cacheKey = `8x8:jwk:${url}`;
    const cached = this.options.tokens.get(cacheKey);
    if (cached?.token === UNKNOWN) throw refused(`unknown signing key ${kid}`);
    if (cached) return importedKey(cached.token, kid);
    let pending = fetching.get(cacheKey);
    if (!pending) {
      if (!this.takeKeyFetch()) throw refused(`unknown signing key ${kid} (key fetches for this gateway are used up for now)`);
      pending = this.fetchKey(kid, url, cacheKey).finally(() => fetching.delete(cacheKey));
      fetching.set(cacheKey, pending);
    }
    return pending;
  }

  /** One fetch from the budget, if the bucket holds one. */
  private takeKeyFetch(): boolean {
    const { tokens, keyFetches } = this.options;
    const now = Date.now();
    const stored = tokens.get(keyFetches.key);
    const last = stored ? (JSON.parse(stored.token) as { available: number; at: number }) : { available: keyFetches.burst, at: now };
    const available = Math.min(keyFetches.burst, last.available + (now - last.at) / keyFetches.refillMs);
    if (available < 1) return false;
    // Past this expiry the bucket is full again, which is what a missing entry means.
    tokens.set(keyFetches.key, JSON.stringify({ available: available - 1, at: now }), now + keyFetches.burst * keyFetches.refillMs);
    return true;
  }

  private async fetchKey(kid: string, url: string, cacheKey: string): Promise<KeyObject> {
    let jwk: Record<string, unknown> | undefined;
    try {
      jwk = await this.options.fetchJwk(url);
    } catch (error) {
      // A key that cannot be fetched now says nothing about the delivery: let the service answer 5xx so 8x8 retries.
      if (error instanceof GatewayError && error.code !== 'transient' && error.code !== 'rate_limited') throw refused(`signing key ${kid} could not be fetched: ${error.message}`);
      throw error;
    }
    if (!jwk) {
      this.options.tokens.set(cacheKey, UNKNOWN, Date.now() + UNKNOWN_KID_TTL_MS);
      throw refused(`unknown signing key ${kid}`);
    }
    const text = JSON.stringify(jwk);
    const key = importedKey(text, kid);
    this.options.tokens.set(cacheKey, text, Date.now() + KEY_TTL_MS);
    return key;
  }
}

/** Key fetches in flight by cache key, shared by the deliveries that name the same kid meanwhile. */
const fetching = new Map<string, Promise<KeyObject>>();

/**
 * Imported public keys, by kid and the JWK text the token cache holds. The token cache stays the one place that
 * decides whether a key is trusted (its 24 h, unknown kids); this only spares each verification the JSON parse and
 * RSA key import of the JWK, about a third of its time (docs/benchmarks.md).
 * Public keys are no secret, so one process-wide map is fine; it is small and bounded.
 */
const importedKeys = new Map<string, KeyObject>();
const MAX_IMPORTED_KEYS = 256;

function importedKey(jwkText: string, kid: string): KeyObject {
  const memoKey = `${kid}\u0000${jwkText}`;
  let key = importedKeys.get(memoKey);
  if (!key) {
    key = toKey(JSON.parse(jwkText) as Record<string, unknown>, kid);
    if (importedKeys.size >= MAX_IMPORTED_KEYS) importedKeys.clear();
    importedKeys.set(memoKey, key);
  }
  return key;
}

function protectedHeaderKid(encoded: string): string {
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw refused('the JWS protected header is not JSON');
  }
  if (!header || typeof header !== 'object') throw refused('the JWS protected header is not an object');
  // Only RS256 over the unencoded payload: anything else (alg none, HS256 with the public key...) is refused.
  if (header.alg !== 'RS256') throw refused(`unsupported JWS alg ${String(header.alg)}`);
  if (header.b64 !== false || !Array.isArray(header.crit) || !header.crit.includes('b64')) throw refused('the JWS is not a detached unencoded-payload signature (b64:false, crit:[b64])');
  const unknownCritical = header.crit.filter((name) => name !== 'b64');
  if (unknownCritical.length > 0) throw refused(`unsupported critical JWS parameters ${unknownCritical.join(', ')}`);
  if (typeof header.kid !== 'string' || !KID_PATTERN.test(header.kid)) throw refused('the JWS protected header has no usable kid');
  return header.kid;
}

function readDelivery(headers: Record<string, string | undefined>, kid: string): EightByEightDelivery {
  const value = (name: string) => {
    const found = headers[name]?.trim();
    if (!found) throw refused(`the webhook has no ${name} header`);
    return found;
  };
  const integer = (name: string) => {
    const found = value(name);
    if (!INTEGER_PATTERN.test(found)) throw refused(`${name} is not an integer`);
    return Number(found);
  };
  return {
    eventId: value('x-8x8-event-id'),
    customerId: value('x-8x8-customer-id'),
    tenantId: value('x-8x8-tenant-id'),
    retry: integer('x-8x8-retry'),
    transmissionTime: integer('x-8x8-transmission-time'),
    kid,
  };
}

function toKey(jwk: Record<string, unknown>, kid: string): KeyObject {
  if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string') throw refused(`signing key ${kid} is not an RSA JWK`);
  if (jwk.kid !== undefined && jwk.kid !== kid) throw refused(`the key served for ${kid} names itself ${String(jwk.kid)}`);
  try {
    return createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
  } catch (error) {
    throw refused(`signing key ${kid} is not a valid RSA key: ${(error as Error).message}`);
  }
}

function refused(message: string): GatewayError {
  return new GatewayError('auth_failed', `8x8 webhook refused: ${message}`, { status: 401 });
}
