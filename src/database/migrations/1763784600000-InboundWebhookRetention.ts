import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Finds the processed webhook deliveries old enough to delete without a btree entry per intake: rows arrive in
 * received_at order, so a BRIN index (one summary per 128 pages; a row written to pages not yet summarized adds
 * nothing to it) narrows the retention's scan to the oldest pages.
 */
export class InboundWebhookRetention1763784600000 implements MigrationInterface {
  name = 'InboundWebhookRetention1763784600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX inbound_webhooks_received_brin ON inbound_webhooks USING brin (received_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX inbound_webhooks_received_brin`);
  }
}
