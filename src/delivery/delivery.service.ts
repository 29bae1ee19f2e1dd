import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Injectable } from '@nestjs/common';
import { OutboundHttpClient } from '@app/gateway-sdk';
import { signWebhook } from '@app/client';
import { AppLogger, ComponentLogger } from '../common/app-logger';
import { eventId } from '../common/event-id';
import { InProcessPasses } from '../common/in-process-passes';
import { AppConfig } from '../config/app-config';
import { SecretCipher } from '../crypto/secret-cipher';
import { GroupedWrites } from '../database/grouped-writes';
import { MetricsService } from '../metrics/metrics.service';
import { JobDispatcher } from '../queues/job-dispatcher.service';
import { CallbackError, postCallback } from './callback-http';
import { CLAIM_MS, DeliveredAttempt, DeliveryClaimsRepository, FailedAttempt, HandOffRow, Recording } from './delivery-claims.repository';
import { afterFailure } from './delivery-retry';
import { ConversationRow, deliveryBody, EventRow, HandOff } from './delivery.types';

/** Conversations claimed per pass (one statement). */
const CLAIMS_PER_PASS = 100;
/** Conversations one process delivers at once. */
const MAX_CLAIMED = 1_000;
const REQUEST_TIMEOUT_MS = 10_000;
/** A holder starts no request that could outlast its claim. */
const LAST_REQUEST_BEFORE_MS = CLAIM_MS - REQUEST_TIMEOUT_MS - 2_000;
/** How often a record tries a conversation that stays locked (about 5 s in all) before it gives up. */
const RECORD_ROUNDS = 56;
/** When a pass looks again at conversations it found locked. */
const SKIPPED_RETRY_MS = 100;
const SHUTDOWN_WAIT_MS = REQUEST_TIMEOUT_MS + 2_000;
const MAX_SECRETS_REMEMBERED = 1_000;

/**
 * A conversation this process holds a claim on: the events claimed with it, its domain's signing secrets (the
 * current one first, then the one it replaced while that is still valid) and when it must stop sending.
 */
interface ClaimedConversation {
  domainId: string;
  conversation: ConversationRow;
  secrets: string[];
  events: EventRow[];
  claim: string;
  sendUntil: number;
}

/** One request to a callback, as `post` reports it. */
interface CallbackSent {
  status: number | null;
  error: string | null;
  staleSocket: boolean;
  durationMs: number;
}

/**
 * Delivers conversations' events to their domain's callback, signed, strictly in sequence order per conversation.
 *
 * A delivery pass serves a whole domain: one statement claims its conversations with events due (a lease in
 * PostgreSQL, so one holder per conversation whatever the number of workers) and reads their next events; each
 * claimed conversation is then sent in the background, one event after the other, and its successes recorded with
 * those of other conversations finishing at the same time, in one statement that also ends the claim.
 *
 * A failing callback holds that conversation only: it is retried with backoff (`afterFailure`) until the event is
 * older than DELIVERY_MAX_AGE_SECONDS, then recorded as abandoned (still replayable) and the next event goes. A holder
 * that dies leaves its claim to expire (CLAIM_MS); the reconcile pass triggers the next pass.
 */
@Injectable()
export class DeliveryService implements BeforeApplicationShutdown {
  private readonly log: ComponentLogger;
  private readonly sending = new Set<Promise<void>>();
  /** Domains' signing secrets by their sealed form, decrypted once for all passes and hand-offs. */
  private readonly decrypted = new Map<string, string>();
  /** One record statement at a time, the others grouped behind it: fewer, larger statements (docs/decisions.md). */
  private readonly recorder = new GroupedWrites<Recording, boolean>((batch) => this.record(batch), { maxInFlight: 1, maxItems: 200 });
  private readonly passes = new InProcessPasses(
    (domainId) => this.deliver(domainId),
    (domainId, error) => {
      this.log.warn('delivery pass failed; queued instead', { domainId, error: (error as Error).message });
      return this.jobs.deliverNew(domainId);
    },
  );

