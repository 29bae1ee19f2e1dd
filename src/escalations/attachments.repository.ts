import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, EntityManager } from 'typeorm';
import { DomainScope, scopeCondition, scopeParam } from '../auth/domain-scope';

/** Files of escalations: sent by the user to the agent, or by the agent, kept for the bot platform to download. */
@Injectable()
export class AttachmentsRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  /** Stores a file; answers its id. */
  async add(em: EntityManager, file: { escalationId: string; direction: 'to_agent' | 'from_agent'; name: string; mimeType: string; content: Buffer }): Promise<string> {
    const [row] = await em.query(`INSERT INTO attachments (escalation_id, direction, name, mime_type, size, content) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, [
      file.escalationId,
      file.direction,
      file.name,
      file.mimeType,
      file.content.length,
      file.content,
    ]);
    return row.id;
  }

  /** A file's bytes, when it is the escalation's. */
  async content(id: string, escalationId: string): Promise<Buffer | null> {
    const [row] = await this.db.query(`SELECT content FROM attachments WHERE id = $1 AND escalation_id = $2`, [id, escalationId]);
    return row ? (row.content as Buffer) : null;
  }

  /** A file of the escalation, when the escalation's domain is within `scope`. */
  async download(id: string, escalationId: string, scope: DomainScope): Promise<{ name: string; mimeType: string; content: Buffer } | null> {
    const [row] = await this.db.query(
      `SELECT a.name, a.mime_type, a.content FROM attachments a JOIN escalations x ON x.id = a.escalation_id
        WHERE a.id = $1 AND a.escalation_id = $2 AND ${scopeCondition('x.domain_id', 3)}`,
      [id, escalationId, scopeParam(scope)],
    );
    return row ? { name: row.name, mimeType: row.mime_type, content: row.content } : null;
  }
}
