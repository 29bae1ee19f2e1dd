import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An index led by the referencing columns of every foreign key. Deleting a referenced row makes PostgreSQL look for
 * rows that still point at it, once per deleted row: without such an index each look is a scan of the referencing
 * table. The escalation retention deletes escalations 200 at a time, and each scanned the whole events table
 * (`events.escalation_id` only led a partial index); deleting a gateway or a domain scanned the escalations. The
 * domain index serves the operators' escalation list filtered by domain, newest first.
 *
 * Built CONCURRENTLY (outside a transaction), so that an upgrade does not stop the intake while the events' index is
 * built; a build interrupted half-way leaves an invalid index, built again when the migration runs again.
 * `events(escalation_id, platform_key)` replaces the partial unique index on the same columns: every stored event has
 * a platform key, so it is the same size, and it still refuses a key stored twice for an escalation. The gateway's
 * index replaces the partial `(gateway_id, platform_conversation_id)` one and ends with `created_at DESC`: the inbound
 * pass's lookup of a conversation's latest escalation is one probe in order. No other index leads with `gateway_id`:
 * with one ordered by creation, the planner's generic plan for that lookup walked the gateway's escalations newest
 * first (as cheap as the probe on a small table, the whole gateway on a large one).
 */
export class ForeignKeyIndexes1763784900000 implements MigrationInterface {
  name = 'ForeignKeyIndexes1763784900000';
  transaction = false;

  private readonly indexes: [name: string, definition: string][] = [
    ['events_escalation_key_idx', 'UNIQUE INDEX CONCURRENTLY events_escalation_key_idx ON events(escalation_id, platform_key)'],
    ['escalations_conversation_idx', 'INDEX CONCURRENTLY escalations_conversation_idx ON escalations(conversation_id)'],
    ['escalations_gateway_platform_idx', 'INDEX CONCURRENTLY escalations_gateway_platform_idx ON escalations(gateway_id, platform_conversation_id, created_at DESC)'],
    ['escalations_domain_created_idx', 'INDEX CONCURRENTLY escalations_domain_created_idx ON escalations(domain_id, created_at DESC)'],
    ['attachments_escalation_idx', 'INDEX CONCURRENTLY attachments_escalation_idx ON attachments(escalation_id)'],
    ['service_accounts_role_idx', 'INDEX CONCURRENTLY service_accounts_role_idx ON service_accounts(role_id)'],
  ];

  async up(q: QueryRunner): Promise<void> {
    // One statement per query: CREATE INDEX CONCURRENTLY refuses to run in a multi-statement string. An index a
    // previous run built is kept; one it left invalid is built again.
    for (const [name, definition] of this.indexes) {
      const [found]: { valid: boolean }[] = await q.query(`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass($1)`, [name]);
      if (found?.valid) continue;
      if (found) await q.query(`DROP INDEX CONCURRENTLY ${name}`);
      await q.query(`CREATE ${definition}`);
    }
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS events_platform_key_idx`);
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS escalations_platform_idx`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS escalations_platform_idx`);
    await q.query(
      `CREATE INDEX CONCURRENTLY escalations_platform_idx ON escalations(gateway_id, platform_conversation_id) WHERE platform_conversation_id IS NOT NULL`,
    );
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS events_platform_key_idx`);
    await q.query(`CREATE UNIQUE INDEX CONCURRENTLY events_platform_key_idx ON events(escalation_id, platform_key) WHERE platform_key IS NOT NULL`);
    for (const [name] of [...this.indexes].reverse()) await q.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
  }
}
