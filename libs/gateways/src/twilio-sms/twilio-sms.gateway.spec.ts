import { GatewayError, OutboundActivity } from '@app/gateway-sdk';
import { BUSINESS, GATEWAY_ID, TwilioTestEnvironment } from './twilio-sms-test.context';

async function failure(promise: Promise<unknown> | (() => unknown)): Promise<GatewayError> {
  try {
    await (typeof promise === 'function' ? promise() : promise);
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError');
}

const text = (value: string, extra: Partial<OutboundActivity> = {}): OutboundActivity => ({ type: 'message', author: 'bot', text: value, ...extra });
let phoneCounter = 200;
const newPhone = () => `+1415555${String(phoneCounter++).padStart(4, '0')}`;

describe('twilio-sms gateway against the Twilio simulator', () => {
  let env: TwilioTestEnvironment;

  beforeAll(async () => {
    env = await new TwilioTestEnvironment().start();
  });
  afterAll(() => env.stop());
  beforeEach(async () => {
    await env.simulator.settled();
    env.simulator.clearFaults();
    env.simulator.clearOutcomes();
    env.simulator.setSmsUrl(BUSINESS, env.webhookUrl);
    env.publicBaseUrl = env.origin;
    env.configure({});
  });

  describe('inbound', () => {
    it('turns an SMS into a message from the phone, answers empty TwiML and keeps how to reply', async () => {
      const phone = newPhone();
      const sent = await env.simulator.sendSms(phone, BUSINESS, 'I need to reset my password');
      expect(sent.status).toBe(200);
      expect(sent.body).toBe('<?xml version="1.0" encoding="UTF-8"?><Response/>');
      const conversationId = `${phone}:${BUSINESS}`;
      expect(env.verified.at(-1)).toEqual({ eventId: sent.messageSid, platformConversationId: conversationId, occurredAt: expect.any(Date) });
      expect(env.activities.at(-1)).toEqual({
        type: 'message',
        platformActivityId: sent.messageSid,
        platformConversationId: conversationId,
        user: { id: phone },
        occurredAt: expect.any(Date),
        text: 'I need to reset my password',
        reference: { from: BUSINESS, to: phone },
      });
    });

    it('turns MMS media into attachments with their URL and content type', async () => {
      const sent = await env.simulator.sendSms(newPhone(), BUSINESS, 'my receipt', { mediaUrls: ['https://cdn.example.com/r.jpg'], media: [{ contentType: 'application/pdf', content: '%PDF' }] });
      expect(sent.status).toBe(200);
      expect(env.activities.at(-1)!.attachments).toEqual([
        { url: expect.stringContaining(`/Messages/${sent.messageSid}/Media/ME`), contentType: 'image/jpeg' },
        { url: expect.stringContaining(`/Messages/${sent.messageSid}/Media/ME`), contentType: 'application/pdf' },
      ]);
    });

    it.each([
      ['bad_signature', /does not match/],
      ['wrong_url', /does not match/],
      ['tampered', /does not match/],
      ['no_signature', /without X-Twilio-Signature/],
    ] as const)('refuses a webhook with %s (401, nothing taken)', async (fault, message) => {
      const before = env.activities.length;
      expect((await env.simulator.sendSms(newPhone(), BUSINESS, 'x', { signatureFault: fault })).status).toBe(401);
      expect(env.activities.length).toBe(before);
      expect(env.refusals.at(-1)).toMatch(message);
    });

    it('accepts a signature over the URL with the default port added or removed, as Twilio\'s validators do', async () => {
      // Twilio is configured with the public https URL; a TLS-terminating proxy forwards to the service.
      env.publicBaseUrl = 'https://gw.example.test';
      const publicUrl = `https://gw.example.test/v1/webhooks/${GATEWAY_ID}?tenant=a&b=x%20y`;
      env.simulator.setSmsUrl(BUSINESS, publicUrl, `${env.origin}/v1/webhooks/${GATEWAY_ID}?tenant=a&b=x%20y`);
      expect((await env.simulator.sendSms(newPhone(), BUSINESS, 'as configured')).status).toBe(200);
      expect((await env.simulator.sendSms(newPhone(), BUSINESS, 'with :443', { portVariant: 'with_default_port' })).status).toBe(200);
      // Configured with :443, seen by the service without it.
      env.simulator.setSmsUrl(BUSINESS, publicUrl.replace('gw.example.test', 'gw.example.test:443'), `${env.origin}/v1/webhooks/${GATEWAY_ID}?tenant=a&b=x%20y`);
      expect((await env.simulator.sendSms(newPhone(), BUSINESS, 'configured with :443')).status).toBe(200);
      expect((await env.simulator.sendSms(newPhone(), BUSINESS, 'x', { signatureFault: 'wrong_url' })).status).toBe(401);
    });

    it('refuses a signature over the URL without its query string', async () => {
      env.publicBaseUrl = 'https://gw.example.test';
      env.simulator.setSmsUrl(BUSINESS, `https://gw.example.test/v1/webhooks/${GATEWAY_ID}`, `${env.origin}/v1/webhooks/${GATEWAY_ID}?tenant=a`);
      expect((await env.simulator.sendSms(newPhone(), BUSINESS, 'x')).status).toBe(401);
    });

    it('checks against the Public Webhook URL setting when set, and a secondary Auth Token during a rotation', async () => {
      const configured = 'https://sms.example.test/twilio-in?gw=1';
      env.simulator.setSmsUrl(BUSINESS, configured, env.webhookUrl);
      expect((await env.simulator.sendSms(newPhone(), BUSINESS, 'x')).status).toBe(401);
      env.configure({ configuration: { webhookUrl: configured } });
      expect((await env.simulator.sendSms(newPhone(), BUSINESS, 'x')).status).toBe(200);
      env.configure({ basic: { authToken: 'new-token-not-yet-at-twilio', secondaryAuthToken: env.account.authToken }, configuration: { webhookUrl: configured } });
      expect((await env.simulator.sendSms(newPhone(), BUSINESS, 'x')).status).toBe(200);
    });

    it('STOP makes the user unreachable (opted_out) and still relays what was written; START makes them reachable; HELP is a message', async () => {
      const phone = newPhone();
      const conversationId = `${phone}:${BUSINESS}`;
      const stop = await env.simulator.sendSms(phone, BUSINESS, 'Stop');
      const ofStop = env.activities.filter((a) => a.platformActivityId.startsWith(stop.messageSid));
      expect(ofStop.map((a) => [a.type, a.reachability, a.text])).toEqual([
        ['reachability', { reachable: false, reason: 'opted_out' }, undefined],
        ['message', undefined, 'Stop'],
      ]);
      expect(ofStop.every((a) => a.platformConversationId === conversationId)).toBe(true);
      expect(env.simulator.optedOut(BUSINESS, phone)).toBe(true);
      expect((await failure(env.gateway.send(env.channelContext(conversationId), text('still there?')))).unreachableReason).toBe('opted_out');

      const start = await env.simulator.sendSms(phone, BUSINESS, 'START');
      expect(env.activities.filter((a) => a.platformActivityId.startsWith(start.messageSid)).map((a) => [a.type, a.reachability])).toEqual([
        ['reachability', { reachable: true }],
        ['message', undefined],
      ]);
      const help = await env.simulator.sendSms(phone, BUSINESS, 'help');
      expect(env.activities.filter((a) => a.platformActivityId.startsWith(help.messageSid)).map((a) => a.type)).toEqual(['message']);
      expect((await env.gateway.send(env.channelContext(conversationId), text('welcome back'))).platformMessageId).toMatch(/^SM/);
    });
  });

  describe('outbound', () => {
    it('sends a reply from the number the user wrote to, with a status callback that comes back as a delivered receipt', async () => {
      const phone = newPhone();
      await env.simulator.sendSms(phone, BUSINESS, 'hi');
      const conversationId = `${phone}:${BUSINESS}`;
      const { platformMessageId } = await env.gateway.send(env.channelContext(conversationId), text('Hello! How can I help?'));
      const message = await env.simulator.waitForMessage((m) => m.sid === platformMessageId && m.callbacks.length === 2);
      expect(message).toMatchObject({ from: BUSINESS, to: phone, body: 'Hello! How can I help?', statusCallback: env.webhookUrl, status: 'delivered' });
      expect(message.callbacks.map((c) => c.httpStatus)).toEqual([200, 200]);
      const receipts = env.activities.filter((a) => a.receipt?.platformMessageId === platformMessageId);
      expect(receipts).toEqual([
        { type: 'receipt', platformActivityId: `${platformMessageId}:delivered`, platformConversationId: conversationId, user: { id: phone }, occurredAt: expect.any(Date), receipt: { platformMessageId, status: 'delivered' } },
      ]);
    });

    it.each([
      ['undelivered:30003', 'unknown', /30003/],
      ['undelivered:30004', 'blocked', /30004/],
      ['failed:30006', 'invalid_recipient', /30006/],
      ['failed:30005', 'invalid_recipient', /30005/],
      ['undelivered:30008', 'unknown', /30008/],
      ['undelivered:30007', 'unknown', /30007/],
    ] as const)('turns a %s status callback into a failed receipt (%s)', async (outcome, reason, detail) => {
      const phone = newPhone();
      env.simulator.setOutcome(phone, outcome);
      const ctx = env.channelContext(`${phone}:${BUSINESS}`, { reference: null });
      const { platformMessageId } = await env.gateway.send(ctx, text('x'));
      await env.simulator.settled();
      const receipt = env.activities.find((a) => a.type === 'receipt' && a.receipt?.platformMessageId === platformMessageId);
      expect(receipt?.receipt).toMatchObject({ status: 'failed', reason, detail: expect.stringMatching(detail) });
    });

    it('asks for no status callback when they are off', async () => {
      env.configure({ configuration: { statusCallbacks: false } });
      const { platformMessageId } = await env.gateway.send(env.channelContext(`${newPhone()}:${BUSINESS}`, { reference: null }), text('x'));
      expect(env.simulator.message(platformMessageId!)!.statusCallback).toBeNull();
    });

    it('prefixes an agent\'s message and sends attachments as MMS media', async () => {
      const phone = newPhone();
      const { platformMessageId } = await env.gateway.send(
        env.channelContext(`${phone}:${BUSINESS}`, { reference: null }),
        text('Here is the form', { author: 'agent', authorName: 'Maria', attachments: [{ contentType: 'application/pdf', url: 'https://files.example.com/form.pdf' }] }),
      );
      expect(env.simulator.message(platformMessageId!)).toMatchObject({ sid: expect.stringMatching(/^MM/), body: 'Maria: Here is the form', mediaUrls: ['https://files.example.com/form.pdf'] });
      expect(await failure(env.gateway.send(env.channelContext(`${phone}:${BUSINESS}`), text('x', { attachments: [{ contentType: 'application/json', content: {} }] })))).toMatchObject({ code: 'invalid_request' });
    });

    it('splits a text longer than Max Segments into messages, and does not resend a part already sent when retried', async () => {
      env.configure({ additional: { maxSegments: 1 } });
      const phone = newPhone();
      const long = `${'word '.repeat(40)}end`;
      const ctx = env.channelContext(`${phone}:${BUSINESS}`, { reference: null, messageId: 'out-1' });
      const first = await env.gateway.send(ctx, text(long));
      const bodies = env.simulator.messagesTo(phone).map((m) => m.body);
      expect(bodies.length).toBe(2);
      expect(bodies.every((body) => body.length <= 160)).toBe(true);
      expect(bodies.join(' ')).toBe(long);
      expect(first.platformMessageId).toBe(env.simulator.messagesTo(phone)[1].sid);
      // The same outbound message again (a retry after the last part failed): only the last part goes again.
      await env.gateway.send(ctx, text(long));
      expect(env.simulator.messagesTo(phone).map((m) => m.body)).toEqual([...bodies, bodies[1]]);
    });

    it('sends through a Messaging Service when the sender is one, and keeps the service as the business side', async () => {
      env.simulator.addNumber(env.account.accountSid, { phoneNumber: '+14155550199', smsUrl: env.webhookUrl });
      const service = env.simulator.addMessagingService(env.account.accountSid, { phoneNumbers: ['+14155550199'] });
      env.configure({ basic: { sender: service.sid } });
      const phone = newPhone();
      await env.simulator.sendSms(phone, '+14155550199', 'hi');
      const conversationId = `${phone}:${service.sid}`;
      expect(env.activities.at(-1)).toMatchObject({ platformConversationId: conversationId, reference: { from: service.sid, to: phone } });
      const { platformMessageId } = await env.gateway.send(env.channelContext(conversationId), text('hello'));
      await env.simulator.settled();
      expect(env.simulator.message(platformMessageId!)).toMatchObject({ messagingServiceSid: service.sid, from: '+14155550199' });
      expect(env.activities.find((a) => a.receipt?.platformMessageId === platformMessageId)).toMatchObject({ platformConversationId: conversationId });
    });

    it('reaches a phone it never heard from by addressOf, and refuses an id that is not E.164', async () => {
      const phone = newPhone();
      const address = env.gateway.addressOf(env.context(), phone);
      expect(address).toEqual({ platformConversationId: `${phone}:${BUSINESS}`, user: { id: phone }, reference: { from: BUSINESS, to: phone } });
      const ctx = env.channelContext(address.platformConversationId, { reference: address.reference });
      expect((await env.gateway.send(ctx, text('Your appointment is tomorrow', { proactive: true }))).platformMessageId).toMatch(/^SM/);
      const refused = await failure(() => env.gateway.addressOf(env.context(), '0049 170 1234'));
      expect(refused).toMatchObject({ code: 'unreachable', unreachableReason: 'invalid_recipient' });
    });

    it.each([
      ['rejected:21211', 'unreachable', 'invalid_recipient'],
      ['rejected:21614', 'unreachable', 'invalid_recipient'],
      ['rejected:21408', 'invalid_request', undefined],
    ] as const)('maps a send refused with %s to %s', async (outcome, code, reason) => {
      const phone = newPhone();
      env.simulator.setOutcome(phone, outcome);
      const error = await failure(env.gateway.send(env.channelContext(`${phone}:${BUSINESS}`, { reference: null }), text('x')));
      expect([error.code, error.unreachableReason, error.status]).toEqual([code, reason, 400]);
    });

    it('maps 429 to rate_limited with Retry-After, 500 and 503 to transient, a wrong token to auth_failed', async () => {
      const ctx = () => env.channelContext(`${newPhone()}:${BUSINESS}`, { reference: null });
      env.simulator.addFault({ status: 429, retryAfterSeconds: 7 });
      expect(await failure(env.gateway.send(ctx(), text('x')))).toMatchObject({ code: 'rate_limited', retryAfterMs: 7000 });
      env.simulator.addFault({ status: 429 });
      expect(await failure(env.gateway.send(ctx(), text('x')))).toMatchObject({ code: 'rate_limited', retryAfterMs: undefined });
      env.simulator.addFault({ status: 500 });
      expect((await failure(env.gateway.send(ctx(), text('x')))).code).toBe('transient');
      env.simulator.addFault({ status: 503 });
      expect((await failure(env.gateway.send(ctx(), text('x')))).code).toBe('transient');
      env.configure({ basic: { authToken: 'wrong' } });
      expect(await failure(env.gateway.send(ctx(), text('x')))).toMatchObject({ code: 'auth_failed', status: 401 });
    });

    it('maps an API that cannot be reached to transient', async () => {
      env.configure({ configuration: { apiBaseUrl: 'http://127.0.0.1:1' } });
      expect((await failure(env.gateway.send(env.channelContext(`${newPhone()}:${BUSINESS}`, { reference: null }), text('x')))).code).toBe('transient');
    });
  });

  describe('connection check', () => {
    it('reads the account with the credentials, and says what is wrong otherwise', async () => {
      expect(await env.gateway.checkConnection(env.context())).toEqual({ ok: true, detail: expect.stringContaining(`account ${env.account.accountSid} active`) });
      env.configure({ basic: { authToken: 'wrong' } });
      expect(await env.gateway.checkConnection(env.context())).toEqual({ ok: false, detail: expect.stringContaining('20003') });
      env.configure({ basic: { sender: 'not-a-number' } });
      expect((await env.gateway.checkConnection(env.context())).detail).toMatch(/^settings: Sender/);
    });

    it('names the REST URLs it will call', () => {
      expect(env.gateway.outboundUrls(env.settings)).toEqual([
        { setting: 'configuration.apiBaseUrl', url: `${env.simulator.apiBaseUrl}/2010-04-01/Accounts/${env.account.accountSid}.json` },
        { setting: 'configuration.apiBaseUrl', url: `${env.simulator.apiBaseUrl}/2010-04-01/Accounts/${env.account.accountSid}/Messages.json` },
      ]);
    });
  });
});
