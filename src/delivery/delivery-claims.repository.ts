import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { AdvanceExtension } from '../conversations/conversations.repository';
import { Statement } from '../database/combined-statement';
import { prepared } from '../database/prepared';
import { ConversationRow, EventRow, SigningSecretColumns } from './delivery.types';

/** Events sent per conversation and claim. */
export const BATCH = 50;
/** How long a claim holds a conversation; a holder that dies frees it after this. */
export const CLAIM_MS = 20_000;

/**
 * A domain's signing secrets as the delivery queries read them (table alias `d`): the current one, and the one it
 * replaced only while that is still valid.
 */
const SIGNING_SECRETS = `d.signing_secret, CASE WHEN d.previous_signing_secret_until > now() THEN d.previous_signing_secret END AS previous_signing_secret`;

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
// them, which can deadlock. The caller records the others again once their lock is free.
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

/** The delivery attempts of a conversation's event `seq` (one row with null attempt columns when it has none). */
export const EVENT_ATTEMPTS = `
  SELECT e.id AS event_id, a.attempt, a.at, a.status_code, a.error, a.duration_ms
    FROM events e LEFT JOIN delivery_attempts a ON a.event_id = e.id
   WHERE e.conversation_id = $1 AND e.seq = $2
   ORDER BY a.attempt, a.id`;

// Every domain, with what its conversations have not delivered yet: the undelivered conversations are few and found
// through their partial index; a domain with none answers zeros, so its series stay and fall to 0.
const DELIVERY_BACKLOG = `
  SELECT d.name AS domain,
         coalesce(sum(c.last_seq - c.delivered_seq), 0)::int AS events,
         count(c.next_delivery_at)::int AS retrying,
         coalesce(max(extract(epoch FROM now() - e.created_at)), 0)::float8 AS oldest
    FROM domains d
    LEFT JOIN conversations c ON c.domain_id = d.id AND c.delivered_seq < c.last_seq
    LEFT JOIN events e ON e.conversation_id = c.id AND e.seq = c.delivered_seq + 1
   GROUP BY d.name`;

/** An event's columns as the claim's query names them (null when the conversation has no event to deliver). */
export interface EventColumns {
  event_id: string | null;
  event_seq: number | null;
  escalation_id: string | null;
  type: string | null;
  data: Record<string, unknown> | null;
  occurred_at: Date | null;
  created_at: Date | null;
}

type ClaimedColumns = ConversationRow & SigningSecretColumns;
/** A row of a pass's claim: the count of conversations due, a claimed conversation (or none), one of its events. */
export type ClaimRow = { due: number } & (ClaimedColumns | { [K in keyof ClaimedColumns]: null }) & EventColumns;

/** A successful delivery to record. */
export interface DeliveredAttempt {
  eventId: string;
  seq: number;
  attempt: number;
  status: number;
  durationMs: number;
}

/** What a holder records: its successful deliveries and, when `release`, the end of its claim. */
export interface Recording {
  conversationId: string;
  claim: string;
  delivered: DeliveredAttempt[];
  release: boolean;
}

/** A claimed conversation's stored event as an ingest's hand-off select answers it (one row per event). */
export type HandOffRow = EventRow & Omit<ConversationRow, 'id'> & SigningSecretColumns & { conversation_id: string; domain_id: string };

/** A failed attempt to record: its event, the answer or error, how long it took. */
export interface FailedAttempt {
  eventId: string;
  attempt: number;
  status: number | null;
  error: string | null;
  durationMs: number;
}

/**
 * Delivery's storage: the conversations' delivery columns (cursor, claim, backoff), the events' outcomes other than
 * success, and the attempts. Claims are leases in PostgreSQL: one holder per conversation, whatever the number of
 * workers, and a holder that dies frees its conversations when the claim runs out.
 */
