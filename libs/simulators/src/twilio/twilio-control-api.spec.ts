import { TwilioSimulator } from './twilio-simulator';
import { BUSINESS, PHONE, rest, WebhookEndpointDouble } from './twilio-simulator.spec-helpers';

describe('Twilio simulator control API and phone console', () => {
  let twilio: TwilioSimulator;
  let endpoint: WebhookEndpointDouble;

  beforeEach(async () => {
    endpoint = new WebhookEndpointDouble();
    await endpoint.start();
    twilio = new TwilioSimulator();
    await twilio.start();
  });
  afterEach(async () => {
    await twilio.settled();
    await twilio.stop();
    await endpoint.stop();
  });

  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${twilio.baseUrl}/control${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  it('sets up an account and a number, lets the phone text and STOP, and shows both sides of the conversation', async () => {
    const account = (await control('POST', '/accounts', {})).body;
    expect(account).toEqual({ accountSid: expect.stringMatching(/^AC[0-9a-f]{32}$/), authToken: expect.any(String) });
    expect((await control('POST', '/numbers', { accountSid: account.accountSid, phoneNumber: BUSINESS, smsUrl: `${endpoint.origin}/sms` })).status).toBe(204);
    expect((await control('POST', '/sms', { from: PHONE, to: BUSINESS, body: 'hello' })).body).toEqual({ status: 200, body: expect.any(String), messageSid: expect.any(String) });
    await rest(twilio, account, 'POST', '/Messages.json', { To: PHONE, From: BUSINESS, Body: 'Hi, how can I help?' });
    await control('POST', '/sms', { from: PHONE, to: BUSINESS, body: 'STOP' });
    const conversation = (await control('GET', `/phones/${encodeURIComponent(PHONE)}/conversation/${encodeURIComponent(BUSINESS)}`)).body;
    expect(conversation.map((m: { direction: string; body: string }) => [m.direction, m.body.slice(0, 14)])).toEqual([
      ['inbound', 'hello'],
      ['outbound-api', 'Hi, how can I '],
      ['inbound', 'STOP'],
      ['outbound-reply', 'You have succe'],
    ]);
    const status = (await control('GET', '/status')).body;
    expect(status.accounts).toEqual([{ accountSid: account.accountSid, mediaBasicAuth: false }]);
    expect(status.optOuts).toEqual([{ sender: BUSINESS, recipient: PHONE }]);
    expect((await control('GET', `/phones/${encodeURIComponent(PHONE)}/messages`)).body).toHaveLength(2);
    const requests = (await control('GET', '/requests')).body;
    expect(requests.webhooks.map((w: { kind: string }) => w.kind)).toEqual(['inbound', 'inbound']);
    expect(requests.api.map((r: { status: number }) => r.status)).toEqual([201]);
  });

  it('scripts outcomes, faults and opt-outs, and refuses bad input', async () => {
    const account = (await control('POST', '/accounts', {})).body;
    await control('POST', '/numbers', { accountSid: account.accountSid, phoneNumber: BUSINESS, smsUrl: `${endpoint.origin}/sms` });
    expect((await control('POST', '/outcomes', { phone: PHONE, outcome: 'failed:30006' })).status).toBe(204);
    expect((await control('POST', '/outcomes', { phone: PHONE, outcome: 'lost' })).status).toBe(400);
    expect((await control('POST', '/faults', { status: 503, count: 2 })).status).toBe(204);
    expect((await control('GET', '/status')).body.faults).toEqual([{ status: 503, count: 2 }]);
    await control('DELETE', '/faults');
    const sent = await rest(twilio, account, 'POST', '/Messages.json', { To: PHONE, From: BUSINESS, Body: 'x' });
    await twilio.settled();
    expect((await control('GET', `/messages/${sent.body.sid}`)).body).toMatchObject({ status: 'failed', errorCode: 30006 });
    await control('POST', '/opt-outs', { sender: BUSINESS, recipient: PHONE });
    expect((await rest(twilio, account, 'POST', '/Messages.json', { To: PHONE, From: BUSINESS, Body: 'x' })).body.code).toBe(21610);
    expect((await control('POST', '/sms', { from: PHONE, to: BUSINESS, body: 'x', signatureFault: 'nonsense' })).status).toBe(400);
    expect((await control('POST', '/sms', { from: PHONE, to: '+19999999999', body: 'x' })).status).toBe(404);
    expect((await control('POST', '/numbers', { accountSid: account.accountSid, phoneNumber: '555', smsUrl: 'http://x' })).status).toBe(400);
  });

  it('serves the phone console from the simulator itself', async () => {
    const page = await fetch(`${twilio.baseUrl}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await page.text()).toContain('/console/twilio-console.js');
    expect((await fetch(`${twilio.baseUrl}/console/twilio-console.js`)).status).toBe(200);
    expect((await fetch(`${twilio.baseUrl}/console/twilio-console.css`)).status).toBe(200);
  });
});
