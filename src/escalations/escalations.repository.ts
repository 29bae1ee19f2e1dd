import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { PlatformSession } from '@app/gateway-sdk';
import { DataSource, EntityManager } from 'typeorm';
import { DomainScope, EVERY_DOMAIN, inScope } from '../auth/domain-scope';
import { DomainError } from '../common/domain-error';
import { SecretCipher } from '../crypto/secret-cipher';
import { EscalationEntity, EscalationState } from '../database/entities';
import { sourcesOf } from './escalation-state';

/** Data access of the engine. State changes go through `transition`, which only succeeds from a legal state. */
@Injectable()
export class EscalationsRepository {
  constructor(
    @InjectDataSource() readonly db: DataSource,
    private readonly cipher: SecretCipher,
  ) {}

  /** The escalation, when its domain is within `scope`; otherwise the same 404 as for an id that does not exist. */
  async get(id: string, scope: DomainScope = EVERY_DOMAIN): Promise<EscalationEntity> {
    const found = await this.db.manager.findOneBy(EscalationEntity, { id });
    if (!found || !inScope(scope, found.domainId)) throw DomainError.notFound('Escalation', id);
    return found;
  }

  async lock(id: string, em: EntityManager, scope: DomainScope = EVERY_DOMAIN): Promise<EscalationEntity> {
    const found = await em.findOne(EscalationEntity, { where: { id }, lock: { mode: 'pessimistic_write' } });
    if (!found || !inScope(scope, found.domainId)) throw DomainError.notFound('Escalation', id);
    return found;
  }

  session(escalation: Pick<EscalationEntity, 'sessionEnc'>): PlatformSession | null {
    return escalation.sessionEnc ? this.cipher.decryptJson<PlatformSession>(escalation.sessionEnc) : null;
  }

  sealSession(session: PlatformSession | null): string | null {
    return session ? this.cipher.encryptJson(session) : null;
  }

  /**
   * Moves the escalation to `to` if it is in a state from which that is legal; records the transition. Returns false
   * (and changes nothing) otherwise, so an illegal transition cannot be written whatever the caller believed.
   */
  async transition(
    em: EntityManager,
    escalation: EscalationEntity,
    to: EscalationState,
    reason: string,
    fields: Partial<Record<string, unknown>> = {},
  ): Promise<boolean> {
    const from = escalation.state;
    const sets = ['state = $2', 'updated_at = now()'];
    const values: unknown[] = [escalation.id, to, sourcesOf(to)];
    for (const [column, value] of Object.entries(fields)) {
      values.push(value);
      sets.push(`${column} = $${values.length}`);
    }
    if (to === 'ended' || to === 'failed' || to === 'timed_out') sets.push('ended_at = now()');
    const rows: { id: string }[] = await em.query(
      `UPDATE escalations SET ${sets.join(', ')} WHERE id = $1 AND state = ANY($3) RETURNING id`,
      values,
    );
    const updated = Array.isArray(rows[0]) ? (rows[0] as unknown[]).length > 0 : rows.length > 0;
    if (!updated) return false;
    await em.query(`INSERT INTO escalation_transitions (escalation_id, from_state, to_state, reason) VALUES ($1, $2, $3, $4)`, [escalation.id, from, to, reason]);
    escalation.state = to;
    return true;
  }
}
