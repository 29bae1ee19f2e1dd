import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { ApiKeyEntity, RoleEntity, ServiceAccountEntity } from '../database/entities';
import { BUILT_IN_ROLES, GATEWAY_SERVICE_ACCOUNT, GLOBAL_GATEWAY_SERVICE_ROLE } from './authorities';
import { Principal } from './auth.decorators';

const KEY_PREFIX = 'cgk_';
const CACHE_TTL_MS = 5_000;
const LAST_USED_EVERY_MS = 60_000;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new random key (shown once to its owner) with what is stored of it. */
export function newApiKey(): { key: string; prefix: string; hash: string } {
  const key = KEY_PREFIX + randomBytes(32).toString('base64url');
  return { key, prefix: key.slice(0, 8), hash: hashApiKey(key) };
}

/**
 * Authentication by API key (principals cached 5 s per process) and the first start's roles and account. Keys are
 * stored only as a SHA-256 hash.
 */
@Injectable()
export class ApiKeysService implements OnApplicationBootstrap {
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();
  private readonly lastUsedWrites = new Map<string, number>();

  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly config: AppConfig,
  ) {}

  /** First start: built-in roles and the `gatewayservice` account with BOOTSTRAP_API_KEY (or a generated key). */
  async onApplicationBootstrap(): Promise<void> {
    await this.db.transaction(async (em) => {
      await em.query('SELECT pg_advisory_xact_lock(727275)');
      for (const role of BUILT_IN_ROLES) {
        await em.query(
          `INSERT INTO roles (name, description, authorities) VALUES ($1, $2, $3)
           ON CONFLICT (name) DO UPDATE SET authorities = EXCLUDED.authorities, description = EXCLUDED.description`,
          [role.name, role.description, role.authorities],
        );
      }
      const existing = await em.findOneBy(ServiceAccountEntity, { name: GATEWAY_SERVICE_ACCOUNT });
      if (existing) return;
      const role = await em.findOneByOrFail(RoleEntity, { name: GLOBAL_GATEWAY_SERVICE_ROLE });
      const account = await em.save(em.create(ServiceAccountEntity, { name: GATEWAY_SERVICE_ACCOUNT, description: 'Gateway service account', roleId: role.id }));
      const key = this.config.BOOTSTRAP_API_KEY ?? newApiKey().key;
      await em.save(em.create(ApiKeyEntity, { accountId: account.id, label: 'bootstrap', prefix: key.slice(0, 8), hash: hashApiKey(key) }));
      if (!this.config.BOOTSTRAP_API_KEY) {
        // Printed once, on purpose, to the console rather than the log stream: it is the only time it is visible.
        process.stdout.write(`\nCreated the '${GATEWAY_SERVICE_ACCOUNT}' account. Its API key (shown once): ${key}\n\n`);
      }
    });
  }

  async authenticate(key: string): Promise<Principal | null> {
    const hash = hashApiKey(key);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return cached.principal;
    // A key's domains narrow its account's: the key sees those of its own that the account still has.
    const rows: { key_id: string; account_id: string; account_name: string; authorities: string[]; domain_ids: string[] | null }[] = await this.db.query(
      `SELECT k.id AS key_id, a.id AS account_id, a.name AS account_name, r.authorities,
              (CASE WHEN k.domain_ids IS NULL THEN a.domain_ids
                    WHEN a.domain_ids IS NULL THEN k.domain_ids
                    ELSE ARRAY(SELECT unnest(k.domain_ids) INTERSECT SELECT unnest(a.domain_ids)) END)::text[] AS domain_ids
         FROM api_keys k JOIN service_accounts a ON a.id = k.account_id JOIN roles r ON r.id = a.role_id
        WHERE k.hash = $1 AND k.revoked_at IS NULL AND a.disabled_at IS NULL`,
      [hash],
    );
    const row = rows[0];
    const principal: Principal | null = row
      ? {
          keyId: row.key_id,
          accountId: row.account_id,
          accountName: row.account_name,
          authorities: new Set(row.authorities),
          domainIds: row.domain_ids === null ? null : new Set(row.domain_ids),
        }
      : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, until: now + CACHE_TTL_MS });
    if (principal && (this.lastUsedWrites.get(principal.keyId) ?? 0) < now - LAST_USED_EVERY_MS) {
      this.lastUsedWrites.set(principal.keyId, now);
      void this.db.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [principal.keyId]).catch(() => undefined);
    }
    return principal;
  }

  /** Forgets cached principals, so that a revocation or a scope change applies to this process's next request. */
  forgetCached(): void {
    this.cache.clear();
  }

  async countActiveKeys(accountId: string): Promise<number> {
    return this.db.getRepository(ApiKeyEntity).countBy({ accountId, revokedAt: IsNull() });
  }
}
