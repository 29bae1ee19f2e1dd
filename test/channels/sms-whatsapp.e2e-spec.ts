import { randomUUID } from 'node:crypto';
import { EightByEightSimulator } from '@app/simulators/eight-by-eight';
import { TwilioSimulator } from '@app/simulators/twilio';
import { WhatsAppSimulator } from '@app/simulators/whatsapp';
import { BotReceiver, Delivery, waitFor } from '../support/bot-receiver';
import { freePort, resetState, startTestApp, TestApp, withDatabase } from '../support/test-app';
import { escalationBody, SIGNING_SECRET } from '../escalations/fake-setup';

const BUSINESS_NUMBER = '+14155550100';

/**
 * SMS (Twilio) and WhatsApp (Cloud API) through the service, each platform played by its simulator: signed webhooks
 * in, the bot's messages out with their statuses, STOP/START and the opt-out list, templates and the 24-hour window,
 * proactive messages to new users, and each user handed to an 8x8 agent and back.
 */
describe('SMS and WhatsApp through the service', () => {
  const twilio = new TwilioSimulator();
  const whatsapp = new WhatsAppSimulator();
  const eightByEight = new EightByEightSimulator({ queues: [{ id: '101', name: 'Support', agents: { available: 2 } }] });
  const receiver = new BotReceiver(SIGNING_SECRET);
  let t: TestApp;
  let domain: string;
  let sms: string;
  let wa: string;
  let business: ReturnType<WhatsAppSimulator['addBusiness']>;

  beforeAll(async () => {
    await resetState();
    await Promise.all([twilio.start(), whatsapp.start(), eightByEight.start(), receiver.start()]);
    // The public URL Twilio signs is the service's own here: PUBLIC_BASE_URL names the port it listens on.
    const port = await freePort();
    t = await startTestApp({ PORT: String(port), PUBLIC_BASE_URL: `http://127.0.0.1:${port}`, POLL_TICK_MS: '100' });
    domain = `msg-${Date.now()}`;
    expect((await t.request('POST', '/v1/domains', { body: { name: domain, callbackUrl: receiver.url, signingSecret: SIGNING_SECRET } })).status).toBe(201);

    const account = twilio.addAccount({});
    const smsGateway = await t.request('POST', '/v1/gateways', {
      body: {
        type: 'twilio-sms',
        settings: {
          basic: { name: 'sms', domain, deployed: true, accountSid: account.accountSid, authToken: account.authToken, sender: BUSINESS_NUMBER },
          configuration: { apiBaseUrl: twilio.apiBaseUrl, apiRetryInitialDelayMs: 100, apiRetryMultiplier: 2, apiRetryMaxAttempts: 3 },
        },
      },
    });
    expect(smsGateway.status).toBe(201);
    sms = smsGateway.body.id;
    twilio.addNumber(account.accountSid, { phoneNumber: BUSINESS_NUMBER, smsUrl: `${t.url}/v1/webhooks/${sms}` });

    business = whatsapp.addBusiness({ callbackUrl: 'http://127.0.0.1:1/unset', displayPhoneNumber: '15550783881' });
    const waGateway = await t.request('POST', '/v1/gateways', {
      body: {
        type: 'whatsapp-cloud',
        settings: {
          basic: {
            name: 'wa',
            domain,
            deployed: true,
            phoneNumberId: business.phoneNumberId,
            businessAccountId: business.wabaId,
            accessToken: business.accessToken,
            appSecret: business.appSecret,
            verifyToken: business.verifyToken,
          },
          configuration: { graphBaseUrl: whatsapp.graphBaseUrl, apiRetryInitialDelayMs: 100, apiRetryMultiplier: 2, apiRetryMaxAttempts: 3 },
        },
      },
    });
    expect(waGateway.status).toBe(201);
    wa = waGateway.body.id;
    whatsapp.setCallbackUrl(business.phoneNumberId, `${t.url}/v1/webhooks/${wa}`);
    whatsapp.addTemplate(business.wabaId, { name: 'pickup_ready', language: 'en_US', category: 'UTILITY', body: 'Hi {{1}}, your laptop is ready. Book a pick-up?', quickReplies: ['Yes', 'Later'] });
  }, 60_000);
  // The simulators first: their last status webhooks go to a service still up (stopped the other way round, a
  // simulator waited on webhooks to a service that was closing).
  afterAll(async () => {
    await Promise.all([twilio.stop(), whatsapp.stop(), eightByEight.stop()]);
    await t?.close();
    await receiver.stop();
  }, 120_000);

  const event = (conversationId: string, type: string, where: (d: Delivery) => boolean = () => true) =>
    waitFor(`${type} at the bot`, () => receiver.of(conversationId).find((d) => d.type === type && where(d)), 30_000);
  const firstMessage = (channel: string, userId: string) =>
    waitFor(`a user_message from ${userId}`, () => receiver.deliveries.find((d) => d.type === 'user_message' && d.data.user?.id === userId && receiver.of(d.conversationId).some((s) => s.type === 'conversation_started' && s.data.channel === channel)), 30_000);

  describe('SMS', () => {
    it('takes a signed SMS, answers it, reports delivery, and refuses a forged one', async () => {
      const phone = '+34600111001';
      expect((await twilio.sendSms(phone, BUSINESS_NUMBER, 'Hi, where is my parcel?')).status).toBe(200);
      const first = await firstMessage('twilio-sms', phone);
      expect(first.data.text).toBe('Hi, where is my parcel?');
      const reply = await t.request('POST', `/v1/conversations/${first.conversationId}/messages`, { body: { text: 'It leaves today.' } });
      expect(reply.status).toBe(202);
      await event(first.conversationId, 'message_status', (d) => d.data.messageId === reply.body.id && d.data.status === 'delivered');
      expect(twilio.messagesTo(phone).map((m) => m.body)).toContain('It leaves today.');
      for (const signatureFault of ['bad_signature', 'wrong_url', 'no_signature'] as const) {
        expect([signatureFault, (await twilio.sendSms(phone, BUSINESS_NUMBER, `forged ${signatureFault}`, { signatureFault })).status]).toEqual([signatureFault, 401]);
      }
      expect(receiver.of(first.conversationId).some((d) => String(d.data.text).startsWith('forged'))).toBe(false);
    });

    it('keeps STOP and START on the opt-out list and refuses a notification in between; reaches a new number by itself', async () => {
      const phone = '+34600111002';
      await twilio.sendSms(phone, BUSINESS_NUMBER, 'hello');
      const first = await firstMessage('twilio-sms', phone);
      await twilio.sendSms(phone, BUSINESS_NUMBER, 'STOP');
      await event(first.conversationId, 'user_reachability', (d) => d.data.reason === 'opted_out');
      const refused = await t.request('POST', '/v1/notifications', { body: { gatewayId: sms, recipient: { userId: phone }, message: { text: 'Sale!' } } });
      expect([refused.status, refused.body.code]).toEqual([422, 'opted_out']);
      expect((await t.request('GET', `/v1/gateways/${sms}/opt-outs`)).body.items.map((o: { userId: string }) => o.userId)).toContain(phone);
      await twilio.sendSms(phone, BUSINESS_NUMBER, 'START');
      await event(first.conversationId, 'user_reachability', (d) => d.data.reachable === true);
      expect((await t.request('POST', '/v1/notifications', { body: { gatewayId: sms, recipient: { userId: phone }, message: { text: 'Welcome back' } } })).status).toBe(202);
      await waitFor('the notification on the phone', () => twilio.messagesTo(phone).find((m) => m.body === 'Welcome back'));

      const fresh = '+34600111099';
      const bad = await t.request('POST', '/v1/notifications', { body: { gatewayId: sms, recipient: { userId: '600111099' }, message: { text: 'x' } } });
      expect([bad.status, bad.body.code]).toEqual([422, 'invalid_recipient']);
      const sent = await t.request('POST', '/v1/notifications', { headers: { 'idempotency-key': randomUUID() }, body: { gatewayId: sms, recipient: { userId: fresh }, message: { text: 'Your code is 4321' } } });
      expect(sent.status).toBe(202);
      await waitFor('the SMS to the new number', () => twilio.messagesTo(fresh).find((m) => m.body === 'Your code is 4321'));
      await twilio.sendSms(fresh, BUSINESS_NUMBER, 'thanks');
      await event(sent.body.conversationId, 'user_message', (d) => d.data.text === 'thanks');
    });

    it('hands an SMS user to an 8x8 agent and back', async () => {
      await handOverTo8x8('sms', '+34600111003', (text) => twilio.sendSms('+34600111003', BUSINESS_NUMBER, text), (text) => twilio.messagesTo('+34600111003').some((m) => m.body.includes(text)));
    });
  });

  describe('WhatsApp', () => {
    it('answers the endpoint verification through the service, and refuses an unsigned delivery', async () => {
      expect(await whatsapp.verifyCallback(business.phoneNumberId)).toMatchObject({ ok: true });
      expect((await whatsapp.verifyCallback(business.phoneNumberId, { verifyToken: 'wrong' })).ok).toBe(false);
      expect((await whatsapp.userSays(business.phoneNumberId, '34600222000', 'forged', { signatureFault: 'bad_signature' })).status).toBe(401);
    });

    it('talks inside the window; outside it only a template, checked against the registry; a button press comes back in the conversation', async () => {
      const waId = '34600222001';
      await whatsapp.userSays(business.phoneNumberId, waId, 'Hola', { name: 'Ana' });
      const first = await firstMessage('whatsapp-cloud', waId);
      const id = first.conversationId;
      const answer = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'Hi Ana, how can I help?' } });
      expect(answer.status).toBe(202);
      await event(id, 'message_status', (d) => d.data.messageId === answer.body.id && d.data.status === 'delivered');

      // A day and more later (the user's last message moved back, as the clock would): free-form is refused up front.
      await withDatabase((db) => db.query(`UPDATE channel_conversations SET last_user_message_at = now() - interval '25 hours' WHERE id = $1`, [id]));
      const late = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'Still there?' } });
      expect([late.status, late.body.code]).toEqual([422, 'template_required']);
      const unknown = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { template: { name: 'no_such', language: 'en_US' } } });
      expect([unknown.status, unknown.body.details[0].field]).toEqual([400, 'template.name']);
      const short = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { template: { name: 'pickup_ready', language: 'en_US' } } });
      expect([short.status, short.body.details[0].field]).toEqual([400, 'template.parameters']);
      const templated = await t.request('POST', `/v1/conversations/${id}/messages`, {
        body: { template: { name: 'pickup_ready', language: 'en_US', parameters: ['Ana'], buttonPayloads: ['PICKUP_YES', 'PICKUP_LATER'] } },
      });
      expect(templated.status).toBe(202);
      await event(id, 'message_status', (d) => d.data.messageId === templated.body.id && d.data.status === 'delivered');
      const shown = whatsapp.sentTo(business.phoneNumberId, waId).find((m) => m.template?.name === 'pickup_ready');
      expect(shown?.text).toBe('Hi Ana, your laptop is ready. Book a pick-up?');
      await whatsapp.userPresses(business.phoneNumberId, waId, 'PICKUP_YES', 'Yes');
      const pressed = await event(id, 'user_message', (d) => d.data.value === 'PICKUP_YES');
      expect(pressed.data.text).toBe('Yes');
      // The press opened the window again.
      expect((await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'Booked for tomorrow.' } })).status).toBe(202);
    });

    it('pushes a template to a new user, whose answer reaches the bot in that conversation; an unreachable number is failed and then refused', async () => {
      const waId = '34600222002';
      const without = await t.request('POST', '/v1/conversations', { body: { gatewayId: wa, recipient: { userId: waId }, message: { text: 'Hi!' } } });
      expect([without.status, without.body.code]).toEqual([422, 'template_required']);
      const push = await t.request('POST', '/v1/conversations', {
        headers: { 'idempotency-key': `push-${waId}` },
        body: { gatewayId: wa, recipient: { userId: waId }, message: { template: { name: 'pickup_ready', language: 'en_US', parameters: ['Ben'], buttonPayloads: ['PICKUP_YES', 'PICKUP_LATER'] } }, context: { ticket: 'INC7' } },
      });
      expect(push.status).toBe(202);
      const started = await event(push.body.conversationId, 'conversation_started');
      expect(started.data).toMatchObject({ origin: 'proactive', context: { ticket: 'INC7' }, user: { id: waId } });
      await waitFor('the template on the phone', () => whatsapp.sentTo(business.phoneNumberId, waId).find((m) => m.template?.name === 'pickup_ready'));
      await whatsapp.userPresses(business.phoneNumberId, waId, 'PICKUP_LATER', 'Later');
      await event(push.body.conversationId, 'user_message', (d) => d.data.value === 'PICKUP_LATER');

      const gone = '34600222003';
      whatsapp.setUser(gone, { onWhatsApp: false });
      const tried = await t.request('POST', '/v1/notifications', { body: { gatewayId: wa, recipient: { userId: gone }, message: { template: { name: 'pickup_ready', language: 'en_US', parameters: ['Cy'] } } } });
      expect(tried.status).toBe(202);
      const failed = await event(tried.body.conversationId, 'message_status', (d) => d.data.messageId === tried.body.id && d.data.status === 'failed');
      expect(failed.data.reason).toBe('invalid_recipient');
      const again = await t.request('POST', '/v1/notifications', { body: { gatewayId: wa, recipient: { userId: gone }, message: { template: { name: 'pickup_ready', language: 'en_US', parameters: ['Cy'] } } } });
      expect([again.status, again.body.code]).toEqual([422, 'invalid_recipient']);
    });

    it('hands a WhatsApp user to an 8x8 agent and back', async () => {
      const waId = '34600222004';
      await handOverTo8x8('wa', waId, (text) => whatsapp.userSays(business.phoneNumberId, waId, text), (text) => whatsapp.sentTo(business.phoneNumberId, waId).some((m) => String(m.text).includes(text)));
    });
  });

  let eightByEightGateway: string | undefined;
  /** The user asks for a person; the bot escalates to 8x8; the agent and the user talk; the agent leaves; the bot is back. */
  async function handOverTo8x8(label: string, userId: string, userSays: (text: string) => Promise<unknown>, userSaw: (text: string) => boolean): Promise<void> {
    if (!eightByEightGateway) {
      const created = await t.request('POST', '/v1/gateways', {
        body: {
          type: '8x8-chat-gateway',
          settings: {
            basic: { name: '8x8', domain, deployed: true, baseUrl: eightByEight.baseUrl, apiKey: eightByEight.apiKey, tenantId: eightByEight.tenantId, metricsBaseUrl: `${eightByEight.baseUrl}/analytics/cc/v5/realtime-metrics` },
            configuration: { defaultQueueId: '101', transferBackOnAgentClose: true, escalationTimeoutSeconds: 3600 },
            additional: { apiRetryInitialDelayMs: 200, apiRetryMultiplier: 2, apiRetryMaxAttempts: 3 },
          },
        },
      });
      expect(created.status).toBe(201);
      eightByEightGateway = created.body.id as string;
    }
    await userSays('I want a person');
    const asked = await waitFor(`${label}: the ask at the bot`, () => receiver.deliveries.find((d) => d.type === 'user_message' && d.data.user?.id === userId && d.data.text === 'I want a person'), 30_000);
    const id = asked.conversationId;
    const escalation = await t.request('POST', '/v1/escalations', { headers: { 'idempotency-key': `esc-${label}-${id}` }, body: { ...escalationBody(domain, eightByEightGateway, 'unused'), conversation: { id } } });
    expect(escalation.status).toBe(202);
    const record = await waitFor(`${label}: the 8x8 conversation`, () => [...eightByEight.repository.conversations.values()].find((c) => c.user.caseId === escalation.body.id), 30_000);
    eightByEight.acceptConversation(record.id, { agentId: 'agent-grace', agentName: 'Grace' });
    await event(id, 'agent_joined');
    await userSays('my card is blocked');
    await waitFor(`${label}: the user's message at 8x8`, () => record.messages.some((m) => m.authorType === 'user' && String(m.text).includes('my card is blocked')), 30_000);
    eightByEight.sendAgentMessage(record.id, { text: 'Let me unblock it' });
    await waitFor(`${label}: the agent's message on the phone`, () => userSaw('Let me unblock it'), 30_000);
    eightByEight.leaveConversation(record.id);
    await waitFor(`${label}: control back to the bot`, async () => (await t.request('GET', `/v1/conversations/${id}`)).body.control === 'bot', 30_000);
    expect((await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'Anything else?' } })).status).toBe(202);
    await waitFor(`${label}: the bot again on the phone`, () => userSaw('Anything else?'), 30_000);
    expect(receiver.undocumented).toEqual([]);
  }
});
