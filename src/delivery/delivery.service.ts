import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { signWebhook } from '@app/client';
import { DataSource } from 'typeorm';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { eventId } from '../common/event-id';
import { InProcessPasses } from '../common/in-process-passes';
import { AppConfig } from '../config/app-config';
import { MetricsService } from '../metrics/metrics.service';
import { SecretCipher } from '../crypto/secret-cipher';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { GroupedWrites } from '../database/grouped-writes';
import { prepared } from '../database/prepared';
import { CallbackError, postCallback } from './callback-http';
import { OutboundHttpClient } from '@app/gateway-sdk';

/** Events sent per conversation and claim. */
const BATCH = 50;
/** Conversations claimed per pass (one statement). */
const CLAIMS_PER_PASS = 100;
/** Conversations one process delivers at once. */
const MAX_HELD = 1_000;
const REQUEST_TIMEOUT_MS = 10_000;
/** How long a claim holds a conversation; a holder that dies frees it after this. */
export const CLAIM_MS = 20_000;
/** A holder starts no request that could outlast its claim. */
const LAST_REQUEST_BEFORE_MS = CLAIM_MS - REQUEST_TIMEOUT_MS - 2_000;
const MAX_BACKOFF_MS = 3_600_000;
/** How often a record tries a conversation that stays locked (about 5 s in all) before it gives up. */
const RECORD_ROUNDS = 56;
/** When a pass looks again at conversations it found locked. */
const SKIPPED_RETRY_MS = 100;
const SHUTDOWN_WAIT_MS = REQUEST_TIMEOUT_MS + 2_000;
const MAX_SECRETS_REMEMBERED = 1_000;

export interface ConversationRow {
  id: string;
  external_id: string;
  delivered_seq: number;
  delivery_attempts: number;
  domain: string;
  callback_url: string | null;
}

/** A successful delivery not yet recorded. */
interface Delivered {
  eventId: string;
  seq: number;
  attempt: number;
  status: number;
  durationMs: number;
}

export interface EventRow {
  id: string;
  seq: number;
  escalation_id: string | null;
  type: string;
  data: Record<string, unknown>;
  occurred_at: Date;
  created_at: Date;
}

/** An event's columns as the claim's query names them (null when the conversation has no event to deliver). */
interface EventColumns {
  event_id: string | null;
  event_seq: number | null;
  escalation_id: string | null;
  type: string | null;
  data: Record<string, unknown> | null;
  occurred_at: Date | null;
  created_at: Date | null;
}

/**
 * A conversation this process holds: its claim token, the events claimed with it, its domain's signing secrets (the
 * current one first, then the one it replaced while that is still valid) and when it must stop sending.
 */
interface Held {
  domainId: string;
  conversation: ConversationRow;
  secrets: string[];
  events: EventRow[];
  claim: string;
  sendUntil: number;
}

/** A conversation an ingest claimed for this process with the events it stored (see `handOffClaim`). */
export interface HandOff {
  domainId: string;
  conversation: ConversationRow;
  /** The domain's signing secret as stored (sealed). */
  signingSecret: string | null;
  /** The secret it replaced, sealed, while that still signs (see `SIGNING_SECRETS`). */
  previousSigningSecret: string | null;
  events: EventRow[];
  claim: string;
}

/** What a holder records: its successful deliveries and, when `release`, the end of its claim. */
interface Recording {
  conversationId: string;
  claim: string;
  delivered: Delivered[];
  release: boolean;
}

/**
 * A domain's signing secrets as the delivery queries read them (table alias `d`): the current one, and the one it
 * replaced only while that is still valid.
 */
export const SIGNING_SECRETS = `d.signing_secret, CASE WHEN d.previous_signing_secret_until > now() THEN d.previous_signing_secret END AS previous_signing_secret`;

export interface SigningSecretColumns {
  signing_secret: string | null;
  previous_signing_secret: string | null;
}

