import { ensureDatabase, migrate, MIGRATIONS } from '../../src/database/database';
import { withDatabase } from '../support/test-app';

/**
 * Processes that start together (API and workers) all run `migrate`; one applies the migrations, the others wait for
 * it. A migration that builds an index CONCURRENTLY waits for every older snapshot, including those of the sessions
 * waiting for the migration lock: they must not wait inside a statement.
 */
describe('migrate', () => {
  const base = new URL(process.env.DATABASE_URL!);
  const url = new URL(base);
  url.pathname = `${base.pathname}_migrate`;
  const name = url.pathname.slice(1);

  const maintenance = new URL(base);
  maintenance.pathname = '/postgres';
  const drop = () => withDatabase((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`), maintenance.toString());

  beforeAll(drop);
  afterAll(drop);

  it('applies every migration once when processes start together on an empty database, and builds valid indexes', async () => {
    await ensureDatabase(url.toString());
    const runs = await Promise.all([migrate(url.toString()), migrate(url.toString()), migrate(url.toString())]);
    expect(runs.map((applied) => applied.length).sort((a, b) => a - b)).toEqual([0, 0, MIGRATIONS.length]);

    await withDatabase(async (client) => {
      const indexes = async (names: string[]) =>
        (
          await client.query<{ name: string; valid: boolean }>(
            `SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
              WHERE c.relname = ANY($1) ORDER BY 1`,
            [names],
          )
        ).rows;
      // The partial unique index on the events' platform keys was replaced by a whole one.
      expect(await indexes(['events_escalation_key_idx', 'events_platform_key_idx'])).toEqual([{ name: 'events_escalation_key_idx', valid: true }]);

      // Run again after stopping half-way (its indexes built or left invalid, not recorded as applied): it completes.
      await client.query(`DELETE FROM migrations WHERE name = 'ForeignKeyIndexes1763784900000'`);
      await client.query(`UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'escalations_domain_created_idx'::regclass`);
      await client.query(`DROP INDEX attachments_escalation_idx`);
      expect(await migrate(url.toString())).toEqual(['ForeignKeyIndexes1763784900000']);
      expect(await indexes(['escalations_domain_created_idx', 'attachments_escalation_idx', 'events_escalation_key_idx'])).toEqual([
        { name: 'attachments_escalation_idx', valid: true },
        { name: 'escalations_domain_created_idx', valid: true },
        { name: 'events_escalation_key_idx', valid: true },
      ]);
    }, url.toString());
  }, 60_000);
});