@Injectable()
export class DeliveryClaimsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Claims up to `room` of a domain's conversations with events due, with their next events. */
  claim(domainId: string, room: number, claim: string): Promise<ClaimRow[]> {
    return prepared<ClaimRow>(this.db, CLAIM, [domainId, room, String(CLAIM_MS), claim]);
  }

  /**
   * Records holders' successes (their attempts, each conversation's cursor) and ends the claims that ask for it, for
   * the conversations it could lock at once; answers those with whether each has more to deliver.
   */
  record(recordings: Recording[]): Promise<{ id: string; more: boolean }[]> {
    const delivered = recordings.flatMap((recording) => recording.delivered.map((d) => ({ ...d, conversationId: recording.conversationId })));
    return prepared<{ id: string; more: boolean }>(this.db, RECORD, [
      delivered.map((d) => d.eventId),
      delivered.map((d) => d.attempt),
      delivered.map((d) => d.status),
      delivered.map((d) => d.durationMs),
      recordings.map((recording) => recording.conversationId),
      recordings.map((recording) => recording.delivered.at(-1)?.seq ?? 0),
      recordings.map((recording) => recording.claim),
      recordings.map((recording) => recording.release),
      delivered.map((d) => d.conversationId),
    ]);
  }

  /** A failed attempt that is followed by another at once (a reused socket closed under the request). */
  async recordAttempt(attempt: FailedAttempt): Promise<void> {
    await this.db.query(
      `WITH a AS (INSERT INTO delivery_attempts (event_id, attempt, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5))
       UPDATE events SET delivery_attempts = $2 WHERE id = $1`,
      [attempt.eventId, attempt.attempt, attempt.status, attempt.error?.slice(0, 500) ?? null, attempt.durationMs],
    );
  }

  /** A failed attempt after which the conversation waits `delayMs` (its claim, when still `claim`'s, ends). */
  async scheduleRetry(conversationId: string, claim: string, attempt: FailedAttempt, delayMs: number): Promise<void> {
    await this.db.query(
      `WITH a AS (INSERT INTO delivery_attempts (event_id, attempt, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5)),
            e AS (UPDATE events SET delivery_attempts = $2 WHERE id = $1)
       UPDATE conversations SET delivery_attempts = $2, next_delivery_at = now() + ($6 || ' milliseconds')::interval,
              delivery_claim = CASE WHEN delivery_claim = $8 THEN NULL ELSE delivery_claim END,
              delivery_claimed_until = CASE WHEN delivery_claim = $8 THEN NULL ELSE delivery_claimed_until END
        WHERE id = $7`,
      [attempt.eventId, attempt.attempt, attempt.status, (attempt.error ?? '').slice(0, 500), attempt.durationMs, String(delayMs), conversationId, claim],
    );
  }

  /**
   * An event that will not be delivered (`abandoned` after its last attempt, `no_callback` when the domain has no
   * callback): its outcome is written and the conversation's cursor moves past it.
   */
  async pass(conversationId: string, event: { id: string; seq: number }, outcome: 'abandoned' | 'no_callback', attempt: FailedAttempt | { attempt: number }): Promise<void> {
    const failed = 'eventId' in attempt ? attempt : null;
    await this.db.query(
      `WITH a AS (INSERT INTO delivery_attempts (event_id, attempt, status_code, error, duration_ms) SELECT $1, $2, $3, $4, $5 WHERE $6),
            e AS (UPDATE events SET delivery_status = $7, delivery_attempts = $2 WHERE id = $1)
       UPDATE conversations SET delivered_seq = GREATEST(delivered_seq, $8), delivery_attempts = 0, next_delivery_at = NULL WHERE id = $9`,
      [event.id, attempt.attempt, failed?.status ?? null, failed?.error ?? null, failed?.durationMs ?? 0, failed !== null, outcome, event.seq, conversationId],
    );
  }

  /** The attempts at a conversation's event `seq`, in order; null when there is no such event. */
  async attempts(conversationId: string, seq: number): Promise<{ attempt: number; at: Date; status_code: number | null; error: string | null; duration_ms: number }[] | null> {
    const rows: { event_id: string | null; attempt: number | null; at: Date | null; status_code: number | null; error: string | null; duration_ms: number | null }[] = await this.db.query(
      EVENT_ATTEMPTS,
      [conversationId, seq],
    );
    if (rows.length === 0) return null;
    return rows.filter((row) => row.attempt !== null).map((row) => ({ attempt: row.attempt!, at: row.at!, status_code: row.status_code, error: row.error, duration_ms: row.duration_ms! }));
  }

  /**
   * The domains with events to deliver, each with how long until its first conversation is due (a retry's backoff, a
   * dead holder's claim).
   */
  dueDomains(): Promise<{ domain_id: string; wait_ms: number }[]> {
    return this.db.query(
      `SELECT domain_id, greatest(0, ceil(extract(epoch FROM min(greatest(coalesce(next_delivery_at, now()), coalesce(delivery_claimed_until, now()))) - now()) * 1000))::int AS wait_ms
         FROM conversations WHERE delivered_seq < last_seq GROUP BY domain_id`,
    );
  }

  /** Each domain's delivery backlog: events not delivered, conversations waiting for a retry, the oldest's age (s). */
  backlog(): Promise<{ domain: string; events: number; retrying: number; oldest: number }[]> {
    return this.db.query(DELIVERY_BACKLOG);
  }

  /**
   * The hand-off claim an ingest writes with its events: each advanced conversation that has nothing older to
   * deliver and no live claim or backoff (a pass's conditions) is claimed by `claim`, in the same UPDATE that moves
   * its sequence on. The statement then answers `external_id, delivered_seq, delivery_attempts, claimed`.
   */
  handOffExtension(claim: string): AdvanceExtension {
    return {
      clauses: (first) => {
        const token = `$${first}::uuid`;
        const claimable = `u.seq > u.prev_seq AND c.delivered_seq = u.prev_seq
          AND (c.delivery_claimed_until IS NULL OR c.delivery_claimed_until <= now()) AND (c.next_delivery_at IS NULL OR c.next_delivery_at <= now())`;
        return {
          sets: [
            `delivery_claim = CASE WHEN ${claimable} THEN ${token} ELSE c.delivery_claim END`,
            `delivery_claimed_until = CASE WHEN ${claimable} THEN clock_timestamp() + ($${first + 1} || ' milliseconds')::interval ELSE c.delivery_claimed_until END`,
          ],
          returning: ['c.external_id', 'c.delivered_seq', 'c.delivery_attempts', `c.delivery_claim = ${token} AS claimed`],
          values: [claim, String(CLAIM_MS)],
        };
      },
    };
  }

  /**
   * The conversations an ingest claimed (`handOffExtension`) with the events it stored, read from the WITH clauses
   * `advanced` (the advance statement) and `inserted` (the events' insert) of the same statement.
   */
  handOffSelect(advanced: string, inserted: string): Statement {
    return {
      sql: `SELECT cv.id AS conversation_id, cv.domain_id, cv.external_id, cv.delivered_seq, cv.delivery_attempts,
                   d.name AS domain, d.callback_url, ${SIGNING_SECRETS},
                   ev.id, ev.seq, ev.escalation_id, ev.type, ev.data, ev.occurred_at, ev.created_at
              FROM ${advanced} cv JOIN domains d ON d.id = cv.domain_id JOIN ${inserted} ev ON ev.conversation_id = cv.id
             WHERE cv.claimed ORDER BY cv.id, ev.seq`,
      values: [],
    };
  }
}
