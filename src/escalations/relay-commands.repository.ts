import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { Statement } from '../database/combined-statement';
import { RelayCommandEntity } from '../database/entities';

/** The commands integrators relay to the platform (messages, typing, transfers, ends), in their order per escalation. */
@Injectable()
export class RelayCommandsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  findByClientMessageId(em: EntityManager, escalationId: string, clientMessageId: string): Promise<RelayCommandEntity | null> {
    return em.findOneBy(RelayCommandEntity, { escalationId, clientMessageId });
  }

  add(em: EntityManager, command: Pick<RelayCommandEntity, 'escalationId' | 'seq' | 'kind' | 'author' | 'clientMessageId' | 'payload'>): Promise<RelayCommandEntity> {
    return em.save(em.create(RelayCommandEntity, { ...command, status: 'pending', attempts: 0 }));
  }

  /** The first pending command of the escalation, the next to send. */
  nextPending(escalationId: string): Promise<RelayCommandEntity | null> {
    return this.db.getRepository(RelayCommandEntity).findOne({ where: { escalationId, status: 'pending' }, order: { seq: 'ASC' } });
  }

  /** Whether a pending command of an escalation that takes them (queued or active) is due now. */
  async hasDue(escalationId: string): Promise<boolean> {
    const [{ due }] = await this.db.query(
      `SELECT EXISTS (SELECT 1 FROM relay_commands r JOIN escalations e ON e.id = r.escalation_id
                       WHERE r.escalation_id = $1 AND r.status = 'pending' AND (r.next_attempt_at IS NULL OR r.next_attempt_at <= now())
                         AND e.state IN ('queued', 'active')) AS due`,
      [escalationId],
    );
    return due;
  }

  /** The command's outcome (an attempt counted). */
  async settle(id: string, status: RelayCommandEntity['status'], error: string | null): Promise<void> {
    await this.db.query(
      `UPDATE relay_commands SET status = $2, last_error = $3, sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END, attempts = attempts + 1 WHERE id = $1`,
      [id, status, error],
    );
  }

  /** A failed attempt, tried again at `nextAt`. */
  async retryAt(id: string, attempts: number, nextAt: Date, error: string): Promise<void> {
    await this.db.query(`UPDATE relay_commands SET attempts = $2, next_attempt_at = $3, last_error = $4 WHERE id = $1`, [id, attempts, nextAt, error.slice(0, 500)]);
  }

  /** The pending commands of escalations that ended are skipped (with the ingest that ends them). */
  skipPendingStatement(escalationIds: string[]): Statement {
    return {
      sql: `UPDATE relay_commands SET status = 'skipped', last_error = 'escalation ended before it was sent' WHERE escalation_id = ANY($1::uuid[]) AND status = 'pending'`,
      values: [escalationIds],
    };
  }

  ofEscalation(escalationId: string): Promise<RelayCommandEntity[]> {
    return this.db.getRepository(RelayCommandEntity).find({ where: { escalationId }, order: { seq: 'ASC' } });
  }

  /** Reconcile: escalations taking commands with some pending. */
  async escalationsWithPending(): Promise<string[]> {
    const rows: { escalation_id: string }[] = await this.db.query(
      `SELECT DISTINCT r.escalation_id FROM relay_commands r JOIN escalations e ON e.id = r.escalation_id
        WHERE r.status = 'pending' AND e.state IN ('queued', 'active')`,
    );
    return rows.map((row) => row.escalation_id);
  }
}
