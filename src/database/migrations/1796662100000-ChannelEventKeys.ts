import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A channel's user activity is stored once per conversation: its platform key is unique among the conversation's
 * channel events (those of no escalation; an escalation's are unique by `events_escalation_key_idx`). Built
 * CONCURRENTLY like the earlier indexes of `events`, the largest table, so an upgrade does not stop the intake; an
 * index a previous run left invalid is built again.
 */
export class ChannelEventKeys1796662100000 implements MigrationInterface {
  name = 'ChannelEventKeys1796662100000';
  transaction = false;

  async up(q: QueryRunner): Promise<void> {
    const [found]: { valid: boolean }[] = await q.query(`SELECT indisvalid AS valid FROM pg_index WHERE indexrelid = to_regclass('events_channel_key_idx')`);
    if (found?.valid) return;
    if (found) await q.query(`DROP INDEX CONCURRENTLY events_channel_key_idx`);
    await q.query(`CREATE UNIQUE INDEX CONCURRENTLY events_channel_key_idx ON events(conversation_id, platform_key) WHERE escalation_id IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX CONCURRENTLY IF EXISTS events_channel_key_idx`);
  }
}
