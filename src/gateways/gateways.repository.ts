import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { DomainScope } from '../auth/domain-scope';
import { DomainEntity, GatewayAuditEntity, GatewayEntity } from '../database/entities';

/** Gateways (their sealed settings, deployment and provisioning) and their audit trail. */
@Injectable()
export class GatewaysRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  transaction<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    return this.db.transaction(work);
  }

  byId(id: string): Promise<GatewayEntity | null> {
    return this.db.getRepository(GatewayEntity).findOneBy({ id });
  }

  /** The gateways of these ids that exist (in a transaction, as it sees them). */
  byIds(ids: string[], em: EntityManager = this.db.manager): Promise<GatewayEntity[]> {
    return ids.length ? em.findBy(GatewayEntity, ids.map((id) => ({ id }))) : Promise.resolve([]);
  }

  byName(em: EntityManager, domainId: string, name: string): Promise<GatewayEntity | null> {
    return em.findOneBy(GatewayEntity, { domainId, name });
  }

  lock(em: EntityManager, id: string): Promise<GatewayEntity | null> {
    return em.findOne(GatewayEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
  }

  create(em: EntityManager, fields: Pick<GatewayEntity, 'type' | 'name' | 'domainId' | 'deployed' | 'locale' | 'settings' | 'provisioning' | 'version'>): Promise<GatewayEntity> {
    return em.save(em.create(GatewayEntity, fields));
  }

  save(em: EntityManager, gateway: GatewayEntity): Promise<GatewayEntity> {
    return em.save(gateway);
  }

  /** Deletes the gateway (its stored webhook deliveries go with it); a foreign key refuses it while escalations refer to it. */
  async delete(em: EntityManager, id: string): Promise<void> {
    await em.delete(GatewayEntity, { id });
  }

  /** A page of gateways with their domain's name, oldest first, and how many match. */
  async page(filter: { type?: string; domain?: string; deployed?: boolean; scope: DomainScope }, page: number, pageSize: number): Promise<{ rows: { gateway: GatewayEntity; domainName: string }[]; total: number }> {
    const qb = this.db
      .getRepository(GatewayEntity)
      .createQueryBuilder('g')
      .innerJoin(DomainEntity, 'd', 'd.id = g.domain_id')
      .addSelect('d.name', 'domain_name')
      .orderBy('g.created_at', 'ASC')
      .addOrderBy('g.id', 'ASC');
    if (filter.scope !== null) qb.andWhere('g.domain_id = ANY(:scope)', { scope: [...filter.scope] });
    if (filter.type) qb.andWhere('g.type = :type', { type: filter.type });
    if (filter.domain) qb.andWhere('d.name = :domain', { domain: filter.domain });
    if (filter.deployed !== undefined) qb.andWhere('g.deployed = :deployed', { deployed: filter.deployed });
    const total = await qb.getCount();
    const { entities, raw } = await qb
      .offset((page - 1) * pageSize)
      .limit(pageSize)
      .getRawAndEntities();
    return { rows: entities.map((gateway, i) => ({ gateway, domainName: raw[i].domain_name })), total };
  }

  async addAudit(em: EntityManager, record: Pick<GatewayAuditEntity, 'gatewayId' | 'actor' | 'action' | 'fields' | 'changes' | 'correlationId' | 'at'>): Promise<void> {
    await em.save(em.create(GatewayAuditEntity, record));
  }

  /** The gateway's audit trail, oldest first (kept after the gateway is deleted). */
  auditTrail(gatewayId: string): Promise<GatewayAuditEntity[]> {
    return this.db.getRepository(GatewayAuditEntity).find({ where: { gatewayId }, order: { id: 'ASC' } });
  }

  get manager(): EntityManager {
    return this.db.manager;
  }
}
