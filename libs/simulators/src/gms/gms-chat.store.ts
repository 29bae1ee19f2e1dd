import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { GmsChatRequest, GmsChatSession, GmsChatState } from './gms-chat-session';
import { GmsTranscriptEvent } from './gms-protocol.types';
import { ResolvedGmsSimulatorOptions } from './gms-simulator.options';

/** Filter of `GmsChatStore.list`. */
export interface GmsChatFilter {
  state?: GmsChatState;
  queue?: string;
  serviceName?: string;
}

/**
 * Events emitted by the store, for tests and a future agent console:
 * `chat-created` (chat), `transcript-event` (chat, event), `chat-ended` (chat).
 */
export type GmsStoreEventName = 'chat-created' | 'transcript-event' | 'chat-ended';

/** 16 upper-case hex characters, the shape of userId and secureKey in GMS Chat API v2's example. */
export function gmsHexId(): string {
  return randomBytes(8).toString('hex').toUpperCase();
}

/** A small decimal string, the shape of the alias in GMS Chat API v2's example. */
export function gmsAlias(previous?: string): string {
  let alias: string;
  do alias = String(100 + Math.floor(Math.random() * 900));
  while (alias === previous);
  return alias;
}

/**
 * All chats in memory, and the one timer that drives flex-disconnect, inactivity control and clean-up. A single sweep
 * over the map costs far less than a timer per chat re-armed on every request at 10,000 requests per second.
 */
export class GmsChatStore {
  readonly events = new EventEmitter();
  private readonly chats = new Map<string, GmsChatSession>();
  private stopSweeping?: () => void;
  private readonly onEvent = (chat: GmsChatSession, event: GmsTranscriptEvent): void => {
    if (this.events.listenerCount('transcript-event') > 0) this.events.emit('transcript-event', chat, event);
  };

  constructor(private readonly options: ResolvedGmsSimulatorOptions) {
    this.events.setMaxListeners(0);
  }

  create(request: Omit<GmsChatRequest, 'chatId' | 'userId' | 'secureKey' | 'alias'>): GmsChatSession {
    let chatId = gmsHexId();
    while (this.chats.has(chatId)) chatId = gmsHexId();
    const clock = this.options.clock;
    const chat = new GmsChatSession({ ...request, chatId, userId: gmsHexId(), secureKey: gmsHexId(), alias: gmsAlias() }, this.onEvent, () => clock.now());
    this.chats.set(chatId, chat);
    this.events.emit('chat-created', chat);
    return chat;
  }

  get(chatId: string): GmsChatSession | undefined {
    return this.chats.get(chatId);
  }

  list(filter: GmsChatFilter = {}): GmsChatSession[] {
    const out: GmsChatSession[] = [];
    for (const chat of this.chats.values()) {
      if (filter.state && chat.state !== filter.state) continue;
      if (filter.queue && chat.queue !== filter.queue) continue;
      if (filter.serviceName && chat.serviceName !== filter.serviceName) continue;
      out.push(chat);
    }
    return out;
  }

  get size(): number {
    return this.chats.size;
  }

  /** Ends a chat and tells listeners; every path that ends a chat goes through here. */
  end(chat: GmsChatSession, reason: NonNullable<GmsChatSession['endReason']>): void {
    if (chat.isEnded) return;
    chat.end(reason);
    this.events.emit('chat-ended', chat);
  }

  /** Issues a new alias (and, when configured, a new userId and secureKey) every N responses. */
  countResponse(chat: GmsChatSession): void {
    const every = this.options.rotateAliasEvery;
    if (every <= 0) return;
    chat.responseCount++;
    if (chat.responseCount % every !== 0) return;
    chat.alias = gmsAlias(chat.alias);
    if (this.options.rotateCredentials) {
      chat.userId = gmsHexId();
      chat.secureKey = gmsHexId();
    }
  }

  start(): void {
    if (this.stopSweeping) return;
    // The clock's timers never keep a process alive: the simulator must not be what keeps a test running.
    this.stopSweeping = this.options.clock.every(this.options.sweepIntervalMs, () => this.sweep());
  }

  stop(): void {
    this.stopSweeping?.();
    this.stopSweeping = undefined;
  }

  clear(): void {
    this.chats.clear();
  }

  /** One pass over every chat: flex-disconnect, inactivity alert and close, and forgetting old ended chats. */
  sweep(now = this.options.clock.now()): void {
    const flexMs = this.options.flexDisconnectSeconds * 1000;
    const alertMs = this.options.timeoutAlertSeconds * 1000;
    const closeMs = this.options.timeoutCloseSeconds * 1000;
    const retentionMs = this.options.endedChatRetentionSeconds * 1000;
    for (const chat of this.chats.values()) {
      if (chat.isEnded) {
        if (now - (chat.endedAt ?? now) >= retentionMs) this.chats.delete(chat.chatId);
        continue;
      }
      if (flexMs > 0 && now - chat.lastClientRequestAt >= flexMs) {
        // flex-disconnect-timeout counts the time without requests, whatever the messages (GMS chat support).
        chat.clientGone = true;
        chat.leave(chat.client);
        this.end(chat, 'flex-disconnect');
        continue;
      }
      if (chat.state === 'waiting' && !this.options.inactivityWhileWaiting) continue;
      this.checkInactivity(chat, now, alertMs, closeMs);
    }
  }

  private checkInactivity(chat: GmsChatSession, now: number, alertMs: number, closeMs: number): void {
    if (alertMs > 0 && chat.inactivityAlertedAt === undefined) {
      if (now - chat.lastActivityAt < alertMs) return;
      const system = chat.systemParty(this.options.systemNickname);
      // The alert itself must not count as activity, or it would reset the countdown to the close.
      chat.append(system, 'Notice', { text: this.options.inactivityAlertMessage }, false);
      chat.inactivityAlertedAt = now;
      return;
    }
    if (closeMs <= 0) return;
    const closeCountdownFrom = alertMs > 0 ? (chat.inactivityAlertedAt ?? now) : chat.lastActivityAt;
    if (now - closeCountdownFrom < closeMs) return;
    const system = chat.systemParty(this.options.systemNickname);
    chat.append(system, 'Notice', { text: this.options.inactivityCloseMessage }, false);
    this.end(chat, 'inactivity');
  }
}
