import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../../src/database/database';
import { prepared } from '../../src/database/prepared';
import { resetState } from '../support/test-app';

/** Named statements of the hot paths run where their caller is: in its transaction, or on the pool. */
describe('prepared()', () => {
  let db: DataSource;

  beforeAll(async () => {
    await resetState();
    db = await new DataSource(dataSourceOptions(process.env.DATABASE_URL!, 2)).initialize();
  });
  afterAll(() => db.destroy());

  const COUNT = `SELECT count(*)::int AS n FROM domains WHERE name = $1`;

  it("runs inside the caller's transaction: it sees the transaction's own writes, which the pool does not", async () => {
    await db.transaction(async (em) => {
      await em.query(`INSERT INTO domains (name) VALUES ($1)`, ['prepared-tx']);
      expect(await prepared(em, COUNT, ['prepared-tx'])).toEqual([{ n: 1 }]);
      expect(await prepared(db, COUNT, ['prepared-tx'])).toEqual([{ n: 0 }]);
      expect(await prepared(db.manager, COUNT, ['prepared-tx'])).toEqual([{ n: 0 }]);
    });
    expect(await prepared(db, COUNT, ['prepared-tx'])).toEqual([{ n: 1 }]);
  });

  it('prepares a statement once per connection and reuses it', async () => {
    await db.transaction(async (em) => {
      for (let i = 0; i < 3; i++) await prepared(em, `SELECT $1::int + ${7} AS v`, [i]);
      // Unnamed statements would leave none here, a name per call three.
      const statements = await em.query(`SELECT statement FROM pg_prepared_statements WHERE statement LIKE '%+ 7 AS v'`);
      expect(statements).toHaveLength(1);
    });
  });
});
