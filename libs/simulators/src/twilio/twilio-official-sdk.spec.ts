import twilioSdk from 'twilio';
import { TwilioSimulator } from './twilio-simulator';
import { BUSINESS, PHONE, rest, WebhookEndpointDouble } from './twilio-simulator.spec-helpers';

/** Fidelity: Twilio's own Node library checks the simulator's signatures and talks to its REST API. */
describe('Twilio simulator against the official twilio package', () => {
  let twilio: TwilioSimulator;
  let endpoint: WebhookEndpointDouble;
  let auth: { accountSid: string; authToken: string };
  let smsUrl: string;

  beforeEach(async () => {
    endpoint = new WebhookEndpointDouble();
    smsUrl = `${await endpoint.start()}/v1/webhooks/gw?tenant=a&b=two+words`;
    twilio = new TwilioSimulator();
    await twilio.start();
    auth = twilio.addAccount();
    twilio.addNumber(auth.accountSid, { phoneNumber: BUSINESS, smsUrl });
  });
  afterEach(async () => {
    await twilio.settled();
    await twilio.stop();
    await endpoint.stop();
  });

  const valid = (signature: unknown, url: string, params: Record<string, string>) => twilioSdk.validateRequest(auth.authToken, String(signature ?? ''), url, params);

  it('validateRequest accepts inbound SMS and MMS signed over the URL with its query string, and rejects tampered ones', async () => {
    await twilio.sendSms(PHONE, BUSINESS, 'Hi + ü 😀', { media: [{ contentType: 'image/png', content: 'x' }] });
    await twilio.sendSms(PHONE, BUSINESS, 'x', { portVariant: 'with_default_port' });
    await twilio.sendSms(PHONE, BUSINESS, 'y', { signatureFault: 'tampered' });
    await twilio.sendSms(PHONE, BUSINESS, 'z', { signatureFault: 'wrong_url' });
    await twilio.sendSms(PHONE, BUSINESS, 'w', { signatureFault: 'bad_signature' });
    const [mms, ported, tampered, wrongUrl, badToken] = endpoint.received;
    expect(valid(mms.headers['x-twilio-signature'], smsUrl, mms.form)).toBe(true);
    expect(valid(ported.headers['x-twilio-signature'], smsUrl, ported.form)).toBe(true);
    expect(valid(mms.headers['x-twilio-signature'], smsUrl, { ...mms.form, Body: 'changed' })).toBe(false);
    for (const spoiled of [tampered, wrongUrl, badToken]) expect(valid(spoiled.headers['x-twilio-signature'], smsUrl, spoiled.form)).toBe(false);
  });

  it('validateRequest accepts status callbacks, including a callback URL with a query string', async () => {
    const callback = `${endpoint.origin}/v1/webhooks/gw?kind=status`;
    twilio.setOutcome(PHONE, 'undelivered:30003');
    await rest(twilio, auth, 'POST', '/Messages.json', { To: PHONE, From: BUSINESS, Body: 'x', StatusCallback: callback });
    await twilio.settled();
    expect(endpoint.received.map((r) => r.form.MessageStatus)).toEqual(['sent', 'undelivered']);
    for (const callbackRequest of endpoint.received) expect(valid(callbackRequest.headers['x-twilio-signature'], callback, callbackRequest.form)).toBe(true);
  });

  it('the official REST client sends and fetches a message through the simulator (its RequestClient pointed at the simulator)', async () => {
    const base = new twilioSdk.RequestClient();
    // The client builds https://api.twilio.com/... URLs; this HTTP client sends them to the simulator instead.
    const httpClient = {
      request: (options: { uri: string }) => base.request({ ...options, uri: options.uri.replace('https://api.twilio.com', twilio.apiBaseUrl) } as never),
    };
    const client = twilioSdk(auth.accountSid, auth.authToken, { httpClient: httpClient as never });
    const message = await client.messages.create({ to: PHONE, from: BUSINESS, body: 'From the official client', mediaUrl: ['https://example.com/a.png'] });
    expect(message).toMatchObject({ sid: expect.stringMatching(/^MM/), status: 'queued', numSegments: '1', numMedia: '1', to: PHONE });
    expect(message.dateCreated).toBeInstanceOf(Date);
    expect((await client.messages(message.sid).fetch()).body).toBe('From the official client');

    twilio.setOutcome(PHONE, 'rejected:21211');
    await expect(client.messages.create({ to: PHONE, from: BUSINESS, body: 'x' })).rejects.toMatchObject({ status: 400, code: 21211, moreInfo: 'https://www.twilio.com/docs/errors/21211' });
  });
});
