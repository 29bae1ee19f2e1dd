import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { createHash, randomBytes } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { AccountsRepository } from './accounts.repository';
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
    private readonly accounts: AccountsRepository,
    private readonly config: AppConfig,
  ) {}

  /** First start: built-in roles and the `gatewayservice` account with BOOTSTRAP_API_KEY (or a generated key). */
  async onApplicationBootstrap(): Promise<void> {
    await this.accounts.transaction(async (em) => {
      await this.accounts.lockForBootstrap(em);
      for (const role of BUILT_IN_ROLES) await this.accounts.upsertRole(em, role);
      if (await this.accounts.accountByName(em, GATEWAY_SERVICE_ACCOUNT)) return;
      const role = await this.accounts.roleByName(em, GLOBAL_GATEWAY_SERVICE_ROLE);
      const account = await this.accounts.createAccount(em, { name: GATEWAY_SERVICE_ACCOUNT, description: 'Gateway service account', roleId: role!.id });
      const key = this.config.BOOTSTRAP_API_KEY ?? newApiKey().key;
      await this.accounts.addKey(em, { accountId: account.id, label: 'bootstrap', prefix: key.slice(0, 8), hash: hashApiKey(key) });
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
    const row = await this.accounts.principal(hash);
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
      void this.accounts.touchKey(principal.keyId).catch(() => undefined);
    }
    return principal;
  }

  /** Forgets cached principals, so that a revocation or a scope change applies to this process's next request. */
  forgetCached(): void {
    this.cache.clear();
  }
}
