import { GatewayLogger } from '@app/gateway-sdk';
import { messageText, parseActivity, stripMentions, toConnectorActivities, toUserActivities } from './microsoft-teams.mapper';
import { BotActivity } from './microsoft-teams.types';

const logged: Array<[string, string]> = [];
const logger: GatewayLogger = {
  debug: (message) => void logged.push(['debug', message]),
  info: (message) => void logged.push(['info', message]),
  warn: (message) => void logged.push(['warn', message]),
  error: (message) => void logged.push(['error', message]),
};
const RECEIVED = new Date('2026-01-10T09:30:05Z');
const BOT = { id: '28:app-1', name: 'Help Bot' };
const USER = { id: '29:1abcUSER', name: 'Ana Lopez', aadObjectId: '6f0c-user' };

/** A message activity shaped as the Teams documentation shows one (personal chat, html duplicate attachment). */
function activity(overrides: Partial<BotActivity> = {}): BotActivity {
  return {
    type: 'message',
    id: '1700000000001',
    timestamp: '2026-01-10T09:30:00.123Z',
    serviceUrl: 'https://smba.trafficmanager.net/emea/',
    channelId: 'msteams',
    from: USER,
    conversation: { conversationType: 'personal', tenantId: 'tenant-a', id: 'a:1xyzCONV' },
    recipient: BOT,
    textFormat: 'plain',
    text: 'I need to reset my password',
    attachments: [{ contentType: 'text/html', content: '<p>I need to reset my password</p>' }],
    entities: [{ type: 'clientInfo', locale: 'en-US', country: 'US', platform: 'Web' }],
    channelData: { tenant: { id: 'tenant-a' } },
    locale: 'en-US',
    ...overrides,
  };
}

const map = (input: BotActivity) => toUserActivities(input, Buffer.from(JSON.stringify(input)), RECEIVED, logger);

describe('microsoft-teams mapper, inbound', () => {
  it('maps a message: text, the html duplicate dropped, user by Entra object id, the conversation reference', () => {
    expect(map(activity())).toEqual([
      {
        type: 'message',
        platformActivityId: '1700000000001',
        platformConversationId: 'a:1xyzCONV',
        occurredAt: new Date('2026-01-10T09:30:00.123Z'),
        user: { id: '6f0c-user', name: 'Ana Lopez', locale: 'en-US' },
        text: 'I need to reset my password',
        reference: {
          serviceUrl: 'https://smba.trafficmanager.net/emea/',
          tenantId: 'tenant-a',
          conversationId: 'a:1xyzCONV',
          conversationType: 'personal',
          userId: '29:1abcUSER',
          aadObjectId: '6f0c-user',
          botId: '28:app-1',
          botName: 'Help Bot',
          channelId: 'msteams',
        },
      },
    ]);
  });

  it('keeps other attachments, and maps a card submit to empty text with its value', () => {
    const [file] = map(activity({ attachments: [{ contentType: 'image/png', name: 'a.png', contentUrl: 'https://x/a.png' }] }));
    expect(file.attachments).toEqual([{ contentType: 'image/png', name: 'a.png', url: 'https://x/a.png' }]);
    const [submit] = map(activity({ text: undefined, attachments: undefined, value: { choice: 'approve' } }));
    expect(submit).toMatchObject({ type: 'message', text: '', value: { choice: 'approve' } });
  });

  it('uses the 29: id when Teams gives no object id, and the receipt time when it gives no timestamp', () => {
    const [message] = map(activity({ from: { id: '29:x', name: 'X' }, timestamp: undefined, locale: undefined }));
    expect(message.user).toEqual({ id: '29:x', name: 'X', locale: 'en-US' });
    expect(message.occurredAt).toEqual(RECEIVED);
  });

  it('strips the bot\'s mention in a channel and keeps other people\'s names', () => {
    const entities = [
      { type: 'mention', mentioned: BOT, text: '<at>Help Bot</at>' },
      { type: 'mention', mentioned: { id: '29:grace', name: 'Grace' }, text: '<at>Grace</at>' },
    ];
    expect(stripMentions('<at>Help Bot</at> ask <at>Grace</at> about it ', entities, BOT.id)).toBe('ask Grace about it');
    expect(stripMentions('<at>Help Bot</at>  hello', undefined, BOT.id)).toBe('hello');
    expect(stripMentions('hello', [], BOT.id)).toBe('hello');
  });

  it('maps typing and read receipts', () => {
    expect(map(activity({ type: 'typing', text: undefined }))[0].type).toBe('typing');
    const [receipt] = map(activity({ type: 'event', name: 'application/vnd.microsoft.readReceipt', value: { lastReadMessageId: '1700000000099' } }));
    expect(receipt).toMatchObject({ type: 'receipt', receipt: { platformMessageId: '1700000000099', status: 'read' } });
  });

  it('maps installs and uninstalls to reachability, and other members to joins', () => {
    const added = map(activity({ type: 'conversationUpdate', id: undefined, text: undefined, membersAdded: [BOT, { id: '29:new', name: 'New' }] }));
    expect(added.map((a) => [a.type, a.reachability ?? a.user.id])).toEqual([
      ['reachability', { reachable: true }],
      ['user_joined', '29:new'],
    ]);
    expect(added[0].platformActivityId).toMatch(/^sha256:[0-9a-f]{32}:bot-added$/);
    expect(added[1].reference).toMatchObject({ userId: '29:new' });
    const removed = map(activity({ type: 'conversationUpdate', membersRemoved: [BOT] }));
    expect(removed.map((a) => a.reachability)).toEqual([{ reachable: false, reason: 'not_installed' }]);
    for (const [action, reachable] of [['add', true], ['add-upgrade', true], ['remove', false], ['remove-upgrade', false]] as const) {
      expect(map(activity({ type: 'installationUpdate', action }))[0].reachability?.reachable).toBe(reachable);
    }
  });

  it('ignores edits, deletes, reactions, invokes and unknown types', () => {
    for (const type of ['messageUpdate', 'messageDelete', 'messageReaction', 'invoke', 'somethingNew']) expect(map(activity({ type }))).toEqual([]);
    expect(logged.filter(([level]) => level === 'debug').length).toBeGreaterThanOrEqual(5);
  });

  it('refuses a body that is not an Activity with a conversation', () => {
    expect(() => parseActivity(Buffer.from('nope'))).toThrow(/not JSON/);
    expect(() => parseActivity(Buffer.from('{"type":"message"}'))).toThrow(/conversation.id/);
  });
});

