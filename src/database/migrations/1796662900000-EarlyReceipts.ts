import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A delivery or read receipt can reach the service before the send it is about has settled (WhatsApp posts its status
 * webhook while the send's answer is on its way back): kept here until the send records the platform's message id,
 * which then applies it, instead of being dropped.
 */
export class EarlyReceipts1796662900000 implements MigrationInterface {
  name = 'EarlyReceipts1796662900000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE channel_early_receipts (
        gateway_id uuid NOT NULL REFERENCES gateways (id) ON DELETE CASCADE,
        platform_message_id text NOT NULL,
        status text NOT NULL CHECK (status IN ('delivered', 'read', 'failed')),
        reason text,
        detail text,
        received_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (gateway_id, platform_message_id, status)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE channel_early_receipts`);
  }
}
