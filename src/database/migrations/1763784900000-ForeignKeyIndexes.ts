import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An index led by the referencing columns of every foreign key: deleting a referenced row makes PostgreSQL look for
 * rows still pointing at it, once per deleted row, and without such an index each look scans the referencing table
 * (the retention's escalations the events, a gateway or a domain the escalations). Built CONCURRENTLY, so that an
 * upgrade does not stop the intake; a build interrupted half-way leaves an invalid index, built again on the next run.
 * The events' and the gateway's indexes replace partial ones (every stored event has a platform key); the domain's
 * also serves the operators' list by domain. The gateway's ends in `created_at DESC`, so the inbound pass's "latest
 * escalation" lookup is one probe; keep it the only index led by `gateway_id`: beside one ordered by creation, that
 * lookup's generic plan walks the gateway's escalations instead (docs/decisions.md).
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
