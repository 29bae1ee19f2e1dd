import { HistoryEntry } from '@app/gateway-sdk';
import { seedEscalation, WEBHOOK_BODIES } from './eight-by-eight.fixtures';
import {
  followTransfers,
  eightByEightLanguage,
  isBareWebhookVerify,
  MAX_WEBHOOK_BYTES,
  parseWebhookBody,
  toAttachmentEvent,
  toCreateConversation,
  toSendMessage,
  translateWebhook,
  webhookConversationId,
  webhookOccurredAt,
} from './eight-by-eight.mapper';

const RECEIVED = new Date('2024-04-14T13:00:00.000Z');
const translate = (body: unknown, eventId = 'e-1') => translateWebhook(body as Record<string, unknown>, eventId, RECEIVED);
const at = new Date(1713100000000);

describe('8x8 mapper: escalation -> CreateConversation', () => {
  it('builds the chat workflow guide conversation: user, attributes as additionalProperties, queue assignment and history', () => {
    const { body, warnings } = toCreateConversation(seedEscalation(), { channelId: 'f5odm43occnifcdcsa', queueId: '123' });
    expect(warnings).toEqual([]);
    expect(body).toEqual({
      channelId: 'f5odm43occnifcdcsa',
      user: {
        name: 'James Jones',
        userId: 'bot-conv-42',
        email: 'user@example.com',
        phone: '013453403332',
        caseId: 'esc-0001',
        language: 'en',
        additionalProperties: [
          { key: 'Authenticated', value: 'yes' },
          { key: 'Intent', value: 'balance' },
          { key: 'AccountType', value: 'credit' },
        ],
      },
      assignment: { type: 'queue', id: '123' },
      history: {
        messages: [
          { authorType: 'user', text: 'Hello, can I get my balance please' },
          { authorType: 'bot', text: 'Sure, what is your account number' },
          { authorType: 'user', text: '123456' },
          { authorType: 'bot', text: 'Your balance is £12.34' },
          { authorType: 'user', text: 'Thanks, please can I speak to an agent ' },
          { authorType: 'bot', text: 'Sure, connecting you now' },
        ],
      },
    });
  });

  it('names the user from first and last name when there is no full name, and leaves out a malformed email', () => {
    const { body, warnings } = toCreateConversation(seedEscalation({ user: { firstName: 'Ann', lastName: 'Lee', email: 'not-an-email' } }), { channelId: 'c', queueId: 'q' });
    expect(body.user).toMatchObject({ name: 'Ann Lee' });
    expect(body.user).not.toHaveProperty('email');
    expect(warnings).toEqual(['the user email is not an email address and was left out']);
  });

  it('sends the first 30 attributes and names the ones left out', () => {
    const attributes = Object.fromEntries(Array.from({ length: 33 }, (_, index) => [`k${index + 1}`, `v${index + 1}`]));
    const { body, warnings } = toCreateConversation(seedEscalation({ attributes }), { channelId: 'c', queueId: 'q' });
    const properties = (body.user as { additionalProperties: Array<{ key: string }> }).additionalProperties;
    expect(properties).toHaveLength(30);
    expect(properties[0]).toEqual({ key: 'k1', value: 'v1' });
    expect(properties[29]).toEqual({ key: 'k30', value: 'v30' });
    expect(warnings).toEqual(["33 attributes; 8x8 takes 30, so these were left out: k31, k32, k33"]);
  });

  it('keeps the latest 200 history messages', () => {
    const history: HistoryEntry[] = Array.from({ length: 205 }, (_, index) => ({ author: 'user', text: `m${index}`, time: '2024-01-01T00:00:00Z' }));
    const { body, warnings } = toCreateConversation(seedEscalation({ history }), { channelId: 'c', queueId: 'q' });
    const messages = (body.history as { messages: Array<{ text: string }> }).messages;
    expect(messages).toHaveLength(200);
    expect(messages[0].text).toBe('m5');
    expect(messages[199].text).toBe('m204');
    expect(warnings).toEqual(['205 history messages; 8x8 takes 200, so the oldest 5 were left out']);
  });

  it('sends agent and system lines as labelled bot lines, names attachments in the text and keeps adaptive cards', () => {
    const card = { type: 'AdaptiveCard', version: '1.3', body: [{ type: 'TextBlock', text: 'Pick one' }] };
    const history: HistoryEntry[] = [
      { author: 'agent', text: 'Earlier agent reply', time: 't' },
      { author: 'system', text: 'Bot session started', time: 't' },
      { author: 'user', attachments: [{ name: 'receipt.pdf', mimeType: 'application/pdf', url: 'https://files.example.com/r.pdf' }, { name: 'local.png', mimeType: 'image/png', id: 'a1' }], time: 't' },
      { author: 'bot', cards: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }, { contentType: 'application/x-unknown', content: {} }], time: 't' },
      { author: 'bot', text: '   ', time: 't' },
    ];
    const { body, warnings } = toCreateConversation(seedEscalation({ history }), { channelId: 'c', queueId: 'q' });
    expect((body.history as { messages: unknown[] }).messages).toEqual([
      { authorType: 'bot', text: '[Agent] Earlier agent reply' },
      { authorType: 'bot', text: '[System] Bot session started' },
      { authorType: 'user', text: '[Attachment: receipt.pdf https://files.example.com/r.pdf]\n[Attachment: local.png]' },
      { authorType: 'bot', cards: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }] },
    ]);
    expect(warnings).toEqual(['a card of type application/x-unknown is not one 8x8 accepts and was left out']);
  });

  it('maps languages to the codes 8x8 routes on', () => {
    expect(eightByEightLanguage('en-GB')).toBe('en');
    expect(eightByEightLanguage('zh_cn')).toBe('zh-CN');
    expect(eightByEightLanguage('pt-BR')).toBe('pt');
    expect(eightByEightLanguage('zh-Hant-HK')).toBeUndefined();
    expect(eightByEightLanguage('xx')).toBeUndefined();
    expect(eightByEightLanguage(undefined)).toBeUndefined();
  });
});

