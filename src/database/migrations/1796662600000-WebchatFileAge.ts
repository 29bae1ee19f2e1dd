import { MigrationInterface, QueryRunner } from 'typeorm';

/** Web chat files are deleted by age (WEBCHAT_FILE_RETENTION_HOURS): the retention finds them by it. */
export class WebchatFileAge1796662600000 implements MigrationInterface {
  name = 'WebchatFileAge1796662600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX webchat_files_created_idx ON webchat_files (created_at)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX webchat_files_created_idx`);
  }
}
