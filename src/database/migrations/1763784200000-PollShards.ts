import { MigrationInterface, QueryRunner } from 'typeorm';

/** A stable shard function for batched polling, and an index that serves the per-shard query. */
export class PollShards1763784200000 implements MigrationInterface {
  name = 'PollShards1763784200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE FUNCTION poll_shard(id uuid, shards integer) RETURNS integer
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT (abs(hashtext(id::text)) % shards)::integer $$;
      CREATE INDEX escalations_pollable_idx ON escalations(id) WHERE state IN ('queued', 'active') AND session_enc IS NOT NULL;
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX escalations_pollable_idx; DROP FUNCTION poll_shard(uuid, integer);`);
  }
}
