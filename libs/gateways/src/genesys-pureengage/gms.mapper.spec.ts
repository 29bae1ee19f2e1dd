import { GatewayLogger } from '@app/gateway-sdk';
import { readGmsSettings } from './genesys-pureengage.settings';
import { escalationRequest, testSettings } from './genesys-pureengage.spec-helpers';
import { AGENT_CONVERSATION_REFRESH, AGENT_FILE_UPLOADED, FILE_LIMITS_RESPONSE, REQUEST_CHAT_RESPONSE } from './gms.fixtures';
import { endedEvent, GmsMappedItem, historyMessages, mapTranscript, MAX_MESSAGE_CHARS, messageText, nextCursor, refusedEndedEvent, requestChatFields } from './gms.mapper';

function recordingLogger() {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const line = (level: string) => (message: string, fields?: Record<string, unknown>) => lines.push({ level, message, fields });
  const logger: GatewayLogger = { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') };
  return { logger, lines, warnings: () => lines.filter((l) => l.level === 'warn') };
}

const events = (items: GmsMappedItem[]) => items.map((item) => (item.kind === 'event' ? item.event : item.file));

describe('gms.mapper: GMS transcript to normalized events', () => {
  it('finds nothing for the bot platform in the official Request Chat answer, but counts its index', () => {
    const { logger, warnings } = recordingLogger();
    const mapped = mapTranscript(REQUEST_CHAT_RESPONSE.messages, { customerAgentInfo: false, logger });
    expect(mapped.items).toEqual([]);
    expect(mapped.maxIndex).toBe(1);
    expect(warnings()).toEqual([]);
    // The official example has no nextPosition: the cursor falls back to max(index)+1.
    expect(nextCursor(REQUEST_CHAT_RESPONSE as never, mapped, 1)).toBe(2);
  });

  it('ignores the captured file-limits notice (ours, without index) silently', () => {
    const { logger, lines } = recordingLogger();
    const mapped = mapTranscript(FILE_LIMITS_RESPONSE.messages, { customerAgentInfo: false, logger });
    expect(mapped).toEqual({ items: [] });
    expect(lines).toEqual([]);
  });

  it('turns the captured agent FileUploaded into a file to fetch', () => {
    const { logger } = recordingLogger();
    const mapped = mapTranscript([AGENT_FILE_UPLOADED], { customerAgentInfo: true, logger });
    expect(mapped.items).toEqual([
      {
        kind: 'file',
        file: { key: 'idx:10', index: 10, occurredAt: new Date(1548735832000), fileId: '00D25C4FD5580141', name: 'New Text Document.txt', agent: { id: '2', name: 'agent' } },
      },
    ]);
  });

  it('maps an agent conversation, skipping our own echo, with keys by index', () => {
    const { logger, warnings } = recordingLogger();
    const mapped = mapTranscript(AGENT_CONVERSATION_REFRESH.messages, { customerAgentInfo: false, logger });
    const ann = { id: '2', name: 'Ann' };
    expect(events(mapped.items)).toEqual([
      { type: 'notice', key: 'idx:3', occurredAt: new Date(1432845090000), data: { text: 'Estimated waiting time: 2 minutes' } },
      { type: 'agent_joined', key: 'idx:4', occurredAt: new Date(1432845100000), data: { agent: ann } },
      { type: 'agent_typing_started', key: 'idx:5', occurredAt: new Date(1432845101000), data: {} },
      { type: 'agent_message', key: 'idx:6', occurredAt: new Date(1432845102000), data: { text: 'Hi, how can I help?' } },
      { type: 'agent_typing_stopped', key: 'idx:7', occurredAt: new Date(1432845102000), data: {} },
      { type: 'push_url', key: 'idx:8', occurredAt: new Date(1432845103000), data: { url: 'https://www.genesys.com/' } },
      { type: 'agent_message', key: 'idx:9', occurredAt: new Date(1432845104000), data: { text: 'Supervisor here' } },
      { type: 'notice', key: 'idx:10', occurredAt: new Date(1432845105000), data: { text: 'Ann is checking your order' } },
      { type: 'agent_left', key: 'idx:11', occurredAt: new Date(1432845106000), data: { agent: ann } },
    ]);
    expect(warnings()).toEqual([]);
    expect(nextCursor(AGENT_CONVERSATION_REFRESH, mapped, 2)).toBe(12);
  });

  it('names the agent on every agent event with Customer Agent Info', () => {
    const { logger } = recordingLogger();
    const mapped = mapTranscript(AGENT_CONVERSATION_REFRESH.messages, { customerAgentInfo: true, logger });
    const byKey = Object.fromEntries(events(mapped.items).map((e) => [e.key, e]));
    expect(byKey['idx:5']).toMatchObject({ data: { agent: { id: '2', name: 'Ann' } } });
    expect(byKey['idx:6']).toMatchObject({ data: { agent: { id: '2', name: 'Ann' }, text: 'Hi, how can I help?' } });
    expect(byKey['idx:9']).toMatchObject({ data: { agent: { id: '4', name: 'Sam' } } });
  });

  it('skips malformed, unknown and oversized items with a warning naming index and type, and keeps the rest', () => {
    const { logger, warnings } = recordingLogger();
    const agent = { nickname: 'Ann', participantId: 2, type: 'Agent' };
    const mapped = mapTranscript(
      [
        null,
        'Message',
        { index: 20, type: 'Message', text: 'no sender' },
        { from: agent, type: 'Message', text: 'no index' },
        { from: agent, index: -3, type: 'Message', text: 'negative index' },
        { from: agent, index: 21, type: 'Message', text: 42 },
        { from: agent, index: 22, type: 'Message', text: 'x'.repeat(70_000) },
        { from: agent, index: 23, type: 'Teleport', text: 'beam me up' },
        { from: agent, index: 24, type: 'PushUrl', text: 'javascript:alert(1)' },
        { from: agent, index: 25, type: 'Message' },
        { from: { type: 'Agent' }, index: 26, type: 'Message', text: 'anonymous' },
        { from: agent, index: 27, type: 'Message', text: 'survivor', utcTime: 'yesterday' },
        { from: agent, index: 27, type: 'Message', text: 'same index again' },
      ],
      { customerAgentInfo: false, logger },
    );
    expect(events(mapped.items)).toEqual([{ type: 'agent_message', key: 'idx:27', occurredAt: expect.any(Date), data: { text: 'survivor' } }]);
    expect(warnings().map((w) => w.fields)).toEqual([
      { index: undefined, type: undefined },
      { index: undefined, type: undefined },
      { index: 20, type: 'Message' },
      { index: undefined, type: 'Message' },
      { index: -3, type: 'Message' },
      { index: 21, type: 'Message' },
      { index: 22, type: 'Message' },
      { index: 23, type: 'Teleport' },
      { index: 24, type: 'PushUrl' },
      { index: 25, type: 'Message' },
      { index: 26, type: 'Message' },
      { index: 27, type: 'Message' },
    ]);
    expect(mapped.maxIndex).toBe(27);
  });

  it('tolerates a messages field that is not an array', () => {
    const { logger, warnings } = recordingLogger();
    expect(mapTranscript({ oops: true }, { customerAgentInfo: false, logger })).toEqual({ items: [] });
    expect(warnings()).toHaveLength(1);
    expect(mapTranscript(undefined, { customerAgentInfo: false, logger })).toEqual({ items: [] });
  });

  it('turns an oversized agent file into a notice instead of a download', () => {
    const { logger } = recordingLogger();
    const huge = { ...AGENT_FILE_UPLOADED, userData: { ...AGENT_FILE_UPLOADED.userData, 'file-size': String(100 * 1024 * 1024) } };
    expect(events(mapTranscript([huge], { customerAgentInfo: false, logger }).items)).toEqual([
      expect.objectContaining({ type: 'notice', key: 'idx:10', data: { text: expect.stringContaining('too large') } }),
    ]);
  });

  it('says who ended the chat', () => {
    const { logger } = recordingLogger();
    const byAgent = mapTranscript(AGENT_CONVERSATION_REFRESH.messages, { customerAgentInfo: false, logger });
    expect(endedEvent(byAgent)).toEqual({ type: 'ended', key: 'ended', occurredAt: new Date(1432845106000), data: { by: 'agent' } });

    const removed = mapTranscript([{ from: { nickname: 'First Last', participantId: 1, type: 'Client' }, index: 12, type: 'ParticipantLeft', utcTime: 1432845200000 }], {
      customerAgentInfo: false,
      logger,
    });
    expect(endedEvent(removed)).toMatchObject({ occurredAt: new Date(1432845200000), data: { by: 'system', reason: expect.stringContaining('removed') } });

    const idle = mapTranscript(
      [{ from: { nickname: 'system', participantId: 1000, type: 'External' }, index: 13, type: 'Notice', text: 'Chat session closed due to inactivity of chat participants.', utcTime: 1432845300000 }],
      { customerAgentInfo: false, logger },
    );
    expect(endedEvent(idle).data).toEqual({ by: 'timeout', reason: 'Chat session closed due to inactivity of chat participants.' });

    const refused = refusedEndedEvent({ statusCode: 2, chatEnded: true, errors: [{ code: 8209, message: 'User was logged out' }] });
    expect(refused).toMatchObject({ type: 'ended', key: 'ended', data: { by: 'system', reason: 'GMS no longer serves the chat: 8209 User was logged out' } });
  });

  it('never moves the cursor without a reason', () => {
    const empty = { items: [] };
    expect(nextCursor({ statusCode: 0 }, empty, 7)).toBe(7);
    expect(nextCursor({ statusCode: 0, nextPosition: 'x' as never }, { items: [], maxIndex: 9 }, 7)).toBe(10);
    expect(nextCursor({ statusCode: 0 }, { items: [], maxIndex: 3 }, 7)).toBe(7);
  });
});

describe('gms.mapper: normalized to GMS', () => {
  const settings = readGmsSettings(testSettings({ basic: { serviceUrl: 'http://gms', serviceName: 'chat' }, configuration: { escalationQueue: 'default-q' } }));

  it('maps the user and attributes to Request Chat fields, the gateway keys winning', () => {
    const { logger, warnings } = recordingLogger();
    const fields = requestChatFields(
      escalationRequest({
        user: { firstName: 'Jo', lastName: 'Client', name: 'Jo C.', email: 'jo@example.com', phone: '+15550100' },
        attributes: { orderId: 'A-17', queue: 'attribute-queue', 'bad[key]': 'x', subject: 'Refund' },
        locale: 'fr-FR',
      }),
      settings,
      logger,
    );
    expect(fields).toEqual([
      ['nickname', 'Jo C.'],
      ['firstName', 'Jo'],
      ['lastName', 'Client'],
      ['emailAddress', 'jo@example.com'],
      ['subject', 'Refund'],
      ['userData[orderId]', 'A-17'],
      ['userData[queue]', 'default-q'],
      ['userData[subject]', 'Refund'],
      ['userData[channel]', 'genesyspureengage'],
      ['userData[escalationId]', 'esc-1'],
      ['userData[conversationId]', 'conv-1'],
      ['userData[sourceChannel]', 'webchat'],
      ['userData[GCTI_LanguageCode]', 'fr-FR'],
      ['userData[phoneNumber]', '+15550100'],
    ]);
    expect(warnings()).toEqual([expect.objectContaining({ fields: { attribute: 'bad[key]' } })]);
    const named = requestChatFields(escalationRequest({ user: {}, queue: 'sales' }), settings, logger);
    expect(named[0]).toEqual(['nickname', 'Customer']);
    expect(named).toContainEqual(['userData[queue]', 'sales']);
  });

  it('writes the history as readable lines, files as links and cards as text', () => {
    const [text, ...more] = historyMessages(
      [
        { author: 'user', text: 'I lost my card', time: '2024-05-01T10:00:00Z' },
        {
          author: 'bot',
          text: 'Pick one:',
          time: '2024-05-01T10:00:01.500Z',
          cards: [
            {
              contentType: 'application/vnd.microsoft.card.adaptive',
              content: {
                type: 'AdaptiveCard',
                body: [{ type: 'FactSet', facts: [{ title: 'Card', value: '**** 1234' }] }],
                actions: [
                  { type: 'Action.Submit', title: 'Block it' },
                  { type: 'Action.OpenUrl', title: 'FAQ', url: 'https://bank.example.com/faq' },
                ],
              },
            },
          ],
        },
        { author: 'user', time: '2024-05-01T10:00:05Z', attachments: [{ name: 'photo.png', mimeType: 'image/png', size: 2048, url: 'https://files.example.com/p.png' }] },
        { author: 'system', time: 'not a time', text: '' },
      ],
      true,
    );
    expect(more).toEqual([]);
    expect(text.split('\n')).toEqual([
      'Conversation with the virtual agent before the transfer (3 entries, times UTC):',
      '[10:00:00] Customer: I lost my card',
      '[10:00:01] Virtual agent: Pick one:',
      '    Card: **** 1234',
      '    FAQ: https://bank.example.com/faq',
      '    [Block it]',
      '[10:00:05] Customer: [Attachment: photo.png (image/png, 2048 bytes)] https://files.example.com/p.png',
    ]);
    expect(historyMessages([], true)).toEqual([]);
  });

  it('cuts a long history into numbered pieces GMS accepts, dropping the oldest beyond the limit', () => {
    const history = Array.from({ length: 150 }, (_, i) => ({ author: 'user' as const, text: `line ${i} ${'x'.repeat(400)}`, time: '2024-05-01T10:00:00Z' }));
    const pieces = historyMessages(history, true);
    expect(pieces.length).toBeGreaterThan(1);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
    expect(pieces[0]).toMatch(/^Conversation with the virtual agent/);
    expect(pieces[0]).toContain('earlier line(s) not shown');
    expect(pieces[1]).toMatch(new RegExp(`^\\(history 2/${pieces.length}\\)\\n`));
    expect(pieces.join('\n')).not.toContain('line 49 ');
    expect(pieces[pieces.length - 1]).toContain('line 149 ');
  });

  it('renders a user message: text and cards, and attachment lines only when content is not presented', () => {
    const message = {
      id: 'm',
      text: 'see',
      cards: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', body: [{ type: 'TextBlock', text: 'Total: $5' }] } }],
      attachments: [{ name: 'a.pdf', mimeType: 'application/pdf' }],
    };
    expect(messageText(message, true)).toBe('see\nTotal: $5');
    expect(messageText(message, false)).toBe('see\n[Card: application/vnd.microsoft.card.adaptive]\n[Attachment: a.pdf (application/pdf), not delivered: content presentation is off]');
    expect(messageText({ id: 'm', text: '  ' }, true)).toBeUndefined();
  });
});
