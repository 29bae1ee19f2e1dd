import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../common/domain-error';
import { checkOutboundUrl } from '@app/gateway-sdk';
import { generateWebhookSecret } from '@app/client';
import { SecretCipher } from '../crypto/secret-cipher';
import { DomainEntity } from '../database/entities';
import { DomainScope, inScope, scopeCondition, scopeParam } from '../auth/domain-scope';
import { conflictOnDuplicate, conflictOnReference } from '../database/unique-violation';
import { CreateDomainDto, DomainDto, UpdateDomainDto } from './domains.dto';

/** Bot-platform tenants: their callback URL and (encrypted) signing secret. */
@Injectable()
export class DomainsService {
  constructor(
    @InjectDataSource() private readonly db: DataSource,
    private readonly cipher: SecretCipher,
    private readonly config: AppConfig,
  ) {}

  toDto(d: DomainEntity): DomainDto {
    return {
      id: d.id,
      name: d.name,
      description: d.description,
      callbackUrl: d.callbackUrl,
      signingSecretSet: d.signingSecret !== null,
      previousSigningSecretValidUntil: this.previousValid(d) ? d.previousSigningSecretUntil!.toISOString() : null,
      createdAt: d.createdAt.toISOString(),
      updatedAt: d.updatedAt.toISOString(),
    };
  }

  /** Creates a domain; `generatedSecret` is the signing secret made for it when the request gave none (shown once). */
  async create(body: CreateDomainDto): Promise<{ domain: DomainEntity; generatedSecret?: string }> {
    this.checkUrl(body.callbackUrl);
    const repo = this.db.getRepository(DomainEntity);
    const taken = `A domain named '${body.name}' already exists`;
    if (await repo.findOneBy({ name: body.name })) throw new DomainError('conflict', taken);
    // null as omitted: a domain is never left without a secret to sign with.
    const generatedSecret = body.signingSecret ? undefined : generateWebhookSecret();
    const domain = await conflictOnDuplicate(
      () =>
        repo.save(
          repo.create({
            name: body.name,
            description: body.description ?? '',
            callbackUrl: body.callbackUrl ?? null,
            signingSecret: this.cipher.encrypt(body.signingSecret ?? generatedSecret!),
          }),
        ),
      taken,
    );
    return { domain, generatedSecret };
  }

  async list(scope: DomainScope): Promise<DomainEntity[]> {
    const domains = await this.db.getRepository(DomainEntity).find({ order: { name: 'ASC' } });
    return domains.filter((domain) => inScope(scope, domain.id));
  }

  /** The domain, when within `scope`; otherwise the same 404 as for an id that does not exist. */
  async get(id: string, scope: DomainScope): Promise<DomainEntity> {
    const found = inScope(scope, id) ? await this.db.getRepository(DomainEntity).findOneBy({ id }) : null;
    if (!found) throw DomainError.notFound('Domain', id);
    return found;
  }

  /** The ids of the domains of these names that lie within `scope`, by name (in a transaction, as it sees them). */
  async idsByName(names: string[], scope: DomainScope, em: Pick<EntityManager, 'query'> = this.db.manager): Promise<Map<string, string>> {
    const rows: { id: string; name: string }[] = await em.query(`SELECT id, name FROM domains WHERE name = ANY($1) AND ${scopeCondition('id', 2)}`, [names, scopeParam(scope)]);
    return new Map(rows.map((row) => [row.name, row.id]));
  }

  /** The names of these domains, by id. */
  async namesOf(ids: string[]): Promise<Map<string, string>> {
    const domains = ids.length ? await this.db.getRepository(DomainEntity).findBy(ids.map((id) => ({ id }))) : [];
    return new Map(domains.map((d) => [d.id, d.name]));
  }

  async findByName(name: string): Promise<DomainEntity | null> {
    return this.db.getRepository(DomainEntity).findOneBy({ name });
  }

