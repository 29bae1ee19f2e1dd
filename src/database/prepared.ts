import { createHash } from 'node:crypto';
import type { Pool, PoolClient, QueryResultRow } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import type { PostgresDriver } from 'typeorm/driver/postgres/PostgresDriver';

const names = new Map<string, string>();
const MAX_NAMES = 1_000;

/** A statement's name on every connection: derived from its text, so one text is prepared once per connection. */
function nameOf(text: string): string {
  let name = names.get(text);
  if (!name) {
    name = `cg_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`;
    if (names.size >= MAX_NAMES) names.clear();
    names.set(text, name);
  }
  return name;
}

/**
 * Runs one of the hot paths' statements as a named prepared statement: each pooled connection parses and plans it
 * once, where TypeORM's `query()` has PostgreSQL parse and plan it on every call. For these short lookups and writes
 * planning costs more than running (docs/benchmarks.md). Through `em` (a transaction's manager) it runs on that
 * transaction's connection, otherwise on the pool. Answers the rows.
 */
export async function prepared<T extends QueryResultRow>(target: DataSource | EntityManager, text: string, values: unknown[]): Promise<T[]> {
  const result = await queryable(target).query<T>({ name: nameOf(text), text, values });
  return result.rows;
}

function queryable(target: DataSource | EntityManager): Pool | PoolClient {
  // A transaction's manager holds its connection; the data source and its default manager use the pool.
  if ('queryRunner' in target && target.queryRunner) {
    const connection = (target.queryRunner as unknown as { databaseConnection?: PoolClient }).databaseConnection;
    if (!connection) throw new Error('prepared(): the transaction has no connection');
    return connection;
  }
  return pgPool('connection' in target ? target.connection : target);
}

/** The pg pool under TypeORM's data source, for statements written for pg itself (named, batched). */
export function pgPool(db: DataSource): Pool {
  return (db.driver as PostgresDriver).master as Pool;
}