  constructor(
    private readonly claims: DeliveryClaimsRepository,
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
    const room = Math.min(CLAIMS_PER_PASS, MAX_CLAIMED - this.sending.size);
    // Full: each holder that ends with more to send triggers a pass, so nothing waits for a reconcile.
    if (room <= 0) return;
    const claim = randomUUID();
    const sendUntil = Date.now() + LAST_REQUEST_BEFORE_MS;
    const rows = await this.claims.claim(domainId, room, claim);
    const byConversation = new Map<string, ClaimedConversation>();
    // Every claimed conversation is of this domain: the same secrets for all.
    const first = rows.find((row) => row.id !== null);
    const secrets = this.secretsOf(first?.signing_secret ?? null, first?.previous_signing_secret ?? null);
    for (const row of rows) {
      if (row.id === null) continue;
      let claimed = byConversation.get(row.id);
      if (!claimed) {
        const conversation: ConversationRow = {
          id: row.id,
          external_id: row.external_id,
          delivered_seq: row.delivered_seq,
          delivery_attempts: row.delivery_attempts,
          domain: row.domain,
          callback_url: row.callback_url,
        };
        claimed = { domainId, conversation, secrets, events: [], claim, sendUntil };
        byConversation.set(row.id, claimed);
      }
      if (row.event_id !== null) {
        claimed.events.push({ id: row.event_id, seq: row.event_seq!, escalation_id: row.escalation_id, type: row.type!, data: row.data!, occurred_at: row.occurred_at!, created_at: row.created_at! });
      }
    }
    for (const claimed of byConversation.values()) this.start(claimed);
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
   * backoff (`DeliveryClaimsRepository.handOffExtension`), and `adopt` is handed the events it stored once they are
   * committed: no pass has to claim them and read them back. Conversations it could not claim go through a pass.
   */
  handOffClaim(conversations: number): string | null {
    if (!this.config.runsWorker || !this.passes.open || this.sending.size + conversations > MAX_CLAIMED) return null;
    return randomUUID();
  }

  /** The conversations an ingest claimed, with the events it stored, from its hand-off select's rows. */
  handOffsFrom(rows: HandOffRow[], claim: string): Map<string, HandOff> {
    const byConversation = new Map<string, HandOff>();
    for (const row of rows) {
      let handOff = byConversation.get(row.conversation_id);
      if (!handOff) {
        handOff = {
          domainId: row.domain_id,
          conversation: { id: row.conversation_id, external_id: row.external_id, delivered_seq: row.delivered_seq, delivery_attempts: row.delivery_attempts, domain: row.domain, callback_url: row.callback_url },
          signingSecret: row.signing_secret,
          previousSigningSecret: row.previous_signing_secret,
          events: [],
          claim,
        };
        byConversation.set(row.conversation_id, handOff);
      }
      handOff.events.push({ id: row.id, seq: row.seq, escalation_id: row.escalation_id, type: row.type, data: row.data, occurred_at: row.occurred_at, created_at: row.created_at });
    }
    return byConversation;
  }

  /** Sends the conversations an ingest claimed with `handOffClaim` (their events committed). */
  adopt(handOffs: HandOff[]): void {
    if (!this.passes.open) {
      // Shutting down: the claims expire (CLAIM_MS) and the next pass, here or in another process, sends the events.
      this.log.info("claimed conversations left to their claims' expiry: shutting down", { conversations: handOffs.length });
      return;
    }
    const sendUntil = Date.now() + LAST_REQUEST_BEFORE_MS;
    for (const { domainId, conversation, signingSecret, previousSigningSecret, events, claim } of handOffs) {
      this.start({ domainId, conversation, secrets: this.secretsOf(signingSecret, previousSigningSecret), events, claim, sendUntil });
    }
  }

  /** Reconcile: a pass for each domain whose first conversation is due within `horizonMs`, at that time. */
  async reconcile(token: string, horizonMs: number): Promise<number> {
    const due = (await this.claims.dueDomains()).filter((row) => row.wait_ms <= horizonMs);
    for (const row of due) await this.jobs.deliver(row.domain_id, token, row.wait_ms);
    return due.length;
  }

  /** Lets the conversations being sent finish and record (bounded by the request timeout) before the pool closes. */
  async beforeApplicationShutdown(): Promise<void> {
    await this.passes.close();
    if (this.sending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.sending]), new Promise((resolve) => (timer = setTimeout(resolve, SHUTDOWN_WAIT_MS)))]);
    clearTimeout(timer);
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

  private start(claimed: ClaimedConversation): void {
    const running = this.hold(claimed).finally(() => this.sending.delete(running));
    this.sending.add(running);
  }

  /** Sends a claimed conversation's events, records them and ends the claim; triggers another pass if more wait. */
  private async hold(claimed: ClaimedConversation): Promise<void> {
    try {
      const more = await this.send(claimed);
      if (more) await this.trigger(claimed.domainId);
    } catch (error) {
      // The claim expires and the next pass (a trigger, a job retry or the reconcile pass) sends again, in order.
      this.log.error('delivery stopped; the claim will expire and the events go again', { conversationId: claimed.conversation.id, error: (error as Error).message });
    }
  }

  /** Answers whether the conversation has more to send now; false also when it waits for a retry. */
  private async send(claimed: ClaimedConversation): Promise<boolean> {
    const { conversation } = claimed;
    // Successes are recorded when the claimed events are sent (or before anything else is recorded). A crash in
    // between sends those events again: delivery is at least once, and the bot platform drops a webhook-id it has
    // seen (Standard Webhooks); the order is kept either way.
    const delivered: DeliveredAttempt[] = [];
    for (const event of claimed.events) {
      if (Date.now() > claimed.sendUntil) break;
      const keepGoing = await this.deliverOne(claimed, event, delivered);
      if (!keepGoing) return false;
      conversation.delivery_attempts = 0;
    }
    return this.recorder.submit({ conversationId: conversation.id, claim: claimed.claim, delivered, release: true });
  }

  /** Returns false when the conversation must wait (a retry is scheduled and the claim ended). */
  private async deliverOne(claimed: ClaimedConversation, event: EventRow, delivered: DeliveredAttempt[]): Promise<boolean> {
    const { conversation, secrets } = claimed;
    if (!conversation.callback_url) {
      await this.flush(claimed, delivered);
      await this.claims.pass(conversation.id, event, 'no_callback', { attempt: conversation.delivery_attempts });
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
      await this.claims.recordAttempt({ eventId: event.id, attempt, status: null, error: `${sent.error} (on a reused connection; sent again at once)`, durationMs: sent.durationMs });
      attempt += 1;
      sent = await this.post(conversation.callback_url, headers, body);
    }
    const { status, error, durationMs } = sent;
    if (!error) {
      delivered.push({ eventId: event.id, seq: event.seq, attempt, status: status!, durationMs });
      return true;
    }
    await this.flush(claimed, delivered);
    const failed: FailedAttempt = { eventId: event.id, attempt, status, error, durationMs };
    const next = afterFailure(attempt, Date.now() - event.created_at.getTime(), this.config.DELIVERY_MAX_AGE_SECONDS * 1000);
    if (next.action === 'abandon') {
      this.log.warn('delivery abandoned', { conversationId: conversation.id, seq: event.seq, attempts: attempt, error });
      this.metrics.eventsAbandoned.inc();
      await this.claims.pass(conversation.id, event, 'abandoned', failed);
      return true;
    }
    await this.claims.scheduleRetry(conversation.id, claimed.claim, failed, next.delayMs);
    this.log.info('delivery failed; retrying', { conversationId: conversation.id, seq: event.seq, attempt, delayMs: next.delayMs, error });
    await this.jobs.deliver(claimed.domainId, `retry-${conversation.id}-${event.seq}-${attempt}`, next.delayMs);
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
  private async flush(claimed: ClaimedConversation, delivered: DeliveredAttempt[]): Promise<void> {
    if (delivered.length === 0) return;
    await this.record([{ conversationId: claimed.conversation.id, claim: claimed.claim, delivered: delivered.splice(0), release: false }]);
  }

  /**
   * Records several holders' successes and ends the claims that ask for it, in one statement (a conversation an
   * ingest has locked for a moment is recorded again when it is free). Answers, per holder, whether its conversation
   * has more to send. The event rows are not written: an event at or below its conversation's cursor is delivered.
   */
  private async record(batch: Recording[]): Promise<boolean[]> {
    const more = new Map<string, boolean>();
    let waiting = batch;
    for (let round = 0; waiting.length > 0; round++) {
      // A conversation stays locked for the length of an ingest transaction: milliseconds.
      if (round > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(2 ** round, 100)));
      if (round >= RECORD_ROUNDS) throw new Error(`conversation ${waiting[0].conversationId} stayed locked; its deliveries were not recorded`);
      for (const row of await this.claims.record(waiting)) more.set(row.id, row.more);
      waiting = waiting.filter((recording) => !more.has(recording.conversationId));
    }
    return batch.map((recording) => more.get(recording.conversationId) ?? false);
  }
}
