import { createHmac } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { ManualClock } from '../clock/simulator-clock';
import { WhatsAppSimulator } from './whatsapp-simulator';

/** The business's webhook endpoint: checks nothing, records every request, echoes the challenge. */
class Receiver {
  readonly posts: Array<{ headers: IncomingMessage['headers']; raw: string; body: any }> = [];
  readonly gets: URLSearchParams[] = [];
  echo = true;
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.receive(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1/webhooks/gw`;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server!.close(() => resolve()));
  }

  lastMessage(): any {
    return this.posts.flatMap((post) => post.body.entry[0].changes[0].value.messages ?? []).at(-1);
  }

  statuses(): any[] {
    return this.posts.flatMap((post) => post.body.entry[0].changes[0].value.statuses ?? []);
  }

  private async receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET') {
      this.gets.push(url.searchParams);
      res.writeHead(200, { 'content-type': 'text/plain' }).end(this.echo ? (url.searchParams.get('hub.challenge') ?? '') : 'nope');
      return;
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    this.posts.push({ headers: req.headers, raw, body: JSON.parse(raw) });
    res.writeHead(200).end();
  }
}

const ANA = '34600111222';

describe('WhatsAppSimulator', () => {
  let clock: ManualClock;
  let whatsapp: WhatsAppSimulator;
  let receiver: Receiver;
  let business: ReturnType<WhatsAppSimulator['addBusiness']>;
  let graph: string;

  const post = async (body: unknown, token = business.accessToken) => {
    const res = await fetch(`${graph}/${business.phoneNumberId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ messaging_product: 'whatsapp', to: ANA, ...(body as object) }),
    });
    return { status: res.status, body: (await res.json()) as any };
  };
  const text = (body: string, to = ANA) => post({ type: 'text', to, text: { body } });

  beforeEach(async () => {
    clock = new ManualClock(Date.parse('2026-03-01T10:00:00Z'));
    whatsapp = new WhatsAppSimulator({ clock, throughputPerSecond: 5 });
    receiver = await new Receiver().start();
    await whatsapp.start();
    graph = `${whatsapp.graphBaseUrl}/${whatsapp.graphVersion}`;
    business = whatsapp.addBusiness({ callbackUrl: receiver.url, displayPhoneNumber: '15550783881' });
    whatsapp.addTemplate(business.wabaId, { name: 'appointment_reminder', language: 'es', category: 'UTILITY', body: 'Hola {{1}}, su cita es el {{2}}.', quickReplies: ['Confirmar', 'Cambiar'] });
    whatsapp.addTemplate(business.wabaId, { name: 'promo', language: 'en_US', category: 'MARKETING', body: 'Sale today!' });
  });
  afterEach(async () => {
    await whatsapp.stop();
    await receiver.stop();
  });

  it('delivers a user message signed with the app secret, non-ASCII escaped, and opens the window', async () => {
    expect(whatsapp.windowOpen(business.phoneNumberId, ANA)).toBe(false);
    const { status, messageId } = await whatsapp.userSays(business.phoneNumberId, ANA, 'Hola, ¿qué tal?', { name: 'Ana' });
    expect(status).toBe(200);
    const [delivery] = receiver.posts;
    expect(delivery.raw).toContain('\\u00bfqu\\u00e9');
    expect(delivery.headers['x-hub-signature-256']).toBe(`sha256=${createHmac('sha256', business.appSecret).update(delivery.raw).digest('hex')}`);
    expect(delivery.body.entry[0]).toMatchObject({
      id: business.wabaId,
      changes: [{ field: 'messages', value: { metadata: { phone_number_id: business.phoneNumberId }, contacts: [{ profile: { name: 'Ana' }, wa_id: ANA }], messages: [{ id: messageId, from: ANA, type: 'text', text: { body: 'Hola, ¿qué tal?' } }] } }],
    });
    expect(whatsapp.windowOpen(business.phoneNumberId, ANA)).toBe(true);
    clock.advance(24 * 3600_000);
    expect(whatsapp.windowOpen(business.phoneNumberId, ANA)).toBe(false);
  });

  it('spoils the signature on request', async () => {
    await whatsapp.userSays(business.phoneNumberId, ANA, 'a', { signatureFault: 'bad_signature' });
    await whatsapp.userSays(business.phoneNumberId, ANA, 'b', { signatureFault: 'no_signature' });
    const [bad, none] = receiver.posts;
    expect(bad.headers['x-hub-signature-256']).not.toBe(`sha256=${createHmac('sha256', business.appSecret).update(bad.raw).digest('hex')}`);
    expect(none.headers['x-hub-signature-256']).toBeUndefined();
  });

  it('runs the verification handshake and checks the echoed challenge', async () => {
    expect(await whatsapp.verifyCallback(business.phoneNumberId)).toEqual({ ok: true, status: 200 });
    expect(receiver.gets[0].get('hub.mode')).toBe('subscribe');
    expect(receiver.gets[0].get('hub.verify_token')).toBe(business.verifyToken);
    receiver.echo = false;
    expect((await whatsapp.verifyCallback(business.phoneNumberId)).ok).toBe(false);
  });

  it('accepts a text in the window and reports sent, delivered, then read', async () => {
    await whatsapp.userSays(business.phoneNumberId, ANA, 'hi');
    const sent = await post({ to: `+${ANA}`, type: 'text', text: { body: 'Hello Ana' }, biz_opaque_callback_data: 'out-1' });
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ messaging_product: 'whatsapp', contacts: [{ input: `+${ANA}`, wa_id: ANA }], messages: [{ message_status: 'accepted' }] });
    expect(sent.body.messages[0].id).toMatch(/^wamid\./);
    await whatsapp.settled();
    await whatsapp.userReads(business.phoneNumberId, ANA);
    expect(receiver.statuses().map((s) => [s.status, s.biz_opaque_callback_data])).toEqual([
      ['sent', 'out-1'],
      ['delivered', 'out-1'],
      ['read', 'out-1'],
    ]);
    expect(whatsapp.sentTo(business.phoneNumberId, ANA)).toMatchObject([{ text: 'Hello Ana', status: 'read' }]);
  });

  it('fails a free-form message outside the window with 131047 by status webhook, but lets a template through', async () => {
    expect((await text('Are you there?')).status).toBe(200);
    const template = await post({
      type: 'template',
      template: {
        name: 'appointment_reminder',
        language: { code: 'es' },
        components: [
          { type: 'body', parameters: [{ type: 'text', text: 'Ana' }, { type: 'text', text: 'lunes' }] },
          { type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'CONFIRM:apt-991' }] },
        ],
      },
    });
    expect(template.status).toBe(200);
    await whatsapp.settled();
    expect(receiver.statuses().map((s) => [s.status, s.errors?.[0]?.code])).toEqual([
      ['failed', 131047],
      ['sent', undefined],
      ['delivered', undefined],
    ]);
    const [, reminder] = whatsapp.sentTo(business.phoneNumberId, ANA);
    expect(reminder).toMatchObject({ text: 'Hola Ana, su cita es el lunes.', template: { buttons: [{ title: 'Confirmar', payload: 'CONFIRM:apt-991' }, { title: 'Cambiar', payload: 'Cambiar' }] } });
    await whatsapp.userPresses(business.phoneNumberId, ANA, 'CONFIRM:apt-991');
    const pressed = receiver.lastMessage();
    expect(pressed).toMatchObject({ type: 'button', button: { payload: 'CONFIRM:apt-991', text: 'Confirmar' }, context: { id: reminder.id } });
    expect(whatsapp.windowOpen(business.phoneNumberId, ANA)).toBe(true);
  });

  it('checks templates against the registry: 132001, 132000, 132015, 132016', async () => {
    whatsapp.addTemplate(business.wabaId, { name: 'paused_one', language: 'en', category: 'UTILITY', status: 'PAUSED', body: 'x' });
    whatsapp.addTemplate(business.wabaId, { name: 'disabled_one', language: 'en', category: 'UTILITY', status: 'DISABLED', body: 'x' });
    whatsapp.addTemplate(business.wabaId, { name: 'pending_one', language: 'en', category: 'UTILITY', status: 'PENDING', body: 'x' });
    const send = (name: string, language: string, parameters: string[] = []) =>
      post({ type: 'template', template: { name, language: { code: language }, components: [{ type: 'body', parameters: parameters.map((p) => ({ type: 'text', text: p })) }] } });
    expect((await send('appointment_reminder', 'en')).body.error.code).toBe(132001);
    expect((await send('pending_one', 'en')).body.error.code).toBe(132001);
    expect((await send('appointment_reminder', 'es', ['Ana'])).body.error.code).toBe(132000);
    expect((await send('paused_one', 'en')).body.error.code).toBe(132015);
    const disabled = await send('disabled_one', 'en');
    expect(disabled.status).toBe(400);
    expect(disabled.body.error).toMatchObject({ code: 132016, type: 'OAuthException', error_data: { messaging_product: 'whatsapp' } });
  });

  it('answers 401 with Graph error 190 for a missing, unknown or expired token', async () => {
    expect((await post({ type: 'text', text: { body: 'x' } }, 'nope')).body.error.code).toBe(190);
    whatsapp.expireToken(business.phoneNumberId);
    const expired = await text('x');
    expect(expired.status).toBe(401);
    expect(expired.body.error.code).toBe(190);
    whatsapp.renewToken(business.phoneNumberId);
    expect((await text('x')).status).toBe(200);
  });

  it('reports users not on WhatsApp or who blocked the business as 131026, and marketing refusals as 131050 and 131049', async () => {
    const bea = '34600222333';
    const cid = '34600444555';
    whatsapp.setUser(ANA, { onWhatsApp: false });
    whatsapp.setUser(bea, { stoppedMarketing: true });
    whatsapp.setUser(cid, { marketingCapped: true });
    const promo = (to: string) => post({ to, type: 'template', template: { name: 'promo', language: { code: 'en_US' } } });
    await promo(ANA);
    await promo(bea);
    await promo(cid);
    whatsapp.setUser(ANA, { onWhatsApp: true, blocked: true });
    await promo(ANA);
    await whatsapp.settled();
    expect(receiver.statuses().map((s) => [s.recipient_id, s.status, s.errors?.[0]?.code])).toEqual([
      [ANA, 'failed', 131026],
      [bea, 'failed', 131050],
      [cid, 'failed', 131049],
      [ANA, 'failed', 131026],
    ]);
  });

  it('limits throughput per number in a sliding second (130429) and the pair rate per user (131056)', async () => {
    for (let i = 0; i < 5; i++) expect((await text(`m${i}`, `3460000000${i}`)).status).toBe(200);
    const throttled = await text('one more', '34600000009');
    expect([throttled.status, throttled.body.error.code]).toEqual([429, 130429]);
    clock.advance(1_000);
    expect((await text('next second', '34600000009')).status).toBe(200);

    whatsapp.setPairRate(2, 6_000);
    expect((await text('a')).status).toBe(200);
    expect((await text('b')).status).toBe(200);
    const pair = await text('c');
    expect([pair.status, pair.body.error.code]).toEqual([400, 131056]);
    clock.advance(6_000);
    expect((await text('d')).status).toBe(200);
  });

  it('answers injected faults in order, then works again', async () => {
    whatsapp.addFault({ code: 131016, count: 2 });
    whatsapp.addFault({ code: 131000, status: 500 });
    expect((await text('x')).status).toBe(503);
    expect((await text('x')).body.error.code).toBe(131016);
    expect((await text('x')).status).toBe(500);
    expect(whatsapp.pendingFaults()).toEqual([]);
  });

  it('validates interactive messages: at most 3 reply buttons of 20 characters, lists of 10 rows', async () => {
    await whatsapp.userSays(business.phoneNumberId, ANA, 'menu');
    const buttons = (titles: string[]) =>
      post({ type: 'interactive', interactive: { type: 'button', body: { text: 'Pick' }, action: { buttons: titles.map((title, i) => ({ type: 'reply', reply: { id: `b${i}`, title } })) } } });
    expect((await buttons(['a', 'b', 'c', 'd'])).body.error.code).toBe(131009);
    expect((await buttons(['a very long title that is too long'])).body.error.code).toBe(131009);
    expect((await buttons(['Yes', 'No'])).status).toBe(200);
    const list = await post({
      type: 'interactive',
      interactive: { type: 'list', body: { text: 'Choose' }, action: { button: 'Options', sections: [{ title: 'All', rows: [{ id: 'r1', title: 'First' }, { id: 'r2', title: 'Second' }] }] } },
    });
    expect(list.status).toBe(200);
    await whatsapp.userChooses(business.phoneNumberId, ANA, 'r2');
    expect(receiver.lastMessage()).toMatchObject({ type: 'interactive', interactive: { type: 'list_reply', list_reply: { id: 'r2', title: 'Second' } } });
  });

  it('marks read with a typing indicator that goes away after 25 s or with the next message', async () => {
    const { messageId } = await whatsapp.userSays(business.phoneNumberId, ANA, 'hi');
    const read = await post({ status: 'read', message_id: messageId, typing_indicator: { type: 'text' } });
    expect(read.body).toEqual({ success: true });
    expect(whatsapp.inboundFrom(business.phoneNumberId, ANA)[0].read).toBe(true);
    expect(whatsapp.typingShown(business.phoneNumberId, ANA)).toBe(true);
    clock.advance(25_000);
    expect(whatsapp.typingShown(business.phoneNumberId, ANA)).toBe(false);
    await post({ status: 'read', message_id: messageId, typing_indicator: { type: 'text' } });
    clock.advance(1);
    await text('answer');
    expect(whatsapp.typingShown(business.phoneNumberId, ANA)).toBe(false);
  });

  it('serves inbound media by id, then its short-lived URL with the token', async () => {
    const { mediaId } = await whatsapp.userSendsMedia(business.phoneNumberId, ANA, { content: Buffer.from('png-bytes'), mimeType: 'image/png', caption: 'my receipt' });
    const auth = { authorization: `Bearer ${business.accessToken}` };
    const meta = (await (await fetch(`${graph}/${mediaId}`, { headers: auth })).json()) as any;
    expect(meta).toMatchObject({ id: mediaId, mime_type: 'image/png', file_size: 9 });
    expect((await fetch(meta.url)).status).toBe(401);
    const download = await fetch(meta.url, { headers: auth });
    expect(Buffer.from(await download.arrayBuffer()).toString()).toBe('png-bytes');
    clock.advance(5 * 60_000);
    expect((await fetch(meta.url, { headers: auth })).status).toBe(404);
  });

  it('pages the template registry', async () => {
    for (let i = 0; i < 3; i++) whatsapp.addTemplate(business.wabaId, { name: `t${i}`, language: 'en', category: 'UTILITY', body: 'x' });
    const names: string[] = [];
    let url: string | undefined = `${graph}/${business.wabaId}/message_templates?limit=2`;
    while (url) {
      const page = (await (await fetch(url, { headers: { authorization: `Bearer ${business.accessToken}` } })).json()) as any;
      names.push(...page.data.map((t: any) => t.name));
      url = page.paging.next;
    }
    expect(names).toEqual(['appointment_reminder', 'promo', 't0', 't1', 't2']);
  });

  it('has a control API and serves its console page', async () => {
    const res = await fetch(`${whatsapp.baseUrl}/control/businesses/${business.phoneNumberId}/users/${ANA}/say`, { method: 'POST', body: JSON.stringify({ text: 'from curl', name: 'Ana' }) });
    expect(res.status).toBe(200);
    const chat = (await (await fetch(`${whatsapp.baseUrl}/control/businesses/${business.phoneNumberId}/users/${ANA}/chat`)).json()) as any;
    expect(chat).toMatchObject({ windowOpen: true, inbound: [{ text: 'from curl' }] });
    const status = (await (await fetch(`${whatsapp.baseUrl}/control/status`)).json()) as any;
    expect(status.businesses[0].accessToken).toBeUndefined();
    const page = await fetch(`${whatsapp.baseUrl}/console`);
    expect(await page.text()).toContain('whatsapp-console.js');
    expect((await fetch(`${whatsapp.baseUrl}/console/whatsapp-console.js`)).status).toBe(200);
  });
});
