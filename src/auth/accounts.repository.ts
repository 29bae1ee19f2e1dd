import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { ApiKeyEntity, RoleEntity, ServiceAccountEntity } from '../database/entities';

/** What authenticating a key reads: the key's account, its role's authorities and the key's domains. */
export interface PrincipalRow {
  key_id: string;
  account_id: string;
  account_name: string;
  authorities: string[];
  domain_ids: string[] | null;
}

/**
 * Roles, service accounts and their API keys (stored as hashes). The authentication reads them; the first start and
 * the accounts' admin API (src/accounts) write them, through here.
 */
@Injectable()
export class AccountsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  transaction<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  get manager(): EntityManager {
    return this.db.manager;
  }

  /** The active key of this hash with its account, role and domains; a key's domains narrow its account's. */
  async principal(hash: string): Promise<PrincipalRow | null> {
    const rows: PrincipalRow[] = await this.db.query(
      `SELECT k.id AS key_id, a.id AS account_id, a.name AS account_name, r.authorities,
              (CASE WHEN k.domain_ids IS NULL THEN a.domain_ids
                    WHEN a.domain_ids IS NULL THEN k.domain_ids
                    ELSE ARRAY(SELECT unnest(k.domain_ids) INTERSECT SELECT unnest(a.domain_ids)) END)::text[] AS domain_ids
         FROM api_keys k JOIN service_accounts a ON a.id = k.account_id JOIN roles r ON r.id = a.role_id
        WHERE k.hash = $1 AND k.revoked_at IS NULL AND a.disabled_at IS NULL`,
      [hash],
    );
    return rows[0] ?? null;
  }

  async touchKey(keyId: string): Promise<void> {
    await this.db.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [keyId]);
  }

  /** Serializes first starts of several processes (one creates the built-in roles and the first account). */
  async lockForBootstrap(em: EntityManager): Promise<void> {
    await em.query('SELECT pg_advisory_xact_lock(727275)');
  }

  async upsertRole(em: EntityManager, role: { name: string; description: string; authorities: string[] }): Promise<void> {
    await em.query(
      `INSERT INTO roles (name, description, authorities) VALUES ($1, $2, $3)
       ON CONFLICT (name) DO UPDATE SET authorities = EXCLUDED.authorities, description = EXCLUDED.description`,
      [role.name, role.description, role.authorities],
    );
  }

  roles(): Promise<RoleEntity[]> {
    return this.db.getRepository(RoleEntity).find({ order: { name: 'ASC' } });
  }

  roleByName(em: EntityManager, name: string): Promise<RoleEntity | null> {
    return em.findOneBy(RoleEntity, { name });
  }

  accountByName(em: EntityManager, name: string): Promise<ServiceAccountEntity | null> {
    return em.findOneBy(ServiceAccountEntity, { name });
  }

  account(em: EntityManager, id: string, lock = false): Promise<ServiceAccountEntity | null> {
    return em.findOne(ServiceAccountEntity, { where: { id }, ...(lock ? { lock: { mode: 'pessimistic_write' as const } } : {}) });
  }

  accounts(): Promise<ServiceAccountEntity[]> {
    return this.db.getRepository(ServiceAccountEntity).find({ order: { createdAt: 'ASC' } });
  }

  createAccount(em: EntityManager, fields: Pick<ServiceAccountEntity, 'name' | 'description' | 'roleId'> & Partial<Pick<ServiceAccountEntity, 'domainIds'>>): Promise<ServiceAccountEntity> {
    return em.save(em.create(ServiceAccountEntity, fields));
  }

  saveAccount(em: EntityManager, account: ServiceAccountEntity): Promise<ServiceAccountEntity> {
    return em.save(account);
  }

  async disableAccount(id: string): Promise<void> {
    await this.db.query('UPDATE service_accounts SET disabled_at = coalesce(disabled_at, now()) WHERE id = $1', [id]);
  }

  keysOf(accountIds: string[]): Promise<ApiKeyEntity[]> {
    return accountIds.length ? this.db.getRepository(ApiKeyEntity).find({ where: accountIds.map((accountId) => ({ accountId })), order: { createdAt: 'ASC' } }) : Promise.resolve([]);
  }

  addKey(em: EntityManager, fields: Pick<ApiKeyEntity, 'accountId' | 'label' | 'prefix' | 'hash'> & Partial<Pick<ApiKeyEntity, 'domainIds'>>): Promise<ApiKeyEntity> {
    return em.save(em.create(ApiKeyEntity, { revokedAt: null, ...fields }));
  }

  /** Revokes the account's key; false when the account has no such key. */
  async revokeKey(accountId: string, keyId: string): Promise<boolean> {
    const result = await this.db.query('UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND account_id = $2 RETURNING id', [keyId, accountId]);
    return result[0].length > 0;
  }
}
