import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { FakeChannelPlatform } from '@app/simulators/fake/fake-channel-platform';
import { FileLinks } from '../../src/escalations/file-links';
import { QUEUES } from '../../src/queues/queues';
import { waitFor } from '../support/bot-receiver';
import { freePort, TestApp, withDatabase } from '../support/test-app';
import { escalationBody, fakeGateway, fakeSuite } from '../escalations/fake-setup';
import { conversationOf, fakeChannel, userSays } from './channel-setup';

/**
 * The agent's side of the switchboard on a channel conversation: the agent's messages are stored for the channel
 * with their events (no wake-up needed to keep them), and the agent's files reach the user by a signed link.
 */
describe("the agent's messages and files on a channel", () => {
  // The links are absolute: the service must know its own address before it starts (its port is chosen here).
  const env: Record<string, string> = { POLL_TICK_MS: '100', RECONCILE_INTERVAL_SECONDS: '1' };
  beforeAll(async () => {
    const port = await freePort();
    Object.assign(env, { PORT: String(port), PUBLIC_BASE_URL: `http://127.0.0.1:${port}` });
  });
  const suite = fakeSuite(env);
  const { platform, receiver } = suite;
  const channel = new FakeChannelPlatform();
  let t: TestApp;
  let redis: Redis;
  let sends: Queue;
  beforeAll(async () => {
    t = suite.t;
    await channel.start();
    redis = new Redis(process.env.REDIS_URL!, { maxRetriesPerRequest: null });
    sends = new Queue(QUEUES.channelSends, { connection: redis, prefix: process.env.REDIS_PREFIX });
  });
  afterAll(async () => {
    await sends.close();
    redis.disconnect();
    await channel.stop();
  });

  const escalate = async (pc: string) => {
    const { domain, domainId, gatewayId: channelGateway } = await fakeChannel(t, channel, receiver);
    const { gatewayId } = await fakeGateway(t, platform, receiver, { transferBack: true, inDomain: { domain, domainId } });
    await userSays(t, channel, channelGateway, [{ id: `${pc}-1`, conversationId: pc, text: 'I want a human' }]);
    const id = await conversationOf(receiver, pc);
    const res = await t.request('POST', '/v1/escalations', { body: { ...escalationBody(domain, gatewayId, 'unused'), conversation: { id } }, headers: { 'idempotency-key': `esc-${pc}` } });
    expect(res.status).toBe(202);
    const session = await waitFor('platform session', () => platform.sessionFor(res.body.id));
    platform.push(session.id, 'agent_joined', { agent: { id: 'a-1', name: 'Grace' } });
    await waitFor('agent joined at the bot', () => receiver.of(id).some((d) => d.type === 'agent_joined'));
    return { id, session, escalationId: res.body.id as string };
  };
  const agentTexts = (pc: string) => channel.delivered(pc).filter((s) => s.activity.type === 'message').map((s) => s.activity.text);

  it('stores the agent’s message for the channel in the commit of its event: a lost wake-up loses nothing', async () => {
    const { id, session } = await escalate('ag-1');
    platform.push(session.id, 'agent_message', { agent: { id: 'a-1', name: 'Grace' }, text: 'before' });
    await waitFor('the first message on the channel', () => agentTexts('ag-1').includes('before'));

    // No sender runs while the queue is paused; the wake-ups the ingest enqueues after its commit are then thrown
    // away, as a process that died right after the commit would never have enqueued them.
    await sends.pause();
    try {
      platform.push(session.id, 'agent_message', { agent: { id: 'a-1', name: 'Grace' }, text: 'while asleep 1' });
      platform.push(session.id, 'agent_message', { agent: { id: 'a-1', name: 'Grace' }, text: 'while asleep 2' });
      // Whenever an agent message is visible, so is its outbound message: one commit holds both.
      await withDatabase(async (db) => {
        await waitFor('both agent messages stored', async () => {
          const { rows } = await db.query(
            `SELECT e.seq, EXISTS (SELECT 1 FROM outbound_messages o WHERE o.conversation_id = e.conversation_id AND o.idempotency_key = 'agent-event:' || e.seq) AS outbound
               FROM events e WHERE e.conversation_id = $1 AND e.type = 'agent_message' ORDER BY e.seq`,
            [id],
          );
          for (const row of rows) expect(row).toMatchObject({ outbound: true });
          return rows.length === 3;
        }, 10_000, 5);
      });
      await sends.drain(true);
    } finally {
      await sends.resume();
    }
    // Only the reconcile pass (conversations with messages still `accepted`) wakes the sender now.
    await waitFor('the stored messages sent by the reconcile pass', () => agentTexts('ag-1').length === 3, 15_000);
    platform.push(session.id, 'agent_message', { agent: { id: 'a-1', name: 'Grace' }, text: 'after' });
    await waitFor('the last message on the channel', () => agentTexts('ag-1').includes('after'));
    // Exactly once each, in the agent's order.
    expect(agentTexts('ag-1')).toEqual(['before', 'while asleep 1', 'while asleep 2', 'after']);
    expect(channel.delivered('ag-1').filter((s) => s.activity.type === 'message').every((s) => s.activity.author === 'agent' && s.activity.authorName === 'Grace')).toBe(true);
    expect(receiver.undocumented).toEqual([]);
  }, 40_000);

  it('sends the agent’s file as a signed, expiring link that needs no key', async () => {
    const { session, escalationId } = await escalate('ag-2');
    const bytes = Buffer.from('%PDF-1.4 statement for Ada');
    platform.push(session.id, 'attachment', { agent: { id: 'a-1', name: 'Grace' }, attachment: { name: 'statement.pdf', mimeType: 'application/pdf', base64: bytes.toString('base64') } });
    const sent = await waitFor('the file on the channel', () => channel.delivered('ag-2').find((s) => (s.activity.attachments as unknown[] | undefined)?.length));
    const [file] = sent.activity.attachments as { url: string; contentType: string; name: string }[];
    expect(file).toMatchObject({ contentType: 'application/pdf', name: 'statement.pdf' });
    expect(file.url.startsWith(`${t.config.publicBaseUrl}/v1/files/${escalationId}/`)).toBe(true);

    const download = await fetch(file.url);
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer())).toEqual(bytes);
    expect(download.headers.get('content-type')).toContain('application/pdf');
    expect(download.headers.get('content-disposition')).toMatch(/^attachment; filename="statement.pdf"/);
    expect(download.headers.get('x-content-type-options')).toBe('nosniff');

    const link = new URL(file.url);
    const signature = link.searchParams.get('signature')!;
    const refused = async (changed: URL, status: number, code: string, field: string) => {
      const res = await fetch(changed);
      const text = await res.text();
      expect(res.status).toBe(status);
      expect(JSON.parse(text)).toMatchObject({ code, details: { field } });
      expect(text).not.toContain(signature);
    };
    const tampered = new URL(link);
    tampered.searchParams.set('signature', `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`);
    await refused(tampered, 403, 'link_invalid', 'signature');
    const extended = new URL(link);
    extended.searchParams.set('expires', String(Number(link.searchParams.get('expires')) + 3600));
    await refused(extended, 403, 'link_invalid', 'signature');
    // The same file's link for another file is refused: a link is scoped to one file.
    const otherFile = new URL(link);
    otherFile.pathname = `/v1/files/${escalationId}/00000000-0000-4000-8000-000000000000`;
    await refused(otherFile, 403, 'link_invalid', 'signature');

    // A link made by the service with an expiry already past (the clock moved on): 410.
    const attachmentId = link.pathname.split('/').pop()!;
    const expired = t.app.get(FileLinks).url(escalationId, attachmentId, new Date(Date.now() - 1000));
    await refused(new URL(expired), 410, 'link_expired', 'expires');

    const unsigned = new URL(link);
    unsigned.searchParams.delete('signature');
    const missing = await fetch(unsigned);
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { details: unknown }).details).toEqual([expect.objectContaining({ field: 'signature' })]);
  }, 30_000);
});
