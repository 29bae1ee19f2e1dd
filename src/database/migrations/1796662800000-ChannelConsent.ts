import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * SMS and WhatsApp (issue 22): a gateway's opt-out list (users who said STOP, or whom an operator put on it; a
 * proactive message to them is refused up front), and when a channel conversation's user last wrote (WhatsApp's
 * customer-service window is counted from it).
 */
export class ChannelConsent1796662800000 implements MigrationInterface {
  name = 'ChannelConsent1796662800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE channel_opt_outs (
        gateway_id uuid NOT NULL REFERENCES gateways (id) ON DELETE CASCADE,
        user_id text NOT NULL,
        source text NOT NULL CHECK (source IN ('user', 'operator')),
        note text,
        actor text,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (gateway_id, user_id)
      )`);
    await q.query(`ALTER TABLE channel_conversations ADD COLUMN last_user_message_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE channel_conversations DROP COLUMN last_user_message_at`);
    await q.query(`DROP TABLE channel_opt_outs`);
  }
}
