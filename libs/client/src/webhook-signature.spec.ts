import { Webhook } from 'standardwebhooks';
import { generateWebhookSecret, isWebhookSecret, signWebhook, verifyWebhook, WebhookVerificationError } from './webhook-signature';

const secret = 'whsec_' + Buffer.from('0123456789abcdef0123456789abcdef').toString('base64');

describe('webhook signatures', () => {
  const body = JSON.stringify({ type: 'escalation.agent_joined', seq: 3 });
  const now = new Date('2026-11-22T10:00:00Z');
  const ts = Math.floor(now.getTime() / 1000);
  const headers = { 'webhook-id': 'evt_1', 'webhook-timestamp': String(ts), 'webhook-signature': signWebhook(secret, 'evt_1', ts, body) };

  it('verifies what chat-gateway signs and returns the body', () => {
    expect(verifyWebhook(secret, headers, body, { now })).toEqual({ type: 'escalation.agent_joined', seq: 3 });
  });

  it('rejects an altered body, another secret, a stale timestamp and missing headers', () => {
    expect(() => verifyWebhook(secret, headers, body.replace('3', '4'), { now })).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook('whsec_' + Buffer.from('x'.repeat(32)).toString('base64'), headers, body, { now })).toThrow(WebhookVerificationError);
    expect(() => verifyWebhook(secret, headers, body, { now: new Date(now.getTime() + 3_600_000) })).toThrow(/tolerance/);
    expect(() => verifyWebhook(secret, { 'webhook-id': 'evt_1' }, body, { now })).toThrow(/missing/);
  });

  it('accepts any matching signature of a space-separated list (secret rotation)', () => {
    const both = { ...headers, 'webhook-signature': `v1,AAAA ${headers['webhook-signature']}` };
    expect(verifyWebhook(secret, both, body, { now })).toBeTruthy();
  });

  it('signs as the Standard Webhooks reference library does, and verifies what it signs', () => {
    const reference = new Webhook(secret);
    expect(signWebhook(secret, 'evt_1', ts, body)).toBe(reference.sign('evt_1', now, body));
    const signed = { 'webhook-id': 'evt_2', 'webhook-timestamp': String(ts), 'webhook-signature': reference.sign('evt_2', now, body) };
    expect(verifyWebhook(secret, signed, body, { now })).toEqual({ type: 'escalation.agent_joined', seq: 3 });
  });

  it('knows a Standard Webhooks secret, and generates ones the reference library takes', () => {
    expect(isWebhookSecret(secret)).toBe(true);
    expect(isWebhookSecret('0123456789abcdef0123456789abcdef')).toBe(false);
    expect(isWebhookSecret('whsec_' + Buffer.alloc(23).toString('base64'))).toBe(false);
    expect(isWebhookSecret('whsec_' + Buffer.alloc(64).toString('base64'))).toBe(true);
    // base64url is another alphabet: the reference library would decode other bytes, or none.
    expect(isWebhookSecret('whsec_' + Buffer.alloc(33, 0xfb).toString('base64url'))).toBe(false);
    const generated = generateWebhookSecret();
    expect(isWebhookSecret(generated)).toBe(true);
    const headers = { 'webhook-id': 'evt_3', 'webhook-timestamp': String(Math.floor(Date.now() / 1000)) };
    const signature = signWebhook(generated, 'evt_3', Number(headers['webhook-timestamp']), body);
    expect(new Webhook(generated).verify(body, { ...headers, 'webhook-signature': signature })).toEqual({ type: 'escalation.agent_joined', seq: 3 });
  });
});
