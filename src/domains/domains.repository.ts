import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { DomainScope, scopeCondition, scopeParam } from '../auth/domain-scope';
import { DomainEntity } from '../database/entities';

/** Domains (their callback URL and sealed signing secrets) and their agent directories. */
@Injectable()
export class DomainsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  all(): Promise<DomainEntity[]> {
    return this.db.getRepository(DomainEntity).find({ order: { name: 'ASC' } });
  }

  byId(id: string): Promise<DomainEntity | null> {
    return this.db.getRepository(DomainEntity).findOneBy({ id });
  }

  byIds(ids: string[]): Promise<DomainEntity[]> {
    return ids.length ? this.db.getRepository(DomainEntity).findBy(ids.map((id) => ({ id }))) : Promise.resolve([]);
  }

  byName(name: string): Promise<DomainEntity | null> {
    return this.db.getRepository(DomainEntity).findOneBy({ name });
  }

  /** The ids of the domains of these names that lie within `scope` (in a transaction, as it sees them). */
  idsByName(names: string[], scope: DomainScope, em: Pick<EntityManager, 'query'> = this.db.manager): Promise<{ id: string; name: string }[]> {
    return em.query(`SELECT id, name FROM domains WHERE name = ANY($1) AND ${scopeCondition('id', 2)}`, [names, scopeParam(scope)]);
  }

  create(fields: Pick<DomainEntity, 'name' | 'description' | 'callbackUrl' | 'signingSecret' | 'agentMessages'>): Promise<DomainEntity> {
    const repo = this.db.getRepository(DomainEntity);
    return repo.save(repo.create(fields));
  }

  save(domain: DomainEntity): Promise<DomainEntity> {
    return this.db.getRepository(DomainEntity).save(domain);
  }

  /** Deletes the domain (its agent directory goes with it); a foreign key refuses it while anything refers to it. */
  async delete(id: string): Promise<void> {
    await this.db.getRepository(DomainEntity).delete({ id });
  }

  agents(domainId: string, em: Pick<EntityManager, 'query'> = this.db.manager): Promise<{ email: string; display_name: string }[]> {
    return em.query(`SELECT email, display_name FROM agent_directory WHERE domain_id = $1 ORDER BY email`, [domainId]);
  }

  async putAgent(domainId: string, email: string, displayName: string): Promise<void> {
    await this.db.query(
      `INSERT INTO agent_directory (domain_id, email, display_name) VALUES ($1, lower($2), $3)
       ON CONFLICT (domain_id, email) DO UPDATE SET display_name = EXCLUDED.display_name, updated_at = now()`,
      [domainId, email, displayName],
    );
  }

  /** Removes an agent; false when the directory has no such e-mail. */
  async removeAgent(domainId: string, email: string): Promise<boolean> {
    const result = await this.db.query(`DELETE FROM agent_directory WHERE domain_id = $1 AND email = lower($2) RETURNING email`, [domainId, email]);
    return (Array.isArray(result[0]) ? result[0] : result).length > 0;
  }
}
