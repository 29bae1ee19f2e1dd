import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import type { PlatformEvent } from '@app/gateway-sdk';
import { DeliveryClaimsRepository } from '../../src/delivery/delivery-claims.repository';
import { DeliveryService } from '../../src/delivery/delivery.service';
import { EscalationRecorder } from '../../src/escalations/escalation-recorder.service';
import { EscalationRetention } from '../../src/escalations/escalation-retention.service';
import { InboundWebhookRetention } from '../../src/inbound/inbound-webhook-retention.service';
import { Delivery, waitFor } from '../support/bot-receiver';
import { startTestApp, TestApp } from '../support/test-app';
import { escalationBody, fakeGateway, fakeSuite } from './fake-setup';

/**
 * Inbound and delivery passes: one pass serves many conversations of a gateway (inbound) or a domain (delivery), and
 * still gives the bot each conversation's events exactly once and in order. The service here reconciles only at boot,
 * so nothing below is rescued by the periodic reconcile pass unless a test asks for it.
 */
describe('inbound and delivery passes', () => {
  const { platform, receiver } = fakeSuite();
  let db: Client;

  beforeAll(async () => {
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  });
  afterAll(() => db.end());

  /** Starts `count` escalations in a new domain and answers them with their platform sessions. */
  async function escalations(t: TestApp, count: number, name: string) {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver);
    const started: { id: string; conversationId: string; sessionId: string }[] = [];
    for (let i = 0; i < count; i++) {
      const res = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, `${name}-${i}`), headers: { 'idempotency-key': `${name}-${i}` } });
      expect(res.status).toBe(202);
      const session = await waitFor('platform session', () => platform.sessionFor(res.body.id));
      started.push({ id: res.body.id, conversationId: res.body.conversationId, sessionId: session.id });
    }
    // The start-up events (queued, twice) are delivered before the test's own.
    for (const e of started) await waitFor('queued at the bot', () => receiver.of(e.conversationId).length >= 2);
    return { gatewayId, started };
  }

  /** Posts one platform event as the fake platform's webhook. */
  async function push(t: TestApp, gatewayId: string, sessionId: string, index: number, text: string): Promise<{ duplicate: boolean }> {
    const body = { eventId: `${sessionId}-${index}`, sessionId, event: { index, type: 'agent_message', data: { text }, at: Date.now() } };
    const res = await t.request('POST', `/v1/webhooks/${gatewayId}`, { body });
    expect(res.status).toBe(200);
    return res.body;
  }

  const texts = (deliveries: Delivery[]) => deliveries.filter((d) => d.type === 'agent_message').map((d) => d.data.text as string);

  /** The recorded attempts at the conversation's agent message, in attempt order. */
  async function messageAttempts(conversationId: string): Promise<{ attempt: number; status_code: number | null; error: string | null }[]> {
    const { rows } = await db.query(
      `SELECT a.attempt, a.status_code, a.error FROM delivery_attempts a JOIN events v ON v.id = a.event_id
        WHERE v.conversation_id = $1 AND v.type = 'agent_message' ORDER BY a.attempt`,
      [conversationId],
    );
    return rows;
  }

  /** The conversation's agent message as the replay API reports it. */
  async function replayedMessage(t: TestApp, conversationId: string) {
    const replay = await t.request('GET', `/v1/conversations/${conversationId}/events`);
    return (replay.body as { type: string; seq: number; deliveryStatus: string; deliveryAttempts: number }[]).find((v) => v.type === 'agent_message');
  }

  /** Whether a holder has the conversation claimed now. */
  async function claimed(conversationId: string): Promise<boolean> {
    const { rows } = await db.query(`SELECT delivery_claim FROM conversations WHERE id = $1`, [conversationId]);
    return rows[0].delivery_claim !== null;
  }

  async function lastSeq(conversationId: string): Promise<number> {
    return (await db.query(`SELECT last_seq FROM conversations WHERE id = $1`, [conversationId])).rows[0].last_seq;
  }

  /** Whether everything stored in the conversation is recorded delivered and its claim ended. */
  async function settled(conversationId: string): Promise<boolean> {
    const { rows } = await db.query(`SELECT delivery_claim, delivered_seq, last_seq FROM conversations WHERE id = $1`, [conversationId]);
    return rows[0].delivery_claim === null && rows[0].delivered_seq === rows[0].last_seq;
  }

  /**
   * Runs `meanwhile` while a transaction of another connection holds the conversation's row lock (as an ingest or
   * any other writer of the conversation would), then commits it. `meanwhile` gets that connection and the
   * conversation's last_seq as the lock read it.
   */
  async function whileLocked<T>(conversationId: string, meanwhile: (locker: Client, lastSeq: number) => Promise<T>): Promise<T> {
    const locker = new Client({ connectionString: process.env.DATABASE_URL });
    await locker.connect();
    try {
      await locker.query('BEGIN');
      const { rows } = await locker.query(`SELECT last_seq FROM conversations WHERE id = $1 FOR UPDATE`, [conversationId]);
      const result = await meanwhile(locker, rows[0].last_seq);
      await locker.query('COMMIT');
      return result;
    } finally {
      await locker.end();
    }
  }

  /**
   * Observes the delivery passes of one domain, run as they would be: when each began and whether it has ended. A test
   * waits for a pass that began after some moment instead of for a time in which one would have come.
   */
  function observePasses(t: TestApp, domainId: string): { passes: { startedAt: number; done: boolean }[]; restore: () => void } {
    const service = t.app.get(DeliveryService);
    const deliver = service.deliver.bind(service);
    const passes: { startedAt: number; done: boolean }[] = [];
    const spy = jest.spyOn(service, 'deliver').mockImplementation(async (id: string) => {
      if (id !== domainId) return deliver(id);
      const pass = { startedAt: Date.now(), done: false };
      passes.push(pass);
      try {
        return await deliver(id);
      } finally {
        pass.done = true;
      }
    });
    return { passes, restore: () => spy.mockRestore() };
  }

  const domainOf = async (conversationId: string): Promise<string> =>
    (await db.query(`SELECT domain_id FROM conversations WHERE id = $1`, [conversationId])).rows[0].domain_id;

  describe('with reconcile at boot only', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ POLL_TICK_MS: '100', RECONCILE_INTERVAL_SECONDS: '3600', ESCALATION_RETENTION_DAYS: '30' });
    });
    afterAll(() => t.close());

    it('stores a burst over many conversations in shared transactions and delivers each conversation in order, once', async () => {
      const { gatewayId, started } = await escalations(t, 6, 'burst');
      const perConversation = 8;
      const posts: Promise<unknown>[] = [];
      for (let n = 1; n <= perConversation; n++) {
        for (const e of started) posts.push(push(t, gatewayId, e.sessionId, 100 + n, `${e.sessionId}:${n}`));
      }
      await Promise.all(posts);
      for (const e of started) {
        await waitFor('every message at the bot', () => texts(receiver.of(e.conversationId)).length === perConversation);
        const delivered = receiver.of(e.conversationId);
        expect(delivered.map((d) => d.seq)).toEqual(delivered.map((_, i) => i + 1));
        expect(new Set(delivered.map((d) => d.id)).size).toBe(delivered.length);
      }
      // Each delivery went to its own conversation in the order it was sent (same platform time: by arrival).
      for (const e of started) {
        const got = texts(receiver.of(e.conversationId));
        expect(got.every((text) => text.startsWith(`${e.sessionId}:`))).toBe(true);
        expect(new Set(got).size).toBe(perConversation);
      }
      // An event's created_at is its transaction's start: some transaction stored events of several conversations.
      const { rows } = await db.query(
        `SELECT max(n)::int AS widest FROM (SELECT count(DISTINCT conversation_id) AS n FROM events WHERE conversation_id = ANY($1::uuid[]) AND type = 'agent_message' GROUP BY created_at) x`,
        [started.map((e) => e.conversationId)],
      );
      expect(rows[0].widest).toBeGreaterThan(1);

      // The same platform events again under new delivery ids (a platform replaying its transcript), in a burst:
      // every conversation's keys are the others' keys too, and each is recognised in its own conversation only.
      const again: Promise<void>[] = [];
      for (let n = 1; n <= perConversation; n++) {
        for (const e of started) {
          const body = { eventId: `${e.sessionId}-${100 + n}-again`, sessionId: e.sessionId, event: { index: 100 + n, type: 'agent_message', data: { text: 'again' }, at: Date.now() } };
          again.push(t.request('POST', `/v1/webhooks/${gatewayId}`, { body }).then((res) => expect(res.status).toBe(200)));
        }
      }
      await Promise.all(again);
      await waitFor('the replayed deliveries processed', async () => {
        const pending = await db.query(`SELECT count(*)::int AS n FROM inbound_webhooks WHERE gateway_id = $1 AND processed_at IS NULL`, [gatewayId]);
        return pending.rows[0].n === 0;
      });
      const stored = await db.query(`SELECT count(*)::int AS n FROM events WHERE conversation_id = ANY($1::uuid[]) AND type = 'agent_message'`, [started.map((e) => e.conversationId)]);
      expect(stored.rows[0].n).toBe(started.length * perConversation);
      for (const e of started) expect(texts(receiver.of(e.conversationId))).not.toContain('again');
    }, 30_000);

    it('sends the events an ingest stored in a conversation nothing holds without a delivery pass', async () => {
      const { gatewayId, started } = await escalations(t, 2, 'handoff');
      const domain = await db.query(`SELECT domain_id FROM conversations WHERE id = $1`, [started[0].conversationId]);
      // Observed, not replaced: the pass runs as it would; the test only counts its calls for this domain.
      const passes = jest.spyOn(t.app.get(DeliveryService), 'deliver');
      try {
        await Promise.all(started.map((e) => push(t, gatewayId, e.sessionId, 101, `direct ${e.sessionId}`)));
        for (const e of started) await waitFor('delivered', () => texts(receiver.of(e.conversationId)).length === 1);
        for (const e of started) await waitFor('recorded and the claim ended', () => settled(e.conversationId));
        expect(passes.mock.calls.filter(([domainId]) => domainId === domain.rows[0].domain_id)).toEqual([]);
      } finally {
        passes.mockRestore();
      }
    }, 20_000);

    it('delivers an event stored while its conversation was being sent as soon as that send ends', async () => {
      const { gatewayId, started } = await escalations(t, 1, 'held');
      const [e] = started;
      const slow = receiver.holdNext(e.conversationId);
      await push(t, gatewayId, e.sessionId, 101, 'slow');
      await slow.arrived;
      expect(await claimed(e.conversationId)).toBe(true);
      // Stored while the first is held by its holder: the pass it triggers skips the claimed conversation.
      const before = await lastSeq(e.conversationId);
      await push(t, gatewayId, e.sessionId, 102, 'next');
      await waitFor('the next event stored while the first is held', async () => (await lastSeq(e.conversationId)) > before);
      slow.release();
      await waitFor('both at the bot', () => texts(receiver.of(e.conversationId)).length === 2);
      expect(texts(receiver.of(e.conversationId))).toEqual(['slow', 'next']);
    }, 20_000);

    it('delivers a conversation that another transaction had locked soon after the lock is gone', async () => {
      const { gatewayId, started } = await escalations(t, 1, 'locked');
      const [e] = started;
      receiver.failNext(1, e.conversationId);
      await push(t, gatewayId, e.sessionId, 101, 'retried');
      await waitFor('first attempt failed', () => receiver.attempts.some((a) => a.conversationId === e.conversationId && a.status === 503));
      const due = await waitFor('the retry scheduled', async () => (await db.query(`SELECT next_delivery_at FROM conversations WHERE id = $1`, [e.conversationId])).rows[0].next_delivery_at as Date | null);
      // The retry comes after 1 s of backoff; hold the conversation's row over it, as a transaction that stores
      // nothing (and so triggers nothing) would: until a pass that began once the retry was due has run.
      const { passes, restore } = observePasses(t, await domainOf(e.conversationId));
      try {
        await whileLocked(e.conversationId, async () => {
          await waitFor('a pass of the domain after the retry was due', () => passes.some((pass) => pass.done && pass.startedAt >= due.getTime()));
          expect(texts(receiver.of(e.conversationId))).toEqual([]);
        });
      } finally {
        restore();
      }
      await waitFor('delivered after the lock', () => texts(receiver.of(e.conversationId)).length === 1);
      expect(texts(receiver.of(e.conversationId))).toEqual(['retried']);
    }, 20_000);

    it('records a delivery whose conversation another transaction holds once that transaction ends', async () => {
      const { gatewayId, started } = await escalations(t, 1, 'record-locked');
      const [e] = started;
      const slow = receiver.holdNext(e.conversationId);
      await push(t, gatewayId, e.sessionId, 101, 'recorded late');
      await slow.arrived;
      // Hold the conversation's row while the delivery is answered and its record comes (an ingest would, for a few
      // milliseconds); the record skips it rather than wait, and records it once the row is free.
      // Observed, not replaced: the record statements that left this conversation out because its row was locked.
      const claims = t.app.get(DeliveryClaimsRepository);
      const record = claims.record.bind(claims);
      let skipped = 0;
      const spy = jest.spyOn(claims, 'record').mockImplementation(async (recordings) => {
        const rows = await record(recordings);
        if (recordings.some((r) => r.conversationId === e.conversationId) && !rows.some((row) => row.id === e.conversationId)) skipped++;
        return rows;
      });
      try {
        await whileLocked(e.conversationId, async () => {
          slow.release();
          await waitFor('delivered at the bot', () => texts(receiver.of(e.conversationId)).length === 1);
          await waitFor('the record skipping the locked row', () => skipped > 0);
        });
      } finally {
        spy.mockRestore();
      }
      await waitFor('recorded and the claim ended', () => settled(e.conversationId));
      expect((await messageAttempts(e.conversationId)).map(({ attempt, status_code }) => ({ attempt, status_code }))).toEqual([{ attempt: 1, status_code: 204 }]);
      expect(await replayedMessage(t, e.conversationId)).toMatchObject({ deliveryStatus: 'delivered', deliveryAttempts: 1 });
    }, 20_000);

    it("sends an event again at once when the bot's server drops a kept-alive connection before answering, recording both attempts", async () => {
      const { gatewayId, started } = await escalations(t, 1, 'dropped');
      const [e] = started;
      receiver.dropNext(1, e.conversationId);
      await push(t, gatewayId, e.sessionId, 101, 'sent again');
      await waitFor('recorded and the claim ended', async () => texts(receiver.of(e.conversationId)).length === 1 && (await settled(e.conversationId)));
      expect(receiver.attempts.filter((a) => a.conversationId === e.conversationId && a.seq === receiver.of(e.conversationId).at(-1)!.seq).map((a) => a.status)).toEqual([0, 200]);
      expect(await messageAttempts(e.conversationId)).toEqual([
        { attempt: 1, status_code: null, error: expect.stringContaining('on a reused connection; sent again at once') },
        { attempt: 2, status_code: 204, error: null },
      ]);
      // No backoff was scheduled for the conversation: the second send was not a retry after a failure.
      const conversation = await db.query(`SELECT next_delivery_at, delivery_attempts FROM conversations WHERE id = $1`, [e.conversationId]);
      expect(conversation.rows).toEqual([{ next_delivery_at: null, delivery_attempts: 0 }]);
      expect(await replayedMessage(t, e.conversationId)).toMatchObject({ deliveryStatus: 'delivered', deliveryAttempts: 2 });
    }, 20_000);

    it('shows operators a failing callback: the conversation waiting for its retry, and each attempt with its answer', async () => {
      const { gatewayId, started } = await escalations(t, 1, 'attempts-api');
      const [e] = started;
      receiver.failNext(2, e.conversationId);
      const pushedAt = Date.now();
      await push(t, gatewayId, e.sessionId, 101, 'third time lucky');
      const seq = (await waitFor('the event stored', async () => (await replayedMessage(t, e.conversationId))?.seq as number | undefined))!;
      // Between the failed attempts: the conversation says it waits, and for how long.
      const waiting = await waitFor('waiting for a retry', async () => {
        const res = await t.request('GET', `/v1/conversations/${e.conversationId}`);
        return res.body.nextDeliveryAt ? res.body : null;
      });
      expect(waiting).toMatchObject({ deliveredSeq: seq - 1, lastSeq: seq, deliveryAttempts: expect.any(Number) });
      expect(waiting.deliveryAttempts).toBeGreaterThanOrEqual(1);
      expect(Date.parse(waiting.nextDeliveryAt)).toBeGreaterThan(pushedAt);

      await waitFor('delivered on the third attempt', () => texts(receiver.of(e.conversationId)).includes('third time lucky'), 15_000);
      await waitFor('recorded', () => settled(e.conversationId));
      const attempts = await t.request('GET', `/v1/conversations/${e.conversationId}/events/${seq}/attempts`);
      expect(attempts.status).toBe(200);
      expect(attempts.body).toEqual([
        { attempt: 1, at: expect.any(String), statusCode: 503, error: expect.stringContaining('503'), durationMs: expect.any(Number) },
        { attempt: 2, at: expect.any(String), statusCode: 503, error: expect.stringContaining('503'), durationMs: expect.any(Number) },
        { attempt: 3, at: expect.any(String), statusCode: 204, error: null, durationMs: expect.any(Number) },
      ]);
      // The retry waited for its backoff (1 s after the first failure).
      expect(Date.parse(attempts.body[1].at) - Date.parse(attempts.body[0].at)).toBeGreaterThanOrEqual(900);
      expect((await t.request('GET', `/v1/conversations/${e.conversationId}`)).body).toMatchObject({ deliveredSeq: seq, deliveryAttempts: 0, nextDeliveryAt: null });

      // An event delivered at once has its one attempt; one that does not exist, or a sequence number that is none, is said so.
      expect((await t.request('GET', `/v1/conversations/${e.conversationId}/events/1/attempts`)).body).toEqual([expect.objectContaining({ attempt: 1, statusCode: 204 })]);
      const missing = await t.request('GET', `/v1/conversations/${e.conversationId}/events/${seq + 1}/attempts`);
      expect(missing.status).toBe(404);
      expect(missing.body.message).toBe(`Event ${seq + 1} of conversation ${e.conversationId} was not found`);
      const notSeq = await t.request('GET', `/v1/conversations/${e.conversationId}/events/first/attempts`);
      expect(notSeq.status).toBe(400);
      expect(notSeq.body.details).toEqual([{ field: 'seq', message: 'must be an integer from 1 to 2147483647' }]);
    }, 30_000);

    it("stores the other conversations' events when the database refuses one conversation's", async () => {
      const { gatewayId, started } = await escalations(t, 2, 'refused');
      const [bad, good] = started;
      // The database refuses one conversation's event (a trigger stands in for whatever a constraint may refuse), in
      // the statement that stores the other conversation's event too.
      await db.query(`CREATE FUNCTION test_refuse_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.data->>'text' = 'refused' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`);
      await db.query(`CREATE TRIGGER test_refuse_event BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION test_refuse_event()`);
      try {
        await Promise.all([push(t, gatewayId, bad.sessionId, 101, 'refused'), push(t, gatewayId, good.sessionId, 101, 'fine')]);
        await waitFor('the good conversation delivered', () => texts(receiver.of(good.conversationId)).length === 1);
        const { rows } = await db.query(`SELECT processed_at FROM inbound_webhooks WHERE platform_conversation_id = $1`, [bad.sessionId]);
        expect(rows.map((r) => r.processed_at)).toEqual([null]);
        expect(texts(receiver.of(bad.conversationId))).toEqual([]);
      } finally {
        await db.query(`DROP TRIGGER test_refuse_event ON events`);
        await db.query(`DROP FUNCTION test_refuse_event()`);
      }
    }, 20_000);

    it('stores an event whose platform key is longer than an index row can hold once, and delivers it and the events after it', async () => {
      const { gatewayId, started } = await escalations(t, 1, 'long-key');
      const [e] = started;
      // A platform event index of 12,000 characters (random base64 does not compress below the 2,704 bytes a btree
      // row holds), sent twice under two delivery ids as a platform that re-sends an event may.
      const index = randomBytes(9_000).toString('base64');
      const at = Date.now();
      for (const eventId of [`${e.sessionId}-long-a`, `${e.sessionId}-long-b`]) {
        const body = { eventId, sessionId: e.sessionId, event: { index, type: 'agent_message', data: { text: 'long key' }, at } };
        const res = await t.request('POST', `/v1/webhooks/${gatewayId}`, { body });
        expect(res.status).toBe(200);
      }
      await push(t, gatewayId, e.sessionId, 101, 'after it');
      await waitFor('recorded and the claim ended', async () => texts(receiver.of(e.conversationId)).length >= 2 && (await settled(e.conversationId)));
      expect(texts(receiver.of(e.conversationId))).toEqual(['long key', 'after it']);
      const { rows } = await db.query(`SELECT platform_key FROM events WHERE escalation_id = $1 AND data->>'text' = 'long key'`, [e.id]);
      expect(rows).toEqual([{ platform_key: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) }]);
      const processed = await db.query(`SELECT count(*)::int AS n FROM inbound_webhooks WHERE platform_conversation_id = $1 AND processed_at IS NULL`, [e.sessionId]);
      expect(processed.rows).toEqual([{ n: 0 }]);
    }, 20_000);

    it('finds an event that an earlier version stored under a long platform key as it was, and does not store it again', async () => {
      const { started } = await escalations(t, 1, 'legacy-key');
      const [e] = started;
      // 600 characters: over the 512 now stored as a digest, under the 2,704 bytes earlier versions could store.
      const longKey = `idx:${'7'.repeat(596)}`;
      await whileLocked(e.conversationId, async (locker, lastSeq) => {
        await locker.query(
          `INSERT INTO events (conversation_id, seq, escalation_id, type, data, platform_key, occurred_at) VALUES ($1, $2, $3, 'agent_message', '{"text":"stored before"}', $4, now())`,
          [e.conversationId, lastSeq + 1, e.id, longKey],
        );
        await locker.query(`UPDATE conversations SET last_seq = $2 WHERE id = $1`, [e.conversationId, lastSeq + 1]);
      });
      const outcome = await t.app.get(EscalationRecorder).record(e.id, { events: [{ type: 'agent_message', key: longKey, occurredAt: new Date(), data: { text: 'again' } }] as PlatformEvent[] });
      expect(outcome.stored).toBe(0);
      const { rows } = await db.query(`SELECT data->>'text' AS text FROM events WHERE escalation_id = $1 AND type = 'agent_message'`, [e.id]);
      expect(rows).toEqual([{ text: 'stored before' }]);
    }, 20_000);

    it('stores and delivers a platform text with characters PostgreSQL refuses, each replaced by U+FFFD', async () => {
      const { gatewayId, started } = await escalations(t, 1, 'unstorable');
      const [e] = started;
      await push(t, gatewayId, e.sessionId, 101, 'nul\u0000here, \uD800alone');
      await push(t, gatewayId, e.sessionId, 102, 'after it');
      await waitFor('both delivered', () => texts(receiver.of(e.conversationId)).length === 2);
      expect(texts(receiver.of(e.conversationId))).toEqual(['nul\uFFFDhere, \uFFFDalone', 'after it']);
    }, 20_000);

    it('stores an event once when another writer stored it while the ingest waited for the conversation', async () => {
      const { started } = await escalations(t, 1, 'race');
      const [e] = started;
      // Another writer of the conversation's sequence: it holds the lock and stores the platform event first.
      const { ingest } = await whileLocked(e.conversationId, async (locker, lastSeq) => {
        const seq = lastSeq + 1;
        await locker.query(
          `INSERT INTO events (conversation_id, seq, escalation_id, type, data, platform_key, occurred_at) VALUES ($1, $2, $3, 'agent_message', '{"text":"first"}', 'idx:901', now())`,
          [e.conversationId, seq, e.id],
        );
        await locker.query(`UPDATE conversations SET last_seq = $2 WHERE id = $1`, [e.conversationId, seq]);
        // The same platform event reaches the ingest, whose lock statement waits for the writer's commit: its
        // snapshot predates the event, and it must still find it stored. (Wrapped: awaiting it here would wait for
        // the commit that follows.)
        const pending = t.app.get(EscalationRecorder).record(e.id, { events: [{ type: 'agent_message', key: 'idx:901', occurredAt: new Date(), data: { text: 'second' } }] as PlatformEvent[] });
        // Until the ingest's lock statement waits for this commit (nothing else here locks for an ingest: no poll finds anything).
        await waitFor('the ingest waiting for the lock', async () => {
          const { rows } = await db.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FOR UPDATE OF c, x%'`,
          );
          return rows[0].n > 0;
        });
        return { ingest: pending };
      });
      const outcome = await ingest;
      expect(outcome.stored).toBe(0);
      const stored = await db.query(`SELECT data->>'text' AS text FROM events WHERE escalation_id = $1 AND platform_key = 'idx:901'`, [e.id]);
      expect(stored.rows).toEqual([{ text: 'first' }]);
      // The writer's part after its commit: a delivery pass for the domain.
      const domain = await db.query(`SELECT domain_id FROM conversations WHERE id = $1`, [e.conversationId]);
      await t.app.get(DeliveryService).trigger(domain.rows[0].domain_id);
      await waitFor('the writer\'s event at the bot', () => texts(receiver.of(e.conversationId)).includes('first'));
      expect(texts(receiver.of(e.conversationId))).toEqual(['first']);
    }, 20_000);
    it('deletes deliveries processed before the retention period, keeps the rest, and delivers a re-sent one once', async () => {
      const { gatewayId, started } = await escalations(t, 1, 'retention');
      const [e] = started;
      await push(t, gatewayId, e.sessionId, 101, 'old');
      await waitFor('old delivered', () => texts(receiver.of(e.conversationId)).length === 1);
      // Processed 8 days ago (the retention is 7 days), and beside it a delivery 30 days old never processed.
      await db.query(
        `UPDATE inbound_webhooks SET received_at = received_at - interval '8 days', processed_at = processed_at - interval '8 days' WHERE gateway_id = $1`,
        [gatewayId],
      );
      await db.query(
        `INSERT INTO inbound_webhooks (gateway_id, event_id, headers, body, received_at) VALUES ($1, 'unprocessed', '{}', '\\x7b7d', now() - interval '30 days')`,
        [gatewayId],
      );
      await push(t, gatewayId, e.sessionId, 102, 'recent');
      await waitFor('recent delivered', () => texts(receiver.of(e.conversationId)).length === 2);
      const rows = async () =>
        (await db.query(`SELECT event_id, processed_at IS NOT NULL AS processed FROM inbound_webhooks WHERE gateway_id = $1 ORDER BY event_id`, [gatewayId])).rows;
      expect(await rows()).toHaveLength(3);

      const deletedTotal = async () => Number(/^chat_gateway_inbound_webhooks_deleted_total (\d+)$/m.exec((await t.request('GET', '/metrics')).text)?.[1]);
      const before = await deletedTotal();
      const deleted = await t.app.get(InboundWebhookRetention).runOnce();
      expect(deleted).toBeGreaterThanOrEqual(1);
      expect(await deletedTotal()).toBe(before + deleted!);
      expect(await rows()).toEqual([
        { event_id: `${e.sessionId}-102`, processed: true },
        { event_id: 'unprocessed', processed: false },
      ]);

      // The platform sends the deleted delivery again: stored anew, and its event, already delivered, is not again.
      expect(await push(t, gatewayId, e.sessionId, 101, 'old')).toMatchObject({ duplicate: false });
      await waitFor('the re-sent delivery processed', async () => (await rows()).find((r) => r.event_id === `${e.sessionId}-101`)?.processed);
      await push(t, gatewayId, e.sessionId, 103, 'after');
      await waitFor('after delivered', () => texts(receiver.of(e.conversationId)).includes('after'));
      expect(texts(receiver.of(e.conversationId))).toEqual(['old', 'recent', 'after']);
      const stored = await db.query(`SELECT count(*)::int AS n FROM events WHERE escalation_id = $1 AND data->>'text' = 'old'`, [e.id]);
      expect(stored.rows).toEqual([{ n: 1 }]);
    }, 20_000);
    it('deletes escalations ended before the retention period with what they stored, once their events are delivered', async () => {
      const { gatewayId, started } = await escalations(t, 3, 'escalation-retention');
      const [old, undelivered, recent] = started;
      for (const [i, e] of started.entries()) {
        await push(t, gatewayId, e.sessionId, 101, `message ${i}`);
        const file = { eventId: `${e.sessionId}-102`, sessionId: e.sessionId, event: { index: 102, type: 'attachment', data: { attachment: { name: 'a.txt', mimeType: 'text/plain', base64: 'ZmlsZQ==' } }, at: Date.now() } };
        expect((await t.request('POST', `/v1/webhooks/${gatewayId}`, { body: file })).status).toBe(200);
        expect((await t.request('POST', `/v1/escalations/${e.id}/messages`, { body: { text: `user ${i}` } })).status).toBe(202);
        await waitFor('message and file at the bot', () => receiver.of(e.conversationId).some((d) => d.type === 'attachment'));
        expect((await t.request('POST', `/v1/escalations/${e.id}/steal`, { body: { reason: 'retention test' } })).status).toBe(200);
        await waitFor('ended and delivered', () => settled(e.conversationId));
      }
      const count = async (sql: string, param: unknown) => (await db.query(`SELECT count(*)::int AS n FROM ${sql}`, [param])).rows[0].n as number;
      const stored = async (id: string) => ({
        events: await count(`events WHERE escalation_id = $1`, id),
        attempts: await count(`delivery_attempts a JOIN events v ON v.id = a.event_id WHERE v.escalation_id = $1`, id),
        files: await count(`attachments WHERE escalation_id = $1`, id),
        relay: await count(`relay_commands WHERE escalation_id = $1`, id),
        transitions: await count(`escalation_transitions WHERE escalation_id = $1`, id),
      });
      const before = await stored(old.id);
      expect(Object.values(before).every((n) => n > 0)).toBe(true);
      const oldEventIds = (await db.query(`SELECT id FROM events WHERE escalation_id = $1`, [old.id])).rows.map((r: { id: string }) => r.id);
      const conversationBefore = (await t.request('GET', `/v1/conversations/${old.conversationId}`)).body;

      // Two ended 40 days ago, one of them with its last event not delivered yet; the third ended now.
      await db.query(`UPDATE escalations SET created_at = created_at - interval '40 days', ended_at = ended_at - interval '40 days' WHERE id = ANY($1::uuid[])`, [[old.id, undelivered.id]]);
      await db.query(`UPDATE conversations SET delivered_seq = delivered_seq - 1 WHERE id = $1`, [undelivered.conversationId]);
      const deletedTotal = async () => Number(/^chat_gateway_escalations_deleted_total (\d+)$/m.exec((await t.request('GET', '/metrics')).text)?.[1]);
      const totalBefore = await deletedTotal();

      expect(await t.app.get(EscalationRetention).runOnce()).toBe(1);
      expect(await deletedTotal()).toBe(totalBefore + 1);
      expect((await t.request('GET', `/v1/escalations/${old.id}`)).status).toBe(404);
      expect(await stored(old.id)).toEqual({ events: 0, attempts: 0, files: 0, relay: 0, transitions: 0 });
      expect(await count(`delivery_attempts WHERE event_id = ANY($1::bigint[])`, oldEventIds)).toBe(0);
      // The conversation stays, with its sequence numbers: the replay answers what is left (here, nothing).
      expect((await t.request('GET', `/v1/conversations/${old.conversationId}`)).body).toEqual(conversationBefore);
      expect((await t.request('GET', `/v1/conversations/${old.conversationId}/events`)).body).toEqual([]);
      // Kept: the one whose last event is not delivered, and the one that ended now.
      for (const kept of [undelivered, recent]) expect((await t.request('GET', `/v1/escalations/${kept.id}`)).status).toBe(200);
      expect((await stored(recent.id)).events).toBeGreaterThan(0);

      // Once its events are delivered (or given up), the other goes too.
      await db.query(`UPDATE conversations SET delivered_seq = last_seq WHERE id = $1`, [undelivered.conversationId]);
      expect(await t.app.get(EscalationRetention).runOnce()).toBe(1);
      expect((await t.request('GET', `/v1/escalations/${undelivered.id}`)).status).toBe(404);
      expect((await t.request('GET', `/v1/escalations/${recent.id}`)).status).toBe(200);
    }, 30_000);

    it('works off a retention backlog larger than one statement in one run', async () => {
      const { gatewayId } = await escalations(t, 1, 'retention-backlog');
      // 12,000 deliveries processed 8 days ago: more than two statements' worth.
      await db.query(
        `INSERT INTO inbound_webhooks (gateway_id, event_id, platform_conversation_id, headers, body, received_at, processed_at, outcome)
         SELECT $1, 'backlog-' || n, 'gone', '{}', '\\x7b7d', now() - interval '8 days', now() - interval '8 days', 'ok' FROM generate_series(1, 12000) n`,
        [gatewayId],
      );
      const left = async () => (await db.query(`SELECT count(*)::int AS n FROM inbound_webhooks WHERE gateway_id = $1 AND event_id LIKE 'backlog-%'`, [gatewayId])).rows[0].n;
      expect(await left()).toBe(12_000);
      expect(await t.app.get(InboundWebhookRetention).runOnce()).toBeGreaterThanOrEqual(12_000);
      expect(await left()).toBe(0);
    }, 20_000);
  });

  describe('with a periodic reconcile pass', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await startTestApp({ POLL_TICK_MS: '100', RECONCILE_INTERVAL_SECONDS: '1' });
    });
    afterAll(() => t.close());

    it("waits for the claim of a holder that died to expire, then delivers the conversation's events", async () => {
      const { gatewayId, started } = await escalations(t, 1, 'orphaned');
      const [e] = started;
      // A holder that claimed the conversation and died: its claim runs out when the test says (moved, not waited for).
      await db.query(`UPDATE conversations SET delivery_claim = $2, delivery_claimed_until = now() + interval '1 hour' WHERE id = $1`, [e.conversationId, randomUUID()]);
      const { passes, restore } = observePasses(t, await domainOf(e.conversationId));
      try {
        const pushedAt = Date.now();
        await push(t, gatewayId, e.sessionId, 101, 'after the claim');
        // The pass the stored event triggers, and any reconcile pass, skip the claimed conversation.
        await waitFor('a pass of the domain since the event came', () => passes.some((pass) => pass.done && pass.startedAt >= pushedAt));
        expect(texts(receiver.of(e.conversationId))).toEqual([]);
      } finally {
        restore();
      }
      await db.query(`UPDATE conversations SET delivery_claimed_until = now() WHERE id = $1`, [e.conversationId]);
      await waitFor('delivered once the claim expired', () => texts(receiver.of(e.conversationId)).length === 1);
      // The holder that delivered it ends its claim when it records the delivery, just after the answer.
      await waitFor('the claim ended', () => settled(e.conversationId));
    }, 20_000);
  });
});
