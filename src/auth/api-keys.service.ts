import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { createHash, randomBytes } from 'node:crypto';
import { DataSource, IsNull } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../common/domain-error';
import { ApiKeyEntity, RoleEntity, ServiceAccountEntity } from '../database/entities';
import { BUILT_IN_ROLES, GATEWAY_SERVICE_ACCOUNT, GLOBAL_GATEWAY_SERVICE_ROLE } from './authorities';
import { conflictOnDuplicate } from '../database/unique-violation';
import { Principal } from './auth.decorators';

const KEY_PREFIX = 'cgk_';
const CACHE_TTL_MS = 5_000;
const LAST_USED_EVERY_MS = 60_000;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** Service accounts, roles and API keys. Keys are random, shown once, and stored only as a SHA-256 hash. */
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
      const key = this.config.BOOTSTRAP_API_KEY ?? KEY_PREFIX + randomBytes(32).toString('base64url');
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
    const rows: { key_id: string; account_id: string; account_name: string; authorities: string[] }[] = await this.db.query(
      `SELECT k.id AS key_id, a.id AS account_id, a.name AS account_name, r.authorities
         FROM api_keys k JOIN service_accounts a ON a.id = k.account_id JOIN roles r ON r.id = a.role_id
        WHERE k.hash = $1 AND k.revoked_at IS NULL AND a.disabled_at IS NULL`,
      [hash],
    );
    const row = rows[0];
    const principal = row
      ? { keyId: row.key_id, accountId: row.account_id, accountName: row.account_name, authorities: new Set(row.authorities) }
      : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, until: now + CACHE_TTL_MS });
    if (principal && (this.lastUsedWrites.get(principal.keyId) ?? 0) < now - LAST_USED_EVERY_MS) {
      this.lastUsedWrites.set(principal.keyId, now);
      void this.db.query('UPDATE api_keys SET last_used_at = now() WHERE id = $1', [principal.keyId]).catch(() => undefined);
    }
    return principal;
  }

  async listRoles(): Promise<RoleEntity[]> {
    return this.db.getRepository(RoleEntity).find({ order: { name: 'ASC' } });
  }

  async createAccount(name: string, roleName: string, description = ''): Promise<{ account: ServiceAccountEntity; role: RoleEntity; key: string; keyEntity: ApiKeyEntity }> {
    const taken = `An account named '${name}' already exists`;
    return conflictOnDuplicate(() => this.db.transaction(async (em) => {
      const role = await em.findOneBy(RoleEntity, { name: roleName });
      if (!role) throw DomainError.validation([{ field: 'role', message: `unknown role '${roleName}'` }]);
      if (await em.findOneBy(ServiceAccountEntity, { name })) throw new DomainError('conflict', taken);
      const account = await em.save(em.create(ServiceAccountEntity, { name, description, roleId: role.id }));
      const { key, entity } = await this.issueKey(em.getRepository(ApiKeyEntity), account.id, 'initial');
      return { account, role, key, keyEntity: entity };
    }), taken);
  }

  async listAccounts(): Promise<{ account: ServiceAccountEntity; role: RoleEntity; keys: ApiKeyEntity[] }[]> {
    const accounts = await this.db.getRepository(ServiceAccountEntity).find({ order: { createdAt: 'ASC' } });
    const roles = new Map((await this.listRoles()).map((r) => [r.id, r]));
    const keys = await this.db.getRepository(ApiKeyEntity).find({ order: { createdAt: 'ASC' } });
    return accounts.map((account) => ({ account, role: roles.get(account.roleId)!, keys: keys.filter((k) => k.accountId === account.id) }));
  }

  async getAccount(id: string) {
    const found = (await this.listAccounts()).find((a) => a.account.id === id);
    if (!found) throw DomainError.notFound('Account', id);
    return found;
  }

  async disableAccount(id: string): Promise<void> {
    const result = await this.db.query('UPDATE service_accounts SET disabled_at = now() WHERE id = $1 AND disabled_at IS NULL RETURNING id', [id]);
    if (result[0].length === 0) await this.getAccount(id);
    this.cache.clear();
  }

  async createKey(accountId: string, label: string): Promise<{ key: string; entity: ApiKeyEntity }> {
    const { account } = await this.getAccount(accountId);
    if (account.disabledAt) throw new DomainError('invalid_state', 'The account is disabled');
    return this.issueKey(this.db.getRepository(ApiKeyEntity), accountId, label);
  }

  async revokeKey(accountId: string, keyId: string): Promise<void> {
    const result = await this.db.query('UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND account_id = $2 RETURNING id', [keyId, accountId]);
    if (result[0].length === 0) throw DomainError.notFound('API key', keyId);
    this.cache.clear();
  }

  private async issueKey(repo: import('typeorm').Repository<ApiKeyEntity>, accountId: string, label: string) {
    const key = KEY_PREFIX + randomBytes(32).toString('base64url');
    const entity = await repo.save(repo.create({ accountId, label, prefix: key.slice(0, 8), hash: hashApiKey(key), revokedAt: null }));
    return { key, entity };
  }

  async countActiveKeys(accountId: string): Promise<number> {
    return this.db.getRepository(ApiKeyEntity).countBy({ accountId, revokedAt: IsNull() });
  }
}
