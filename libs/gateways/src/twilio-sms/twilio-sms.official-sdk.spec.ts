import twilioSdk from 'twilio';
import { GatewayContext, GatewayError, MemoryTokenCache, SettingsValues } from '@app/gateway-sdk';
import { TwilioSmsGateway } from './twilio-sms.gateway';
import { withDefaults } from './twilio-sms-test.context';
import { expectedSignature } from './twilio-signature.verifier';

/** Fidelity: requests signed by Twilio's own Node library pass the gateway's check; spoiled ones do not. */
describe('twilio-sms signature check against the official twilio package', () => {
  const gateway = new TwilioSmsGateway();
  const authToken = '12345';
  const settings: SettingsValues = withDefaults({ basic: { accountSid: `AC${'0'.repeat(32)}`, authToken, sender: '+14155550100' } });
  const ctx = { settings, webhookUrl: 'unused', tokens: new MemoryTokenCache() } as unknown as GatewayContext;
  const params = { MessageSid: `SM${'1'.repeat(32)}`, AccountSid: `AC${'0'.repeat(32)}`, From: '+14158675309', To: '+14155550100', Body: 'Hi + ü 😀', NumMedia: '0' };
  const verify = (url: string, signature: string, form: Record<string, string> = params) =>
    gateway.verifyWebhook(ctx, { headers: { 'x-twilio-signature': signature }, rawBody: Buffer.from(new URLSearchParams(form).toString()), receivedAt: new Date(), method: 'POST', url });

  it.each([
    ['a plain URL', 'https://gw.example.com/v1/webhooks/gw', 'https://gw.example.com/v1/webhooks/gw'],
    ['a query string', 'https://gw.example.com/v1/webhooks/gw?tenant=a&b=two%20words', 'https://gw.example.com/v1/webhooks/gw?tenant=a&b=two%20words'],
    ['the default port Twilio signed, the service sees none', 'https://gw.example.com:443/v1/webhooks/gw?x=1', 'https://gw.example.com/v1/webhooks/gw?x=1'],
    ['no port Twilio signed, the service sees the default one', 'https://gw.example.com/v1/webhooks/gw', 'https://gw.example.com:443/v1/webhooks/gw'],
  ])('accepts getExpectedTwilioSignature over %s', async (_case, signedUrl, seenUrl) => {
    const signature = twilioSdk.getExpectedTwilioSignature(authToken, signedUrl, params);
    expect(twilioSdk.validateRequest(authToken, signature, seenUrl, params)).toBe(true);
    await expect(verify(seenUrl, signature)).resolves.toMatchObject({ eventId: params.MessageSid, platformConversationId: '+14158675309:+14155550100' });
  });

  it('agrees with the library on repeated parameters (MediaUrl of an outbound-style form)', async () => {
    const form = new URLSearchParams([...Object.entries(params), ['MediaUrl', 'https://b.example/2'], ['MediaUrl', 'https://a.example/1']]);
    const url = 'https://gw.example.com/v1/webhooks/gw';
    const signature = twilioSdk.getExpectedTwilioSignature(authToken, url, { ...params, MediaUrl: ['https://b.example/2', 'https://a.example/1'] } as never);
    await expect(
      gateway.verifyWebhook(ctx, { headers: { 'x-twilio-signature': signature }, rawBody: Buffer.from(form.toString()), receivedAt: new Date(), url }),
    ).resolves.toBeDefined();
  });

  it('refuses what the library refuses: another token, another URL, a changed parameter', async () => {
    const url = 'https://gw.example.com/v1/webhooks/gw?tenant=a';
    const cases: Array<[string, string, Record<string, string>]> = [
      [twilioSdk.getExpectedTwilioSignature('other-token', url, params), url, params],
      [twilioSdk.getExpectedTwilioSignature(authToken, 'https://gw.example.com/v1/webhooks/gw', params), url, params],
      [twilioSdk.getExpectedTwilioSignature(authToken, url, params), url, { ...params, Body: 'changed' }],
    ];
    for (const [signature, seenUrl, form] of cases) {
      expect(twilioSdk.validateRequest(authToken, signature, seenUrl, form)).toBe(false);
      await expect(verify(seenUrl, signature, form)).rejects.toMatchObject({ code: 'auth_failed' } satisfies Partial<GatewayError>);
    }
  });

  it('matches the test vector of Twilio\'s documentation', () => {
    const vector = { CallSid: 'CA1234567890ABCDE', Caller: '+14158675309', Digits: '1234', From: '+14158675309', To: '+18005551212' };
    expect(twilioSdk.getExpectedTwilioSignature('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2', vector)).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
    expect(expectedSignature('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2', Object.entries(vector))).toBe('RSOYDt4T1cUTdK1PDd93/VVr8B8=');
  });
});
