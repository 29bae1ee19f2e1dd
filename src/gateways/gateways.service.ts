import { Injectable } from '@nestjs/common';
import { checkOutboundUrl, OutboundUrl, SETTINGS_GROUPS, SettingsGroup, SettingsValues, validTimeZone } from '@app/gateway-sdk';
import { EntityManager } from 'typeorm';
import { AppConfig } from '../config/app-config';
import { DomainError, FieldProblem } from '../common/domain-error';
import { MASK } from '../common/redact';
import { requestContext } from '../common/request-context';
import { DomainEntity, GatewayEntity } from '../database/entities';
import { DomainScope, inScope } from '../auth/domain-scope';
import { DomainsService } from '../domains/domains.service';
import { GatewayContextFactory } from './gateway-context.factory';
import { GatewaysRepository } from './gateways.repository';
import { GatewayRegistry, RegisteredGateway } from './gateway-registry';
import { GatewaySettingsStore, StoredSettings } from './gateway-settings.store';
import { conflictOnDuplicate, conflictOnReference } from '../database/unique-violation';
import { AuditRecordDto, ConnectionTestDto, GatewayDto, ListGatewaysQuery } from './gateways.dto';

const nameTaken = (name: string) => `A gateway named '${name}' already exists in this domain`;

type Settings = Record<string, Record<string, unknown>>;

/** Gateway configuration: validation against the type's schema, sealed secrets, optimistic concurrency, audit. */
@Injectable()
export class GatewaysService {
  constructor(
    private readonly repo: GatewaysRepository,
    private readonly registry: GatewayRegistry,
    private readonly store: GatewaySettingsStore,
    private readonly contexts: GatewayContextFactory,
    private readonly domains: DomainsService,
    private readonly config: AppConfig,
  ) {}

  async toDto(gateway: GatewayEntity, domainName?: string): Promise<GatewayDto> {
    const registered = this.registry.find(gateway.type);
    const domain = domainName ?? (await this.domains.namesOf([gateway.domainId])).get(gateway.domainId) ?? '';
    const masked = this.store.mask(gateway.settings);
    masked.basic = { name: gateway.name, domain, deployed: gateway.deployed, locale: gateway.locale, ...masked.basic };
    return {
      id: gateway.id,
      type: gateway.type,
      kind: registered?.gateway.definition.kind ?? 'unknown',
      name: gateway.name,
      domain,
      deployed: gateway.deployed,
      locale: gateway.locale,
      settings: masked,
      webhookUrl: this.contexts.webhookUrl(gateway.id),
      version: gateway.version,
      createdAt: gateway.createdAt.toISOString(),
      updatedAt: gateway.updatedAt.toISOString(),
    };
  }

  async create(type: string, settings: Settings, actor: string, scope: DomainScope): Promise<GatewayEntity> {
    const registered = this.registry.find(type);
    if (!registered) throw DomainError.validation([{ field: 'type', message: `unknown gateway type '${type}'` }]);
    const values = structuredClone(settings);
    this.assertValid(registered, registered.validator.validate(values), values as SettingsValues);
    const basic = values.basic;
    const domain = await this.domainByName(String(basic.domain), scope);
    const sealed = this.store.seal(values as SettingsValues, registered.validator);
    const taken = nameTaken(String(basic.name));
    return conflictOnDuplicate(() => this.repo.transaction(async (em) => {
      await this.assertNameFree(em, domain.id, String(basic.name));
      const gateway = await this.repo.create(em, {
        type,
        name: String(basic.name),
        domainId: domain.id,
        deployed: false,
        locale: String(basic.locale),
        settings: sealed,
        provisioning: {},
        version: 1,
      });
      await this.audit(em, gateway.id, actor, 'create', this.store.changedFields({}, this.withColumns(gateway)), {}, this.withColumns(gateway));
      return gateway;
    }), taken).then(async (gateway) => (basic.deployed === true ? this.setDeployed(gateway.id, true, actor, undefined, scope) : gateway));
  }

