/** One SQL statement with its parameters ($1 is its own first value). */
export interface Statement {
  sql: string;
  values: unknown[];
}

/**
 * Data-modifying statements as one: all but the last become WITH clauses, their parameters renumbered after those
 * before them. PostgreSQL runs every clause of such a statement, on one snapshot, in one round trip. (The statements
 * here have no `$` but their parameters.)
 */
export function combine(statements: Statement[]): Statement {
  const values: unknown[] = [];
  const parts = statements.map(({ sql, values: own }) => {
    const offset = values.length;
    values.push(...own);
    return sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`);
  });
  const last = parts.pop()!;
  const sql = parts.length ? `WITH ${parts.map((part, i) => `w${i} AS (${part})`).join(', ')} ${last}` : last;
  return { sql, values };
}
