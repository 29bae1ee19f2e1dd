import { ManualClock } from '../clock/simulator-clock';
import { twilioSignature } from './twilio-signature';
import { TwilioSimulator } from './twilio-simulator';
import { BUSINESS, PHONE, rest, WebhookEndpointDouble } from './twilio-simulator.spec-helpers';

describe('Twilio simulator REST API: Messages', () => {
  let twilio: TwilioSimulator;
  let endpoint: WebhookEndpointDouble;
  let auth: { accountSid: string; authToken: string };
  let origin: string;

  beforeEach(async () => {
    endpoint = new WebhookEndpointDouble();
    origin = await endpoint.start();
    twilio = new TwilioSimulator();
    await twilio.start();
    auth = twilio.addAccount();
    twilio.addNumber(auth.accountSid, { phoneNumber: BUSINESS, smsUrl: `${origin}/sms` });
  });
  afterEach(async () => {
    await twilio.settled();
    await twilio.stop();
    await endpoint.stop();
  });

  const create = (fields: Array<[string, string]>) => rest(twilio, auth, 'POST', '/Messages.json', fields);

  it('creates a message: 201 with the resource (queued, SM sid, segments as a string, RFC 2822 dates)', async () => {
    const { status, body } = await create([['To', PHONE], ['From', BUSINESS], ['Body', 'ą'.repeat(71)]]);
    expect(status).toBe(201);
    expect(body).toMatchObject({
      sid: expect.stringMatching(/^SM[0-9a-f]{32}$/),
      account_sid: auth.accountSid,
      from: BUSINESS,
      to: PHONE,
      status: 'queued',
      direction: 'outbound-api',
      num_segments: '2',
      num_media: '0',
      error_code: null,
      api_version: '2010-04-01',
      date_created: expect.stringMatching(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/),
      uri: `/2010-04-01/Accounts/${auth.accountSid}/Messages/${body.sid}.json`,
    });
    const fetched = await rest(twilio, auth, 'GET', `/Messages/${body.sid}.json`);
    expect(fetched.body.sid).toBe(body.sid);
    expect((await rest(twilio, auth, 'GET', `/Messages.json?To=${encodeURIComponent(PHONE)}`)).body.messages.map((m: { sid: string }) => m.sid)).toEqual([body.sid]);
    expect(twilio.requests.map((r) => [r.method, r.status])).toEqual([
      ['POST', 201],
      ['GET', 200],
      ['GET', 200],
    ]);
  });

  it('sends MMS with repeated MediaUrl and uses an MM sid', async () => {
    const { body } = await create([['To', PHONE], ['From', BUSINESS], ['MediaUrl', 'https://example.com/a.png'], ['MediaUrl', 'https://example.com/b.jpg']]);
    expect(body).toMatchObject({ sid: expect.stringMatching(/^MM/), num_media: '2' });
    expect(twilio.messagesTo(PHONE)[0].mediaUrls).toEqual(['https://example.com/a.png', 'https://example.com/b.jpg']);
  });

  it('refuses a bad Basic auth with 401 and code 20003, and another account\'s path too', async () => {
    const wrong = await rest(twilio, { ...auth, authToken: 'nope' }, 'POST', '/Messages.json', { To: PHONE, From: BUSINESS, Body: 'x' });
    expect(wrong).toMatchObject({ status: 401, body: { code: 20003, status: 401, more_info: 'https://www.twilio.com/docs/errors/20003' } });
    const other = twilio.addAccount();
    expect((await rest(twilio, { accountSid: other.accountSid, authToken: auth.authToken }, 'GET', '.json')).status).toBe(401);
    expect((await rest(twilio, auth, 'GET', '.json')).body).toMatchObject({ sid: auth.accountSid, status: 'active' });
  });

  it.each([
    [[['From', BUSINESS], ['Body', 'x']], 21604],
    [[['To', '4155550123'], ['From', BUSINESS], ['Body', 'x']], 21211],
    [[['To', PHONE], ['Body', 'x']], 21603],
    [[['To', PHONE], ['From', '+14155559999'], ['Body', 'x']], 21606],
    [[['To', PHONE], ['From', BUSINESS]], 21602],
    [[['To', PHONE], ['From', BUSINESS], ['Body', 'x'.repeat(1601)]], 21617],
    [[['To', BUSINESS], ['From', BUSINESS], ['Body', 'x']], 21266],
  ] as Array<[Array<[string, string]>, number]>)('validates the request (%j → %i)', async (fields, code) => {
    expect(await create(fields)).toMatchObject({ status: 400, body: { code, status: 400 } });
  });

  it('refuses recipients scripted as invalid, not mobile or in a region not enabled', async () => {
    for (const code of [21211, 21614, 21408]) {
      twilio.setOutcome(PHONE, `rejected:${code}`);
      expect((await create([['To', PHONE], ['From', BUSINESS], ['Body', 'x']])).body).toMatchObject({ code, status: 400 });
    }
  });

  it('answers queued faults in order: 429 with Retry-After, 500, 503, then succeeds', async () => {
    twilio.addFault({ status: 429, retryAfterSeconds: 3 });
    twilio.addFault({ status: 500 });
    twilio.addFault({ status: 503, count: 2 });
    const send = () => create([['To', PHONE], ['From', BUSINESS], ['Body', 'x']]);
    const throttled = await send();
    expect(throttled).toMatchObject({ status: 429, body: { code: 20429 } });
    expect(throttled.headers.get('retry-after')).toBe('3');
    expect((await send()).body).toMatchObject({ code: 20500, status: 500 });
    expect((await send()).status).toBe(503);
    expect(twilio.pendingFaults()).toEqual([{ status: 503, count: 1 }]);
    expect((await send()).status).toBe(503);
    expect((await send()).status).toBe(201);
  });

  it('reports queued → sent → delivered to StatusCallback, signed with the auth token over the callback URL', async () => {
    const callback = `${origin}/status?gateway=a`;
    const { body } = await create([['To', PHONE], ['From', BUSINESS], ['Body', 'hi'], ['StatusCallback', callback]]);
    await endpoint.untilReceived(2);
    const [sent, delivered] = endpoint.received;
    expect([sent.form.MessageStatus, delivered.form.MessageStatus]).toEqual(['sent', 'delivered']);
    expect(delivered.form).toMatchObject({ MessageSid: body.sid, SmsSid: body.sid, SmsStatus: 'delivered', To: PHONE, From: BUSINESS, AccountSid: auth.accountSid, ApiVersion: '2010-04-01' });
    expect(delivered.form.ErrorCode).toBeUndefined();
    expect(delivered.headers['x-twilio-signature']).toBe(twilioSignature(auth.authToken, callback, delivered.params));
    const record = await twilio.waitForMessage((m) => m.sid === body.sid && m.callbacks.length === 2);
    expect(record.statusHistory).toEqual(['queued', 'sent', 'delivered']);
    expect(record.callbacks.map((c) => [c.status, c.httpStatus])).toEqual([
      ['sent', 200],
      ['delivered', 200],
    ]);
  });

  it('reports undelivered and failed outcomes with their ErrorCode, and a message left at sent', async () => {
    const outcomes = { '+14155550201': 'undelivered:30003', '+14155550202': 'failed:30006', '+14155550203': 'sent' } as const;
    for (const [phone, outcome] of Object.entries(outcomes)) {
      twilio.setOutcome(phone, outcome);
      await create([['To', phone], ['From', BUSINESS], ['Body', 'x'], ['StatusCallback', `${origin}/status`]]);
    }
    await twilio.settled();
    const statuses = (phone: string) => endpoint.received.filter((r) => r.form.To === phone).map((r) => [r.form.MessageStatus, r.form.ErrorCode]);
    expect(statuses('+14155550201')).toEqual([
      ['sent', undefined],
      ['undelivered', '30003'],
    ]);
    expect(statuses('+14155550202')).toEqual([['failed', '30006']]);
    expect(statuses('+14155550203')).toEqual([['sent', undefined]]);
    expect(twilio.messagesTo('+14155550202')[0]).toMatchObject({ status: 'failed', errorCode: 30006 });
  });

  it('with a Messaging Service: accepted at creation, from and segments filled later, a queued callback first', async () => {
    const service = twilio.addMessagingService(auth.accountSid, { phoneNumbers: [BUSINESS] });
    const { body } = await create([['To', PHONE], ['MessagingServiceSid', service.sid], ['Body', 'hi'], ['StatusCallback', `${origin}/status`]]);
    expect(body).toMatchObject({ status: 'accepted', from: null, num_segments: '0', messaging_service_sid: service.sid });
    await endpoint.untilReceived(3);
    expect(endpoint.received.map((r) => r.form.MessageStatus)).toEqual(['queued', 'sent', 'delivered']);
    expect(endpoint.received[0].form.From).toBe(BUSINESS);
  });

  it('moves status changes on the injected clock when a delay is set', async () => {
    await twilio.stop();
    const clock = new ManualClock();
    twilio = new TwilioSimulator({ clock, statusDelayMs: 60_000 });
    await twilio.start();
    twilio.addAccount(auth);
    twilio.addNumber(auth.accountSid, { phoneNumber: BUSINESS, smsUrl: `${origin}/sms` });
    const { body } = await create([['To', PHONE], ['From', BUSINESS], ['Body', 'x']]);
    await clock.untilPending(1);
    expect(twilio.message(body.sid)!.status).toBe('queued');
    clock.advance(60_000);
    await twilio.waitForMessage((m) => m.status === 'sent');
    await clock.untilPending(1);
    clock.advance(60_000);
    expect((await twilio.waitForMessage((m) => m.status === 'delivered')).dateSent).toBe(clock.now() - 60_000);
  });
});
