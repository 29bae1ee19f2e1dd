import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The domains an account may see and act on, and a narrower set for one of its keys. NULL: every domain for an
 * account, the account's domains for a key. Ids, not names (names cannot change, but a domain deleted and created
 * again under its name is another tenant); no foreign key, so that deleting a domain leaves an account scoped to the
 * rest (or to nothing), never unscoped.
 */
export class DomainScopes1796661104845 implements MigrationInterface {
  name = 'DomainScopes1796661104845';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE service_accounts ADD COLUMN domain_ids uuid[]`);
    await q.query(`ALTER TABLE api_keys ADD COLUMN domain_ids uuid[]`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE api_keys DROP COLUMN domain_ids`);
    await q.query(`ALTER TABLE service_accounts DROP COLUMN domain_ids`);
  }
}
