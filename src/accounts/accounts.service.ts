import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { DomainError, FieldProblem } from '../common/domain-error';
import { ApiKeyEntity, RoleEntity, ServiceAccountEntity } from '../database/entities';
import { conflictOnDuplicate } from '../database/unique-violation';
import { AccountDto, ApiKeyDto, CreateAccountDto, CreateKeyDto, UpdateAccountDto } from './accounts.dto';
import { AccountsRepository } from '../auth/accounts.repository';
import { ApiKeysService, newApiKey } from '../auth/api-keys.service';
import { Principal } from '../auth/auth.decorators';
import { DomainsService } from '../domains/domains.service';
import { covers, DomainScope } from '../auth/domain-scope';

const iso = (d: Date | null) => (d ? d.toISOString() : null);
const unique = (ids: string[]) => [...new Set(ids)];

/**
 * Service accounts and their keys. A caller scoped to domains sees and manages only the accounts scoped within its
 * own domains (never an unscoped one), names only its own domains, and grants no authority it does not hold: a
 * scoped key cannot make itself or another key see more than it does.
 */
@Injectable()
export class AccountsService {
  constructor(
    private readonly repo: AccountsRepository,
    private readonly keys: ApiKeysService,
    private readonly domains: DomainsService,
  ) {}

  listRoles(): Promise<RoleEntity[]> {
    return this.repo.roles();
  }

  async create(body: CreateAccountDto, caller: Principal): Promise<{ account: AccountDto; key: string; keyId: string }> {
    const taken = `An account named '${body.name}' already exists`;
    const { account, key, keyId } = await conflictOnDuplicate(
      () =>
        this.repo.transaction(async (em) => {
          const role = await this.repo.roleByName(em, body.role);
          if (!role) throw DomainError.validation([{ field: 'role', message: `unknown role '${body.role}'` }]);
          if (!body.domains && caller.domainIds !== null) {
            throw DomainError.validation([{ field: 'domains', message: 'is required: a key scoped to domains creates accounts scoped within them' }]);
          }
          const domainIds = body.domains ? unique(await this.domainIdsOf(em, body.domains, caller.domainIds)) : null;
          const lacking = role.authorities.filter((authority) => !caller.authorities.has(authority));
          if (lacking.length) throw new DomainError('forbidden', `The role '${role.name}' holds authorities this key does not: ${lacking.join(', ')}`);
          if (await this.repo.accountByName(em, body.name)) throw new DomainError('conflict', taken);
          const saved = await this.repo.createAccount(em, { name: body.name, description: body.description ?? '', roleId: role.id, domainIds });
          const issued = await this.issueKey(em, saved.id, 'initial', null);
          return { account: saved, key: issued.key, keyId: issued.entity.id };
        }),
      taken,
    );
    return { account: await this.get(account.id, caller.domainIds), key, keyId };
  }

  async list(scope: DomainScope): Promise<AccountDto[]> {
    const accounts = await this.repo.accounts();
    return this.views(accounts.filter((account) => covers(scope, account.domainIds)));
  }

  async get(id: string, scope: DomainScope): Promise<AccountDto> {
    return (await this.views([await this.visible(this.repo.manager, id, scope)]))[0];
  }

  /** Changes the description or the domains; new domains apply to every key of the account at its next request. */
  async update(id: string, body: UpdateAccountDto, caller: Principal): Promise<AccountDto> {
    await this.repo.transaction(async (em) => {
      const account = await this.visible(em, id, caller.domainIds, true);
      if (body.description !== undefined) account.description = body.description ?? '';
      if (body.domains === null) {
        if (caller.domainIds !== null) throw new DomainError('forbidden', 'A key scoped to domains cannot make an account see every domain');
        account.domainIds = null;
      } else if (body.domains !== undefined) {
        account.domainIds = unique(await this.domainIdsOf(em, body.domains, caller.domainIds));
      }
      await this.repo.saveAccount(em, account);
    });
    this.keys.forgetCached();
    return this.get(id, caller.domainIds);
  }

  async disable(id: string, scope: DomainScope): Promise<void> {
    await this.visible(this.repo.manager, id, scope);
    await this.repo.disableAccount(id);
    this.keys.forgetCached();
  }

