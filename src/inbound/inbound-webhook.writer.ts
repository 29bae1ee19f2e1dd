import type { Pool } from 'pg';
import { GroupedWrites } from '../database/grouped-writes';

/** One verified platform delivery, as it is stored before it is acknowledged. */
export interface InboundWebhookRow {
  gatewayId: string;
  eventId: string;
  platformConversationId: string;
  /** The request headers as JSON. */
  headers: string;
  body: Buffer;
  occurredAt: Date | null;
}

/**
 * Statements being written at once; deliveries arriving meanwhile wait and go together in the next one. One: on a busy
 * machine a second statement in flight costs more than the wait it saves (docs/decisions.md).
 */
const MAX_IN_FLIGHT = 1;
/** Bounds of one statement (a delivery can be up to 1 MiB). */
const MAX_ROWS = 200;
const MAX_BYTES = 2 * 1024 * 1024;

const INSERT = `
  INSERT INTO inbound_webhooks (gateway_id, event_id, platform_conversation_id, headers, body, occurred_at)
  SELECT r.gateway_id, r.event_id, r.conversation, r.headers, r.body, r.occurred_at
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::bytea[], $6::timestamptz[])
         WITH ORDINALITY AS r(gateway_id, event_id, conversation, headers, body, occurred_at, n)
   ORDER BY r.n
  ON CONFLICT (gateway_id, event_id) DO NOTHING
  RETURNING gateway_id, event_id`;

/**
 * Stores webhook deliveries with group commit. A delivery that arrives while MAX_IN_FLIGHT statements are being
 * written waits for the next statement, which takes every delivery queued meanwhile: under light load each one is
 * written alone and at once, under heavy load one INSERT and one commit carry many, at a fraction of the CPU per row
 * (docs/benchmarks.md). Each caller still learns whether its own delivery was new (not a duplicate event id) before
 * the platform gets its answer. Ids follow arrival (were MAX_IN_FLIGHT raised, not across the statements in flight);
 * the inbound pass orders by platform time and uses the id only to break a tie within one millisecond.
 */
export class InboundWebhookWriter {
  // One row the database refuses (its gateway just deleted, say) does not fail the deliveries beside it: a failed
  // statement's rows are tried one by one.
  private readonly grouped = new GroupedWrites<InboundWebhookRow, boolean>((rows) => this.write(rows), {
    maxInFlight: MAX_IN_FLIGHT,
    maxItems: MAX_ROWS,
    maxSize: MAX_BYTES,
    sizeOf: (row) => row.body.length,
  });

  constructor(private readonly pool: () => Pool) {}

  /** Resolves true when the delivery was stored, false when its event id was stored before. */
  store(row: InboundWebhookRow): Promise<boolean> {
    return this.grouped.submit(row);
  }

  private async write(rows: InboundWebhookRow[]): Promise<boolean[]> {
    const stored = await this.insert(rows);
    // A duplicate within one statement: the first of them is the one stored.
    return rows.map((row) => stored.delete(keyOf(row.gatewayId, row.eventId)));
  }

  private async insert(rows: InboundWebhookRow[]): Promise<Set<string>> {
    const result = await this.pool().query<{ gateway_id: string; event_id: string }>({
      // Named: each pooled connection parses and plans it once.
      name: 'inbound-webhooks-insert',
      text: INSERT,
      values: [
        rows.map((row) => row.gatewayId),
        rows.map((row) => row.eventId),
        rows.map((row) => row.platformConversationId),
        rows.map((row) => row.headers),
        rows.map((row) => row.body),
        rows.map((row) => row.occurredAt),
      ],
    });
    return new Set(result.rows.map((row) => keyOf(row.gateway_id, row.event_id)));
  }
}

function keyOf(gatewayId: string, eventId: string): string {
  // PostgreSQL answers uuids in lower case whatever case the route had.
  return `${gatewayId.toLowerCase()}\u0000${eventId}`;
}
