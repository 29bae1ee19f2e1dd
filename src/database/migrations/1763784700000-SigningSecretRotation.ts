import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A domain's signing secret replaced by another stays valid until `previous_signing_secret_until`: deliveries carry a
 * signature by each (Standard Webhooks' space-separated list), so the bot platform can switch at its own pace.
 */
export class SigningSecretRotation1763784700000 implements MigrationInterface {
  name = 'SigningSecretRotation1763784700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE domains ADD COLUMN previous_signing_secret text, ADD COLUMN previous_signing_secret_until timestamptz`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE domains DROP COLUMN previous_signing_secret, DROP COLUMN previous_signing_secret_until`);
  }
}
