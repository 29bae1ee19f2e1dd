import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Redis } from 'ioredis';
import { WebSocket, WebSocketServer } from 'ws';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../common/app-logger';
import { RedisConnection, redisOptions } from '../queues/redis-connection';
import { TranscriptEntry, WebchatTranscriptRepository } from './webchat-transcript.repository';

/** What one API process tells the others about a conversation (Redis pub/sub). */
type StreamNotice =
  /** An activity was appended with this watermark. */
  | { t: 'append'; seq: number; activity: Record<string, unknown> }
  /** A typing activity: pushed to open sockets, never stored (Direct Line sends typing only over WebSocket). */
  | { t: 'typing'; activity: Record<string, unknown> }
  /** A socket opened for the conversation: any other one is closed (`collision`, one socket per conversation). */
  | { t: 'open'; socketId: string };

interface OpenStream {
  id: string;
  socket: WebSocket;
  conversationId: string;
  /** The watermark of the last activity sent on this socket. */
  cursor: number;
  /** Sends to one socket happen one after the other, so its watermarks only grow. */
  queue: Promise<void>;
}

/** Empty frames that keep proxies from closing idle sockets (Direct Line sends them too; clients ignore them). */
export const KEEP_ALIVE_MS = 15_000;

/**
 * The WebSocket streams of Direct Line conversations. A stream starts at the watermark its stream token carries and
 * sends each later transcript entry once, in order: a notice of an append (from any API process, through Redis)
 * is sent as it is when it follows the socket's cursor, otherwise the gap is read from the transcript first. So a
 * client reconnecting with its watermark misses nothing, whichever process served the append.
 */
@Injectable()
export class WebchatStreamsService implements OnApplicationShutdown {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly streams = new Map<string, Set<OpenStream>>();
  private subscriber: Redis | null = null;
  private keepAlive: NodeJS.Timeout | null = null;

  constructor(
    private readonly transcripts: WebchatTranscriptRepository,
    private readonly redis: RedisConnection,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {}

  /** Tells every API process of an appended entry. */
  async appended(conversationId: string, entry: TranscriptEntry): Promise<void> {
    await this.publish(conversationId, { t: 'append', seq: entry.seq, activity: entry.activity });
  }

  async typing(conversationId: string, activity: Record<string, unknown>): Promise<void> {
    await this.publish(conversationId, { t: 'typing', activity });
  }

  /** Completes a handshake already authorized by the caller and starts the stream after `watermark`. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, conversationId: string, watermark: number): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const stream: OpenStream = { id: randomUUID(), socket: ws, conversationId, cursor: watermark, queue: Promise.resolve() };
      // Listening first, then reading the transcript: an append committed in between arrives as a notice.
      void this.listen(stream).then(
        () => {
          this.enqueue(stream, () => this.catchUp(stream));
          void this.publish(conversationId, { t: 'open', socketId: stream.id }).catch(() => undefined);
        },
        // Without the subscription this socket would miss what is appended: the client reconnects with its watermark.
        () => ws.close(1011, 'server error'),
      );
      // Clients may send empty frames to probe the socket; nothing else is part of Direct Line 3.0.
      ws.on('message', () => undefined);
      ws.on('close', () => this.forget(stream));
      ws.on('error', () => this.forget(stream));
    });
  }

  /** How many sockets this process holds open (for tests and metrics). */
  openCount(conversationId?: string): number {
    if (conversationId) return this.streams.get(conversationId)?.size ?? 0;
    let n = 0;
    for (const set of this.streams.values()) n += set.size;
    return n;
  }

  /** Closes this process's sockets of a conversation, as a server may at any time (clients reconnect). */
  closeAll(conversationId: string): void {
    for (const stream of this.streams.get(conversationId) ?? []) stream.socket.close(1000, 'closed by server');
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.keepAlive) clearInterval(this.keepAlive);
    for (const set of this.streams.values()) for (const s of set) s.socket.terminate();
    this.streams.clear();
    this.subscriber?.disconnect();
    this.wss.close();
  }

