import { MigrationInterface, QueryRunner } from 'typeorm';

/** Per-domain agent directory for the "Lookup Agent by Email" agent override. */
export class AgentDirectory1763784300000 implements MigrationInterface {
  name = 'AgentDirectory1763784300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE agent_directory (
        domain_id uuid NOT NULL REFERENCES domains(id) ON DELETE CASCADE,
        email text NOT NULL,
        display_name text NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (domain_id, email)
      );
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE agent_directory`);
  }
}
