import { generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { GatewayError, MemoryTokenCache } from '@app/gateway-sdk';
import { EightByEightSignatureVerifier } from './eight-by-eight-signature.verifier';

/** Signs like 8x8 (8x8 webhook signature validation), independently of the verifier under test. */
function signDelivery(body: string, key: { privateKey: KeyObject; kid: string }, overrides: Partial<Record<string, string>> = {}, header?: Record<string, unknown>) {
  const headers: Record<string, string> = {
    'x-8x8-tenant-id': 'tenant01',
    'x-8x8-customer-id': 'customer01',
    'x-8x8-event-id': '6f1c2d8e-0000-4000-8000-000000000001',
    'x-8x8-retry': '0',
    'x-8x8-transmission-time': String(NOW),
    ...overrides,
  };
  const protectedHeader = Buffer.from(JSON.stringify(header ?? { b64: false, crit: ['b64'], kid: key.kid, alg: 'RS256' })).toString('base64url');
  const payload = `{"checksum":${crc32(Buffer.from(body))},"cid":"${headers['x-8x8-customer-id']}","eid":"${headers['x-8x8-event-id']}","retry":${headers['x-8x8-retry']},"tid":"${headers['x-8x8-tenant-id']}","tt":${headers['x-8x8-transmission-time']}}`;
  const signature = sign('sha256', Buffer.from(`${protectedHeader}.${payload}`), key.privateKey).toString('base64url');
  return { ...headers, 'x-8x8-signature': `${protectedHeader}..${signature}` };
}

function newKey(kid: string) {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  return { kid, privateKey, jwk: { kty: 'RSA', e: jwk.e, n: jwk.n, kid } };
}

const NOW = 1_713_100_000_000;
const BODY = '{"eventType":"QUEUED","conversationId":"ID-0","timestamp":1713100000000,"data":{"queueId":"queue-abc-123","queueName":"Customer Support"}}';

describe('8x8 webhook signature verifier', () => {
  const keyA = newKey('EXaiWfZe20eSjklZ70074w');
  const keyB = newKey('rotated-key-b');
  let served: Map<string, Record<string, unknown>>;
  let fetched: string[];
  let tokens: MemoryTokenCache;

  const verifier = (options: { tenantId?: string; maxAgeSeconds?: number; fetchJwk?: (url: string) => Promise<Record<string, unknown> | undefined> } = {}) =>
    new EightByEightSignatureVerifier({
      tokens,
      jwkUrl: (kid) => `https://api.8x8.test/chat-gateway/v1/jwk/${encodeURIComponent(kid)}/public`,
      fetchJwk:
        options.fetchJwk ??
        (async (url) => {
          fetched.push(url);
          return served.get(decodeURIComponent(url.split('/').at(-2)!));
        }),
      tenantId: options.tenantId,
      maxAgeSeconds: options.maxAgeSeconds ?? 300,
      // No refill within a test: the bound is the burst alone, whatever the machine's speed.
      keyFetches: { key: 'test:jwk-fetches', burst: 3, refillMs: 3_600_000 },
    });
  const at = (ms: number) => new Date(ms);
  const refusal = (promise: Promise<unknown>, message: string | RegExp) =>
    expect(promise).rejects.toMatchObject({ name: 'GatewayError', code: 'auth_failed', message: expect.stringMatching(message) });

  beforeEach(() => {
    served = new Map([[keyA.kid, keyA.jwk]]);
    fetched = [];
    tokens = new MemoryTokenCache();
  });

  it('accepts a delivery signed over the CRC32 of its raw body and its headers', async () => {
    const headers = signDelivery(BODY, keyA);
    await expect(verifier().verify(headers, Buffer.from(BODY), at(NOW + 1000))).resolves.toEqual({
      eventId: '6f1c2d8e-0000-4000-8000-000000000001',
      customerId: 'customer01',
      tenantId: 'tenant01',
      retry: 0,
      transmissionTime: NOW,
      kid: keyA.kid,
    });
  });

  it('refuses a body changed by one character, and headers changed after signing', async () => {
    const headers = signDelivery(BODY, keyA);
    await refusal(verifier().verify(headers, Buffer.from(BODY.replace('Customer', 'Kustomer')), at(NOW)), 'does not match');
    await refusal(verifier().verify({ ...headers, 'x-8x8-retry': '1' }, Buffer.from(BODY), at(NOW)), 'does not match');
    await refusal(verifier().verify({ ...headers, 'x-8x8-event-id': 'another' }, Buffer.from(BODY), at(NOW)), 'does not match');
    // The same JSON re-serialized (8x8's JS sample does this) is other bytes, so another checksum.
    await refusal(verifier().verify(headers, Buffer.from(JSON.stringify(JSON.parse(BODY), null, 1)), at(NOW)), 'does not match');
  });

  it('refuses a signature by another key under the known kid', async () => {
    const forged = signDelivery(BODY, { privateKey: keyB.privateKey, kid: keyA.kid });
    await refusal(verifier().verify(forged, Buffer.from(BODY), at(NOW)), 'does not match');
  });

  it('fetches a key once per kid and again once for a kid it has not seen (rotation)', async () => {
    const check = verifier();
    await check.verify(signDelivery(BODY, keyA), Buffer.from(BODY), at(NOW));
    await check.verify(signDelivery(BODY, keyA), Buffer.from(BODY), at(NOW));
    expect(fetched).toHaveLength(1);
    served.set(keyB.kid, keyB.jwk);
    await check.verify(signDelivery(BODY, keyB), Buffer.from(BODY), at(NOW));
    await check.verify(signDelivery(BODY, keyB), Buffer.from(BODY), at(NOW));
    await check.verify(signDelivery(BODY, keyA), Buffer.from(BODY), at(NOW));
    expect(fetched).toEqual([
      `https://api.8x8.test/chat-gateway/v1/jwk/${keyA.kid}/public`,
      'https://api.8x8.test/chat-gateway/v1/jwk/rotated-key-b/public',
    ]);
  });

  it('refuses an unknown kid and does not ask again for it right away', async () => {
    const unknown = signDelivery(BODY, { privateKey: keyB.privateKey, kid: 'never-published' });
    await refusal(verifier().verify(unknown, Buffer.from(BODY), at(NOW)), 'unknown signing key never-published');
    await refusal(verifier().verify(unknown, Buffer.from(BODY), at(NOW)), 'unknown signing key');
    expect(fetched).toHaveLength(1);
  });

  it('fetches at most its budget of keys for made-up kids, then refuses them unfetched; known keys still verify', async () => {
    const check = verifier();
    for (let i = 0; i < 10; i++) {
      const forged = signDelivery(BODY, { privateKey: keyB.privateKey, kid: `made-up-${i}` });
      await refusal(check.verify(forged, Buffer.from(BODY), at(NOW)), i < 3 ? `unknown signing key made-up-${i}$` : 'key fetches for this gateway are used up');
    }
    expect(fetched).toEqual([0, 1, 2].map((i) => `https://api.8x8.test/chat-gateway/v1/jwk/made-up-${i}/public`));
    // A miss stays known as one: no fetch and no budget spent on it again.
    await refusal(check.verify(signDelivery(BODY, { privateKey: keyB.privateKey, kid: 'made-up-0' }), Buffer.from(BODY), at(NOW)), 'unknown signing key made-up-0$');
    expect(fetched).toHaveLength(3);
  });

  it('keeps keys fetched before the budget ran out', async () => {
    const check = verifier();
    await check.verify(signDelivery(BODY, keyA), Buffer.from(BODY), at(NOW));
    for (let i = 0; i < 5; i++) await refusal(check.verify(signDelivery(BODY, { privateKey: keyB.privateKey, kid: `made-up-${i}` }), Buffer.from(BODY), at(NOW)), 'unknown signing key');
    await expect(check.verify(signDelivery(BODY, keyA), Buffer.from(BODY), at(NOW))).resolves.toMatchObject({ kid: keyA.kid });
    expect(fetched).toHaveLength(3);
  });

  it('shares one fetch among deliveries naming the same new kid at once', async () => {
    served.set(keyB.kid, keyB.jwk);
    const check = verifier();
    const all = await Promise.all(Array.from({ length: 6 }, () => check.verify(signDelivery(BODY, keyB), Buffer.from(BODY), at(NOW))));
    expect(all.map((delivery) => delivery.kid)).toEqual(Array(6).fill(keyB.kid));
    expect(fetched).toEqual(['https://api.8x8.test/chat-gateway/v1/jwk/rotated-key-b/public']);
  });

  it('reports a key it cannot fetch now as transient, so 8x8 retries the delivery', async () => {
    const failing = verifier({ fetchJwk: async () => Promise.reject(new GatewayError('transient', 'connect ECONNREFUSED')) });
    await expect(failing.verify(signDelivery(BODY, keyA), Buffer.from(BODY), at(NOW))).rejects.toMatchObject({ code: 'transient' });
  });

  it('refuses stale and future transmission times', async () => {
    const headers = signDelivery(BODY, keyA);
    await refusal(verifier().verify(headers, Buffer.from(BODY), at(NOW + 301_000)), /^8x8 webhook refused: stale webhook: transmitted 301 s before it arrived, more than the 300 s allowed$/);
    await expect(verifier().verify(headers, Buffer.from(BODY), at(NOW + 299_000))).resolves.toBeDefined();
    await refusal(verifier().verify(headers, Buffer.from(BODY), at(NOW - 120_000)), 'in the future');
    await refusal(verifier({ maxAgeSeconds: 30 }).verify(headers, Buffer.from(BODY), at(NOW + 31_000)), 'stale');
  });

  it('refuses a delivery for another tenant when a tenant is configured', async () => {
    const headers = signDelivery(BODY, keyA, { 'x-8x8-tenant-id': 'tenant02' });
    await refusal(verifier({ tenantId: 'tenant01' }).verify(headers, Buffer.from(BODY), at(NOW)), 'tenant "tenant02"');
    await expect(verifier().verify(headers, Buffer.from(BODY), at(NOW))).resolves.toMatchObject({ tenantId: 'tenant02' });
  });

  it('refuses what is not an RS256 detached unencoded-payload JWS', async () => {
    const body = Buffer.from(BODY);
    const withHeader = (header: Record<string, unknown>) => signDelivery(BODY, keyA, {}, header);
    await refusal(verifier().verify(withHeader({ b64: false, crit: ['b64'], kid: keyA.kid, alg: 'none' }), body, at(NOW)), 'unsupported JWS alg none');
    await refusal(verifier().verify(withHeader({ b64: false, crit: ['b64'], kid: keyA.kid, alg: 'HS256' }), body, at(NOW)), 'unsupported JWS alg HS256');
    await refusal(verifier().verify(withHeader({ crit: ['b64'], kid: keyA.kid, alg: 'RS256' }), body, at(NOW)), 'b64:false');
    await refusal(verifier().verify(withHeader({ b64: false, crit: ['b64', 'exp'], kid: keyA.kid, alg: 'RS256' }), body, at(NOW)), 'critical');
    await refusal(verifier().verify(withHeader({ b64: false, crit: ['b64'], kid: '../../admin', alg: 'RS256' }), body, at(NOW)), 'no usable kid');
    const good = signDelivery(BODY, keyA);
    const [header, , signature] = good['x-8x8-signature'].split('.');
    await refusal(verifier().verify({ ...good, 'x-8x8-signature': `${header}.e30.${signature}` }, body, at(NOW)), 'not a detached JWS');
    await refusal(verifier().verify({ ...good, 'x-8x8-signature': 'garbage' }, body, at(NOW)), 'not a detached JWS');
    await refusal(verifier().verify({ ...good, 'x-8x8-signature': undefined }, body, at(NOW)), 'no x-8x8-signature');
    await refusal(verifier().verify({ ...good, 'x-8x8-transmission-time': 'yesterday' }, body, at(NOW)), 'x-8x8-transmission-time is not an integer');
    await refusal(verifier().verify({ ...good, 'x-8x8-customer-id': undefined }, body, at(NOW)), 'no x-8x8-customer-id');
    expect(fetched).toEqual([]);
  });

  it('refuses a served key that is not the RSA key of that kid', async () => {
    served.set(keyA.kid, { ...keyA.jwk, kid: 'someone-else' });
    await refusal(verifier().verify(signDelivery(BODY, keyA), Buffer.from(BODY), at(NOW)), 'names itself someone-else');
    tokens = new MemoryTokenCache();
    served.set(keyA.kid, { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' });
    await refusal(verifier().verify(signDelivery(BODY, keyA), Buffer.from(BODY), at(NOW)), 'not an RSA JWK');
  });
});
