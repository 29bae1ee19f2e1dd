import { combine } from './combined-statement';

describe('combine', () => {
  it('returns a single statement as it is', () => {
    expect(combine([{ sql: 'UPDATE a SET x = $1 WHERE id = $2', values: [1, 'id'] }])).toEqual({ sql: 'UPDATE a SET x = $1 WHERE id = $2', values: [1, 'id'] });
  });

  it('makes the others WITH clauses and renumbers each one\'s parameters after those before it', () => {
    const { sql, values } = combine([
      { sql: 'INSERT INTO a (x, y) VALUES ($1, $2)', values: ['x', 'y'] },
      { sql: 'UPDATE b SET z = $1', values: ['z'] },
      { sql: 'UPDATE c SET u = $2 WHERE id = $1 AND v = $10', values: ['c1', 'u', 3, 4, 5, 6, 7, 8, 9, 'ten'] },
    ]);
    expect(sql).toBe('WITH w0 AS (INSERT INTO a (x, y) VALUES ($1, $2)), w1 AS (UPDATE b SET z = $3) UPDATE c SET u = $5 WHERE id = $4 AND v = $13');
    expect(values).toEqual(['x', 'y', 'z', 'c1', 'u', 3, 4, 5, 6, 7, 8, 9, 'ten']);
  });
});
