import { randomBytes } from 'node:crypto';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { OutboundHttpClient } from '@app/gateway-sdk';
import { generateWebhookSecret, verifyWebhook } from '@app/client';
import { Queue } from 'bullmq';
import { AppLogger } from '../common/app-logger';
import { AppConfig } from '../config/app-config';
import { SecretCipher } from '../crypto/secret-cipher';
import { MetricsService } from '../metrics/metrics.service';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { BATCH, CLAIM_MS, ClaimRow, DeliveryClaimsRepository, FailedAttempt, HandOffRow, Recording } from './delivery-claims.repository';
import { DeliveryService } from './delivery.service';
import { EventRow } from './delivery.types';

const DOMAIN = 'dom-1';
const MAX_AGE_SECONDS = 86_400;

/** A conversation as delivery's columns hold it, with its stored events. */
interface StoredConversation {
  id: string;
  external_id: string;
  callback_url: string | null;
  delivered_seq: number;
  delivery_attempts: number;
  events: EventRow[];
  claim: string | null;
  nextDeliveryAt: number | null;
  /** Another transaction holds its row: a claim skips it (SKIP LOCKED). */
  locked: boolean;
  /** Outcomes other than success, by seq. */
  outcomes: Record<number, 'abandoned' | 'no_callback'>;
}

let eventIds = 0;

/**
 * DeliveryClaimsRepository in memory, with the semantics of its statements: a claim takes the due, unclaimed,
 * unlocked conversations with their next events; a record moves the cursor and ends the claim; a retry holds the
 * conversation for its backoff; a pass moves the cursor past an event given up.
 */
class ClaimsInMemory {
  conversations: StoredConversation[] = [];
  signingSecret: string | null = null;
  previousSigningSecret: string | null = null;
  attempts: { eventId: string; attempt: number; status: number | null; error: string | null }[] = [];
  retries: { conversationId: string; attempt: FailedAttempt; delayMs: number }[] = [];

  conversation(id: string, fields: Partial<StoredConversation> & { seqs?: number[]; createdAt?: Date } = {}): StoredConversation {
    const { seqs = [1], createdAt = new Date(), ...rest } = fields;
    const conversation: StoredConversation = {
      id,
      external_id: `ext-${id}`,
      callback_url: null,
      delivered_seq: 0,
      delivery_attempts: 0,
      events: seqs.map((seq) => ({ id: String(++eventIds), seq, escalation_id: 'esc-1', type: 'agent_message', data: { text: `${id} #${seq}` }, occurred_at: createdAt, created_at: createdAt })),
      claim: null,
      nextDeliveryAt: null,
      locked: false,
      outcomes: {},
      ...rest,
    };
    this.conversations.push(conversation);
    return conversation;
  }

  get(id: string): StoredConversation {
    return this.conversations.find((c) => c.id === id)!;
  }

  private lastSeq(conversation: StoredConversation): number {
    return conversation.events.at(-1)?.seq ?? 0;
  }

  private due(conversation: StoredConversation): boolean {
    return conversation.delivered_seq < this.lastSeq(conversation) && conversation.claim === null && (conversation.nextDeliveryAt === null || conversation.nextDeliveryAt <= Date.now());
  }

  async claim(_domainId: string, room: number, claim: string): Promise<ClaimRow[]> {
    const due = this.conversations.filter((c) => this.due(c));
    const claimed = due.filter((c) => !c.locked).slice(0, room);
    if (claimed.length === 0) return [{ due: due.length } as ClaimRow];
    const rows: ClaimRow[] = [];
    for (const c of claimed) {
      c.claim = claim;
      for (const e of c.events.filter((event) => event.seq > c.delivered_seq).slice(0, BATCH)) {
        rows.push({
          due: due.length,
          id: c.id,
          external_id: c.external_id,
          delivered_seq: c.delivered_seq,
          delivery_attempts: c.delivery_attempts,
          domain: 'acme',
          callback_url: c.callback_url,
          signing_secret: this.signingSecret,
          previous_signing_secret: this.previousSigningSecret,
          event_id: e.id,
          event_seq: e.seq,
          escalation_id: e.escalation_id,
          type: e.type,
          data: e.data,
          occurred_at: e.occurred_at,
          created_at: e.created_at,
        });
      }
    }
    return rows;
  }

