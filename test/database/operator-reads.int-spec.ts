import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/database';
import { ESCALATION_EVENTS } from '../../src/conversations/conversations.repository';
import { EVENT_ATTEMPTS } from '../../src/delivery/delivery-claims.repository';
import { ESCALATION_RETENTION_BATCH, EscalationsRepository } from '../../src/escalations/escalations.repository';
import { PENDING_WEBHOOKS } from '../../src/inbound/inbound-webhooks.repository';
import { resetState } from '../support/test-app';

/**
 * Operators' reads (and the retention's search) must not grow with the events table: each is planned here with sequential scans priced out, so a
 * plan that still scans a table has no index to use (a small test table would otherwise be scanned anyway).
 */
describe('operator reads of events', () => {
  let db: DataSource;

  beforeAll(async () => {
    await resetState();
    db = await new DataSource(dataSourceOptions(process.env.DATABASE_URL!, 1)).initialize();
  });
  afterAll(() => db.destroy());

  async function plan(sql: string, values: unknown[]): Promise<string> {
    return db.transaction(async (em) => {
      await em.query(`SET LOCAL enable_seqscan = off`);
      const rows: { 'QUERY PLAN': string }[] = await em.query(`EXPLAIN ${sql}`, values);
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    });
  }

  /**
   * The index scans of a plan on a table (plain, index-only or bitmap, as the table's statistics make the planner
   * choose), each with its Index Cond: a scan without one walks the whole index.
   */
  function indexScans(text: string, table: string): { index: string; condition?: string }[] {
    const lines = text.split('\n');
    return lines.flatMap((line, i) => {
      const scan = /(?:Index Scan|Index Only Scan) using (\S+) on (\S+)|Bitmap Index Scan on (\S+)/.exec(line);
      if (!scan) return [];
      const index = scan[1] ?? scan[3];
      if (scan[2] !== undefined ? scan[2] !== table : !index.startsWith(`${table}_`)) return [];
      const rest = lines.slice(i + 1);
      const nextNode = rest.findIndex((next) => next.includes('->'));
      const condition = rest.slice(0, nextNode < 0 ? undefined : nextNode).find((next) => next.includes('Index Cond'));
      return [{ index, condition }];
    });
  }

  /** Every scan of the events looks a conversation's or an escalation's rows up by key. */
  function expectEventsByKey(text: string): void {
    const scans = indexScans(text, 'events');
    expect(scans.length).toBeGreaterThan(0);
    for (const scan of scans) expect(scan.condition).toMatch(/Index Cond: \((conversation_id|escalation_id) = /);
  }

  it("reads an escalation's transcript by key, not by scanning the events", async () => {
    const text = await plan(ESCALATION_EVENTS, [randomUUID(), randomUUID()]);
    expect(text).not.toMatch(/Seq Scan/);
    expectEventsByKey(text);
  });

  it("reads an event's delivery attempts through the event's key and the attempts' index", async () => {
    const text = await plan(EVENT_ATTEMPTS, [randomUUID(), 1]);
    expect(text).not.toMatch(/Seq Scan/);
    expect(text).toMatch(/events_conversation_id_seq_key/);
    expect(text).toMatch(/delivery_attempts_event_idx/);
  });

  it('finds the escalations the retention deletes, and their events, through indexes', async () => {
    const text = await plan(ESCALATION_RETENTION_BATCH, [new Date(), 200]);
    expect(text).not.toMatch(/Seq Scan/);
    expect(text).toMatch(/escalations_created_idx/);
    // Each escalation's events by key, not by walking a whole index.
    expectEventsByKey(text);
  });

  it('finds the events that still point at a deleted escalation through an index (the foreign key check)', async () => {
    // What PostgreSQL runs for each escalation a retention batch deletes.
    const text = await plan(`SELECT 1 FROM ONLY events x WHERE escalation_id = $1 FOR KEY SHARE OF x`, [randomUUID()]);
    expect(text).not.toMatch(/Seq Scan/);
    expect(text).toMatch(/events_escalation_key_idx/);
  });

  it("lists a domain's escalations, newest first, through the domain's index", async () => {
    const [sql, values] = new EscalationsRepository(db, undefined as never).listQuery({ domain: 'acme' }).limit(50).getQueryAndParameters();
    const text = await plan(sql, values);
    expect(text).not.toMatch(/Seq Scan/);
    expect(text).toContain('escalations_domain_created_idx');
  });

  it("finds a pending delivery's escalation with one probe by gateway and platform conversation, in the generic plan", async () => {
    // The inbound pass runs it as a prepared statement: its generic plan knows neither the gateway nor the conversation.
    const text = await db.transaction(async (em) => {
      await em.query(`SET LOCAL plan_cache_mode = force_generic_plan`);
      await em.query(`PREPARE pending_webhooks(uuid, text, int) AS ${PENDING_WEBHOOKS}`);
      const rows: { 'QUERY PLAN': string }[] = await em.query(`EXPLAIN EXECUTE pending_webhooks('${randomUUID()}', '1000', 1000)`);
      await em.query(`DEALLOCATE pending_webhooks`);
      return rows.map((row) => row['QUERY PLAN']).join('\n');
    });
    const scans = indexScans(text, 'escalations');
    expect(scans.map((scan) => scan.index)).toEqual(['escalations_gateway_platform_idx']);
    expect(scans[0].condition).toMatch(/gateway_id = \$1\) AND \((escalations\.)?platform_conversation_id = w\.platform_conversation_id\)/);
  });

  it("leads an index that is not partial with every foreign key's columns", async () => {
    const rows: { constraint: string; indexed: boolean }[] = await db.query(`
      SELECT c.conname AS "constraint",
             EXISTS (SELECT 1 FROM pg_index i
                      WHERE i.indrelid = c.conrelid AND i.indpred IS NULL AND i.indisvalid
                        AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] @> c.conkey
                        AND (i.indkey::int2[])[0:cardinality(c.conkey) - 1] <@ c.conkey) AS indexed
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
       WHERE c.contype = 'f' AND n.nspname = 'public'`);
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.filter((row) => !row.indexed).map((row) => row.constraint)).toEqual([]);
  });

  it('would scan the events for a column no index leads (what the checks above rule out)', async () => {
    expect(await plan(`SELECT id FROM events WHERE type = $1`, ['agent.message'])).toMatch(/Seq Scan on events/);
    // An index walked from end to end, without a key, is caught as well.
    const walk = await plan(`SELECT id FROM events WHERE type = $1 ORDER BY conversation_id, seq LIMIT 5`, ['agent.message']);
    expect(walk).not.toMatch(/Seq Scan/);
    expect(() => expectEventsByKey(walk)).toThrow();
  });
});
