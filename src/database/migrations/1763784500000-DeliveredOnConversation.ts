import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A successful delivery is recorded by the conversation's delivered_seq and a delivery_attempts row, no longer on the
 * event row: events.delivered_at was only ever written there, and the attempt row holds the same time. Statuses already
 * written ('delivered' included) stay as they are.
 */
export class DeliveredOnConversation1763784500000 implements MigrationInterface {
  name = 'DeliveredOnConversation1763784500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE events DROP COLUMN delivered_at`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE events ADD COLUMN delivered_at timestamptz;
      UPDATE events e SET delivery_status = 'delivered', delivery_attempts = e.delivery_attempts + 1,
             delivered_at = (SELECT max(at) FROM delivery_attempts a WHERE a.event_id = e.id AND a.error IS NULL)
        FROM conversations c
       WHERE c.id = e.conversation_id AND e.delivery_status = 'pending' AND e.seq <= c.delivered_seq;
    `);
  }
}
