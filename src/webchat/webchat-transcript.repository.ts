import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { prepared } from '../database/prepared';

/** A Direct Line conversation as stored (table `webchat_conversations`). */
export interface WebchatConversationRow {
  id: string;
  gatewayId: string;
  /** The user id a user-bound token carries; null when the client chose its own. */
  userId: string | null;
  /** Watermark of the latest activity. */
  lastSeq: number;
  startedAt: Date | null;
  endedAt: Date | null;
}

/** One transcript entry: its sequence number (the watermark) and the activity as clients read it. */
export interface TranscriptEntry {
  seq: number;
  activity: Record<string, unknown>;
}

const APPEND = `
  WITH c AS (
    UPDATE webchat_conversations SET last_seq = last_seq + 1 WHERE id = $1 RETURNING last_seq
  )
  INSERT INTO webchat_activities (conversation_id, seq, activity, message_id)
  SELECT $1, c.last_seq, $2::jsonb || jsonb_build_object('id', $1 || '|' || lpad(c.last_seq::text, 7, '0')), $3 FROM c
  RETURNING seq, activity`;

const SINCE = `SELECT seq, activity FROM webchat_activities WHERE conversation_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`;

/** The one owner of the web chat tables: conversations, their transcripts and uploaded files. */
@Injectable()
export class WebchatTranscriptRepository {
  constructor(@InjectDataSource() private readonly db: DataSource) {}

  async create(id: string, gatewayId: string, userId: string | null): Promise<void> {
    await this.db.query(`INSERT INTO webchat_conversations (id, gateway_id, user_id) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`, [id, gatewayId, userId]);
  }

  async find(id: string): Promise<WebchatConversationRow | null> {
    const [row] = await prepared<Record<string, any>>(this.db, `SELECT id, gateway_id, user_id, last_seq, started_at, ended_at FROM webchat_conversations WHERE id = $1`, [id]);
    return row ? { id: row.id, gatewayId: row.gateway_id, userId: row.user_id, lastSeq: row.last_seq, startedAt: row.started_at, endedAt: row.ended_at } : null;
  }

  /** Marks a conversation started; true the first time (Direct Line answers 201 then, 200 after). */
  async markStarted(id: string): Promise<boolean> {
    const rows = await prepared(this.db, `UPDATE webchat_conversations SET started_at = now() WHERE id = $1 AND started_at IS NULL RETURNING id`, [id]);
    return rows.length > 0;
  }

  async markEnded(id: string): Promise<void> {
    await this.db.query(`UPDATE webchat_conversations SET ended_at = coalesce(ended_at, now()) WHERE id = $1`, [id]);
  }

  /**
   * Appends an activity with the next sequence number; its id is `{conversationId}|{seq}` as Direct Line writes
   * them. The conversation row's update serializes appends of one conversation, so sequence numbers commit in order
   * (a stream that reads "after n" never skips one committed later). With `messageId`, a second append of the same
   * message answers the first one's entry: the insert is tried first (a repeat is rare: a send cut short), and its
   * unique index refuses a repeat, which rolls the statement back whole, sequence number included.
   */
  async append(conversationId: string, activity: Record<string, unknown>, messageId: string | null = null): Promise<TranscriptEntry> {
    try {
      const [row] = await prepared<TranscriptEntry>(this.db, APPEND, [conversationId, JSON.stringify(activity), messageId]);
      if (!row) throw new Error(`no web chat conversation ${conversationId}`);
      return row;
    } catch (error) {
      // A repeated send, or two at once: the first one's entry is the answer.
      if (messageId && (error as { code?: string }).code === '23505') {
        const [existing] = await prepared<TranscriptEntry>(this.db, `SELECT seq, activity FROM webchat_activities WHERE conversation_id = $1 AND message_id = $2`, [conversationId, messageId]);
        if (existing) return existing;
      }
      throw error;
    }
  }

  /** Entries after watermark `after`, oldest first, at most `limit`. */
  since(conversationId: string, after: number, limit = 500): Promise<TranscriptEntry[]> {
    return prepared<TranscriptEntry>(this.db, SINCE, [conversationId, after, limit]);
  }

  /** Deletes up to `limit` uploaded files older than `before`; answers how many. */
  async deleteFilesBefore(before: Date, limit: number): Promise<number> {
    const rows = await prepared(
      this.db,
      `DELETE FROM webchat_files WHERE id IN (SELECT id FROM webchat_files WHERE created_at < $1 ORDER BY created_at LIMIT $2) RETURNING id`,
      [before, limit],
    );
    return rows.length;
  }

  async addFile(conversationId: string, file: { name: string; contentType: string; content: Buffer }): Promise<string> {
    const [row] = await this.db.query(`INSERT INTO webchat_files (conversation_id, name, content_type, size, content) VALUES ($1, $2, $3, $4, $5) RETURNING id`, [
      conversationId,
      file.name,
      file.contentType,
      file.content.length,
      file.content,
    ]);
    return row.id;
  }

  /** A file with the gateway of its conversation (the caller checks who may read it). */
  async file(id: string): Promise<{ conversationId: string; gatewayId: string; name: string; contentType: string; content: Buffer } | null> {
    const [row] = await this.db.query(
      `SELECT f.conversation_id, c.gateway_id, f.name, f.content_type, f.content FROM webchat_files f JOIN webchat_conversations c ON c.id = f.conversation_id WHERE f.id = $1`,
      [id],
    );
    return row ? { conversationId: row.conversation_id, gatewayId: row.gateway_id, name: row.name, contentType: row.content_type, content: row.content } : null;
  }
}
