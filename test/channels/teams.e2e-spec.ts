import { randomUUID } from 'node:crypto';
import { GmsSimulator } from '@app/simulators/gms';
import { TeamsSimulator, TeamsUser } from '@app/simulators/teams';
import { BotReceiver, Delivery, waitFor } from '../support/bot-receiver';
import { resetState, startTestApp, TestApp } from '../support/test-app';
import { escalationBody, SIGNING_SECRET } from '../escalations/fake-setup';

const APP_ID = '00000000-0000-4000-8000-00000000b07a';
const SECRET = 'teams-bot-secret-e2e';
const TENANT = '72f988bf-0000-4000-8000-2d7cd011db47';

/**
 * Microsoft Teams through the service, end to end: the Teams simulator plays Teams, the Bot Connector and Entra ID;
 * its activities reach the gateway's messaging endpoint (`/v1/webhooks/{gatewayId}`) signed as Azure Bot Service signs
 * them. The bot is the receiver of the domain's signed events and answers through the bot API; the agent side is the
 * GMS simulator.
 */
describe('Microsoft Teams through the service', () => {
  const teams = new TeamsSimulator();
  const gms = new GmsSimulator({ timeoutAlertSeconds: 0, timeoutCloseSeconds: 0 });
  const receiver = new BotReceiver(SIGNING_SECRET);
  let t: TestApp;
  let domain: string;
  let gatewayId: string;

  beforeAll(async () => {
    await resetState();
    await teams.start();
    await gms.start();
    await receiver.start();
    t = await startTestApp({ POLL_TICK_MS: '100' });
    domain = `teams-${Date.now()}`;
    expect((await t.request('POST', '/v1/domains', { body: { name: domain, callbackUrl: receiver.url, signingSecret: SIGNING_SECRET } })).status).toBe(201);
    const gateway = await t.request('POST', '/v1/gateways', {
      body: {
        type: 'microsoft-teams',
        settings: {
          basic: { name: 'teams', domain, deployed: true, appId: APP_ID, appPassword: SECRET, appTenantId: TENANT, appType: 'SingleTenant' },
          configuration: {
            openIdMetadataUrl: teams.openIdMetadataUrl,
            tokenEndpointTemplate: teams.tokenEndpointTemplate,
            allowedServiceUrlHosts: '127.0.0.1',
            apiRetryInitialDelayMs: 100,
            apiRetryMultiplier: 2,
            apiRetryMaxAttempts: 3,
          },
        },
      },
    });
    expect(gateway.status).toBe(201);
    gatewayId = gateway.body.id;
    teams.registerBot({ appId: APP_ID, name: 'Help bot', secret: SECRET, tenantId: TENANT, messagingEndpoint: `${t.url}/v1/webhooks/${gatewayId}` });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await teams.stop();
    await gms.stop();
    await receiver.stop();
  });

  const event = (conversationId: string, type: string, where: (d: Delivery) => boolean = () => true) =>
    waitFor(`${type} at the bot`, () => receiver.of(conversationId).find((d) => d.type === type && where(d)), 15_000);
  /** A user who installed the app, and the service's conversation with them. */
  const installed = async (name: string): Promise<{ user: TeamsUser; id: string; teamsConversation: string }> => {
    const user = teams.addUser({ name, tenantId: TENANT });
    const { conversationId, statuses } = await teams.install(APP_ID, user.id);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const started = await waitFor('conversation_started', () => receiver.deliveries.find((d) => d.type === 'conversation_started' && d.data.platformConversationId === conversationId));
    return { user, id: started.conversationId, teamsConversation: conversationId };
  };

  it('an install opens the conversation; the user and the bot talk, with typing, a card and its submit', async () => {
    const { user, id, teamsConversation } = await installed('Ana Lopez');
    const reachable = await event(id, 'user_reachability');
    expect(reachable.data).toMatchObject({ reachable: true, user: { id: user.aadObjectId, name: 'Ana Lopez' } });

    expect((await teams.say(APP_ID, user.id, '<at>Help bot</at> I need to reset my password')).status).toBe(200);
    const message = await event(id, 'user_message');
    expect(message.data.text).toBe('I need to reset my password');

    expect((await t.request('POST', `/v1/conversations/${id}/typing`, { body: {} })).status).toBe(202);
    const card = { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'Reset it now?' }], actions: [{ type: 'Action.Submit', title: 'Yes', data: { choice: 'reset' } }] };
    const reply = await t.request('POST', `/v1/conversations/${id}/messages`, {
      body: { text: 'I can help with that.', cards: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }] },
      headers: { 'idempotency-key': `reply-${id}` },
    });
    expect(reply.status).toBe(202);
    await event(id, 'message_status', (d) => d.data.messageId === reply.body.id && d.data.status === 'sent');
    const transcript = teams.transcript(teamsConversation);
    expect(transcript.map((e) => e.op)).toEqual(['typing', 'send', 'send']);
    expect(transcript[1].activity).toMatchObject({ type: 'message', text: 'I can help with that.' });
    expect(transcript[2].activity).toMatchObject({ attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }] });

    await teams.submitCard(APP_ID, user.id, { choice: 'reset' });
    const submit = await event(id, 'user_message', (d) => d.data.value !== undefined);
    expect(submit.data.value).toEqual({ choice: 'reset' });
    expect(receiver.undocumented).toEqual([]);
  });

  it('refuses a request whose token fails a check, and stores nothing of it', async () => {
    const { user, id } = await installed('Ben Ode');
    for (const fault of ['expired', 'wrong_audience', 'unknown_key', 'wrong_service_url', 'missing_endorsement', 'no_header'] as const) {
      const res = await teams.say(APP_ID, user.id, `forged ${fault}`, { fault });
      expect([fault, res.status]).toEqual([fault, 401]);
    }
    expect((await teams.say(APP_ID, user.id, 'a real one')).status).toBe(200);
    await event(id, 'user_message', (d) => d.data.text === 'a real one');
    expect(receiver.of(id).filter((d) => d.type === 'user_message' && String(d.data.text).startsWith('forged'))).toEqual([]);
  });

  it('notifies an installed user (raising an alert), refuses one who uninstalled or blocked the bot, and waits out throttling in order', async () => {
    const { user, id, teamsConversation } = await installed('Cy Twombly');
    const notify = (text: string, key = randomUUID()) =>
      t.request('POST', '/v1/notifications', { headers: { 'idempotency-key': key }, body: { gatewayId, recipient: { userId: user.aadObjectId }, message: { text } } });

    teams.addConnectorFault({ status: 429, code: 'Throttled', retryAfterSeconds: 1, count: 2, conversationId: teamsConversation });
    const one = await notify('Your laptop is ready');
    const two = await notify('Pick it up at desk 4');
    expect([one.status, two.status]).toEqual([202, 202]);
    await event(id, 'message_status', (d) => d.data.messageId === two.body.id && d.data.status === 'sent');
    const sent = teams.transcript(teamsConversation).filter((e) => e.op === 'send');
    expect(sent.map((e) => e.activity.text)).toEqual(['Your laptop is ready', 'Pick it up at desk 4']);
    expect(sent[0].activity).toMatchObject({ channelData: { notification: { alert: true } } });
    expect((await t.request('GET', `/v1/conversations/${id}/messages/${one.body.id}`)).body).toMatchObject({ status: 'sent', attempts: 3 });

    teams.block(APP_ID, user.id, 'messageWritesBlocked');
    const blocked = await notify('Are you there?');
    expect(blocked.status).toBe(202);
    const failed = await event(id, 'message_status', (d) => d.data.messageId === blocked.body.id && d.data.status === 'failed');
    expect(failed.data).toMatchObject({ reason: 'blocked', proactive: true });
    expect((await notify('Again?')).body.code).toBe('blocked');

    // Unblocked and writing again: reachable; uninstalled: not_installed, up front.
    teams.unblock(APP_ID, user.id);
    await teams.say(APP_ID, user.id, 'back');
    await event(id, 'user_message', (d) => d.data.text === 'back');
    expect((await notify('Welcome back')).status).toBe(202);
    await teams.uninstall(APP_ID, user.id);
    await event(id, 'user_reachability', (d) => d.data.reachable === false);
    const refused = await notify('Gone?');
    expect([refused.status, refused.body.code]).toEqual([422, 'not_installed']);
    expect((await t.request('POST', '/v1/notifications', { body: { gatewayId, recipient: { userId: 'never-installed' }, message: { text: 'x' } } })).body.code).toBe('not_installed');
  });

  it('pushes a conversation: the opening card reaches Teams, the user answers and the bot gets it in that conversation', async () => {
    const { user, id, teamsConversation } = await installed('Dee Dee');
    const push = await t.request('POST', '/v1/conversations', {
      headers: { 'idempotency-key': `push-${user.id}` },
      body: { gatewayId, recipient: { userId: user.aadObjectId }, message: { text: 'Your laptop is ready. Book a pickup slot?', quickReplies: [{ title: 'Yes', value: 'PICKUP_YES' }] }, context: { ticket: 'INC0012345' } },
    });
    expect(push.status).toBe(202);
    const started = await event(id, 'conversation_started', (d) => d.data.origin === 'proactive');
    expect(started.data.context).toEqual({ ticket: 'INC0012345' });
    const opening = await teams.waitForTranscript(teamsConversation, (e) => e.op === 'send' && e.activity.text === 'Your laptop is ready. Book a pickup slot?');
    expect(opening.activity).toMatchObject({ suggestedActions: { actions: [{ type: 'imBack', title: 'Yes', value: 'PICKUP_YES' }] } });
    await teams.say(APP_ID, user.id, 'PICKUP_YES');
    const answer = await event(id, 'user_message', (d) => d.data.text === 'PICKUP_YES');
    expect(answer.seq).toBeGreaterThan(started.seq);
  });

  it('hands a Teams user to a GMS agent and back: each side sees the other, then the bot has the user again', async () => {
    const agentGateway = await t.request('POST', '/v1/gateways', {
      body: {
        type: 'genesys-pureengage',
        settings: {
          basic: { name: 'gms', domain, deployed: true, serviceUrl: gms.baseUrl, serviceName: 'customer-support' },
          // Customer Agent Info: the agent's name comes with their messages, and Teams shows it in the text.
          configuration: { transferBackOnAgentClose: true, escalationTimeoutSeconds: 300, customerAgentInfo: true },
          additional: { clientPollingIntervalSeconds: 0.25, apiRetryInitialDelayMs: 100, apiRetryMultiplier: 2, apiRetryMaxAttempts: 3 },
        },
      },
    });
    expect(agentGateway.status).toBe(201);
    const { user, id, teamsConversation } = await installed('Eve Arden');
    await teams.say(APP_ID, user.id, 'I want a human');
    await event(id, 'user_message', (d) => d.data.text === 'I want a human');
    const escalation = await t.request('POST', '/v1/escalations', {
      headers: { 'idempotency-key': `esc-${id}` },
      body: { ...escalationBody(domain, agentGateway.body.id, 'unused'), conversation: { id }, user: { name: 'Eve Arden', language: 'en' } },
    });
    expect(escalation.status).toBe(202);
    const chat = await waitFor('GMS chat', () => gms.listChats().map((s) => gms.getChat(s.chatId)!).find((c) => c.userData.escalationId === escalation.body.id), 15_000);
    gms.agentJoin(chat.chatId, { nickname: 'Grace' });
    await event(id, 'agent_joined');

    await teams.say(APP_ID, user.id, 'my card is blocked');
    await waitFor('user message at the agent', () => gms.getChat(chat.chatId)!.transcript.some((e) => e.type === 'Message' && e.text === 'my card is blocked'), 15_000);
    gms.agentSendMessage(chat.chatId, 'Let me check that for you');
    const relayed = await teams.waitForTranscript(teamsConversation, (e) => e.op === 'send' && String(e.activity.text).includes('Let me check that for you'), 15_000);
    expect(relayed.activity.text).toBe('**Grace**: Let me check that for you');

    gms.agentClose(chat.chatId);
    await waitFor('control back to the bot', async () => (await t.request('GET', `/v1/conversations/${id}`)).body.control === 'bot', 15_000);
    const back = await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'Anything else?' } });
    expect(back.status).toBe(202);
    await teams.waitForTranscript(teamsConversation, (e) => e.activity.text === 'Anything else?');
    expect(receiver.undocumented).toEqual([]);
  });
});
