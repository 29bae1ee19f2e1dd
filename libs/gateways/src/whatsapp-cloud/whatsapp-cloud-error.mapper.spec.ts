import { createHmac } from 'node:crypto';
import { graphError } from './whatsapp-cloud-error.mapper';
import { signatureValid } from './whatsapp-cloud.mapper';
import { whatsAppOutboundUrls } from './whatsapp-cloud.settings';

const body = (code: number) => JSON.stringify({ error: { message: `(#${code}) x`, type: 'OAuthException', code, error_data: { details: 'd' }, fbtrace_id: 'T' } });

describe('whatsapp-cloud error mapping', () => {
  it('decides on the Graph code, not the HTTP status', () => {
    expect(graphError(400, body(130429))).toMatchObject({ code: 'rate_limited', retryAfterMs: 1_000 });
    expect(graphError(500, body(132001))).toMatchObject({ code: 'invalid_request' });
    expect(graphError(400, body(131016))).toMatchObject({ code: 'transient' });
    expect(graphError(400, body(368)).code).toBe('invalid_request');
  });

  it('falls back on the status when the body has no code', () => {
    expect(graphError(502, '<html>Bad gateway</html>').code).toBe('transient');
    expect(graphError(429, '').code).toBe('rate_limited');
    expect(graphError(401, '').code).toBe('auth_failed');
    expect(graphError(404, '').code).toBe('invalid_request');
  });
});

describe('whatsapp-cloud signature and settings', () => {
  it('accepts only sha256=<hex> of the raw body with the app secret', () => {
    const raw = Buffer.from('{"a":"\\u00e9"}');
    const good = `sha256=${createHmac('sha256', 's3cret').update(raw).digest('hex')}`;
    expect(signatureValid(good, raw, 's3cret')).toBe(true);
    expect(signatureValid(good.toUpperCase().replace('SHA256', 'sha256'), raw, 's3cret')).toBe(true);
    expect(signatureValid(good, Buffer.from('{"a":"é"}'), 's3cret')).toBe(false);
    expect(signatureValid(good.slice(0, -2), raw, 's3cret')).toBe(false);
    expect(signatureValid(undefined, raw, 's3cret')).toBe(false);
  });

  it('names the Graph endpoints it will call, or the version problem', () => {
    const values = { basic: { phoneNumberId: '1', businessAccountId: '2' }, configuration: { graphBaseUrl: 'https://graph.facebook.com', graphVersion: 'v23.0' }, additional: {} };
    expect(whatsAppOutboundUrls(values)).toEqual([
      { setting: 'basic.phoneNumberId', url: 'https://graph.facebook.com/v23.0/1/messages' },
      { setting: 'basic.businessAccountId', url: 'https://graph.facebook.com/v23.0/2/message_templates' },
    ]);
    expect(whatsAppOutboundUrls({ ...values, configuration: { graphVersion: '23' } })[0]).toHaveProperty('problem');
  });
});