  async record(recordings: Recording[]): Promise<{ id: string; more: boolean }[]> {
    return recordings.map((recording) => {
      const c = this.get(recording.conversationId);
      for (const d of recording.delivered) this.attempts.push({ eventId: d.eventId, attempt: d.attempt, status: d.status, error: null });
      const seq = recording.delivered.at(-1)?.seq ?? 0;
      c.delivered_seq = Math.max(c.delivered_seq, seq);
      if (seq > 0) Object.assign(c, { delivery_attempts: 0, nextDeliveryAt: null });
      if (recording.release && c.claim === recording.claim) c.claim = null;
      return { id: c.id, more: c.delivered_seq < this.lastSeq(c) };
    });
  }

  async recordAttempt(attempt: FailedAttempt): Promise<void> {
    this.attempts.push({ eventId: attempt.eventId, attempt: attempt.attempt, status: attempt.status, error: attempt.error });
  }

  async scheduleRetry(conversationId: string, claim: string, attempt: FailedAttempt, delayMs: number): Promise<void> {
    const c = this.get(conversationId);
    this.attempts.push({ eventId: attempt.eventId, attempt: attempt.attempt, status: attempt.status, error: attempt.error });
    this.retries.push({ conversationId, attempt, delayMs });
    Object.assign(c, { delivery_attempts: attempt.attempt, nextDeliveryAt: Date.now() + delayMs });
    if (c.claim === claim) c.claim = null;
  }

  async pass(conversationId: string, event: { id: string; seq: number }, outcome: 'abandoned' | 'no_callback', attempt: FailedAttempt | { attempt: number }): Promise<void> {
    const c = this.get(conversationId);
    if ('eventId' in attempt) this.attempts.push({ eventId: attempt.eventId, attempt: attempt.attempt, status: attempt.status, error: attempt.error });
    c.outcomes[event.seq] = outcome;
    Object.assign(c, { delivered_seq: Math.max(c.delivered_seq, event.seq), delivery_attempts: 0, nextDeliveryAt: null });
  }
}

/** A request the callback server received. */
interface Received {
  headers: IncomingHttpHeaders;
  raw: string;
  body: { id: string; conversationId: string; externalConversationId: string; seq: number; type: string };
}