describe('8x8 mapper: user message -> SendMessage', () => {
  it('sends text, uploaded attachment ids and adaptive cards as the user', () => {
    const card = { contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.3', body: [] } };
    expect(toSendMessage({ id: 'm1', text: 'Here it is', cards: [card] }, ['att-1'])?.body).toEqual({
      authorType: 'user',
      text: 'Here it is',
      attachments: [{ id: 'att-1' }],
      cards: [card],
    });
  });

  it('has nothing to send for an empty message', () => {
    expect(toSendMessage({ id: 'm1', text: '  ' }, [])).toBeUndefined();
    expect(toSendMessage({ id: 'm1', cards: [{ contentType: 'text/x-unknown', content: {} }] }, [])).toBeUndefined();
  });
});

describe('8x8 mapper: webhook -> normalized events', () => {
  it('maps QUEUED to queued with the queue id and name', () => {
    expect(translate(WEBHOOK_BODIES.queued)).toEqual({
      events: [{ type: 'queued', key: 'eid:e-1', occurredAt: at, data: { queueId: 'queue-abc-123', queueName: 'Customer Support' } }],
      attachments: [],
    });
  });

  it('maps MEMBERS_CHANGED agent joined/left and user left', () => {
    expect(translate(WEBHOOK_BODIES.agentJoined).events).toEqual([{ type: 'agent_joined', key: 'eid:e-1', occurredAt: at, data: { agent: { id: 'agent-abc-123' } } }]);
    expect(translate(WEBHOOK_BODIES.agentLeft).events).toEqual([{ type: 'agent_left', key: 'eid:e-1', occurredAt: at, data: { agent: { id: 'agent-abc-123' } } }]);
    expect(translate(WEBHOOK_BODIES.userLeft).events).toEqual([{ type: 'ended', key: 'eid:e-1', occurredAt: at, data: { by: 'user', reason: 'the user left the 8x8 conversation' } }]);
  });

  it('maps TRANSFER (no data) to transferred', () => {
    expect(translate(WEBHOOK_BODIES.transfer).events).toEqual([{ type: 'transferred', key: 'eid:e-1', occurredAt: at, data: {} }]);
  });

  it('ends on CONVERSATION_UPDATE idle and on a hand-back assignment, and says nothing for active', () => {
    expect(translate(WEBHOOK_BODIES.conversationUpdateIdle).events).toEqual([{ type: 'ended', key: 'eid:e-1', occurredAt: at, data: { by: 'agent', reason: '8x8 conversation went idle' } }]);
    const handBack = { ...WEBHOOK_BODIES.conversationUpdateActiveAgent, data: { state: 'active', assignment: { type: 'webhook', id: 'wh-1' } } };
    expect(translate(handBack).events).toEqual([expect.objectContaining({ type: 'ended', data: expect.objectContaining({ by: 'agent' }) })]);
    const active = translate(WEBHOOK_BODIES.conversationUpdateActiveAgent);
    expect(active.events).toEqual([]);
    expect(active.ignored?.level).toBe('debug');
  });

  it('maps an agent MESSAGE to agent_message plus one attachment per file, keyed by position', () => {
    const translation = translate(WEBHOOK_BODIES.agentMessage, 'e-9');
    expect(translation.events).toEqual([
      {
        type: 'agent_message',
        key: 'eid:e-9',
        occurredAt: at,
        data: { agent: { id: 'agent-abc-123' }, text: 'Hello, how can I help you?', cards: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: {} }] },
      },
    ]);
    expect(translation.attachments).toEqual([
      { key: 'eid:e-9:att:0', occurredAt: at, agent: { id: 'agent-abc-123' }, url: 'https://files.example.com/att-001', fileName: 'screenshot.png', kind: 'image' },
    ]);
    expect(toAttachmentEvent(translation.attachments[0], Buffer.from('png'), 'application/octet-stream')).toEqual({
      type: 'attachment',
      key: 'eid:e-9:att:0',
      occurredAt: at,
      data: { agent: { id: 'agent-abc-123' }, attachment: { name: 'screenshot.png', mimeType: 'image/png', size: 3, content: Buffer.from('png') } },
    });
  });

  it('drops echoes of our own messages', () => {
    const echo = translate(WEBHOOK_BODIES.seedEcho);
    expect(echo.events).toEqual([]);
    expect(echo.ignored).toEqual({ level: 'debug', reason: 'echo of our own message' });
  });

  it('maps typing with an agent to started and an empty list to stopped; other activities are ignored', () => {
    expect(translate(WEBHOOK_BODIES.typing).events).toEqual([{ type: 'agent_typing_started', key: 'eid:e-1', occurredAt: RECEIVED, data: { agent: { id: 'string' } } }]);
    expect(translate(WEBHOOK_BODIES.typingStopped).events).toEqual([{ type: 'agent_typing_stopped', key: 'eid:e-1', occurredAt: at, data: {} }]);
    expect(translate(WEBHOOK_BODIES.quickReply)).toMatchObject({ events: [], ignored: { level: 'debug' } });
  });

  it('understands the retired v2 flat events', () => {
    const legacyAt = new Date(1629804577002);
    expect(translate(WEBHOOK_BODIES.legacy.agentJoined).events).toEqual([{ type: 'agent_joined', key: 'eid:e-1', occurredAt: legacyAt, data: { agent: { id: 'cmalutan', name: 'Cosmin,Malutan' } } }]);
    // `timestamp: 0` means unknown: the receipt time stands in.
    expect(translate(WEBHOOK_BODIES.legacy.queued).events).toEqual([{ type: 'queued', key: 'eid:e-1', occurredAt: RECEIVED, data: { queueId: 'q-7', queueName: 'Billing' } }]);
    expect(translate(WEBHOOK_BODIES.legacy.agentLeft).events[0]).toMatchObject({ type: 'agent_left', data: { agent: { id: 'cmalutan', name: 'Cosmin,Malutan' } } });
    expect(translate(WEBHOOK_BODIES.legacy.transfer).events[0]).toMatchObject({ type: 'transferred' });
    expect(translate(WEBHOOK_BODIES.legacy.text).events).toEqual([
      { type: 'agent_message', key: 'eid:e-1', occurredAt: RECEIVED, data: { agent: { id: 'cmalutan', name: 'Cosmin,Malutan' }, text: 'Hi, Cosmin here' } },
    ]);
    expect(translate(WEBHOOK_BODIES.legacy.webhookVerify)).toMatchObject({ events: [], ignored: { level: 'debug' } });
  });

  it('ends a legacy escalation on an AGENT_LEFT that no TRANSFER announced, and remembers a transfer until the next agent joins', () => {
    const follow = (body: Record<string, unknown>, pending: boolean) => followTransfers(body, translate(body).events, 'e-1', pending);
    const legacyLeft = follow(WEBHOOK_BODIES.legacy.agentLeft, false);
    expect(legacyLeft.events.map((event) => [event.type, event.key])).toEqual([
      ['agent_left', 'eid:e-1'],
      ['ended', 'eid:e-1:end'],
    ]);
    expect(legacyLeft.events[1]).toMatchObject({ occurredAt: RECEIVED, data: { by: 'agent' } });
    expect(follow(WEBHOOK_BODIES.legacy.agentLeft, true)).toEqual({ events: translate(WEBHOOK_BODIES.legacy.agentLeft).events, transferPending: true });
    expect(follow(WEBHOOK_BODIES.legacy.transfer, false).transferPending).toBe(true);
    expect(follow(WEBHOOK_BODIES.legacy.agentJoined, true).transferPending).toBe(false);
    expect(follow(WEBHOOK_BODIES.legacy.text, true).transferPending).toBe(true);
    // Chat Gateway v1 ends with the idle update, never on MEMBERS_CHANGED left.
    expect(follow(WEBHOOK_BODIES.agentLeft, false).events.map((event) => event.type)).toEqual(['agent_left']);
    expect(follow(WEBHOOK_BODIES.transfer, false).transferPending).toBe(true);
    expect(follow(WEBHOOK_BODIES.agentJoined, true).transferPending).toBe(false);
  });

  it('skips unknown types and events missing their fields with a warning, never an exception', () => {
    const cases: unknown[] = [
      { eventType: 'SOMETHING_NEW', conversationId: 'ID-0', timestamp: 1 },
      { conversationId: 'ID-0' },
      { eventType: 'MESSAGE', conversationId: 'ID-0' },
      { eventType: 'MESSAGE', conversationId: 'ID-0', data: { isEcho: false, sender: { type: 'user' }, text: 'hi' } },
      { eventType: 'MESSAGE', conversationId: 'ID-0', data: { isEcho: false, sender: { type: 'agent' }, text: '', attachments: [{ id: 'x' }] } },
      { eventType: 'MEMBERS_CHANGED', conversationId: 'ID-0', data: { id: 'a' } },
      { eventType: 'ACTIVITY', conversationId: 'ID-0', data: { name: 'typing', value: { users: 'agent' } } },
      { eventType: 'CONVERSATION_UPDATE', conversationId: 'ID-0', data: 'idle' },
      { eventType: 'TEXT', messageType: 'AGENT', conversationId: 'ID-0' },
    ];
    for (const body of cases) {
      const translation = translate(body);
      expect(translation.events).toEqual([]);
      expect(translation.attachments).toEqual([]);
      expect(translation.ignored?.level).toBe('warn');
    }
  });

  it('reads bodies defensively: not JSON, not an object, too large', () => {
    expect(parseWebhookBody(Buffer.from('{"eventType":'))).toEqual({ problem: 'body is not JSON' });
    expect(parseWebhookBody(Buffer.from('[1,2]'))).toEqual({ problem: 'body is not a JSON object' });
    expect(parseWebhookBody(Buffer.alloc(MAX_WEBHOOK_BYTES + 1, 32))).toEqual({ problem: `body of ${MAX_WEBHOOK_BYTES + 1} bytes is larger than ${MAX_WEBHOOK_BYTES}` });
    expect(parseWebhookBody(Buffer.from(JSON.stringify(WEBHOOK_BODIES.queued)))).toEqual({ body: WEBHOOK_BODIES.queued });
  });

  it('finds the conversation of v1 and legacy events, and none for the endpoint verification', () => {
    expect(webhookConversationId(WEBHOOK_BODIES.queued)).toBe('ID-0');
    expect(webhookConversationId(WEBHOOK_BODIES.legacy.agentJoined)).toBe('Aka5NMHU8MtIG7lUQOxI0DTOvM4');
    expect(webhookConversationId(WEBHOOK_BODIES.webhookVerify)).toBeNull();
    expect(webhookConversationId({ eventType: 'QUEUED', conversationId: 42 })).toBeNull();
    expect(webhookOccurredAt({ timestamp: 'soon' }, RECEIVED)).toBe(RECEIVED);
  });

  it('recognizes only the exact WEB_HOOK_VERIFY hello as the bare verification body', () => {
    expect(isBareWebhookVerify(WEBHOOK_BODIES.webhookVerify)).toBe(true);
    expect(isBareWebhookVerify(WEBHOOK_BODIES.legacy.webhookVerify)).toBe(true);
    expect(isBareWebhookVerify({ ...WEBHOOK_BODIES.webhookVerify, conversationId: 'ID-0' })).toBe(false);
    expect(isBareWebhookVerify({ notificationVersion: 'Chat Gateway v1.0', eventType: 'MESSAGE' })).toBe(false);
    expect(isBareWebhookVerify({ eventType: 'WEB_HOOK_VERIFY' })).toBe(false);
  });
});
