import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Direct Line conversations served by this service (gateway type `webchat`): each conversation's transcript, in the
 * order clients read it (seq is the watermark), so that any API process answers a client and a reconnect replays
 * what it missed. `message_id` is the service's outbound message id: a repeated send appends once. Files uploaded by
 * users are kept here until the conversation goes.
 */
export class WebchatTranscripts1796662500000 implements MigrationInterface {
  name = 'WebchatTranscripts1796662500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE webchat_conversations (
        id text PRIMARY KEY,
        gateway_id uuid NOT NULL REFERENCES gateways(id) ON DELETE CASCADE,
        user_id text,
        last_seq integer NOT NULL DEFAULT 0,
        started_at timestamptz,
        ended_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX webchat_conversations_gateway_idx ON webchat_conversations (gateway_id)`);
    await q.query(`
      CREATE TABLE webchat_activities (
        conversation_id text NOT NULL REFERENCES webchat_conversations(id) ON DELETE CASCADE,
        seq integer NOT NULL,
        activity jsonb NOT NULL,
        message_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (conversation_id, seq)
      )`);
    await q.query(`CREATE UNIQUE INDEX webchat_activities_message_idx ON webchat_activities (conversation_id, message_id) WHERE message_id IS NOT NULL`);
    await q.query(`
      CREATE TABLE webchat_files (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        conversation_id text NOT NULL REFERENCES webchat_conversations(id) ON DELETE CASCADE,
        name text NOT NULL,
        content_type text NOT NULL,
        size integer NOT NULL,
        content bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX webchat_files_conversation_idx ON webchat_files (conversation_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE webchat_files`);
    await q.query(`DROP TABLE webchat_activities`);
    await q.query(`DROP TABLE webchat_conversations`);
  }
}
