import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The lease of an escalation's relay drainer, in PostgreSQL: the Redis lock in front of it is lost with Redis's data
 * (a flush, a failover), and two drainers would then send the same pending command twice.
 */
export class RelayLease1763784800000 implements MigrationInterface {
  name = 'RelayLease1763784800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE escalations ADD COLUMN relay_claim uuid, ADD COLUMN relay_claimed_until timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE escalations DROP COLUMN relay_claim, DROP COLUMN relay_claimed_until`);
  }
}
