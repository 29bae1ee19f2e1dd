import { waitFor } from '../support/bot-receiver';
import { resetState, startTestApp, TestApp, withDatabase } from '../support/test-app';
import { WebchatFileRetention } from '../../src/webchat/webchat-file-retention.service';
import { WebchatClock } from '../../src/webchat/webchat-clock';
import { WebchatHostedChannel } from '../../src/webchat/webchat-hosted.channel';
import { DIRECT_LINE_SECRET, StreamReader, webchatGateway } from './webchat-setup';

/** Direct Line 3.0 over plain HTTP and WebSocket: the protocol edges Microsoft's clients rely on. */
describe('Direct Line 3.0 served for a webchat gateway', () => {
  let t: TestApp;
  let gatewayId: string;
  let dl: string;
  const readers: StreamReader[] = [];
  const stream = (url: string, headers?: Record<string, string>) => {
    const reader = new StreamReader(url, headers);
    readers.push(reader);
    return reader;
  };
  const call = (method: string, path: string, auth: string | null, body?: unknown, headers: Record<string, string> = {}) =>
    t.request(method, `/webchat/${gatewayId}/v3/directline${path}`, { key: auth, body, headers });

  beforeAll(async () => {
    await resetState();
    t = await startTestApp();
    ({ gatewayId } = await webchatGateway(t, { configuration: { allowedOrigins: 'https://shop.example.com' }, additional: { maxActivityChars: 2048, maxAttachmentBytes: 4096 } }));
    dl = `/webchat/${gatewayId}/v3/directline`;
  });
  afterEach(() => readers.splice(0).forEach((r) => r.close()));
  afterAll(async () => t.close());

  async function started(user?: { id: string; name?: string }): Promise<{ conversationId: string; token: string; streamUrl: string }> {
    const generated = await call('POST', '/tokens/generate', DIRECT_LINE_SECRET, user ? { user } : {});
    expect(generated.status).toBe(200);
    const start = await call('POST', '/conversations', generated.body.token, { user: { id: 'ignored' }, locale: 'es-ES' });
    expect(start.status).toBe(201);
    return start.body;
  }

  it('mints a token with the secret, starts its conversation once (201 then 200) and gives a ws:// stream URL', async () => {
    const generated = await call('POST', '/tokens/generate', DIRECT_LINE_SECRET, { user: { id: 'dl_0123456789abcdef', name: 'Ana' } });
    expect(generated.body).toEqual({ conversationId: expect.any(String), token: expect.any(String), expires_in: 3600 });
    expect(generated.body).not.toHaveProperty('streamUrl');
    const first = await call('POST', '/conversations', generated.body.token);
    expect(first.status).toBe(201);
    expect(first.body.conversationId).toBe(generated.body.conversationId);
    expect(first.body.streamUrl).toMatch(new RegExp(`^ws://127\\.0\\.0\\.1:\\d+${dl}/conversations/${first.body.conversationId}/stream\\?t=`));
    const again = await call('POST', '/conversations', generated.body.token);
    expect(again.status).toBe(200);
    expect(again.body.conversationId).toBe(generated.body.conversationId);
  });

  it("refuses bad credentials with Direct Line's error body", async () => {
    expect(await call('POST', '/tokens/generate', null)).toMatchObject({ status: 401, body: { error: { code: 'Unauthorized' } } });
    expect(await call('POST', '/tokens/generate', 'not-the-secret-but-long-enough-0123456789')).toMatchObject({ status: 403, body: { error: { code: 'Forbidden' } } });
    const forged = await call('POST', '/conversations', 'cgwc1.e30.AAAA');
    expect(forged).toMatchObject({ status: 403, body: { error: { code: 'Forbidden' } } });
    const bad = await call('POST', '/tokens/generate', DIRECT_LINE_SECRET, { user: { id: 'chosen-by-a-page' } });
    expect(bad).toMatchObject({ status: 400, body: { error: { code: 'BadArgument', message: expect.stringContaining('user.id') } } });
    expect(await t.request('POST', `/webchat/00000000-0000-4000-8000-000000000000/v3/directline/conversations`, { key: DIRECT_LINE_SECRET })).toMatchObject({ status: 404, body: { error: { code: 'NotFound' } } });
  });

  it('echoes a posted activity on the stream with its server id and clientActivityID, and keeps it for GET', async () => {
    const conv = await started({ id: 'dl_user-echo-0001', name: 'Ana' });
    const reader = stream(conv.streamUrl);
    await reader.opened();
    const posted = await call('POST', `/conversations/${conv.conversationId}/activities`, conv.token, {
      type: 'message',
      from: { id: 'someone-else', name: 'Ana', role: 'user' },
      text: 'hola',
      channelData: { clientActivityID: 'client-1' },
    });
    expect(posted.status).toBe(200);
    expect(posted.body.id).toBe(`${conv.conversationId}|0000001`);
    const echo = await reader.waitFor('the echo', (a) => a.channelData?.clientActivityID === 'client-1');
    // The token's user wins over a forged from.id.
    expect(echo).toMatchObject({ id: posted.body.id, type: 'message', text: 'hola', from: { id: 'dl_user-echo-0001', role: 'user' }, conversation: { id: conv.conversationId }, channelId: 'directline' });
    expect(reader.watermark).toBe('1');
    const polled = await call('GET', `/conversations/${conv.conversationId}/activities?watermark=0`, conv.token);
    expect(polled.body).toEqual({ activities: [expect.objectContaining({ id: posted.body.id })], watermark: '1' });
    expect((await call('GET', `/conversations/${conv.conversationId}/activities?watermark=1`, conv.token)).body).toEqual({ activities: [], watermark: '1' });
  });

  it('sends typing on the stream only, never to GET', async () => {
    const conv = await started({ id: 'dl_user-typing-001' });
    const reader = stream(conv.streamUrl);
    await reader.opened();
    const hosted = t.app.get(WebchatHostedChannel);
    expect(await hosted.post(conv.conversationId, { type: 'typing', author: 'agent', authorName: 'Marta' }, { messageId: 'm-typing' })).toBeNull();
    await reader.waitFor('typing', (a) => a.type === 'typing' && a.from.name === 'Marta');
    expect((await call('GET', `/conversations/${conv.conversationId}/activities`, conv.token)).body.activities).toEqual([]);
  });

  it('replays what a client missed when it reconnects with its watermark, once per outbound message id', async () => {
    const conv = await started({ id: 'dl_user-reconnect-1' });
    const hosted = t.app.get(WebchatHostedChannel);
    const first = stream(conv.streamUrl);
    await first.opened();
    await hosted.post(conv.conversationId, { type: 'message', author: 'bot', text: 'one' }, { messageId: 'm1' });
    await first.waitFor('one', (a) => a.text === 'one');
    const watermark = first.watermark!;
    first.close();
    await waitFor('the socket closed', () => first.closed);
    const two = await hosted.post(conv.conversationId, { type: 'message', author: 'bot', text: 'two' }, { messageId: 'm2' });
    // A retried send of the same message appends nothing.
    expect(await hosted.post(conv.conversationId, { type: 'message', author: 'bot', text: 'two' }, { messageId: 'm2' })).toBe(two);
    await hosted.post(conv.conversationId, { type: 'message', author: 'agent', authorName: 'Marta', text: 'three' }, { messageId: 'm3' });

    const again = await call('GET', `/conversations/${conv.conversationId}?watermark=${watermark}`, conv.token);
    expect(again.status).toBe(200);
    const second = stream(again.body.streamUrl);
    await second.opened();
    await second.waitFor('three', (a) => a.text === 'three');
    expect(second.activities.map((a) => a.text)).toEqual(['two', 'three']);
    expect(second.activities[1].from).toEqual({ id: 'agent', name: 'Marta', role: 'bot' });
    expect(second.activities[0].from).toEqual({ id: 'helpbot', name: 'Help Bot', role: 'bot' });
  });

  it('pushes an append made by another API process to the socket this one holds (Redis pub/sub)', async () => {
    const other = await startTestApp();
    try {
      const conv = await started({ id: 'dl_user-two-nodes-1' });
      const reader = stream(conv.streamUrl);
      await reader.opened();
      await other.app.get(WebchatHostedChannel).post(conv.conversationId, { type: 'message', author: 'bot', text: 'from the other process' }, { messageId: 'other-1' });
      const pushed = await reader.waitFor('the other process\'s append', (a) => a.text === 'from the other process');
      expect(pushed.id).toBe(`${conv.conversationId}|0000001`);
    } finally {
      await other.close();
    }
  });

  it('keeps one socket per conversation: a second one closes the first with "collision"', async () => {
    const conv = await started({ id: 'dl_user-collision1' });
    const first = stream(conv.streamUrl);
    await first.opened();
    const again = await call('GET', `/conversations/${conv.conversationId}`, conv.token);
    const second = stream(again.body.streamUrl);
    await second.opened();
    expect(await waitFor('the first socket closed', () => first.closed)).toEqual({ code: 1000, reason: 'collision' });
    expect(second.closed).toBeNull();
  });

  it('refuses a stream handshake with a bad or expired stream token', async () => {
    const conv = await started({ id: 'dl_user-handshake1' });
    expect(await stream(conv.streamUrl.replace(/t=[^&]+/, 't=cgwc1.e30.AAAA')).refused()).toBe(401);
    const clock = t.app.get(WebchatClock);
    const now = clock.now.bind(clock);
    clock.now = () => now() + 61_000;
    try {
      expect(await stream(conv.streamUrl).refused()).toBe(403);
    } finally {
      clock.now = now;
    }
  });

  it('refreshes a token before it expires; an expired one is 403 TokenExpired on every call', async () => {
    const conv = await started({ id: 'dl_user-expiry-001' });
    const clock = t.app.get(WebchatClock);
    const now = clock.now.bind(clock);
    try {
      clock.now = () => now() + 3_000_000;
      const refreshed = await call('POST', '/tokens/refresh', conv.token);
      expect(refreshed.body).toEqual({ conversationId: conv.conversationId, token: expect.any(String), expires_in: 3600 });
      clock.now = () => now() + 3_700_000;
      for (const [method, path, body] of [
        ['POST', `/conversations/${conv.conversationId}/activities`, { type: 'message', text: 'late' }],
        ['GET', `/conversations/${conv.conversationId}/activities`, undefined],
        ['GET', `/conversations/${conv.conversationId}`, undefined],
        ['POST', '/tokens/refresh', undefined],
      ] as const) {
        expect(await call(method, path, conv.token, body)).toMatchObject({ status: 403, body: { error: { code: 'TokenExpired', message: expect.any(String) } } });
      }
      const post = await call('POST', `/conversations/${conv.conversationId}/activities`, refreshed.body.token, { type: 'message', text: 'with the refreshed token' });
      expect(post.status).toBe(200);
    } finally {
      clock.now = now;
    }
  });

  it("refuses a token on another conversation's routes", async () => {
    const a = await started({ id: 'dl_user-aaaaaaaa1' });
    const b = await started({ id: 'dl_user-bbbbbbbb1' });
    expect(await call('GET', `/conversations/${b.conversationId}/activities`, a.token)).toMatchObject({ status: 403, body: { error: { code: 'Forbidden' } } });
  });

  it('answers CORS for allowed origins and refuses a foreign one', async () => {
    const preflight = await fetch(`${t.url}${dl}/conversations`, { method: 'OPTIONS', headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
    expect(preflight.headers.get('access-control-allow-headers')).toContain('Authorization');
    const foreign = await fetch(`${t.url}${dl}/conversations`, { method: 'OPTIONS', headers: { origin: 'https://evil.example.net' } });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    const generated = await call('POST', '/tokens/generate', DIRECT_LINE_SECRET, {}, { origin: 'https://evil.example.net' });
    expect(generated).toMatchObject({ status: 403, body: { error: { code: 'Forbidden', message: expect.stringContaining('evil.example.net') } } });
  });

  it('refuses an oversized activity and an oversized file with 413', async () => {
    const conv = await started({ id: 'dl_user-toobig-001' });
    const big = await call('POST', `/conversations/${conv.conversationId}/activities`, conv.token, { type: 'message', text: 'x'.repeat(3000) });
    expect(big).toMatchObject({ status: 413, body: { error: { code: 'MessageSizeTooBig' } } });
    const form = new FormData();
    form.append('file', new Blob([Buffer.alloc(5000)], { type: 'application/octet-stream' }), 'big.bin');
    const upload = await fetch(`${t.url}${dl}/conversations/${conv.conversationId}/upload?userId=x`, { method: 'POST', headers: { authorization: `Bearer ${conv.token}` }, body: form });
    expect(upload.status).toBe(413);
    expect(await upload.json()).toMatchObject({ error: { code: 'MessageSizeTooBig' } });
    expect(await call('POST', `/conversations/${conv.conversationId}/activities`, conv.token, { text: 'no type' })).toMatchObject({ status: 400, body: { error: { code: 'BadArgument', message: expect.stringContaining('type') } } });
  });

  it('takes an upload with its activity and serves the file at the URL the activity carries', async () => {
    const conv = await started({ id: 'dl_user-upload-001' });
    const form = new FormData();
    form.append('activity', new Blob([JSON.stringify({ type: 'message', text: 'my receipt', channelData: { clientActivityID: 'up-1' } })], { type: 'application/vnd.microsoft.activity' }));
    form.append('file', new Blob([Buffer.from('PNGDATA')], { type: 'image/png' }), 'receipt.png');
    const upload = await fetch(`${t.url}${dl}/conversations/${conv.conversationId}/upload?userId=dl_user-upload-001`, { method: 'POST', headers: { authorization: `Bearer ${conv.token}` }, body: form });
    expect(upload.status).toBe(200);
    const polled = await call('GET', `/conversations/${conv.conversationId}/activities`, conv.token);
    const [activity] = polled.body.activities;
    expect(activity).toMatchObject({ text: 'my receipt', channelData: { clientActivityID: 'up-1' }, attachments: [{ contentType: 'image/png', name: 'receipt.png' }] });
    const file = await fetch(activity.attachments[0].contentUrl);
    expect(file.status).toBe(200);
    expect(file.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await file.arrayBuffer()).toString()).toBe('PNGDATA');
    const noUser = await fetch(`${t.url}${dl}/conversations/${conv.conversationId}/upload`, { method: 'POST', headers: { authorization: `Bearer ${conv.token}` }, body: form });
    expect(noUser.status).toBe(400);
  });

  it('deletes uploaded files once WEBCHAT_FILE_RETENTION_HOURS have passed, and their links answer 404', async () => {
    const conv = await started({ id: 'dl_user-retention-01' });
    const upload = async (name: string) => {
      const form = new FormData();
      form.append('file', new Blob([Buffer.from(name)], { type: 'text/plain' }), name);
      const res = await fetch(`${t.url}${dl}/conversations/${conv.conversationId}/upload?userId=dl_user-retention-01`, { method: 'POST', headers: { authorization: `Bearer ${conv.token}` }, body: form });
      expect(res.status).toBe(200);
    };
    await upload('old.txt');
    await upload('new.txt');
    const polled = await call('GET', `/conversations/${conv.conversationId}/activities`, conv.token);
    const urlOf = (name: string) => polled.body.activities.find((a: any) => a.attachments?.[0]?.name === name).attachments[0].contentUrl as string;
    // The first upload made a day and a minute old, as the clock would have it tomorrow.
    await withDatabase((db) => db.query(`UPDATE webchat_files SET created_at = now() - interval '24 hours 1 minute' WHERE conversation_id = $1 AND name = 'old.txt'`, [conv.conversationId]));
    expect(await t.app.get(WebchatFileRetention).runOnce()).toBe(1);
    expect((await fetch(urlOf('old.txt'))).status).toBe(404);
    const kept = await fetch(urlOf('new.txt'));
    expect(kept.status).toBe(200);
    expect(await kept.text()).toBe('new.txt');
  });

  it('ends a conversation on endOfConversation: later posts are 403 ConversationEnded, history stays', async () => {
    const conv = await started({ id: 'dl_user-ending-001' });
    await call('POST', `/conversations/${conv.conversationId}/activities`, conv.token, { type: 'endOfConversation' });
    expect(await call('POST', `/conversations/${conv.conversationId}/activities`, conv.token, { type: 'message', text: 'hello?' })).toMatchObject({ status: 403, body: { error: { code: 'ConversationEnded' } } });
    expect((await call('GET', `/conversations/${conv.conversationId}/activities`, conv.token)).body.activities).toHaveLength(1);
  });
});
