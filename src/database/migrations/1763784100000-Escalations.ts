import { MigrationInterface, QueryRunner } from 'typeorm';

/** Conversations, escalations with their transitions, relay commands, events, deliveries and inbound webhooks. */
export class Escalations1763784100000 implements MigrationInterface {
  name = 'Escalations1763784100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE conversations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        domain_id uuid NOT NULL REFERENCES domains(id),
        external_id text NOT NULL,
        channel text NOT NULL,
        control text NOT NULL DEFAULT 'bot' CHECK (control IN ('bot', 'agent')),
        closed_at timestamptz,
        last_seq integer NOT NULL DEFAULT 0,
        delivered_seq integer NOT NULL DEFAULT 0,
        delivery_attempts integer NOT NULL DEFAULT 0,
        next_delivery_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (domain_id, external_id)
      );
      CREATE INDEX conversations_undelivered_idx ON conversations(id) WHERE delivered_seq < last_seq;

      CREATE TABLE escalations (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        conversation_id uuid NOT NULL REFERENCES conversations(id),
        domain_id uuid NOT NULL REFERENCES domains(id),
        gateway_id uuid NOT NULL REFERENCES gateways(id),
        state text NOT NULL CHECK (state IN ('requested','starting','queued','active','ended','failed','timed_out')),
        idempotency_key text,
        request_hash text NOT NULL,
        requested_by text NOT NULL,
        queue text,
        end_user jsonb NOT NULL DEFAULT '{}',
        attributes jsonb NOT NULL DEFAULT '{}',
        history jsonb NOT NULL DEFAULT '[]',
        session_enc text,
        platform_conversation_id text,
        cursor text,
        agent jsonb,
        start_attempts integer NOT NULL DEFAULT 0,
        next_start_at timestamptz,
        timeout_at timestamptz NOT NULL,
        next_poll_at timestamptz,
        relay_seq integer NOT NULL DEFAULT 0,
        ended_by text,
        end_reason text,
        failure_reason text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        ended_at timestamptz
      );
      CREATE UNIQUE INDEX escalations_idempotency_idx ON escalations(requested_by, idempotency_key) WHERE idempotency_key IS NOT NULL;
      CREATE UNIQUE INDEX escalations_one_open_per_conversation_idx ON escalations(conversation_id)
        WHERE state IN ('requested','starting','queued','active');
      CREATE INDEX escalations_open_idx ON escalations(state, gateway_id) WHERE state IN ('requested','starting','queued','active');
      CREATE INDEX escalations_platform_idx ON escalations(gateway_id, platform_conversation_id) WHERE platform_conversation_id IS NOT NULL;
      CREATE INDEX escalations_created_idx ON escalations(created_at DESC);

      CREATE TABLE escalation_transitions (
        id bigserial PRIMARY KEY,
        escalation_id uuid NOT NULL REFERENCES escalations(id) ON DELETE CASCADE,
        from_state text,
        to_state text NOT NULL,
        reason text NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX escalation_transitions_idx ON escalation_transitions(escalation_id, id);

      CREATE TABLE attachments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        escalation_id uuid NOT NULL REFERENCES escalations(id) ON DELETE CASCADE,
        direction text NOT NULL CHECK (direction IN ('to_agent', 'from_agent')),
        name text NOT NULL,
        mime_type text NOT NULL,
        size integer NOT NULL,
        content bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE relay_commands (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        escalation_id uuid NOT NULL REFERENCES escalations(id) ON DELETE CASCADE,
        seq integer NOT NULL,
        kind text NOT NULL CHECK (kind IN ('message', 'typing', 'end', 'transfer')),
        author text NOT NULL DEFAULT 'user',
        client_message_id text,
        payload jsonb NOT NULL DEFAULT '{}',
        status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        last_error text,
        created_at timestamptz NOT NULL DEFAULT now(),
        sent_at timestamptz,
        UNIQUE (escalation_id, seq)
      );
      CREATE UNIQUE INDEX relay_commands_client_id_idx ON relay_commands(escalation_id, client_message_id) WHERE client_message_id IS NOT NULL;
      CREATE INDEX relay_commands_pending_idx ON relay_commands(escalation_id, seq) WHERE status = 'pending';

      CREATE TABLE events (
        id bigserial PRIMARY KEY,
        conversation_id uuid NOT NULL REFERENCES conversations(id),
        seq integer NOT NULL,
        escalation_id uuid REFERENCES escalations(id),
        type text NOT NULL,
        data jsonb NOT NULL DEFAULT '{}',
        platform_key text,
        occurred_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        -- Readers of the global stream only return events whose transaction is older than every running one,
        -- so an id never becomes visible after a larger id was already streamed.
        xact bigint NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
        delivery_status text NOT NULL DEFAULT 'pending' CHECK (delivery_status IN ('pending', 'delivered', 'abandoned', 'no_callback')),
        delivery_attempts integer NOT NULL DEFAULT 0,
        delivered_at timestamptz,
        UNIQUE (conversation_id, seq)
      );
      CREATE UNIQUE INDEX events_platform_key_idx ON events(escalation_id, platform_key) WHERE platform_key IS NOT NULL;

      CREATE TABLE delivery_attempts (
        id bigserial PRIMARY KEY,
        event_id bigint NOT NULL REFERENCES events(id) ON DELETE CASCADE,
        attempt integer NOT NULL,
        at timestamptz NOT NULL DEFAULT now(),
        status_code integer,
        error text,
        duration_ms integer NOT NULL
      );
      CREATE INDEX delivery_attempts_event_idx ON delivery_attempts(event_id);

      CREATE TABLE inbound_webhooks (
        id bigserial PRIMARY KEY,
        gateway_id uuid NOT NULL REFERENCES gateways(id),
        event_id text NOT NULL,
        platform_conversation_id text,
        headers jsonb NOT NULL,
        body bytea NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        occurred_at timestamptz,
        processed_at timestamptz,
        outcome text,
        UNIQUE (gateway_id, event_id)
      );
      CREATE INDEX inbound_webhooks_pending_idx ON inbound_webhooks(gateway_id, platform_conversation_id, id) WHERE processed_at IS NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(
      `DROP TABLE inbound_webhooks, delivery_attempts, events, relay_commands, attachments, escalation_transitions, escalations, conversations`,
    );
  }
}