  async update(id: string, body: UpdateDomainDto, scope: DomainScope): Promise<DomainEntity> {
    const domain = await this.get(id, scope);
    this.checkUrl(body.callbackUrl);
    // null clears it, as an omitted description at creation is empty.
    if (body.description !== undefined) domain.description = body.description ?? '';
    if (body.callbackUrl !== undefined) domain.callbackUrl = body.callbackUrl;
    const hours = body.previousSecretValidHours;
    if (body.signingSecret !== undefined && !this.isCurrent(domain, body.signingSecret)) {
      // The replaced secret keeps signing beside the new one for a while (only the last replaced one: a second change
      // ends the first's), so that the bot platform can switch without refusing deliveries.
      const replaced = domain.signingSecret;
      domain.signingSecret = this.cipher.encrypt(body.signingSecret);
      this.keepPrevious(domain, replaced, hours ?? this.config.SIGNING_SECRET_OVERLAP_HOURS);
    } else if (hours !== undefined && this.previousValid(domain)) {
      this.keepPrevious(domain, domain.previousSigningSecret, hours);
    }
    return this.db.getRepository(DomainEntity).save(domain);
  }

  private isCurrent(domain: DomainEntity, secret: string): boolean {
    return domain.signingSecret !== null && this.cipher.decrypt(domain.signingSecret) === secret;
  }

  private previousValid(domain: DomainEntity): boolean {
    return domain.previousSigningSecret !== null && domain.previousSigningSecretUntil !== null && domain.previousSigningSecretUntil.getTime() > Date.now();
  }

  /** Keeps `sealed` signing for `hours` from now; 0 forgets it. */
  private keepPrevious(domain: DomainEntity, sealed: string | null, hours: number): void {
    domain.previousSigningSecret = hours > 0 ? sealed : null;
    domain.previousSigningSecretUntil = hours > 0 && sealed ? new Date(Date.now() + hours * 3_600_000) : null;
  }

  /** Deletes a domain nothing refers to any more (its agent directory goes with it). */
  async remove(id: string, scope: DomainScope): Promise<void> {
    await this.get(id, scope);
    await conflictOnReference(() => this.db.getRepository(DomainEntity).delete({ id }), 'The domain still has gateways or conversations');
  }

  /** The domain's agent directory, e-mail to display name (for the "Lookup Agent by Email" agent override). */
  async agentDirectory(id: string, em: Pick<EntityManager, 'query'> = this.db.manager): Promise<Map<string, string>> {
    const rows: { email: string; display_name: string }[] = await em.query(`SELECT email, display_name FROM agent_directory WHERE domain_id = $1`, [id]);
    return new Map(rows.map((row) => [row.email, row.display_name]));
  }

  async agents(id: string, scope: DomainScope): Promise<{ email: string; displayName: string }[]> {
    await this.get(id, scope);
    const rows = await this.db.query(`SELECT email, display_name FROM agent_directory WHERE domain_id = $1 ORDER BY email`, [id]);
    return rows.map((r: { email: string; display_name: string }) => ({ email: r.email, displayName: r.display_name }));
  }

  async putAgent(id: string, email: string, displayName: string, scope: DomainScope): Promise<void> {
    await this.get(id, scope);
    await this.db.query(
      `INSERT INTO agent_directory (domain_id, email, display_name) VALUES ($1, lower($2), $3)
       ON CONFLICT (domain_id, email) DO UPDATE SET display_name = EXCLUDED.display_name, updated_at = now()`,
      [id, email, displayName],
    );
  }

  async removeAgent(id: string, email: string, scope: DomainScope): Promise<void> {
    if (!inScope(scope, id)) throw DomainError.notFound('Agent', email);
    const result = await this.db.query(`DELETE FROM agent_directory WHERE domain_id = $1 AND email = lower($2) RETURNING email`, [id, email]);
    if ((Array.isArray(result[0]) ? result[0] : result).length === 0) throw DomainError.notFound('Agent', email);
  }

  private checkUrl(url: string | undefined): void {
    if (url === undefined) return;
    const problem = checkOutboundUrl(url, this.config.OUTBOUND_ALLOW_PRIVATE_NETWORKS);
    if (problem) throw DomainError.validation([{ field: 'callbackUrl', message: problem }]);
  }
}