// Claims up to $2 of the domain's conversations that have events due and no live claim, skipping rows another
// transaction has locked (an ingest writing them, say), and reads their next events in the same round trip. `due`
// counts the conversations there were to claim (one row with no conversation when none was claimed), so that the
// pass knows whether it left some behind.
const CLAIM = `
  WITH due AS (
    SELECT count(*)::int AS due FROM conversations
     WHERE domain_id = $1 AND delivered_seq < last_seq
       AND (next_delivery_at IS NULL OR next_delivery_at <= now())
       AND (delivery_claimed_until IS NULL OR delivery_claimed_until <= now())
  ),
  claimed AS (
    UPDATE conversations SET delivery_claim = $4, delivery_claimed_until = now() + ($3 || ' milliseconds')::interval
     WHERE id IN (
       SELECT id FROM conversations
        WHERE domain_id = $1 AND delivered_seq < last_seq
          AND (next_delivery_at IS NULL OR next_delivery_at <= now())
          AND (delivery_claimed_until IS NULL OR delivery_claimed_until <= now())
        LIMIT $2 FOR UPDATE SKIP LOCKED)
    RETURNING id, external_id, delivered_seq, delivery_attempts
  )
  SELECT due.due, c.id, c.external_id, c.delivered_seq, c.delivery_attempts, d.name AS domain, d.callback_url, ${SIGNING_SECRETS},
         e.id AS event_id, e.seq AS event_seq, e.escalation_id, e.type, e.data, e.occurred_at, e.created_at
    FROM due LEFT JOIN (
      claimed c JOIN domains d ON d.id = $1
      LEFT JOIN LATERAL (
        SELECT id, seq, escalation_id, type, data, occurred_at, created_at FROM events
         WHERE conversation_id = c.id AND seq > c.delivered_seq ORDER BY seq LIMIT ${BATCH}
      ) e ON true
    ) ON true
   ORDER BY c.id, e.seq`;

// The joins with unnest() also name their rows with `= ANY`, so that the prepared statement's generic plan looks
// them up by key whatever the number of rows it assumes. It records only the conversations it can lock at once
// (`l`): an ingest locks several conversations in id order and this statement would lock in whatever order it meets
// them, which can deadlock (seen: PostgreSQL broke it after deadlock_timeout, 1 s, holding the gateway's inbound pass
// meanwhile). The caller records the others again once their lock is free.
const RECORD = `
  WITH l AS (SELECT id FROM conversations WHERE id = ANY($5::uuid[]) FOR UPDATE SKIP LOCKED),
       d AS (SELECT * FROM unnest($1::bigint[], $2::int[], $3::int[], $4::int[], $9::uuid[]) AS d(event_id, attempt, status_code, duration_ms, conversation_id)
              WHERE d.conversation_id IN (SELECT id FROM l)),
       a AS (INSERT INTO delivery_attempts (event_id, attempt, status_code, error, duration_ms) SELECT event_id, attempt, status_code, NULL, duration_ms FROM d),
       c AS (SELECT * FROM unnest($5::uuid[], $6::int[], $7::uuid[], $8::bool[]) AS c(id, seq, claim, release))
  UPDATE conversations SET
         delivered_seq = GREATEST(delivered_seq, c.seq),
         delivery_attempts = CASE WHEN c.seq > 0 THEN 0 ELSE delivery_attempts END,
         next_delivery_at = CASE WHEN c.seq > 0 THEN NULL ELSE next_delivery_at END,
         delivery_claim = CASE WHEN c.release AND delivery_claim = c.claim THEN NULL ELSE delivery_claim END,
         delivery_claimed_until = CASE WHEN c.release AND delivery_claim = c.claim THEN NULL ELSE delivery_claimed_until END
    FROM c WHERE conversations.id = c.id AND conversations.id = ANY($5::uuid[]) AND conversations.id IN (SELECT id FROM l)
  RETURNING conversations.id, conversations.delivered_seq < conversations.last_seq AS more`;

/** The body POSTed to the bot platform for each event. */
export function deliveryBody(conversation: ConversationRow, event: EventRow): string {
  return JSON.stringify({
    id: eventId(event.id),
    type: event.type,
    domain: conversation.domain,
    conversationId: conversation.id,
    externalConversationId: conversation.external_id,
    escalationId: event.escalation_id,
    seq: event.seq,
    occurredAt: event.occurred_at.toISOString(),
    data: event.data,
  });
}