describe('microsoft-teams mapper, outbound', () => {
  const shape = { appId: 'app-1', conversationId: 'a:1xyz', conversationType: 'personal', userId: '29:1abcUSER', alert: false, agentMessageFormat: '**{name}**: {text}' };

  it('sends text and attachments as two activities, quick replies as suggested actions on the last', () => {
    const parts = toConnectorActivities(
      {
        type: 'message',
        author: 'bot',
        text: 'Here is the form',
        attachments: [
          { contentType: 'application/pdf', name: 'form.pdf', url: 'https://files.example/form.pdf' },
          { contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.5' } },
        ],
        quickReplies: [{ title: 'Yes' }, { title: 'No', value: 'no' }],
      },
      shape,
    );
    expect(parts).toEqual([
      { type: 'message', from: { id: '28:app-1' }, conversation: { id: 'a:1xyz' }, recipient: { id: '29:1abcUSER' }, textFormat: 'markdown', text: 'Here is the form' },
      {
        type: 'message',
        from: { id: '28:app-1' },
        conversation: { id: 'a:1xyz' },
        recipient: { id: '29:1abcUSER' },
        attachments: [
          { contentType: 'application/pdf', contentUrl: 'https://files.example/form.pdf', name: 'form.pdf' },
          { contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.5' } },
        ],
        suggestedActions: {
          to: ['29:1abcUSER'],
          actions: [
            { type: 'imBack', title: 'Yes', value: 'Yes' },
            { type: 'imBack', title: 'No', value: 'no' },
          ],
        },
      },
    ]);
  });

  it('turns quick replies into hero card buttons outside personal chats, and alerts on the first part', () => {
    const parts = toConnectorActivities({ type: 'message', author: 'bot', text: 'Pick one', quickReplies: [{ title: 'A' }], proactive: true }, { ...shape, conversationType: 'channel', alert: true });
    expect(parts).toHaveLength(2);
    expect(parts[0]).toMatchObject({ text: 'Pick one', channelData: { notification: { alert: true } } });
    expect(parts[1].attachments).toEqual([{ contentType: 'application/vnd.microsoft.card.hero', content: { buttons: [{ type: 'imBack', title: 'A', value: 'A' }] } }]);
    expect(parts[1].suggestedActions).toBeUndefined();
  });

  it('sends typing without text', () => {
    expect(toConnectorActivities({ type: 'typing', author: 'bot' }, shape)).toEqual([
      { type: 'typing', from: { id: '28:app-1' }, conversation: { id: 'a:1xyz' }, recipient: { id: '29:1abcUSER' } },
    ]);
  });

  it('puts the agent\'s name in front of an agent\'s text, escaped, as the format says', () => {
    expect(messageText({ type: 'message', author: 'agent', authorName: 'Grace', text: 'Hello' }, '**{name}**: {text}')).toBe('**Grace**: Hello');
    expect(messageText({ type: 'message', author: 'agent', authorName: 'G*race_', text: '$& {name}' }, '**{name}**: {text}')).toBe('**G\\*race\\_**: $& {name}');
    expect(messageText({ type: 'message', author: 'agent', authorName: 'Grace', text: 'Hello' }, '')).toBe('Hello');
    expect(messageText({ type: 'message', author: 'bot', authorName: 'Bot', text: 'Hello' }, '**{name}**: {text}')).toBe('Hello');
  });

  it('refuses a message with nothing to send', () => {
    expect(() => toConnectorActivities({ type: 'message', author: 'bot', text: '  ' }, shape)).toThrow(/no text/);
  });
});
