import { randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { getQueueToken } from '@nestjs/bullmq';
import { Queue } from 'bullmq';
import { ConversationRecord, EightByEightSimulator } from '@app/simulators/eight-by-eight';
import { ReconcileService } from '../../src/workers/reconcile.service';
import { JOBS, QUEUES } from '../../src/queues/queues';
import { escalationBody, SIGNING_SECRET } from '../escalations/fake-setup';
import { BotReceiver, clockPast, Delivery, waitFor } from '../support/bot-receiver';
import { ADMIN_KEY, freePort, resetState, startTestApp, TestApp } from '../support/test-app';

const API_KEY = 'e2e-8x8-api-key';
const TENANT = 'tenant01';
let domainCounter = 0;

/** A webhook as it reached our public endpoint, and what the endpoint answered. */
interface FrontRecord {
  path: string;
  eventId?: string;
  eventType?: string;
  retry?: string;
  status: number;
  forwarded: boolean;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * Our public webhook endpoint as 8x8 sees it (a load balancer in front of the service, PUBLIC_BASE_URL): passes every
 * delivery through and records it, and answers 503 once to a chosen event type, either before the service saw the
 * delivery or after it stored it (the acknowledgement lost on the way back). Either way 8x8 retries the same event id.
 */
class WebhookFront {
  readonly seen: FrontRecord[] = [];
  private readonly refusals: { eventType: string; afterForwarding: boolean }[] = [];
  /** While set, deliveries wait here before they are forwarded (a slow network between 8x8 and the service). */
  private held?: { release: () => void; released: Promise<void>; count: number };
  private server?: Server;
  url = '';

  constructor(private readonly target: string) {}

  refuseOnce(eventType: string, when: 'before-forwarding' | 'after-forwarding'): void {
    this.refusals.push({ eventType, afterForwarding: when === 'after-forwarding' });
  }

  /** Holds every delivery from now on until `release`. */
  hold(): void {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.held = { release, released, count: 0 };
  }

  /** Deliveries waiting in the hold. */
  get holding(): number {
    return this.held?.count ?? 0;
  }

  release(): void {
    this.held?.release();
    this.held = undefined;
  }

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        void (async () => {
          const held = this.held;
          if (held) {
            held.count++;
            await held.released;
          }
          const body = Buffer.concat(chunks);
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(req.headers)) {
            if (value !== undefined && !['host', 'content-length', 'connection', 'transfer-encoding'].includes(name)) headers[name] = String(value);
          }
          let eventType: string | undefined;
          try {
            eventType = JSON.parse(body.toString('utf8')).eventType;
          } catch {
            eventType = undefined;
          }
          const record: FrontRecord = { path: req.url ?? '/', eventId: headers['x-8x8-event-id'], eventType, retry: headers['x-8x8-retry'], status: 0, forwarded: false, headers, body };
          const index = this.refusals.findIndex((refusal) => refusal.eventType === eventType);
          const refusal = index >= 0 ? this.refusals.splice(index, 1)[0] : undefined;
          let answer = '';
          if (!refusal || refusal.afterForwarding) {
            const forwarded = await fetch(this.target + record.path, { method: req.method, headers, body });
            answer = await forwarded.text();
            record.forwarded = true;
            record.status = forwarded.status;
          }
          if (refusal) record.status = 503;
          this.seen.push(record);
          res.writeHead(record.status, { 'content-type': 'application/json' }).end(refusal ? '{"message":"unavailable"}' : answer);
        })().catch(() => res.writeHead(502).end());
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/**
 * Escalations through the real service (API and worker in this process), the 8x8 simulator (checking every request
 * against 8x8's OpenAPI document) and a bot platform that verifies every signed delivery: from the request to the
 * agent's close, both ways, and webhook deliveries that are duplicated, reordered and retried.
 */
describe('8x8 Chat Gateway escalation end to end', () => {
  let t: TestApp;
  let db: Client;
  let front: WebhookFront;
  const sim = new EightByEightSimulator({
    apiKey: API_KEY,
    tenantId: TENANT,
    validateRequests: true,
    retryDelaysMs: [100, 300, 1000],
    activationDelayMs: 5,
    queues: [
      { id: '101', name: 'Support', agents: { available: 2 } },
      { id: '102', name: 'Sales', agents: { available: 1 } },
      { id: '103', name: 'Billing', agents: { available: 1 } },
    ],
  });
  const receiver = new BotReceiver(SIGNING_SECRET);

  beforeAll(async () => {
    await resetState();
    await sim.start();
    await receiver.start();
    const port = await freePort();
    front = new WebhookFront(`http://127.0.0.1:${port}`);
    await front.start();
    t = await startTestApp({ PORT: String(port), PUBLIC_BASE_URL: front.url });
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(async () => {
    await db?.end();
    await t?.close();
    await front?.stop();
    await sim.stop();
    await receiver.stop();
  });
  afterEach(() => expect(sim.oasViolations()).toEqual([]));

  /** A domain whose callback is the receiver, and an 8x8 gateway in it, deployed through the admin API. */
  const eightByEightGateway = async (transferBack: boolean): Promise<{ domain: string; gatewayId: string; webhookUrl: string }> => {
    const domain = `e8x8-${++domainCounter}-${Date.now()}`;
    const d = await t.request('POST', '/v1/domains', { body: { name: domain, callbackUrl: receiver.url, signingSecret: SIGNING_SECRET } });
    if (d.status !== 201) throw new Error(`domain: ${d.text}`);
    const g = await t.request('POST', '/v1/gateways', {
      body: {
        type: '8x8-chat-gateway',
        settings: {
          basic: { name: `8x8-${domain}`, domain, deployed: false, baseUrl: sim.baseUrl, apiKey: API_KEY, tenantId: TENANT, metricsBaseUrl: `${sim.baseUrl}/analytics/cc/v5/realtime-metrics` },
          configuration: { defaultQueueId: '101', transferBackOnAgentClose: transferBack, escalationTimeoutSeconds: 120 },
          additional: { apiRetryInitialDelayMs: 100, apiRetryMultiplier: 2, apiRetryMaxAttempts: 3 },
        },
      },
    });
    if (g.status !== 201) throw new Error(`gateway: ${g.text}`);
    const deployed = await t.request('POST', `/v1/gateways/${g.body.id}/deploy`, { body: {} });
    if (deployed.status !== 200) throw new Error(`deploy: ${deployed.text}`);
    return { domain, gatewayId: g.body.id, webhookUrl: deployed.body.webhookUrl };
  };

  const escalate = async (domain: string, gatewayId: string, externalId: string) => {
    const res = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, externalId), headers: { 'idempotency-key': externalId } });
    expect(res.status).toBe(202);
    return res.body as { id: string; conversationId: string };
  };

  /** The simulator's conversation of one escalation (the gateway sends our escalation id as the user's caseId). */
  const conversationOf = (escalationId: string): Promise<ConversationRecord> =>
    waitFor('the conversation on 8x8', () => [...sim.repository.conversations.values()].find((c) => c.user.caseId === escalationId && c.phase === 'queued'));

  /** The agent's side, through the simulator's control API. */
  const agent = async (conversationId: string, action: string, body: Record<string, unknown> = {}) => {
    const res = await fetch(`${sim.baseUrl}/sim/conversations/${conversationId}/${action}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`agent ${action}: ${res.status} ${await res.text()}`);
  };

  const relay = async (escalationId: string, path: 'messages' | 'typing' | 'transfer', body: Record<string, unknown>) => {
    const res = await t.request('POST', `/v1/escalations/${escalationId}/${path}`, { body });
    expect(res.status).toBe(202);
  };

  const escalationDetail = async (id: string) => (await t.request('GET', `/v1/escalations/${id}`)).body;
  const storedWebhooks = async (gatewayId: string): Promise<{ rows: number; eventIds: number }> => {
    const { rows } = await db.query(`SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS "eventIds" FROM inbound_webhooks WHERE gateway_id = $1`, [gatewayId]);
    return rows[0];
  };

  const expectExactlyOnceInOrder = (delivered: Delivery[]) => {
    expect(delivered.every((d) => d.verified)).toBe(true);
    expect(delivered.map((d) => d.seq)).toEqual(delivered.map((_, i) => i + 1));
    expect(new Set(delivered.map((d) => d.id)).size).toBe(delivered.length);
  };

  it('provisions its webhook and channel on deploy and answers the WEB_HOOK_VERIFY that 8x8 sends to it', async () => {
    const { gatewayId, webhookUrl } = await eightByEightGateway(false);
    expect(webhookUrl).toBe(`${front.url}/v1/webhooks/${gatewayId}`);
    const webhook = [...sim.repository.webhooks.values()].find((candidate) => candidate.uri === webhookUrl);
    expect(webhook).toMatchObject({ name: `chat-gateway ${gatewayId}`, version: 'Chat Gateway v1.0' });
    const channel = [...sim.repository.channels.values()].find((candidate) => candidate.webHookId === webhook!.id);
    expect(channel).toMatchObject({ type: 'ChatAPI', routingOptions: { type: 'queue', id: '101' } });
    const hello = front.seen.filter((record) => record.path === `/v1/webhooks/${gatewayId}` && record.eventType === 'WEB_HOOK_VERIFY');
    expect(hello.map((record) => [record.status, record.forwarded])).toEqual([[200, true]]);
    expect((await db.query(`SELECT count(*)::int AS n FROM inbound_webhooks WHERE gateway_id = $1`, [gatewayId])).rows).toEqual([{ n: 0 }]);
    const detail = await t.request('GET', `/v1/gateways/${gatewayId}`);
    expect(detail.body.deployed).toBe(true);
  });

  it('answers unsigned endpoint verifications without storing them, however many come', async () => {
    const { gatewayId } = await eightByEightGateway(false);
    const hello = JSON.stringify({ notificationVersion: 'Chat Gateway v1.0', eventType: 'WEB_HOOK_VERIFY' });
    const stored = async () => (await db.query(`SELECT count(*)::int AS n FROM inbound_webhooks`)).rows[0].n as number;
    const before = await stored();
    const answers = await Promise.all(
      Array.from({ length: 200 }, () => fetch(`${t.url}/v1/webhooks/${gatewayId}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: hello }).then((res) => res.status)),
    );
    expect(answers.every((status) => status === 200)).toBe(true);
    expect(await stored()).toBe(before);
  });

  it('hands a conversation to 8x8 agents through two transfers, relays messages, typing and files both ways, and hands it back to the bot', async () => {
    const { domain, gatewayId } = await eightByEightGateway(true);
    const escalation = await escalate(domain, gatewayId, 'conv-8x8-flow');
    const types = () => receiver.of(escalation.conversationId).map((d) => d.type);
    const count = (type: string) => types().filter((candidate) => candidate === type).length;

    const conversation = await conversationOf(escalation.id);
    const id = conversation.id;
    expect(conversation.user).toMatchObject({
      name: 'Ada Lovelace',
      email: 'ada@example.com',
      caseId: escalation.id,
      additionalProperties: [
        { key: 'Intent', value: 'balance' },
        { key: 'Authenticated', value: 'yes' },
      ],
    });
    expect(conversation.messages.filter((m) => m.fromHistory).map((m) => m.text)).toEqual(['I would like my balance please', 'Your balance is 12.34']);
    const provisioning = [...sim.repository.channels.values()].find((channel) => channel.id === conversation.channelId)!;
    // Transfer back is on: the gateway asked 8x8 to hand the conversation to our webhook when the agent closes (its
    // own call, after the conversation was created and queued).
    await waitFor('the hand-back arranged on 8x8', () => conversation.postAgentAssignment);
    expect(conversation.postAgentAssignment).toMatchObject({ type: 'webhook', id: provisioning.webHookId });
    await waitFor('queued twice at the bot (ours, then 8x8 QUEUED)', () => count('queued') === 2);

    // Our transfer while the conversation waits.
    await relay(escalation.id, 'transfer', { queue: '102' });
    await waitFor('moved on 8x8', () => sim.repository.conversations.get(id)!.assignment.id === '102');
    await waitFor('queue 102 at the bot', () => count('queued') === 3);
    expect((await escalationDetail(escalation.id)).queue).toBe('102');

    // The agent takes it, transfers it to another queue, where a second agent takes it.
    await agent(id, 'accept', { agentId: 'agent-7', agentName: 'Ann' });
    await agent(id, 'transfer', { queueId: '103' });
    await agent(id, 'accept', { agentId: 'agent-8', agentName: 'Bob' });
    await waitFor('second agent at the bot', () => count('agent_joined') === 2, 10_000);
    const afterTransfer = await escalationDetail(escalation.id);
    expect(afterTransfer).toMatchObject({ state: 'active', control: 'agent', queue: '103' });

    // Typing, messages and files both ways.
    const receipt = Buffer.from('receipt #42, paid in full');
    const statement = Buffer.from('%PDF-1.4 statement of account');
    await agent(id, 'typing', { typing: true });
    await agent(id, 'typing', { typing: false });
    await agent(id, 'messages', { text: 'Hello Ada, I am Bob' });
    await relay(escalation.id, 'typing', { state: 'started' });
    await relay(escalation.id, 'messages', { text: 'I lost my card' });
    await relay(escalation.id, 'messages', { text: 'here is the receipt', attachments: [{ name: 'receipt.txt', mimeType: 'text/plain', contentBase64: receipt.toString('base64') }] });
    await agent(id, 'files', { fileName: 'statement.pdf', mimeType: 'application/pdf', contentBase64: statement.toString('base64'), text: 'Your statement' });
    await waitFor('the agent file at the bot', () => types().includes('attachment'), 10_000);
    await waitFor('the user file on 8x8', () => sim.repository.conversations.get(id)!.attachments.some((a) => a.authorType === 'user'));
    const onPlatform = sim.repository.conversations.get(id)!;
    const userMessages = onPlatform.messages.filter((m) => m.authorType === 'user' && !m.fromHistory);
    expect(userMessages.map((m) => m.text)).toEqual(['I lost my card', 'here is the receipt']);
    const uploaded = onPlatform.attachments.find((a) => a.id === userMessages[1].attachmentIds[0]);
    expect(uploaded).toMatchObject({ filename: 'receipt.txt', mimeType: 'text/plain', content: receipt });
    expect(onPlatform.signals).toEqual([expect.objectContaining({ kind: 'typing', authorType: 'user' })]);

    const delivered = receiver.of(escalation.conversationId);
    const agentFile = delivered.find((d) => d.type === 'attachment')!.data.attachment;
    expect(agentFile).toMatchObject({ name: 'statement.pdf', mimeType: 'application/pdf', size: statement.length });
    const download = await fetch(`${t.url}${agentFile.url}`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer())).toEqual(statement);
    expect(delivered.filter((d) => d.type === 'agent_message').map((d) => d.data.text)).toEqual(['Hello Ada, I am Bob', 'Your statement']);

    // The agent has control: a bot reply is refused.
    const botReply = await t.request('POST', `/v1/escalations/${escalation.id}/messages`, { body: { author: 'bot', text: 'I can help too' } });
    expect(botReply.status).toBe(409);

    await agent(id, 'leave');
    await waitFor('ended at the bot', () => types().includes('ended'));
    expect(sim.repository.conversations.get(id)!.handedBack).toMatchObject({ webhookId: provisioning.webHookId });
    const all = receiver.of(escalation.conversationId);
    expectExactlyOnceInOrder(all);
    expect(types()).toEqual([
      'queued',
      'queued',
      'queued',
      'agent_joined',
      'transferred',
      'agent_left',
      'queued',
      'agent_joined',
      'agent_typing_started',
      'agent_typing_stopped',
      'agent_message',
      'agent_message',
      'attachment',
      'agent_left',
      'ended',
    ]);
    // The first `queued` is the service's own (the request named no queue), the others 8x8's QUEUED.
    expect(all.filter((d) => d.type === 'queued').map((d) => d.data.queueId)).toEqual([undefined, '101', '102', '103']);
    expect(all.at(-1)!.data).toMatchObject({ by: 'agent', controlReturnedToBot: true, conversationClosed: false });
    const final = await escalationDetail(escalation.id);
    expect(final).toMatchObject({ state: 'ended', control: 'bot' });
  }, 25_000);

  it('closes the conversation when the agent closes and transfer back is off', async () => {
    const { domain, gatewayId } = await eightByEightGateway(false);
    const escalation = await escalate(domain, gatewayId, 'conv-8x8-close');
    const { id, postAgentAssignment } = await conversationOf(escalation.id);
    expect(postAgentAssignment).toBeUndefined();
    await agent(id, 'accept', { agentId: 'agent-2' });
    await waitFor('agent at the bot', () => receiver.of(escalation.conversationId).some((d) => d.type === 'agent_joined'));
    await agent(id, 'leave');
    await waitFor('ended at the bot', () => receiver.of(escalation.conversationId).some((d) => d.type === 'ended'));
    const delivered = receiver.of(escalation.conversationId);
    expectExactlyOnceInOrder(delivered);
    expect(delivered.map((d) => d.type)).toEqual(['queued', 'queued', 'agent_joined', 'agent_left', 'ended']);
    expect(delivered.at(-1)!.data).toMatchObject({ by: 'agent', controlReturnedToBot: false, conversationClosed: true });
    expect((await t.request('GET', `/v1/conversations/${escalation.conversationId}`)).body.closedAt).not.toBeNull();
    expect(sim.repository.conversations.get(id)).toMatchObject({ state: 'idle', phase: 'ended' });
  }, 20_000);

  const sessionGoneAt = async (escalationId: string): Promise<Date | null> =>
    (await db.query(`SELECT session_gone_at FROM escalations WHERE id = $1`, [escalationId])).rows[0].session_gone_at;

  it.each([
    { transferBack: true, reason: 'agent closed; 8x8 handed the conversation back to the bot', controlReturnedToBot: true, conversationClosed: false },
    { transferBack: false, reason: '8x8 conversation went idle', controlReturnedToBot: false, conversationClosed: true },
  ])(
    'ends as the agent closed it when 8x8 refuses a message relayed as the agent closes, once its close webhook comes (transfer back $transferBack)',
    async ({ transferBack, reason, controlReturnedToBot, conversationClosed }) => {
      const { domain, gatewayId } = await eightByEightGateway(transferBack);
      const escalation = await escalate(domain, gatewayId, `conv-8x8-race-${transferBack}`);
      const conversation = await conversationOf(escalation.id);
      if (transferBack) await waitFor('the hand-back arranged on 8x8', () => conversation.postAgentAssignment);
      await agent(conversation.id, 'accept', { agentId: 'agent-5' });
      await waitFor('agent at the bot', () => receiver.of(escalation.conversationId).some((d) => d.type === 'agent_joined'));

      // The agent closes; 8x8's webhooks about it are on their way but not at the service yet. The user's message
      // reaches 8x8 after the close, and 8x8 answers that it no longer knows the conversation.
      front.hold();
      await agent(conversation.id, 'leave');
      await waitFor('the close on its way', () => front.holding > 0);
      sim.injectHttpFault({ kind: 'error', status: 404, method: 'POST', path: `/conversations/${conversation.id}/messages$` });
      await relay(escalation.id, 'messages', { text: 'thanks!' });
      await waitFor('the message refused', async () => (await escalationDetail(escalation.id)).relay[0]?.status === 'failed');
      front.release();

      await waitFor('ended at the bot', () => receiver.of(escalation.conversationId).some((d) => d.type === 'ended'));
      // The service's own wait for the close has ended without adding anything.
      await waitFor('the wait for the close over', async () => (await sessionGoneAt(escalation.id)) === null, 15_000);
      const delivered = receiver.of(escalation.conversationId);
      expectExactlyOnceInOrder(delivered);
      expect(delivered.map((d) => d.type)).toEqual(['queued', 'queued', 'agent_joined', 'agent_left', 'ended']);
      expect(delivered.at(-1)!.data).toEqual({ by: 'agent', reason, controlReturnedToBot, conversationClosed });
      const detail = await escalationDetail(escalation.id);
      expect(detail).toMatchObject({ state: 'ended', control: 'bot' });
      expect(detail.relay).toEqual([expect.objectContaining({ status: 'failed', lastError: expect.stringContaining('the platform session had ended') })]);
    },
    30_000,
  );

  it('ends as an agent close under the transfer back setting when 8x8 refuses a relayed message as an unknown conversation and sends no close', async () => {
    const { domain, gatewayId } = await eightByEightGateway(false);
    const escalation = await escalate(domain, gatewayId, 'conv-8x8-gone');
    const { id } = await conversationOf(escalation.id);
    await agent(id, 'accept', { agentId: 'agent-6' });
    await waitFor('agent at the bot', () => receiver.of(escalation.conversationId).some((d) => d.type === 'agent_joined'));
    sim.injectHttpFault({ kind: 'error', status: 404, method: 'POST', path: `/conversations/${id}/messages$` });
    await relay(escalation.id, 'messages', { text: 'anyone?' });
    await waitFor('the message refused', async () => (await escalationDetail(escalation.id)).relay[0]?.status === 'failed');
    expect(await sessionGoneAt(escalation.id)).not.toBeNull();

    // Redis loses the job that would end the wait; the reconcile pass makes it again from PostgreSQL.
    const escalations = t.app.get<Queue>(getQueueToken(QUEUES.escalations));
    const waiting = (await escalations.getDelayed()).filter((job) => job.name === JOBS.sessionGone && job.data.escalationId === escalation.id);
    expect(waiting).toHaveLength(1);
    await waiting[0].remove();
    await waitFor('a reconcile pass', () => t.app.get(ReconcileService).runOnce());
    await waitFor('ended at the bot', () => receiver.of(escalation.conversationId).some((d) => d.type === 'ended'), 20_000);
    const delivered = receiver.of(escalation.conversationId);
    expectExactlyOnceInOrder(delivered);
    expect(delivered.map((d) => d.type)).toEqual(['queued', 'queued', 'agent_joined', 'agent_left', 'ended']);
    expect(delivered[3].data.agent).toEqual({ id: 'agent-6', displayName: null });
    expect(delivered[4].data).toEqual({ by: 'agent', reason: expect.stringContaining('without saying how'), controlReturnedToBot: false, conversationClosed: true });
    expect(await sessionGoneAt(escalation.id)).toBeNull();
  }, 30_000);

  it('stops waiting for a close when 8x8 takes the next relayed message after refusing one, and keeps the escalation', async () => {
    const { domain, gatewayId } = await eightByEightGateway(false);
    const escalation = await escalate(domain, gatewayId, 'conv-8x8-not-gone');
    const { id } = await conversationOf(escalation.id);
    await agent(id, 'accept', { agentId: 'agent-7' });
    await waitFor('agent at the bot', () => receiver.of(escalation.conversationId).some((d) => d.type === 'agent_joined'));
    sim.injectHttpFault({ kind: 'error', status: 404, method: 'POST', path: `/conversations/${id}/messages$` });
    await relay(escalation.id, 'messages', { text: 'lost' });
    await relay(escalation.id, 'messages', { text: 'taken' });
    await waitFor('the second message sent', async () => (await escalationDetail(escalation.id)).relay[1]?.status === 'sent');
    expect(await sessionGoneAt(escalation.id)).toBeNull();

    // The check that would have ended the escalation runs when due and finds nothing to wait for.
    const escalations = t.app.get<Queue>(getQueueToken(QUEUES.escalations));
    const checks = async () => [...(await escalations.getDelayed()), ...(await escalations.getCompleted())].filter((job) => job.name === JOBS.sessionGone && job.data.escalationId === escalation.id);
    const check = (await checks())[0];
    expect(check).toBeDefined();
    await waitFor('the check done', async () => escalations.getJobState(check.id!).then((state) => state === 'completed'), 20_000);
    expect(await escalationDetail(escalation.id)).toMatchObject({ state: 'active', control: 'agent' });
    expect(receiver.of(escalation.conversationId).map((d) => d.type)).toEqual(['queued', 'queued', 'agent_joined']);
    expect(sim.repository.conversations.get(id)!.messages.filter((m) => m.authorType === 'user' && !m.fromHistory).map((m) => m.text)).toEqual(['taken']);
  }, 30_000);

  it('ends an escalation of a legacy account (Chat API v2 events, no idle update) when the agent leaves, not when the agent transfers', async () => {
    const { domain, gatewayId, webhookUrl } = await eightByEightGateway(false);
    const webhook = [...sim.repository.webhooks.values()].find((candidate) => candidate.uri === webhookUrl)!;
    sim.setWebhookEventFormat(webhook.id, 'legacy-v2');
    const escalation = await escalate(domain, gatewayId, 'conv-8x8-legacy');
    const { id } = await conversationOf(escalation.id);
    await agent(id, 'accept', { agentId: 'cmalutan', agentName: 'Cosmin,Malutan' });
    await agent(id, 'messages', { text: 'Hi, Cosmin here' });
    await agent(id, 'transfer', { queueId: '102' });
    await agent(id, 'accept', { agentId: 'agent-2', agentName: 'Second' });
    await waitFor('the second agent at the bot', () => receiver.of(escalation.conversationId).filter((d) => d.type === 'agent_joined').length === 2);
    expect((await escalationDetail(escalation.id)).state).toBe('active');
    await agent(id, 'leave');
    await waitFor('ended at the bot', () => receiver.of(escalation.conversationId).some((d) => d.type === 'ended'));
    const delivered = receiver.of(escalation.conversationId);
    expectExactlyOnceInOrder(delivered);
    expect(delivered.map((d) => d.type)).toEqual(['queued', 'queued', 'agent_joined', 'agent_message', 'transferred', 'agent_left', 'queued', 'agent_joined', 'agent_left', 'ended']);
    expect(delivered[2].data.agent).toEqual({ id: 'cmalutan', displayName: 'Cosmin,Malutan' });
    expect(delivered.at(-1)!.data).toMatchObject({ by: 'agent', conversationClosed: true });
    expect(await escalationDetail(escalation.id)).toMatchObject({ state: 'ended', control: 'bot' });
  }, 20_000);

  it('gives the bot each event exactly once and in order although 8x8 duplicates, reorders and retries deliveries', async () => {
    const { domain, gatewayId, webhookUrl } = await eightByEightGateway(false);
    const escalation = await escalate(domain, gatewayId, 'conv-8x8-faults');
    const { id } = await conversationOf(escalation.id);
    await waitFor('queued at the bot', () => receiver.of(escalation.conversationId).filter((d) => d.type === 'queued').length === 2);

    // The agent's join is stored but its acknowledgement is lost; the first message is refused before the service
    // sees it. 8x8 retries both with the same event id.
    front.refuseOnce('MEMBERS_CHANGED', 'after-forwarding');
    front.refuseOnce('MESSAGE', 'before-forwarding');
    sim.injectWebhookFault({ kind: 'duplicate', count: 6 });
    await agent(id, 'accept', { agentId: 'agent-9' });
    let sentAt = Date.now();
    sim.injectWebhookFault({ kind: 'out-of-order', count: 2 });
    for (const text of ['one', 'two', 'three', 'four']) {
      // Apart, as a person types: each message stamped in a later millisecond than the one before.
      await clockPast(sentAt);
      await agent(id, 'messages', { text });
      sentAt = Date.now();
    }
    await clockPast(sentAt);
    await agent(id, 'leave');
    await waitFor('ended at the bot', () => receiver.of(escalation.conversationId).some((d) => d.type === 'ended'), 15_000);
    await sim.whenDeliveriesSettled();

    // The faults did happen.
    const log = sim.deliveries({ conversationId: id });
    expect(log.filter((d) => d.held && !d.duplicate).map((d) => JSON.parse(d.body).data.text)).toEqual(['one', 'three']);
    expect(log.filter((d) => d.duplicate).length).toBe(6);
    const retried = log.filter((d) => d.attempts.length > 1);
    expect(retried.map((d) => [d.eventType, d.attempts.map((a) => a.status)])).toEqual([
      ['MEMBERS_CHANGED', [503, 200]],
      ['MESSAGE', [503, 200]],
    ]);
    expect(front.seen.filter((r) => r.eventId === retried[0].eventId).map((r) => [r.retry, r.forwarded])).toEqual([
      ['0', true],
      ['1', true],
      ['0', true],
    ]);
    const delivered = log.filter((d) => d.outcome === 'delivered' && d.uri === webhookUrl);
    expect(log.every((d) => d.outcome === 'delivered')).toBe(true);
    expect(delivered.length).toBeGreaterThan(new Set(delivered.map((d) => d.eventId)).size);

    // Yet each reached the bot once, in 8x8's order.
    const bot = receiver.of(escalation.conversationId);
    expectExactlyOnceInOrder(bot);
    expect(bot.map((d) => d.type)).toEqual(['queued', 'queued', 'agent_joined', 'agent_message', 'agent_message', 'agent_message', 'agent_message', 'agent_left', 'ended']);
    expect(bot.filter((d) => d.type === 'agent_message').map((d) => d.data.text)).toEqual(['one', 'two', 'three', 'four']);
    const stored = await storedWebhooks(gatewayId);
    expect(stored.rows).toBe(stored.eventIds);
    // Every event about the conversation is stored once; the endpoint verification is answered, not stored.
    const aboutConversations = sim.deliveries().filter((d) => d.uri === webhookUrl && d.eventType !== 'WEB_HOOK_VERIFY');
    expect(stored.rows).toBe(new Set(aboutConversations.map((d) => d.eventId)).size);
  }, 25_000);

  it('refuses a tampered or stale signature with 401 and stores nothing, and stores a replayed delivery only once', async () => {
    const { domain, gatewayId } = await eightByEightGateway(false);
    const escalation = await escalate(domain, gatewayId, 'conv-8x8-tamper');
    await conversationOf(escalation.id);
    await waitFor('queued at the bot', () => receiver.of(escalation.conversationId).filter((d) => d.type === 'queued').length === 2);
    const queued = await waitFor('QUEUED through the front', () => front.seen.find((r) => r.path === `/v1/webhooks/${gatewayId}` && r.eventType === 'QUEUED' && r.status === 200));
    const before = await storedWebhooks(gatewayId);
    const post = (headers: Record<string, string>, body: Buffer) =>
      fetch(`${t.url}/v1/webhooks/${gatewayId}`, { method: 'POST', headers, body }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, any> }));

    const tamperedBody = Buffer.from(queued.body.toString('utf8').replace('"QUEUED"', '"QUEUED" '));
    const refusedBody = await post(queued.headers, tamperedBody);
    expect(refusedBody).toMatchObject({ status: 401, body: { code: 'unauthenticated' } });
    expect(refusedBody.body.message).toContain('signature does not match');

    const otherEventId = randomUUID();
    expect((await post({ ...queued.headers, 'x-8x8-event-id': otherEventId }, queued.body)).status).toBe(401);

    const staleAt = Date.now() - 10 * 60_000;
    const fields = { tenantId: TENANT, customerId: sim.customerId, eventId: randomUUID(), retry: 0, transmissionTime: staleAt };
    const stale = await post(
      { ...queued.headers, 'x-8x8-event-id': fields.eventId, 'x-8x8-transmission-time': String(staleAt), 'x-8x8-signature': sim.signingKeys.sign(queued.body, fields) },
      queued.body,
    );
    expect(stale.status).toBe(401);
    expect(stale.body.message).toContain('stale webhook');
    expect(await storedWebhooks(gatewayId)).toEqual(before);
    expect((await db.query(`SELECT count(*)::int AS n FROM inbound_webhooks WHERE event_id = ANY($1)`, [[otherEventId, fields.eventId]])).rows[0].n).toBe(0);

    // The very same signed request again: accepted as a duplicate, nothing new stored or delivered.
    const deliveredBefore = receiver.of(escalation.conversationId).length;
    const lastSeqBefore = (await t.request('GET', `/v1/conversations/${escalation.conversationId}`)).body.lastSeq;
    const replay = await post(queued.headers, queued.body);
    expect(replay).toEqual({ status: 200, body: { received: true, duplicate: true } });
    expect(await storedWebhooks(gatewayId)).toEqual(before);
    // Until the service has nothing left for it: every stored delivery processed, every stored event delivered.
    const idle = await waitFor('nothing pending for the gateway and the conversation', async () => {
      const unprocessed = await db.query(`SELECT count(*)::int AS n FROM inbound_webhooks WHERE gateway_id = $1 AND processed_at IS NULL`, [gatewayId]);
      const conversation = (await t.request('GET', `/v1/conversations/${escalation.conversationId}`)).body;
      return unprocessed.rows[0].n === 0 && conversation.deliveredSeq === conversation.lastSeq ? conversation : null;
    });
    expect(idle.lastSeq).toBe(lastSeqBefore);
    expect(receiver.of(escalation.conversationId).length).toBe(deliveredBefore);
  }, 20_000);

  it('delivered every event as the OpenAPI document describes it (DeliveredEvent, closed to undocumented fields)', () => {
    expect(new Set(receiver.deliveries.map((d) => d.type)).size).toBeGreaterThanOrEqual(5);
    expect(receiver.undocumented).toEqual([]);
  });
});
