import { signWebhook, verifyWebhook, WebhookVerificationError } from './webhook-signature';

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
});