/**
 * Delivers conversations' events to their domain's callback, signed, strictly in sequence order per conversation.
 *
 * A delivery pass serves a whole domain: one statement claims its conversations with events due (a lease in
 * PostgreSQL, so one holder per conversation whatever the number of workers) and reads their next events; each
 * claimed conversation is then sent in the background, one event after the other, and its successes recorded with
 * those of other conversations finishing at the same time, in one statement that also ends the claim. Per pass and
 * per recorded group the cost is one round trip whatever the number of conversations, which is what lets delivery
 * keep up with a high event rate at low latency.
 *
 * A failing callback holds that conversation only: it is retried with exponential backoff (a delayed pass) until the
 * event is older than DELIVERY_MAX_AGE_SECONDS, then recorded as abandoned (still replayable) and the next event
 * goes. A holder that dies leaves its claim to expire (CLAIM_MS); the reconcile pass triggers the next pass.
 */
/** One request to a callback, as `post` reports it. */
interface CallbackSent {
  status: number | null;
  error: string | null;
  staleSocket: boolean;
  durationMs: number;
}

@Injectable()
export class DeliveryService implements BeforeApplicationShutdown {
  private readonly log: ComponentLogger;
  private readonly held = new Set<Promise<void>>();
  /** Domains' signing secrets by their sealed form, decrypted once for all passes and hand-offs. */
  private readonly decrypted = new Map<string, string>();
  /** One record statement at a time, the others grouped behind it: fewer, larger statements (docs/decisions.md). */
  private readonly recorder = new GroupedWrites<Recording, boolean>((batch) => this.record(batch), { maxInFlight: 1, maxItems: 200 });
  /** Callback host names are resolved under the outbound policy, on every new connection. */
  private readonly passes = new InProcessPasses(
    (domainId) => this.deliver(domainId),
    (domainId, error) => {
      this.log.warn('delivery pass failed; queued instead', { domainId, error: (error as Error).message });
      return this.jobs.deliverNew(domainId);
    },
  );

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cipher: SecretCipher,
    private readonly jobs: JobDispatcher,
    private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly outbound: OutboundHttpClient,
    logger: AppLogger,
  ) {
    this.log = logger.child('delivery');
  }

  /** One delivery pass over a domain: claims its conversations with events due and starts sending each. */
  async deliver(domainId: string): Promise<void> {
    if (!this.passes.open) throw new Error('delivery is shutting down in this process');
    const room = Math.min(CLAIMS_PER_PASS, MAX_HELD - this.held.size);
    // Full: each holder that ends with more to send triggers a pass, so nothing waits for a reconcile.
    if (room <= 0) return;
    const claim = randomUUID();
    const sendUntil = Date.now() + LAST_REQUEST_BEFORE_MS;
    type ClaimedColumns = ConversationRow & SigningSecretColumns;
    const rows = await prepared<{ due: number } & (ClaimedColumns | { [K in keyof ClaimedColumns]: null }) & EventColumns>(this.db, CLAIM, [
      domainId,
      room,
      String(CLAIM_MS),
      claim,
    ]);
    const byConversation = new Map<string, Held>();
    // Every claimed conversation is of this domain: the same secrets for all.
    const first = rows.find((row) => row.id !== null);
    const secrets = this.secretsOf(first?.signing_secret ?? null, first?.previous_signing_secret ?? null);
    for (const row of rows) {
      if (row.id === null) continue;
      let held = byConversation.get(row.id);
      if (!held) {
        const conversation: ConversationRow = {
          id: row.id,
          external_id: row.external_id,
          delivered_seq: row.delivered_seq,
          delivery_attempts: row.delivery_attempts,
          domain: row.domain,
          callback_url: row.callback_url,
        };
        held = { domainId, conversation, secrets, events: [], claim, sendUntil };
        byConversation.set(row.id, held);
      }
      if (row.event_id !== null) {
        held.events.push({ id: row.event_id, seq: row.event_seq!, escalation_id: row.escalation_id, type: row.type!, data: row.data!, occurred_at: row.occurred_at!, created_at: row.created_at! });
      }
    }
    for (const held of byConversation.values()) this.start(held);
    const due = rows[0]?.due ?? 0;
    // A full pass may have left conversations behind: another pass takes them at once. A conversation skipped because
    // a transaction had it locked gets a pass shortly after (one per domain and period, named by the period it runs
    // in, so a pass run by that job names a later one): the transaction that locked it may store nothing, and so
    // trigger nothing.
    if (byConversation.size === room) await this.jobs.deliverNew(domainId);
    else if (byConversation.size < due) {
      await this.jobs.deliver(domainId, `skipped-${Math.floor((Date.now() + SKIPPED_RETRY_MS) / SKIPPED_RETRY_MS)}`, SKIPPED_RETRY_MS);
    }
  }

  /**
   * Starts a pass for newly stored events: in this process at once when it runs workers (triggers during this
   * process's pass of the domain make it run once more; other processes' passes may run beside it, the claims keep
   * each conversation with one holder), otherwise, or if that fails, as a job. Not awaited beyond the job's add: the
   * events are stored, and the reconcile pass triggers any pass lost.
   */
  async trigger(domainId: string): Promise<void> {
    if (!this.config.runsWorker || !this.passes.open) await this.jobs.deliverNew(domainId);
    else this.passes.trigger(domainId);
  }

  /**
   * A claim token for an ingest about to store events, when this process can send them itself now; null otherwise.
   * With it, the ingest's write claims each conversation that has nothing older to deliver and no live claim or
   * backoff (the lease a pass takes), and `adopt` is handed the events it stored once they are committed: no pass
   * has to claim them and read them back. Conversations it could not claim go through a pass as before.
   */
  handOffClaim(conversations: number): string | null {
    if (!this.config.runsWorker || !this.passes.open || this.held.size + conversations > MAX_HELD) return null;
    return randomUUID();
  }

  /** Sends the conversations an ingest claimed with `handOffClaim` (their events committed). */
  adopt(handOffs: HandOff[]): void {
    if (!this.passes.open) {
      // Shutting down: the claims expire (CLAIM_MS) and the next pass, here or in another process, sends the events.
      this.log.info('claimed conversations left to their claims\' expiry: shutting down', { conversations: handOffs.length });
      return;
    }
    const sendUntil = Date.now() + LAST_REQUEST_BEFORE_MS;
    for (const { domainId, conversation, signingSecret, previousSigningSecret, events, claim } of handOffs) {
      this.start({ domainId, conversation, secrets: this.secretsOf(signingSecret, previousSigningSecret), events, claim, sendUntil });
    }
  }

  /** The secrets to sign with, decrypted (each once for all passes and hand-offs): the current one first. */
  private secretsOf(...sealed: (string | null)[]): string[] {
    const secrets: string[] = [];
    for (const one of sealed) {
      if (!one) continue;
      let secret = this.decrypted.get(one);
      if (secret === undefined) {
        secret = this.cipher.decrypt(one);
        if (this.decrypted.size >= MAX_SECRETS_REMEMBERED) this.decrypted.clear();
        this.decrypted.set(one, secret);
      }
      secrets.push(secret);
    }
    return secrets;
  }

  /** The domain of a conversation, for delivery jobs that name a conversation (added by an earlier version). */
  async domainOf(conversationId: string): Promise<string | null> {
    const [row] = await prepared<{ domain_id: string }>(this.db, `SELECT domain_id FROM conversations WHERE id = $1`, [conversationId]);
    return row?.domain_id ?? null;
  }

  /** Lets the conversations being sent finish and record (bounded by the request timeout) before the pool closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.passes.close();
    if (this.held.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.held]), new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_WAIT_MS)))]);
    clearTimeout(timer);
  }

  private start(held: Held): void {
    const running = this.hold(held).finally(() => this.held.delete(running));
    this.held.add(running);
  }

  /** Sends a held conversation's claimed events, records them and ends the claim; triggers another pass if more wait. */
  private async hold(held: Held): Promise<void> {
    try {
      const more = await this.send(held);
      if (more) await this.trigger(held.domainId);
    } catch (error) {
      // The claim expires and the next pass (a trigger, a job retry or the reconcile pass) sends again, in order.
      this.log.error('delivery stopped; the claim will expire and the events go again', { conversationId: held.conversation.id, error: (error as Error).message });
    }
  }

  /** Answers whether the conversation has more to send now; false also when it waits for a retry. */
  private async send(held: Held): Promise<boolean> {
    const { conversation } = held;
    // Successes are recorded when the held events are sent (or before anything else is recorded). A crash in between
    // sends those events again: delivery is at least once, and the bot platform drops a webhook-id it has seen
    // (Standard Webhooks); the order is kept either way.
    const delivered: Delivered[] = [];
    for (const event of held.events) {
      if (Date.now() > held.sendUntil) break;
      const keepGoing = await this.deliverOne(held, event, delivered);
      if (!keepGoing) return false;
      conversation.delivery_attempts = 0;
    }
    return this.recorder.submit({ conversationId: conversation.id, claim: held.claim, delivered, release: true });
  }

  /** Returns false when the conversation must wait (a retry is scheduled and the claim ended). */
  private async deliverOne(held: Held, event: EventRow, delivered: Delivered[]): Promise<boolean> {
    const { conversation, secrets } = held;
    if (!conversation.callback_url) {
      await this.flush(held, delivered);
      await this.settle(conversation.id, event, 'no_callback', conversation.delivery_attempts, null, 'domain has no callback URL', 0);
      return true;
    }
    const body = deliveryBody(conversation, event);
    const webhookId = eventId(event.id);
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': 'chat-gateway-webhooks/1',
      'webhook-id': webhookId,
      'webhook-timestamp': String(timestamp),
    };
    // One signature per secret, space-separated (Standard Webhooks): a bot platform that knows either accepts it.
    if (secrets.length) headers['webhook-signature'] = secrets.map((secret) => signWebhook(secret, webhookId, timestamp, body)).join(' ');
    let attempt = conversation.delivery_attempts + 1;
    let sent = await this.post(conversation.callback_url, headers, body);
    if (sent.staleSocket) {
      // A kept-alive socket the callback's server closed as the request went out: nothing was answered. The attempt
      // is recorded and the event sent again at once on another socket (the same webhook-id, so a bot that did see
      // it drops it), instead of holding the conversation for a backoff.
      await this.db.query(
        `WITH a AS (INSERT INTO delivery_attempts (event_id, attempt, status_code, error, duration_ms) VALUES ($1, $2, NULL, $3, $4))
         UPDATE events SET delivery_attempts = $2 WHERE id = $1`,
        [event.id, attempt, `${sent.error} (on a reused connection; sent again at once)`.slice(0, 500), sent.durationMs],
      );
      attempt += 1;
      sent = await this.post(conversation.callback_url, headers, body);
    }
    const { status, error, durationMs } = sent;
    if (!error) {
      delivered.push({ eventId: event.id, seq: event.seq, attempt, status: status!, durationMs });
      return true;
    }
    await this.flush(held, delivered);
    const ageMs = Date.now() - event.created_at.getTime();
    if (ageMs > this.config.DELIVERY_MAX_AGE_SECONDS * 1000) {
      this.log.warn('delivery abandoned', { conversationId: conversation.id, seq: event.seq, attempts: attempt, error });
      this.metrics.eventsAbandoned.inc();
      await this.settle(conversation.id, event, 'abandoned', attempt, status, error, durationMs);
      return true;
    }
    const delayMs = Math.min(1000 * 2 ** (attempt - 1), MAX_BACKOFF_MS);
    await this.db.query(
      `WITH a AS (INSERT INTO delivery_attempts (event_id, attempt, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5)),
            e AS (UPDATE events SET delivery_attempts = $2 WHERE id = $1)
       UPDATE conversations SET delivery_attempts = $2, next_delivery_at = now() + ($6 || ' milliseconds')::interval,
              delivery_claim = CASE WHEN delivery_claim = $8 THEN NULL ELSE delivery_claim END,
              delivery_claimed_until = CASE WHEN delivery_claim = $8 THEN NULL ELSE delivery_claimed_until END
        WHERE id = $7`,
      [event.id, attempt, status, error.slice(0, 500), durationMs, String(delayMs), conversation.id, held.claim],
    );
    this.log.info('delivery failed; retrying', { conversationId: conversation.id, seq: event.seq, attempt, delayMs, error });
    await this.jobs.deliver(held.domainId, `retry-${conversation.id}-${event.seq}-${attempt}`, delayMs);
    return false;
  }

  /** One request to the callback: its status, or why it failed (a non-2xx answer, a network error, a timeout). */
  private async post(url: string, headers: Record<string, string>, body: string): Promise<CallbackSent> {
    const started = Date.now();
    let sent: CallbackSent;
    try {
      const status = await postCallback(url, headers, body, REQUEST_TIMEOUT_MS, this.outbound.agents);
      sent = { status, error: status < 200 || status >= 300 ? `callback answered ${status}` : null, staleSocket: false, durationMs: Date.now() - started };
    } catch (failure) {
      sent = { status: null, error: (failure as CallbackError).message, staleSocket: (failure as CallbackError).staleSocket === true, durationMs: Date.now() - started };
    }
    this.metrics.observeCallback(sent.status, sent.durationMs);
    return sent;
  }

  /** Records the successes collected so far, keeping the claim, before something else about the conversation is. */
  private async flush(held: Held, delivered: Delivered[]): Promise<void> {
    if (delivered.length === 0) return;
    await this.record([{ conversationId: held.conversation.id, claim: held.claim, delivered: delivered.splice(0), release: false }]);
  }

  /**
   * Records several holders' successes (their attempts, each conversation's cursor) and ends the claims that ask
   * for it, in one statement. Answers, per holder, whether its conversation has more to send. The event rows are
   * not written: an event at or below its conversation's cursor is delivered (`withDelivery`).
   */
  private async record(batch: Recording[]): Promise<boolean[]> {
    const more = new Map<string, boolean>();
    let waiting = batch;
    for (let round = 0; waiting.length > 0; round++) {
      // A conversation stays locked for the length of an ingest transaction: milliseconds.
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(2 ** round, 100)));
      if (round >= RECORD_ROUNDS) throw new Error(`conversation ${waiting[0].conversationId} stayed locked; its deliveries were not recorded`);
      const delivered = waiting.flatMap((recording) => recording.delivered.map((d) => ({ ...d, conversationId: recording.conversationId })));
      const rows = await prepared<{ id: string; more: boolean }>(this.db, RECORD, [
        delivered.map((d) => d.eventId),
        delivered.map((d) => d.attempt),
        delivered.map((d) => d.status),
        delivered.map((d) => d.durationMs),
        waiting.map((recording) => recording.conversationId),
        waiting.map((recording) => recording.delivered.at(-1)?.seq ?? 0),
        waiting.map((recording) => recording.claim),
        waiting.map((recording) => recording.release),
        delivered.map((d) => d.conversationId),
      ]);
      for (const row of rows) more.set(row.id, row.more);
      waiting = waiting.filter((recording) => !more.has(recording.conversationId));
    }
    return batch.map((recording) => more.get(recording.conversationId) ?? false);
  }

  private async settle(
    conversationId: string,
    event: EventRow,
    outcome: 'abandoned' | 'no_callback',
    attempt: number,
    status: number | null,
    error: string | null,
    durationMs: number,
  ): Promise<void> {
    const recordAttempt = outcome !== 'no_callback';
    await this.db.query(
      `WITH a AS (INSERT INTO delivery_attempts (event_id, attempt, status_code, error, duration_ms) SELECT $1, $2, $3, $4, $5 WHERE $6),
            e AS (UPDATE events SET delivery_status = $7, delivery_attempts = $2 WHERE id = $1)
       UPDATE conversations SET delivered_seq = GREATEST(delivered_seq, $8), delivery_attempts = 0, next_delivery_at = NULL WHERE id = $9`,
      [event.id, attempt, status, error, durationMs, recordAttempt, outcome, event.seq, conversationId],
    );
  }
}
