import { GatewayError, OutboundActivity } from '@app/gateway-sdk';
import { WhatsAppTestEnvironment } from './whatsapp-cloud-test.context';

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError');
}

const text = (value: string): OutboundActivity => ({ type: 'message', author: 'bot', text: value });
const ANA = '34600111222';
let counter = 0;
/** A new user each time, so that windows and pair rates of one test do not touch another's. */
const newUser = () => `3460099${String(++counter).padStart(4, '0')}`;

describe('whatsapp-cloud gateway against the WhatsApp simulator', () => {
  let env: WhatsAppTestEnvironment;
  let phone: string;

  beforeAll(async () => {
    env = await new WhatsAppTestEnvironment().start();
    phone = env.business.phoneNumberId;
    env.simulator.addTemplate(env.business.wabaId, { name: 'appointment_reminder', language: 'es', category: 'UTILITY', body: 'Hola {{1}}, su cita es el {{2}}.', quickReplies: ['Confirmar', 'Cambiar'] });
    env.simulator.addTemplate(env.business.wabaId, { name: 'promo', language: 'en_US', category: 'MARKETING', body: 'Sale today!' });
    env.simulator.addTemplate(env.business.wabaId, { name: 'old_one', language: 'en_US', category: 'UTILITY', status: 'PAUSED', body: 'x' });
    env.simulator.addTemplate(env.business.wabaId, { name: 'dead_one', language: 'en_US', category: 'UTILITY', status: 'DISABLED', body: 'x' });
  });
  afterAll(() => env.stop());
  beforeEach(async () => {
    // Status webhooks of the previous test's sends arrive before this one starts.
    await env.simulator.settled();
    env.simulator.clearFaults();
    env.simulator.resetLimits();
    env.configure({});
  });

  it('passes Meta\'s verification handshake and refuses a wrong verify token', async () => {
    expect(await env.simulator.verifyCallback(phone)).toEqual({ ok: true, status: 200 });
    expect(await env.simulator.verifyCallback(phone, { verifyToken: 'guess' })).toEqual({ ok: false, status: 401 });
    expect(env.refusals.at(-1)).toMatch(/verification refused/);
  });

  it('turns a user message into a message activity with the profile name and a reference to mark it read', async () => {
    const { status, messageId } = await env.simulator.userSays(phone, ANA, 'Hola, ¿puedo cambiar mi cita?', { name: 'Ana' });
    expect(status).toBe(200);
    expect(env.activities.at(-1)).toMatchObject({
      type: 'message',
      platformActivityId: messageId,
      platformConversationId: ANA,
      user: { id: ANA, name: 'Ana' },
      text: 'Hola, ¿puedo cambiar mi cita?',
      reference: { waId: ANA, lastMessageId: messageId },
    });
  });

  it.each([
    ['bad_signature', /does not match/],
    ['no_signature', /no X-Hub-Signature-256/],
    ['sha1_only', /no X-Hub-Signature-256/],
  ] as const)('refuses a delivery with %s', async (fault, reason) => {
    const before = env.activities.length;
    const result = await env.simulator.userSays(phone, ANA, 'x', { signatureFault: fault });
    expect(result.status).toBe(401);
    expect(env.refusals.at(-1)).toMatch(reason);
    expect(env.activities.length).toBe(before);
  });

  it('takes media as an attachment at its Graph media URL, and button and list replies as values', async () => {
    const user = newUser();
    const { mediaId } = await env.simulator.userSendsMedia(phone, user, { content: Buffer.from('%PDF'), mimeType: 'application/pdf', filename: 'invoice.pdf', caption: 'my invoice' });
    expect(env.activities.at(-1)).toMatchObject({
      text: 'my invoice',
      attachments: [{ contentType: 'application/pdf', name: 'invoice.pdf', url: `${env.simulator.graphBaseUrl}/${env.simulator.graphVersion}/${mediaId}` }],
    });
    await env.gateway.send(env.channelContext(user), { type: 'message', author: 'bot', text: 'Which one?', quickReplies: [{ title: 'Yes', value: 'YES' }, { title: 'No', value: 'NO' }] });
    await env.simulator.userChooses(phone, user, 'NO');
    expect(env.activities.at(-1)).toMatchObject({ type: 'message', text: 'No', value: 'NO' });
  });

  it('ignores reactions and messages for another phone number, with 200', async () => {
    const before = env.activities.length;
    const [sent] = env.simulator.sentTo(phone, newUser());
    expect((await env.simulator.userReacts(phone, ANA, sent?.id ?? 'wamid.x', '👍')).status).toBe(200);
    const other = env.simulator.envelopeFor(phone, { contacts: [], messages: [{ from: ANA, id: 'wamid.other', timestamp: '1', type: 'text', text: { body: 'x' } }] }) as any;
    other.entry[0].changes[0].value.metadata.phone_number_id = '999';
    expect((await env.simulator.postWebhook(phone, other)).status).toBe(200);
    expect(env.activities.length).toBe(before);
    expect(env.messages('warn')).toContain('WhatsApp webhook for another phone number; dropped');
  });

  it('replies in the window, marks the user\'s message read, and reports delivered and read receipts', async () => {
    const user = newUser();
    const { messageId } = await env.simulator.userSays(phone, user, 'hi');
    const sent = await env.gateway.send(env.channelContext(user, { messageId: 'out-1' }), text('Hello!'));
    await env.gateway.send(env.channelContext(user), text('Anything else?'));
    await env.simulator.settled();
    await env.simulator.userReads(phone, user);
    expect(env.simulator.inboundFrom(phone, user)).toMatchObject([{ id: messageId, read: true }]);
    const [first] = env.simulator.sentTo(phone, user);
    expect(first).toMatchObject({ id: sent.platformMessageId, text: 'Hello!', callbackData: 'out-1', status: 'read' });
    const receipts = env.activities.filter((activity) => activity.type === 'receipt' && activity.platformConversationId === user);
    expect(receipts.map((receipt) => [receipt.receipt?.platformMessageId === sent.platformMessageId, receipt.receipt?.status])).toEqual([
      [true, 'delivered'],
      [false, 'delivered'],
      [true, 'read'],
      [false, 'read'],
    ]);
  });

  it('shows typing on the latest message, and sends nothing when no message is known', async () => {
    const user = newUser();
    await env.simulator.userSays(phone, user, 'hi');
    expect(await env.gateway.send(env.channelContext(user), { type: 'typing', author: 'bot' })).toEqual({ platformMessageId: null });
    expect(env.simulator.typingShown(phone, user)).toBe(true);
    expect(await env.gateway.send(env.channelContext(newUser()), { type: 'typing', author: 'bot' })).toEqual({ platformMessageId: null });
  });

  it('prefixes an agent\'s name, captions a single file, sends more files separately, and uses a list for many replies', async () => {
    const user = newUser();
    await env.simulator.userSays(phone, user, 'hi');
    await env.gateway.send(env.channelContext(user), { type: 'message', author: 'agent', authorName: 'Marta', text: 'Here it is', attachments: [{ contentType: 'image/png', url: 'https://cdn.example.com/a.png' }] });
    await env.gateway.send(env.channelContext(user), { type: 'message', author: 'bot', text: 'Two files', attachments: [{ contentType: 'application/pdf', url: 'https://cdn.example.com/a.pdf', name: 'a.pdf' }, { contentType: 'audio/ogg', url: 'https://cdn.example.com/b.ogg' }] });
    await env.gateway.send(env.channelContext(user), { type: 'message', author: 'bot', text: 'Pick a day', quickReplies: ['Monday', 'Tuesday', 'Wednesday', 'Thursday'].map((title) => ({ title })) });
    const sent = env.simulator.sentTo(phone, user);
    expect(sent.map((record) => [record.type, record.text])).toEqual([
      ['image', '*Marta*: Here it is'],
      ['text', 'Two files'],
      ['document', undefined],
      ['audio', undefined],
      ['interactive', 'Pick a day'],
    ]);
    expect(sent[2].request.document).toEqual({ link: 'https://cdn.example.com/a.pdf', filename: 'a.pdf' });
    expect(sent[4].request.interactive.type).toBe('list');
    expect(sent[4].choices).toHaveLength(4);
  });

  it('reads every page of templates as the service sees them', async () => {
    const templates = await env.gateway.listTemplates(env.context());
    expect(templates).toEqual(
      expect.arrayContaining([
        { name: 'appointment_reminder', language: 'es', category: 'utility', status: 'approved', parameterCount: 2, quickReplyButtons: 2 },
        { name: 'promo', language: 'en_US', category: 'marketing', status: 'approved', parameterCount: 0, quickReplyButtons: 0 },
        expect.objectContaining({ name: 'old_one', status: 'paused' }),
      ]),
    );
  });

  it('sends a template outside the window with parameters and payloads; the pressed button comes back as the value', async () => {
    const user = newUser();
    const template = { name: 'appointment_reminder', language: 'es', parameters: ['Ana', 'lunes'], buttonPayloads: ['CONFIRM:apt-991', 'CHANGE:apt-991'] };
    const sent = await env.gateway.send(env.channelContext(user), { type: 'message', author: 'bot', proactive: true, text: 'reminder', template });
    await env.simulator.settled();
    expect(env.simulator.sentTo(phone, user)).toMatchObject([{ id: sent.platformMessageId, text: 'Hola Ana, su cita es el lunes.', status: 'delivered' }]);
    await env.simulator.userPresses(phone, user, 'CHANGE:apt-991');
    expect(env.activities.at(-1)).toMatchObject({ type: 'message', platformConversationId: user, text: 'Cambiar', value: 'CHANGE:apt-991' });
  });

  it('reports a free-form message outside the window as a failed receipt, window_closed', async () => {
    const user = newUser();
    const sent = await env.gateway.send(env.channelContext(user), text('Are you there?'));
    await env.simulator.settled();
    expect(env.activities.at(-1)).toMatchObject({ type: 'receipt', receipt: { platformMessageId: sent.platformMessageId, status: 'failed', reason: 'window_closed' } });
  });

  it.each([
    ['not on WhatsApp', { onWhatsApp: false }, 'promo', 'invalid_recipient', /#131026/],
    ['blocked the business', { blocked: true }, 'promo', 'invalid_recipient', /blocked the business/],
    ['stopped marketing', { stoppedMarketing: true }, 'promo', 'opted_out', /#131050/],
    ['marketing-capped', { marketingCapped: true }, 'promo', 'unknown', /frequency capped/],
  ] as const)('reports a user %s as a failed receipt', async (_label, state, name, reason, detail) => {
    const user = newUser();
    env.simulator.setUser(user, state);
    await env.gateway.send(env.channelContext(user), { type: 'message', author: 'bot', template: { name, language: 'en_US' } });
    await env.simulator.settled();
    const receipt = env.activities.at(-1)!;
    expect(receipt.receipt).toMatchObject({ status: 'failed', reason });
    expect(receipt.receipt?.detail).toMatch(detail);
  });

  it.each([
    [{ name: 'nope', language: 'es' }, /#132001/],
    [{ name: 'appointment_reminder', language: 'es', parameters: ['Ana'] }, /#132000/],
    [{ name: 'old_one', language: 'en_US' }, /#132015/],
    [{ name: 'dead_one', language: 'en_US' }, /#132016/],
  ])('refuses template %j as invalid_request with the code', async (template, code) => {
    const error = await failure(env.gateway.send(env.channelContext(newUser()), { type: 'message', author: 'bot', template }));
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(code);
  });

  it.each([
    [{ code: 131047 }, 'unreachable', 'window_closed'],
    [{ code: 131026 }, 'unreachable', 'invalid_recipient'],
    [{ code: 131050 }, 'unreachable', 'opted_out'],
    [{ code: 131049 }, 'unreachable', 'unknown'],
    [{ code: 131000, status: 500 }, 'transient', undefined],
    [{ code: 131016 }, 'transient', undefined],
    [{ code: 1, status: 502 }, 'transient', undefined],
    [{ code: 190 }, 'auth_failed', undefined],
  ] as const)('maps a synchronous Graph error %j', async (fault, code, reason) => {
    env.simulator.addFault(fault);
    // No reference: no mark-read before the send to take the fault.
    const error = await failure(env.gateway.send(env.channelContext(ANA, { reference: null }), text('x')));
    expect([error.code, error.unreachableReason]).toEqual([code, reason]);
  });

  it('is rate limited by throughput (1 s) and by the pair rate (6 s), not retried sooner', async () => {
    env.simulator.setThroughput(2);
    await env.gateway.send(env.channelContext(ANA), text('1'));
    await env.gateway.send(env.channelContext(newUser()), text('2'));
    const throughput = await failure(env.gateway.send(env.channelContext(newUser()), text('3')));
    expect([throughput.code, throughput.retryAfterMs]).toEqual(['rate_limited', 1_000]);
    env.simulator.setThroughput(80);
    env.clock.advance(1_000);
    env.simulator.setPairRate(1, 6_000);
    const user = newUser();
    await env.gateway.send(env.channelContext(user), text('a'));
    const pair = await failure(env.gateway.send(env.channelContext(user), text('b')));
    expect([pair.code, pair.retryAfterMs, pair.message]).toEqual(['rate_limited', 6_000, expect.stringMatching(/#131056/)]);
    env.clock.advance(6_000);
    await expect(env.gateway.send(env.channelContext(user), text('c'))).resolves.toMatchObject({ platformMessageId: expect.stringMatching(/^wamid\./) });
    env.simulator.setPairRate(45);
  });

  it('fails on an expired token and says so in the connection check', async () => {
    expect(await env.gateway.checkConnection(env.context())).toMatchObject({ ok: true, detail: expect.stringMatching(/15550783881 \(Clinic\).*templates/) });
    env.simulator.expireToken(phone);
    try {
      expect((await failure(env.gateway.send(env.channelContext(ANA), text('x')))).code).toBe('auth_failed');
      expect(await env.gateway.checkConnection(env.context())).toMatchObject({ ok: false, detail: expect.stringMatching(/#190/) });
    } finally {
      env.simulator.renewToken(phone);
    }
  });

  it('does not repeat the first part of a split message when a retry follows a failure of the second', async () => {
    const user = newUser();
    await env.simulator.userSays(phone, user, 'hi');
    const activity: OutboundActivity = { type: 'message', author: 'bot', text: 'Your files', attachments: [{ contentType: 'application/pdf', url: 'https://cdn.example.com/a.pdf' }, { contentType: 'image/png', url: 'https://cdn.example.com/b.png' }] };
    env.simulator.addFault({ code: 131016, count: 1 });
    // The mark-read takes the fault: the message goes anyway. Then the third part fails once.
    await env.gateway.send(env.channelContext(user, { messageId: 'split-1' }), { type: 'message', author: 'bot', text: 'warm-up' });
    const ctx = env.channelContext(user, { messageId: 'split-2' });
    const original = env.http.fetch;
    let calls = 0;
    env.http.fetch = (input, init) => (String(input).endsWith('/messages') && ++calls === 3 ? Promise.reject(new Error('socket hang up')) : original(input, init));
    try {
      expect((await failure(env.gateway.send(ctx, activity))).code).toBe('transient');
    } finally {
      env.http.fetch = original;
    }
    await env.gateway.send(ctx, activity);
    expect(env.simulator.sentTo(phone, user).map((record) => record.type)).toEqual(['text', 'text', 'document', 'image']);
  });

  it('gives an address for a phone number and refuses anything else', () => {
    expect(env.gateway.addressOf(env.context(), '+34600111222')).toEqual({ platformConversationId: ANA, user: { id: ANA }, reference: { waId: ANA } });
    for (const bad of ['34 600', 'ana@example.com', '12']) {
      let error: unknown;
      try {
        env.gateway.addressOf(env.context(), bad);
      } catch (caught) {
        error = caught;
      }
      expect(error).toMatchObject({ code: 'unreachable', unreachableReason: 'invalid_recipient' });
    }
  });
});