  private channel(conversationId: string): string {
    return this.redis.key('webchat', conversationId);
  }

  private async publish(conversationId: string, notice: StreamNotice): Promise<void> {
    await this.redis.client.publish(this.channel(conversationId), JSON.stringify(notice));
  }

  private async listen(stream: OpenStream): Promise<void> {
    const subscriber = this.ensureSubscriber();
    let set = this.streams.get(stream.conversationId);
    if (!set) {
      set = new Set();
      this.streams.set(stream.conversationId, set);
      await subscriber.subscribe(this.channel(stream.conversationId));
    }
    set.add(stream);
  }

  private forget(stream: OpenStream): void {
    const set = this.streams.get(stream.conversationId);
    if (!set?.delete(stream) || set.size > 0) return;
    this.streams.delete(stream.conversationId);
    void this.subscriber?.unsubscribe(this.channel(stream.conversationId)).catch(() => undefined);
  }

  private ensureSubscriber(): Redis {
    if (this.subscriber) return this.subscriber;
    // No ready check: ioredis asks INFO once connected, which Redis refuses on a connection already subscribing (the
    // first sockets subscribe at once), and the refusal surfaced as an unhandled error that stopped the process.
    const subscriber = new Redis({ ...redisOptions(this.config), lazyConnect: false, enableReadyCheck: false });
    subscriber.on('error', () => undefined);
    subscriber.on('message', (channel: string, message: string) => this.onNotice(channel, message));
    this.subscriber = subscriber;
    this.keepAlive = setInterval(() => this.sendKeepAlives(), KEEP_ALIVE_MS);
    this.keepAlive.unref();
    return subscriber;
  }

  private onNotice(channel: string, message: string): void {
    const conversationId = channel.slice(this.redis.key('webchat', '').length);
    const set = this.streams.get(conversationId);
    if (!set) return;
    let notice: StreamNotice;
    try {
      notice = JSON.parse(message);
    } catch {
      return;
    }
    for (const stream of set) {
      if (notice.t === 'open') {
        if (notice.socketId !== stream.id) stream.socket.close(1000, 'collision');
      } else if (notice.t === 'typing') {
        const activity = notice.activity;
        this.enqueue(stream, async () => this.send(stream, { activities: [activity] }));
      } else {
        const { seq, activity } = notice;
        this.enqueue(stream, async () => {
          if (seq <= stream.cursor) return;
          if (seq === stream.cursor + 1) this.deliver(stream, [{ seq, activity }]);
          else await this.catchUp(stream);
        });
      }
    }
  }

  private enqueue(stream: OpenStream, work: () => Promise<void>): void {
    stream.queue = stream.queue.then(work).catch((error: unknown) => {
      this.logger.warn({ msg: 'web chat stream failed; closing it (the client reconnects with its watermark)', error: (error as Error).message }, 'webchat');
      stream.socket.close(1011, 'server error');
    });
  }

  private async catchUp(stream: OpenStream): Promise<void> {
    for (;;) {
      const entries = await this.transcripts.since(stream.conversationId, stream.cursor);
      if (entries.length === 0) return;
      this.deliver(stream, entries);
    }
  }

  private deliver(stream: OpenStream, entries: TranscriptEntry[]): void {
    stream.cursor = entries[entries.length - 1].seq;
    this.send(stream, { activities: entries.map((e) => e.activity), watermark: String(stream.cursor) });
  }

  private send(stream: OpenStream, set: { activities: unknown[]; watermark?: string }): void {
    if (stream.socket.readyState === WebSocket.OPEN) stream.socket.send(JSON.stringify(set));
  }

  private sendKeepAlives(): void {
    for (const set of this.streams.values()) for (const s of set) if (s.socket.readyState === WebSocket.OPEN) s.socket.send('');
  }
}
