import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Channel conversations (issue 20). A channel conversation is a row of `conversations` (so its events use the same
 * sequence, replay and delivery as an escalation's) plus a `channel_conversations` row of the same id holding what the
 * channel needs: the platform's ids, the user, the reference to reach them again, the next outbound sequence and the
 * send lease (one sender per conversation). Outbound messages are stored before they are sent and carry their status.
 */
export class Channels1796662000000 implements MigrationInterface {
  name = 'Channels1796662000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE domains ADD COLUMN agent_messages text NOT NULL DEFAULT 'channel' CHECK (agent_messages IN ('channel', 'bot'));
      ALTER TABLE conversations ADD COLUMN channel_gateway_id uuid REFERENCES gateways(id);
      CREATE INDEX conversations_channel_gateway_idx ON conversations(channel_gateway_id);
      CREATE TABLE channel_conversations (
        id uuid PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
        gateway_id uuid NOT NULL REFERENCES gateways(id),
        platform_conversation_id text NOT NULL,
        "user" jsonb NOT NULL,
        reference jsonb,
        next_outbound_seq integer NOT NULL DEFAULT 1,
        send_claim uuid,
        send_claimed_until timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (gateway_id, platform_conversation_id)
      );
      CREATE TABLE outbound_messages (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        conversation_id uuid NOT NULL REFERENCES channel_conversations(id) ON DELETE CASCADE,
        seq integer NOT NULL,
        kind text NOT NULL DEFAULT 'message' CHECK (kind IN ('message', 'typing')),
        author text NOT NULL CHECK (author IN ('bot', 'agent')),
        author_name text,
        activity jsonb NOT NULL,
        status text NOT NULL DEFAULT 'accepted' CHECK (status IN ('accepted', 'sent', 'delivered', 'read', 'failed')),
        reason text,
        detail text,
        platform_message_id text,
        gateway_id uuid NOT NULL REFERENCES gateways(id),
        idempotency_key text,
        request_hash text,
        attempts integer NOT NULL DEFAULT 0,
        attempt_started_at timestamptz,
        next_attempt_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (conversation_id, seq)
      );
      CREATE UNIQUE INDEX outbound_messages_idempotency_idx ON outbound_messages(conversation_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
      -- Receipts name the platform's message id; also the index of the gateway foreign key (not partial for that).
      CREATE INDEX outbound_messages_platform_idx ON outbound_messages(gateway_id, platform_message_id);
      -- The sender's and the reconcile's look for what is still to send.
      CREATE INDEX outbound_messages_pending_idx ON outbound_messages(conversation_id, seq) WHERE status = 'accepted';
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      DROP TABLE outbound_messages;
      DROP TABLE channel_conversations;
      ALTER TABLE conversations DROP COLUMN channel_gateway_id;
      ALTER TABLE domains DROP COLUMN agent_messages;
    `);
  }
}
