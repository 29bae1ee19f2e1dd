import { DataSource } from 'typeorm';
import { prepared } from './prepared';

/**
 * A lease kept on a row: a claim token column and its expiry. One holder per row at a time (the relay of an
 * escalation, the sender of a channel conversation), held in PostgreSQL so it stands when Redis lost its lock; a
 * holder that died frees the row when the term runs out. Table and column names are the caller's constants.
 */
export class RowLease {
  private readonly takeSql: string;
  private readonly renewSql: string;
  private readonly releaseSql: string;

  constructor(
    private readonly db: DataSource,
    table: string,
    claim: string,
    until: string,
  ) {
    this.takeSql = `UPDATE ${table} SET ${claim} = $2, ${until} = now() + ($3 || ' milliseconds')::interval
                     WHERE id = $1 AND (${until} IS NULL OR ${until} <= now()) RETURNING id`;
    this.renewSql = `UPDATE ${table} SET ${until} = now() + ($3 || ' milliseconds')::interval WHERE id = $1 AND ${claim} = $2 RETURNING id`;
    this.releaseSql = `UPDATE ${table} SET ${claim} = NULL, ${until} = NULL WHERE id = $1 AND ${claim} = $2`;
  }

  /** Takes the row's lease for `token`; false when another holder's has not run out. */
  async take(id: string, token: string, termMs: number): Promise<boolean> {
    return (await prepared(this.db, this.takeSql, [id, token, String(termMs)])).length > 0;
  }

  /** Extends the lease while `token` still holds it; false when it was lost. */
  async renew(id: string, token: string, termMs: number): Promise<boolean> {
    return (await prepared(this.db, this.renewSql, [id, token, String(termMs)])).length > 0;
  }

  async release(id: string, token: string): Promise<void> {
    await prepared(this.db, this.releaseSql, [id, token]);
  }
}