describe('DeliveryService', () => {
  const cipher = new SecretCipher(randomBytes(32));
  const outbound = new OutboundHttpClient({ allowPrivateNetworks: true });
  const logger = new AppLogger('silent', { write: () => undefined });
  let server: Server;
  let url: string;
  let received: Received[];
  /** The callback's answer to each request; a test replaces it. */
  let answer: (body: Received['body']) => number;
  let claims: ClaimsInMemory;
  let jobs: { deliver: { domainId: string; token: string; delayMs: number }[]; deliverNew: string[] };
  let metrics: MetricsService;

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString();
        const body = JSON.parse(raw) as Received['body'];
        received.push({ headers: req.headers, raw, body });
        res.writeHead(answer(body)).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  });
  afterAll(async () => {
    outbound.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    received = [];
    answer = () => 204;
    claims = new ClaimsInMemory();
    jobs = { deliver: [], deliverNew: [] };
    // The real metrics: its queues are read only when scraped, which these tests do not.
    const queue = {} as Queue;
    metrics = new MetricsService(queue, queue, queue, queue, queue);
  });
  afterEach(() => jest.restoreAllMocks());

  /** A service over the fakes; `runsWorker: false`, so that a holder's "more to send" is a job the test can see. */
  function service(): DeliveryService {
    const dispatcher = {
      deliver: async (domainId: string, token: string, delayMs = 0) => jobs.deliver.push({ domainId, token, delayMs }),
      deliverNew: async (domainId: string) => jobs.deliverNew.push(domainId),
    };
    const config = Object.assign(new AppConfig(), { APP_ROLE: 'api', DELIVERY_MAX_AGE_SECONDS: MAX_AGE_SECONDS });
    return new DeliveryService(claims as unknown as DeliveryClaimsRepository, cipher, dispatcher as unknown as JobDispatcher, config, metrics, outbound, logger);
  }

  /** One pass, then waits for every claimed conversation to be sent and recorded (what shutdown waits for). */
  async function pass(delivery = service()): Promise<void> {
    await delivery.deliver(DOMAIN);
    await delivery.beforeApplicationShutdown();
  }

  const sentTo = (conversationId: string) => received.filter((r) => r.body.conversationId === conversationId).map((r) => r.body.seq);
  const counter = async (name: 'eventsAbandoned' | 'callbackRequests', outcome?: string) =>
    (await metrics[name].get()).values.filter((v) => outcome === undefined || v.labels.outcome === outcome).reduce((sum, v) => sum + v.value, 0);

  it("sends each claimed conversation's events after its cursor, in sequence order, and records them as it ends its claim", async () => {
    claims.conversation('a', { callback_url: url, seqs: [1, 2, 3, 4], delivered_seq: 1 });
    claims.conversation('b', { callback_url: url, seqs: [1, 2] });

    await pass();

    expect(sentTo('a')).toEqual([2, 3, 4]);
    expect(sentTo('b')).toEqual([1, 2]);
    expect(claims.get('a')).toMatchObject({ delivered_seq: 4, claim: null });
    expect(claims.get('b')).toMatchObject({ delivered_seq: 2, claim: null });
    expect(claims.attempts.filter((a) => a.status === 204)).toHaveLength(5);
    const first = received.find((r) => r.body.conversationId === 'a')!;
    const event = claims.get('a').events[1];
    expect(first.headers['webhook-id']).toBe(`evt_${event.id}`);
    expect(first.body).toMatchObject({ id: `evt_${event.id}`, externalConversationId: 'ext-a', seq: 2, type: 'agent_message' });
    expect(await counter('callbackRequests', 'delivered')).toBe(5);
    expect(jobs).toEqual({ deliver: [], deliverNew: [] });
  });

  it('retries a failed callback after the backoff and holds only that conversation', async () => {
    // Two failures before this pass: the third attempt waits 4 s (1 s, doubling: delivery-retry.ts).
    claims.conversation('a', { callback_url: url, seqs: [1, 2], delivery_attempts: 2 });
    claims.conversation('b', { callback_url: url, seqs: [1, 2] });
    // Its first event goes at its third attempt; the next event's first failure is its own first attempt.
    claims.conversation('c', { callback_url: url, seqs: [1, 2, 3], delivery_attempts: 2 });
    answer = (body) => ((body.conversationId === 'a' && body.seq === 1) || (body.conversationId === 'c' && body.seq === 2) ? 500 : 204);

    await pass();

    expect(sentTo('a')).toEqual([1]);
    expect(sentTo('b')).toEqual([1, 2]);
    expect(sentTo('c')).toEqual([1, 2]);
    expect(claims.retries.map((r) => [r.conversationId, r.attempt.attempt, r.attempt.status, r.attempt.error, r.delayMs])).toEqual(
      expect.arrayContaining([
        ['a', 3, 500, 'callback answered 500', 4_000],
        ['c', 1, 500, 'callback answered 500', 1_000],
      ]),
    );
    expect(jobs.deliver).toEqual(
      expect.arrayContaining([
        { domainId: DOMAIN, token: 'retry-a-1-3', delayMs: 4_000 },
        { domainId: DOMAIN, token: 'retry-c-2-1', delayMs: 1_000 },
      ]),
    );
    // What went before the failure is recorded; nothing after it was sent.
    expect(claims.get('a')).toMatchObject({ delivered_seq: 0, delivery_attempts: 3, claim: null });
    expect(claims.get('c')).toMatchObject({ delivered_seq: 1, delivery_attempts: 1, claim: null });
    expect(claims.get('b')).toMatchObject({ delivered_seq: 2, claim: null });
  });

  it('gives up an event older than DELIVERY_MAX_AGE_SECONDS after a failed attempt, and sends the next', async () => {
    const long = new Date(Date.now() - 2 * MAX_AGE_SECONDS * 1000);
    const c = claims.conversation('a', { callback_url: url, seqs: [1], createdAt: long });
    c.events.push({ ...c.events[0], id: String(++eventIds), seq: 2, created_at: new Date() });
    answer = (body) => (body.seq === 1 ? 410 : 204);

    await pass();

    expect(sentTo('a')).toEqual([1, 2]);
    expect(claims.get('a')).toMatchObject({ delivered_seq: 2, outcomes: { 1: 'abandoned' } });
    expect(claims.attempts.map((a) => [a.eventId, a.status])).toEqual([
      [c.events[0].id, 410],
      [c.events[1].id, 204],
    ]);
    expect(claims.retries).toEqual([]);
    expect(await counter('eventsAbandoned')).toBe(1);
  });

  it('passes the events of a conversation whose domain has no callback as no_callback, sending nothing', async () => {
    claims.conversation('a', { callback_url: null, seqs: [1, 2] });

    await pass();

    expect(received).toEqual([]);
    expect(claims.get('a')).toMatchObject({ delivered_seq: 2, claim: null, outcomes: { 1: 'no_callback', 2: 'no_callback' } });
  });

  it('sends nothing once the time its claim allows for sending is over, and leaves the rest to another pass', async () => {
    let now = Date.now();
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    claims.conversation('a', { callback_url: url, seqs: [1, 2, 3] });
    answer = () => {
      // The callback is slow: when it answers, the claim is about to run out.
      now += CLAIM_MS;
      return 204;
    };

    await pass();

    expect(sentTo('a')).toEqual([1]);
    expect(claims.get('a')).toMatchObject({ delivered_seq: 1, claim: null });
    expect(jobs.deliverNew).toEqual([DOMAIN]);
  });

  it('starts another pass at once when a pass claimed as many conversations as it could', async () => {
    for (let i = 0; i < 101; i++) claims.conversation(`c-${String(i).padStart(3, '0')}`);

    await pass();

    expect(claims.conversations.filter((c) => c.delivered_seq === 1)).toHaveLength(100);
    expect(jobs.deliverNew).toEqual([DOMAIN]);
    expect(jobs.deliver).toEqual([]);
  });

  it('looks again shortly after at conversations a pass found locked', async () => {
    claims.conversation('a');
    claims.conversation('b', { locked: true });

    await pass();

    expect(claims.get('a').delivered_seq).toBe(1);
    expect(claims.get('b').delivered_seq).toBe(0);
    expect(jobs.deliverNew).toEqual([]);
    expect(jobs.deliver).toEqual([{ domainId: DOMAIN, token: expect.stringMatching(/^skipped-/), delayMs: 100 }]);
  });

  it('signs each delivery with the current secret and, while it still signs, the one it replaced', async () => {
    const current = generateWebhookSecret();
    const previous = generateWebhookSecret();
    claims.signingSecret = cipher.encrypt(current);
    claims.previousSigningSecret = cipher.encrypt(previous);
    claims.conversation('a', { callback_url: url });

    await pass();

    const [delivery] = received;
    expect(String(delivery.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifyWebhook(current, delivery.headers, delivery.raw)).toMatchObject({ conversationId: 'a' });
    expect(verifyWebhook(previous, delivery.headers, delivery.raw)).toMatchObject({ conversationId: 'a' });
    expect(() => verifyWebhook(generateWebhookSecret(), delivery.headers, delivery.raw)).toThrow('no signature matches');
  });

  it('signs with the current secret alone once the replaced one no longer signs', async () => {
    const current = generateWebhookSecret();
    claims.signingSecret = cipher.encrypt(current);
    claims.conversation('a', { callback_url: url });

    await pass();

    const [delivery] = received;
    expect(String(delivery.headers['webhook-signature']).split(' ')).toHaveLength(1);
    expect(verifyWebhook(current, delivery.headers, delivery.raw)).toMatchObject({ conversationId: 'a' });
  });

  it("groups an ingest's hand-off rows per conversation, keeping their order", () => {
    const row = (conversationId: string, seq: number): HandOffRow => ({
      conversation_id: conversationId,
      domain_id: DOMAIN,
      external_id: `ext-${conversationId}`,
      delivered_seq: 0,
      delivery_attempts: 0,
      domain: 'acme',
      callback_url: url,
      signing_secret: 'sealed',
      previous_signing_secret: null,
      id: `${conversationId}-${seq}`,
      seq,
      escalation_id: 'esc-1',
      type: 'agent_message',
      data: {},
      occurred_at: new Date(),
      created_at: new Date(),
    });

    const handOffs = service().handOffsFrom([row('x', 4), row('y', 1), row('x', 5), row('x', 6)], 'claim-1');

    expect([...handOffs.keys()]).toEqual(['x', 'y']);
    expect(handOffs.get('x')).toMatchObject({ domainId: DOMAIN, claim: 'claim-1', signingSecret: 'sealed', conversation: { id: 'x', external_id: 'ext-x', callback_url: url } });
    expect(handOffs.get('x')!.events.map((e) => e.seq)).toEqual([4, 5, 6]);
    expect(handOffs.get('y')!.events.map((e) => e.seq)).toEqual([1]);
  });

  it("sends an ingest's hand-off without a pass, and ends the ingest's claim", async () => {
    const c = claims.conversation('a', { callback_url: url, seqs: [1, 2], claim: 'ingest-claim' });
    const delivery = service();

    delivery.adopt([{ domainId: DOMAIN, conversation: { ...c, domain: 'acme' }, signingSecret: null, previousSigningSecret: null, events: c.events, claim: 'ingest-claim' }]);
    await delivery.beforeApplicationShutdown();

    expect(sentTo('a')).toEqual([1, 2]);
    expect(claims.get('a')).toMatchObject({ delivered_seq: 2, claim: null });
  });
});
