import { toDirectLineActivity, toUserActivity } from './webchat.mapper';

const stamped = {
  id: 'Cv1|0000003',
  conversation: { id: 'Cv1' },
  timestamp: '2026-01-10T09:30:00.412Z',
  from: { id: 'dl_u1', name: 'Ana', role: 'user' },
  locale: 'es-ES',
};

describe('web chat mapper: Direct Line activity -> user activity', () => {
  it('turns a message with text, an uploaded file, a linked file and a card submit into one user message', () => {
    const files = (url: string) => (url.startsWith('https://svc/files/') ? url.slice('https://svc/files/'.length) : undefined);
    const activity = toUserActivity(
      {
        ...stamped,
        type: 'message',
        text: 'Quiero cambiar mi cita',
        value: { choice: 'tuesday' },
        attachments: [
          { contentType: 'image/png', contentUrl: 'https://svc/files/f1', name: 'a.png' },
          { contentType: 'application/pdf', contentUrl: 'https://example.com/b.pdf', name: 'b.pdf' },
        ],
        channelData: { clientActivityID: 'x1' },
      },
      files,
    );
    expect(activity).toEqual({
      type: 'message',
      platformActivityId: 'Cv1|0000003',
      platformConversationId: 'Cv1',
      user: { id: 'dl_u1', name: 'Ana', locale: 'es-ES' },
      occurredAt: new Date('2026-01-10T09:30:00.412Z'),
      text: 'Quiero cambiar mi cita',
      value: { choice: 'tuesday' },
      attachments: [
        { contentType: 'image/png', name: 'a.png', url: 'https://svc/files/f1', fileId: 'f1' },
        { contentType: 'application/pdf', name: 'b.pdf', url: 'https://example.com/b.pdf' },
      ],
    });
  });

  it('maps typing, the webchat/join event and endOfConversation, and keeps other events from the bot', () => {
    expect(toUserActivity({ ...stamped, type: 'typing' })?.type).toBe('typing');
    expect(toUserActivity({ ...stamped, type: 'event', name: 'webchat/join', value: { language: 'es-ES' } })).toMatchObject({ type: 'conversation_started', value: { language: 'es-ES' } });
    expect(toUserActivity({ ...stamped, type: 'endOfConversation' })?.type).toBe('user_left');
    expect(toUserActivity({ ...stamped, type: 'event', name: 'custom/thing' })).toBeNull();
    expect(toUserActivity({ ...stamped, type: 'conversationUpdate' })).toBeNull();
  });

  it('refuses an activity the server has not stamped', () => {
    expect(() => toUserActivity({ type: 'message', text: 'hi' })).toThrow('not stamped');
  });
});

describe('web chat mapper: outbound activity -> Direct Line activity', () => {
  const bot = { id: 'helpbot', name: 'Help Bot' };

  it('writes a bot message with an Adaptive Card, a file and quick replies as Web Chat shows them', () => {
    const card = { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'Pick a day' }] };
    expect(
      toDirectLineActivity(
        {
          type: 'message',
          author: 'bot',
          text: 'Claro, ¿para qué día?',
          attachments: [
            { contentType: 'application/vnd.microsoft.card.adaptive', content: card },
            { contentType: 'application/pdf', url: 'https://example.com/terms.pdf', name: 'terms.pdf' },
          ],
          quickReplies: [{ title: 'Tuesday' }, { title: 'Wednesday', value: 'day:3' }],
        },
        bot,
      ),
    ).toEqual({
      type: 'message',
      from: { id: 'helpbot', name: 'Help Bot', role: 'bot' },
      text: 'Claro, ¿para qué día?',
      textFormat: 'plain',
      attachments: [
        { contentType: 'application/vnd.microsoft.card.adaptive', content: card },
        { contentType: 'application/pdf', contentUrl: 'https://example.com/terms.pdf', name: 'terms.pdf' },
      ],
      suggestedActions: {
        actions: [
          { type: 'imBack', title: 'Tuesday', value: 'Tuesday' },
          { type: 'messageBack', title: 'Wednesday', text: 'Wednesday', displayText: 'Wednesday', value: 'day:3' },
        ],
      },
    });
  });

  it("shows an agent's message and typing under the agent's name on the bot's side", () => {
    expect(toDirectLineActivity({ type: 'message', author: 'agent', authorName: 'Marta', text: 'Hola' }, bot).from).toEqual({ id: 'agent', name: 'Marta', role: 'bot' });
    expect(toDirectLineActivity({ type: 'typing', author: 'agent', authorName: 'Marta' }, bot)).toEqual({ type: 'typing', from: { id: 'agent', name: 'Marta', role: 'bot' } });
  });
});
