import { MigrationInterface, QueryRunner } from 'typeorm';

/** Service accounts, roles, API keys, domains, gateways and their audit trail. */
export class Foundation1763784000000 implements MigrationInterface {
  name = 'Foundation1763784000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE roles (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL UNIQUE,
        description text NOT NULL DEFAULT '',
        authorities text[] NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE service_accounts (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL UNIQUE,
        description text NOT NULL DEFAULT '',
        role_id uuid NOT NULL REFERENCES roles(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        disabled_at timestamptz
      );
      CREATE TABLE api_keys (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        account_id uuid NOT NULL REFERENCES service_accounts(id) ON DELETE CASCADE,
        label text NOT NULL DEFAULT '',
        prefix text NOT NULL,
        hash text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now(),
        last_used_at timestamptz,
        revoked_at timestamptz
      );
      CREATE INDEX api_keys_account_idx ON api_keys(account_id);
      CREATE TABLE domains (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        name text NOT NULL UNIQUE,
        description text NOT NULL DEFAULT '',
        callback_url text,
        signing_secret text,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE TABLE gateways (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        type text NOT NULL,
        name text NOT NULL,
        domain_id uuid NOT NULL REFERENCES domains(id),
        deployed boolean NOT NULL DEFAULT false,
        locale text NOT NULL DEFAULT 'en-US',
        settings jsonb NOT NULL,
        provisioning jsonb NOT NULL DEFAULT '{}',
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (domain_id, name)
      );
      CREATE INDEX gateways_type_idx ON gateways(type);
      CREATE TABLE gateway_audit (
        id bigserial PRIMARY KEY,
        gateway_id uuid NOT NULL,
        actor text NOT NULL,
        action text NOT NULL,
        fields text[] NOT NULL DEFAULT '{}',
        changes jsonb NOT NULL DEFAULT '{}',
        correlation_id text,
        at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX gateway_audit_gateway_idx ON gateway_audit(gateway_id, id);
    `);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE gateway_audit, gateways, domains, api_keys, service_accounts, roles`);
  }
}
