import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Delivery claims: a delivery pass claims a domain's conversations with events to deliver for a short lease, so that
 * one pass serves many conversations and each conversation is delivered by one holder at a time, in order.
 */
export class DeliveryClaims1763784400000 implements MigrationInterface {
  name = 'DeliveryClaims1763784400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE conversations ADD COLUMN delivery_claim uuid, ADD COLUMN delivery_claimed_until timestamptz;
      DROP INDEX conversations_undelivered_idx;
      CREATE INDEX conversations_undelivered_idx ON conversations(domain_id) WHERE delivered_seq < last_seq;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP INDEX conversations_undelivered_idx;
      CREATE INDEX conversations_undelivered_idx ON conversations(id) WHERE delivered_seq < last_seq;
      ALTER TABLE conversations DROP COLUMN delivery_claim, DROP COLUMN delivery_claimed_until;
    `);
  }
}
