import { Injectable } from '@nestjs/common';
import { EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { DomainError } from '../common/domain-error';
import { checkOutboundUrl } from '@app/gateway-sdk';
import { generateWebhookSecret } from '@app/client';
import { SecretCipher } from '../crypto/secret-cipher';
import { DomainEntity } from '../database/entities';
import { DomainScope, inScope } from '../auth/domain-scope';
import { conflictOnDuplicate, conflictOnReference } from '../database/unique-violation';
import { CreateDomainDto, DomainDto, UpdateDomainDto } from './domains.dto';
import { DomainsRepository } from './domains.repository';

/** Bot-platform tenants: their callback URL and (encrypted) signing secret. */
@Injectable()
export class DomainsService {
  constructor(
    private readonly repo: DomainsRepository,
    private readonly cipher: SecretCipher,
    private readonly config: AppConfig,
  ) {}

  toDto(d: DomainEntity): DomainDto {
    return {
      id: d.id,
      name: d.name,
      description: d.description,
      callbackUrl: d.callbackUrl,
      agentMessages: d.agentMessages,
      signingSecretSet: d.signingSecret !== null,
      previousSigningSecretValidUntil: this.previousValid(d) ? d.previousSigningSecretUntil!.toISOString() : null,
      createdAt: d.createdAt.toISOString(),
      updatedAt: d.updatedAt.toISOString(),
    };
  }

  /** Creates a domain; `generatedSecret` is the signing secret made for it when the request gave none (shown once). */
  async create(body: CreateDomainDto): Promise<{ domain: DomainEntity; generatedSecret?: string }> {
    this.checkUrl(body.callbackUrl);
    const taken = `A domain named '${body.name}' already exists`;
    if (await this.repo.byName(body.name)) throw new DomainError('conflict', taken);
    // null as omitted: a domain is never left without a secret to sign with.
    const generatedSecret = body.signingSecret ? undefined : generateWebhookSecret();
    const domain = await conflictOnDuplicate(
      () =>
        this.repo.create({
          name: body.name,
          description: body.description ?? '',
          callbackUrl: body.callbackUrl ?? null,
          agentMessages: body.agentMessages ?? 'channel',
          signingSecret: this.cipher.encrypt(body.signingSecret ?? generatedSecret!),
        }),
      taken,
    );
    return { domain, generatedSecret };
  }

  async list(scope: DomainScope): Promise<DomainEntity[]> {
    const domains = await this.repo.all();
    return domains.filter((domain) => inScope(scope, domain.id));
  }

  /** The domain, when within `scope`; otherwise the same 404 as for an id that does not exist. */
  async get(id: string, scope: DomainScope): Promise<DomainEntity> {
    const found = inScope(scope, id) ? await this.repo.byId(id) : null;
    if (!found) throw DomainError.notFound('Domain', id);
    return found;
  }

  /** The ids of the domains of these names that lie within `scope`, by name (in a transaction, as it sees them). */
  async idsByName(names: string[], scope: DomainScope, em?: Pick<EntityManager, 'query'>): Promise<Map<string, string>> {
    const rows = await this.repo.idsByName(names, scope, em);
    return new Map(rows.map((row) => [row.name, row.id]));
  }

  /** The names of these domains, by id. */
  async namesOf(ids: string[]): Promise<Map<string, string>> {
    const domains = await this.repo.byIds(ids);
    return new Map(domains.map((d) => [d.id, d.name]));
  }

  /** Where the domain's agent messages on channel conversations go (see `DomainEntity.agentMessages`). */
  async agentMessagesOf(id: string): Promise<'channel' | 'bot'> {
    const [domain] = await this.repo.byIds([id]);
    return domain?.agentMessages ?? 'channel';
  }

  async findByName(name: string): Promise<DomainEntity | null> {
    return this.repo.byName(name);
  }

  async update(id: string, body: UpdateDomainDto, scope: DomainScope): Promise<DomainEntity> {
    const domain = await this.get(id, scope);
    this.checkUrl(body.callbackUrl);
    // null clears it, as an omitted description at creation is empty.
    if (body.description !== undefined) domain.description = body.description ?? '';
    if (body.callbackUrl !== undefined) domain.callbackUrl = body.callbackUrl;
    if (body.agentMessages !== undefined) domain.agentMessages = body.agentMessages;
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
    return this.repo.save(domain);
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
    await conflictOnReference(() => this.repo.delete(id), 'The domain still has gateways or conversations');
  }

  /** The domain's agent directory, e-mail to display name (for the "Lookup Agent by Email" agent override). */
  async agentDirectory(id: string, em?: Pick<EntityManager, 'query'>): Promise<Map<string, string>> {
    const rows = await this.repo.agents(id, em);
    return new Map(rows.map((row) => [row.email, row.display_name]));
  }

  async agents(id: string, scope: DomainScope): Promise<{ email: string; displayName: string }[]> {
    await this.get(id, scope);
    return (await this.repo.agents(id)).map((r) => ({ email: r.email, displayName: r.display_name }));
  }

  async putAgent(id: string, email: string, displayName: string, scope: DomainScope): Promise<void> {
    await this.get(id, scope);
    await this.repo.putAgent(id, email, displayName);
  }

  async removeAgent(id: string, email: string, scope: DomainScope): Promise<void> {
    if (!inScope(scope, id)) throw DomainError.notFound('Agent', email);
    if (!(await this.repo.removeAgent(id, email))) throw DomainError.notFound('Agent', email);
  }

  private checkUrl(url: string | undefined): void {
    if (url === undefined) return;
    const problem = checkOutboundUrl(url, this.config.OUTBOUND_ALLOW_PRIVATE_NETWORKS);
    if (problem) throw DomainError.validation([{ field: 'callbackUrl', message: problem }]);
  }
}