  async createKey(accountId: string, body: CreateKeyDto, caller: Principal): Promise<ApiKeyDto & { key: string }> {
    const account = await this.visible(this.repo.manager, accountId, caller.domainIds);
    if (account.disabledAt) throw new DomainError('invalid_state', 'The account is disabled');
    let domainIds: string[] | null = null;
    if (body.domains) {
      domainIds = await this.domainIdsOf(this.repo.manager, body.domains, caller.domainIds);
      const outside: FieldProblem[] = body.domains.flatMap((name, i) =>
        account.domainIds === null || account.domainIds.includes(domainIds![i]) ? [] : [{ field: `domains[${i}]`, message: `'${name}' is not one of the account's domains` }],
      );
      if (outside.length) throw DomainError.validation(outside);
    }
    const { key, entity } = await this.issueKey(this.repo.manager, accountId, body.label ?? '', domainIds);
    return { ...(await this.keyDto(entity)), key };
  }

  async revokeKey(accountId: string, keyId: string, scope: DomainScope): Promise<void> {
    await this.visible(this.repo.manager, accountId, scope);
    if (!(await this.repo.revokeKey(accountId, keyId))) throw DomainError.notFound('API key', keyId);
    this.keys.forgetCached();
  }

  /** The account, when the scope covers it; otherwise the same 404 as for an id that does not exist. */
  private async visible(em: EntityManager, id: string, scope: DomainScope, lock = false): Promise<ServiceAccountEntity> {
    const account = await this.repo.account(em, id, lock);
    if (!account || !covers(scope, account.domainIds)) throw DomainError.notFound('Account', id);
    return account;
  }

  /**
   * The ids of the domains `names` names, in order (a repeated name once). A name that no domain within `scope` has
   * is a 400 naming its position, the same for a domain outside the scope as for one that does not exist.
   */
  private async domainIdsOf(em: EntityManager, names: string[], scope: DomainScope): Promise<string[]> {
    const byName = await this.domains.idsByName(names, scope, em);
    const unknown = names.flatMap((name, i) => (byName.has(name) ? [] : [{ field: `domains[${i}]`, message: `unknown domain '${name}'` }]));
    if (unknown.length) throw DomainError.validation(unknown);
    return names.map((name) => byName.get(name)!);
  }

  private async issueKey(em: EntityManager, accountId: string, label: string, domainIds: string[] | null) {
    const { key, prefix, hash } = newApiKey();
    const entity = await this.repo.addKey(em, { accountId, label, prefix, hash, domainIds: domainIds && unique(domainIds) });
    return { key, entity };
  }

  private async views(accounts: ServiceAccountEntity[]): Promise<AccountDto[]> {
    if (accounts.length === 0) return [];
    const [roles, keys] = await Promise.all([
      this.listRoles(),
      this.repo.keysOf(accounts.map((a) => a.id)),
    ]);
    const names = await this.domainNames([...accounts.map((a) => a.domainIds), ...keys.map((k) => k.domainIds)]);
    const roleOf = new Map(roles.map((r) => [r.id, r]));
    return accounts.map((a) => {
      const role = roleOf.get(a.roleId)!;
      return {
        id: a.id,
        name: a.name,
        description: a.description,
        role: role.name,
        authorities: role.authorities,
        createdAt: a.createdAt.toISOString(),
        disabledAt: iso(a.disabledAt),
        domains: names(a.domainIds),
        keys: keys.filter((k) => k.accountId === a.id).map((k) => this.toKeyDto(k, names)),
      };
    });
  }

  private async keyDto(key: ApiKeyEntity): Promise<ApiKeyDto> {
    return this.toKeyDto(key, await this.domainNames([key.domainIds]));
  }

  private toKeyDto(k: ApiKeyEntity, names: (ids: string[] | null) => string[] | null): ApiKeyDto {
    return { id: k.id, label: k.label, prefix: k.prefix, createdAt: k.createdAt.toISOString(), lastUsedAt: iso(k.lastUsedAt), revokedAt: iso(k.revokedAt), domains: names(k.domainIds) };
  }

  /** Names of domain ids, sorted; a deleted domain's id (still in the scopes that named it) names nothing. */
  private async domainNames(scopes: (string[] | null)[] = []): Promise<(ids: string[] | null) => string[] | null> {
    const byId = await this.domains.namesOf([...new Set(scopes.flatMap((ids) => ids ?? []))]);
    return (ids) => (ids === null ? null : ids.flatMap((id) => byId.get(id) ?? []).sort());
  }
}
