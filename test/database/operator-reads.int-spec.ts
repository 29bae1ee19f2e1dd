import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/database';
import { ESCALATION_EVENTS, EVENT_ATTEMPTS } from '../../src/escalations/escalation-queries.service';
import { ESCALATION_RETENTION_BATCH } from '../../src/escalations/escalation-retention.service';
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

  it("reads an escalation's transcript through its conversation's key, not by scanning the events", async () => {
    const text = await plan(ESCALATION_EVENTS, [randomUUID(), randomUUID()]);
    expect(text).not.toMatch(/Seq Scan/);
    expect(text).toMatch(/Index Scan using events_conversation_id_seq_key on events/);
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
    // Each escalation's events through its conversation's key, not by walking the whole index.
    const lines = text.split('\n');
    const uses = lines.flatMap((line, i) => (line.includes('events_conversation_id_seq_key') ? [lines.slice(i + 1).find((next) => next.includes('Index Cond'))] : []));
    expect(uses.length).toBeGreaterThan(0);
    for (const condition of uses) expect(condition).toMatch(/Index Cond: \(conversation_id = /);
  });

  it('would scan the events for the transcript by escalation alone (what the check above rules out)', async () => {
    expect(await plan(`SELECT id FROM events WHERE escalation_id = $1 ORDER BY seq`, [randomUUID()])).toMatch(/Seq Scan on events/);
  });
});