  async list(query: ListGatewaysQuery, scope: DomainScope): Promise<{ items: GatewayDto[]; page: number; pageSize: number; total: number }> {
    const page = query.page ?? 1;
    const pageSize = query.pageSize ?? 20;
    const { rows, total } = await this.repo.page({ type: query.type, domain: query.domain, deployed: query.deployed, scope }, page, pageSize);
    const items = await Promise.all(rows.map(({ gateway, domainName }) => this.toDto(gateway, domainName)));
    return { items, page, pageSize, total };
  }

  /** The gateway, when its domain is within `scope`; otherwise the same 404 as for an id that does not exist. */
  async get(id: string, scope: DomainScope): Promise<GatewayEntity> {
    const found = await this.repo.byId(id);
    if (!found || !inScope(scope, found.domainId)) throw DomainError.notFound('Gateway', id);
    return found;
  }

  /** The gateway rows of these ids that exist (in a transaction, as it sees them). */
  findMany(ids: string[], em?: EntityManager): Promise<GatewayEntity[]> {
    return this.repo.byIds(ids, em);
  }

  async update(id: string, patch: Settings, actor: string, ifMatch: number | undefined, scope: DomainScope): Promise<GatewayEntity> {
    return this.repo.transaction(async (em) => {
      const gateway = await this.lockForChange(em, id, ifMatch, scope);
      const registered = this.registry.get(gateway.type);
      const cleaned: Settings = {};
      const resets: [string, string][] = [];
      for (const [group, fields] of Object.entries(patch)) {
        if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
          throw DomainError.validation([{ field: `settings.${group}`, message: 'must be an object' }]);
        }
        cleaned[group] = {};
        for (const [field, value] of Object.entries(fields)) {
          if (value === null) resets.push([group, field]);
          else cleaned[group][field] = value;
        }
      }
      const shapeProblems = registered.validator.validatePatch(cleaned);
      for (const [group, field] of resets) {
        if (!registered.validator.fields[group as SettingsGroup]?.[field]) shapeProblems.push({ field: `settings.${group}.${field}`, message: 'is not a known setting' });
      }
      if (shapeProblems.length) throw DomainError.validation(shapeProblems);
      if (cleaned.basic && 'deployed' in cleaned.basic) {
        throw DomainError.validation([{ field: 'settings.basic.deployed', message: 'is changed through POST /v1/gateways/{id}/deploy and /undeploy' }]);
      }

      // Merge onto the current plain values; omitted fields (secrets included) keep what they had.
      const current = this.contexts.settings(gateway);
      const domainName = (await this.domains.namesOf([gateway.domainId])).get(gateway.domainId);
      current.basic.domain = domainName;
      for (const group of SETTINGS_GROUPS) Object.assign(current[group], cleaned[group] ?? {});
      for (const [group, field] of resets) delete current[group as SettingsGroup][field];
      this.assertValid(registered, registered.validator.validate(current), current);

      const before = this.withColumns(gateway);
      if (current.basic.domain !== domainName) gateway.domainId = (await this.domainByName(String(current.basic.domain), scope)).id;
      if (current.basic.name !== gateway.name) await this.assertNameFree(em, gateway.domainId, String(current.basic.name), gateway.id);
      gateway.name = String(current.basic.name);
      gateway.locale = String(current.basic.locale);
      gateway.settings = this.reuseSealed(gateway.settings, this.store.seal(current, registered.validator));
      const after = this.withColumns(gateway);
      const fields = this.store.changedFields(before, after);
      if (fields.length === 0) return gateway;
      gateway.version += 1;
      const saved = await conflictOnDuplicate(() => this.repo.save(em, gateway), nameTaken(gateway.name));
      await this.audit(em, id, actor, 'update', fields, before, after);
      return saved;
    });
  }

  /** Deletes a gateway without escalations (its stored webhook deliveries go with it); one with escalations stays. */
  async remove(id: string, actor: string, ifMatch: number | undefined, scope: DomainScope): Promise<void> {
    await conflictOnReference(
      () =>
        this.repo.transaction(async (em) => {
          const gateway = await this.lockForChange(em, id, ifMatch, scope);
          await this.audit(em, id, actor, 'delete', [], this.withColumns(gateway), {});
          await this.repo.delete(em, id);
        }),
      'The gateway has escalations (open or ended); undeploy it instead of deleting it',
    );
  }

  async setDeployed(id: string, deployed: boolean, actor: string, ifMatch: number | undefined, scope: DomainScope): Promise<GatewayEntity> {
    const gateway = await this.get(id, scope);
    if (ifMatch !== undefined && ifMatch !== gateway.version) throw this.preconditionFailed(gateway.version);
    let provisioning = gateway.provisioning;
    if (deployed && !gateway.deployed) {
      const registered = this.registry.get(gateway.type);
      if (registered.gateway.deploy) {
        try {
          provisioning = await registered.gateway.deploy(this.contexts.create(gateway));
        } catch (error) {
          throw new DomainError('gateway_unavailable', `Deploying failed: ${(error as Error).message}`);
        }
      }
    }
    return this.repo.transaction(async (em) => {
      const locked = await this.lockForChange(em, id, gateway.version, scope);
      if (locked.deployed === deployed) return locked;
      locked.deployed = deployed;
      locked.provisioning = provisioning;
      locked.version += 1;
      const saved = await this.repo.save(em, locked);
      await this.audit(em, id, actor, deployed ? 'deploy' : 'undeploy', ['basic.deployed'], { basic: { deployed: !deployed } }, { basic: { deployed } });
      return saved;
    });
  }

  async test(id: string, actor: string, scope: DomainScope): Promise<ConnectionTestDto> {
    const gateway = await this.get(id, scope);
    const registered = this.registry.get(gateway.type);
    const started = Date.now();
    let result: { ok: boolean; detail: string };
    try {
      result = await registered.gateway.checkConnection(this.contexts.create(gateway, 20_000));
    } catch (error) {
      result = { ok: false, detail: (error as Error).message };
    }
    const durationMs = Date.now() - started;
    await this.audit(this.repo.manager, id, actor, 'test', [], {}, { test: { ok: result.ok, detail: result.detail } });
    return { ...result, durationMs };
  }

  /** A deleted gateway's trail is still read by an unscoped key; its domain is gone, so a scoped key cannot. */
  async auditTrail(id: string, scope: DomainScope): Promise<AuditRecordDto[]> {
    await this.get(id, scope).catch(async (error) => {
      const any = scope === null ? (await this.repo.auditTrail(id)).length : 0;
      if (any === 0) throw error;
    });
    const records = await this.repo.auditTrail(id);
    return records.map((r) => ({
      id: String(r.id),
      actor: r.actor,
      action: r.action,
      fields: r.fields,
      changes: r.changes,
      correlationId: r.correlationId,
      at: r.at.toISOString(),
    }));
  }

  private withColumns(gateway: GatewayEntity): StoredSettings {
    const stored = structuredClone(gateway.settings);
    stored.basic = { ...(stored.basic ?? {}), name: gateway.name, domainId: gateway.domainId, locale: gateway.locale };
    return stored;
  }

  /** Keeps the existing ciphertext of unchanged secrets so audit and version do not move for a no-op patch. */
  private reuseSealed(previous: StoredSettings, next: StoredSettings): StoredSettings {
    for (const group of Object.keys(next)) {
      for (const [field, value] of Object.entries(next[group])) {
        const old = previous[group]?.[field];
        if (old && value && typeof old === 'object' && typeof value === 'object' && '$enc' in old && '$enc' in value) {
          const changed = this.store.changedFields({ [group]: { [field]: old } }, { [group]: { [field]: value } }).length > 0;
          if (!changed) next[group][field] = old;
        }
      }
    }
    return next;
  }

  private assertValid(registered: RegisteredGateway, problems: FieldProblem[], values: SettingsValues): void {
    if (problems.length === 0) problems.push(...this.outboundProblems(registered, values), ...timeZoneProblems(values));
    if (problems.length) throw DomainError.validation(problems);
  }

  /**
   * Every URL the settings make the gateway request, under the outbound policy: each `format: 'uri'` setting, and what
   * the type derives from its settings (templates filled in, endpoints on another setting's host). One problem a field.
   */
  private outboundProblems(registered: RegisteredGateway, values: SettingsValues): FieldProblem[] {
    const urls: OutboundUrl[] = [];
    for (const group of SETTINGS_GROUPS) {
      for (const [field, spec] of Object.entries(registered.validator.fields[group])) {
        const value = values[group]?.[field];
        if (spec.format === 'uri' && typeof value === 'string' && value !== '') urls.push({ setting: `${group}.${field}`, url: value });
      }
    }
    urls.push(...(registered.gateway.outboundUrls?.(values) ?? []));
    const problems = new Map<string, string>();
    for (const entry of urls) {
      const problem = 'problem' in entry ? entry.problem : checkOutboundUrl(entry.url, this.config.OUTBOUND_ALLOW_PRIVATE_NETWORKS);
      const field = `settings.${entry.setting}`;
      if (problem && !problems.has(field)) problems.set(field, problem);
    }
    return [...problems].map(([field, message]) => ({ field, message }));
  }

  /** A domain outside `scope` is unknown, as one that does not exist. */
  private async domainByName(name: string, scope: DomainScope): Promise<DomainEntity> {
    const domain = await this.domains.findByName(name);
    if (!domain || !inScope(scope, domain.id)) throw DomainError.validation([{ field: 'settings.basic.domain', message: `unknown domain '${name}'` }]);
    return domain;
  }

  private async assertNameFree(em: EntityManager, domainId: string, name: string, exceptId?: string): Promise<void> {
    const existing = await this.repo.byName(em, domainId, name);
    if (existing && existing.id !== exceptId) throw new DomainError('conflict', nameTaken(name));
  }

  private async lockForChange(em: EntityManager, id: string, ifMatch: number | undefined, scope: DomainScope): Promise<GatewayEntity> {
    const gateway = await this.repo.lock(em, id);
    if (!gateway || !inScope(scope, gateway.domainId)) throw DomainError.notFound('Gateway', id);
    if (ifMatch !== undefined && ifMatch !== gateway.version) throw this.preconditionFailed(gateway.version);
    return gateway;
  }

  private preconditionFailed(current: number): DomainError {
    return new DomainError('precondition_failed', 'The gateway was changed by someone else; reload it and retry', { currentVersion: current });
  }

  private async audit(em: EntityManager, gatewayId: string, actor: string, action: string, fields: string[], before: StoredSettings, after: StoredSettings): Promise<void> {
    const changes: Record<string, { from: unknown; to: unknown }> = {};
    const show = (stored: StoredSettings, path: string) => {
      const [group, field] = path.split('.');
      const value = stored[group]?.[field];
      return value && typeof value === 'object' && '$enc' in (value as object) ? MASK : value;
    };
    for (const path of fields) changes[path] = { from: show(before, path) ?? null, to: show(after, path) ?? null };
    const extra = action === 'test' ? after : {};
    await this.repo.addAudit(em, { gatewayId, actor, action, fields, changes: { ...changes, ...extra }, correlationId: requestContext.correlationId() ?? null, at: new Date() });
  }
}

/** A quiet-hours time zone (QUIET_HOURS_FIELDS) must be one this runtime knows: an unknown one would mean no quiet hours. */
function timeZoneProblems(values: SettingsValues): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const [group, fields] of Object.entries(values)) {
    const zone = (fields as Record<string, unknown> | undefined)?.quietHoursTimeZone;
    if (typeof zone === 'string' && zone !== '' && !validTimeZone(zone)) problems.push({ field: `settings.${group}.quietHoursTimeZone`, message: `'${zone}' is not an IANA time zone` });
  }
  return problems;
}
