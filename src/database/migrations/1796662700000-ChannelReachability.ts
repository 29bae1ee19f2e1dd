import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Proactive messages (POST /v1/notifications, POST /v1/conversations): a channel conversation says whether its user
 * can be written to first (null: yes; else the channel's unreachable reason), its user is found by the channel's id
 * for them, and an Idempotency-Key of those requests is the domain's (the conversation is only resolved from it).
 */
export class ChannelReachability1796662700000 implements MigrationInterface {
  name = 'ChannelReachability1796662700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE channel_conversations ADD COLUMN unreachable_reason text, ADD COLUMN reachability_at timestamptz`);
    await q.query(`CREATE INDEX channel_conversations_user_idx ON channel_conversations (gateway_id, ((("user" ->> 'id'))), updated_at DESC)`);
    await q.query(`
      CREATE TABLE proactive_requests (
        domain_id uuid NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
        idempotency_key text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('notification', 'conversation')),
        request_hash text NOT NULL,
        conversation_id uuid NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        message_id uuid NOT NULL REFERENCES outbound_messages (id) ON DELETE CASCADE,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (domain_id, idempotency_key)
      )`);
    await q.query(`CREATE INDEX proactive_requests_conversation_idx ON proactive_requests (conversation_id)`);
    await q.query(`CREATE INDEX proactive_requests_message_idx ON proactive_requests (message_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE proactive_requests`);
    await q.query(`DROP INDEX channel_conversations_user_idx`);
    await q.query(`ALTER TABLE channel_conversations DROP COLUMN unreachable_reason, DROP COLUMN reachability_at`);
  }
}
