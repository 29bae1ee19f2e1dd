import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * When a relayed command found the platform session of an active escalation over, on a gateway whose platform reports
 * its close by webhook: the escalation waits a while for that close, then ends without it. Kept in PostgreSQL so the
 * reconcile pass can schedule the check again after Redis lost its job.
 */
export class SessionGoneAt1763785080000 implements MigrationInterface {
  name = 'SessionGoneAt1763785080000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE escalations ADD COLUMN session_gone_at timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE escalations DROP COLUMN session_gone_at`);
  }
}
