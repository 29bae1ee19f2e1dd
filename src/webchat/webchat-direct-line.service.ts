import { Injectable } from '@nestjs/common';
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { DirectLineActivity, toUserActivity } from '@app/gateways';
import type { UserActivity } from '@app/gateway-sdk';
import { AppLogger } from '../common/app-logger';
import { WebchatClock } from './webchat-clock';
import { DirectLineError } from './webchat-errors';
import { WebchatGatewayConfig } from './webchat-gateways.service';
import { WebchatIngest } from './webchat-ingest';
import { WebchatStreamsService } from './webchat-streams.service';
import { looksLikeToken, signToken, TokenClaims, verifyToken } from './webchat-tokens';
import { WebchatConversationRow, WebchatTranscriptRepository } from './webchat-transcript.repository';

/** Who is calling: the gateway's secret (a site's backend), or a token bound to one conversation (a browser). */
export type Caller = { kind: 'secret' } | { kind: 'token'; claims: TokenClaims };

/** A stream URL must be used within this time (Direct Line: 60 s). */
export const STREAM_TOKEN_SECONDS = 60;
const USER_ID = /^dl_[\w-]{8,100}$/;
const CHANNEL_ID = 'directline';

/** The user's side of the Direct Line protocol: tokens, conversations and activities, transport aside. */
@Injectable()
export class WebchatDirectLineService {
  constructor(
    private readonly transcripts: WebchatTranscriptRepository,
    private readonly streams: WebchatStreamsService,
    private readonly clock: WebchatClock,
    private readonly logger: AppLogger,
    private readonly ingest: WebchatIngest,
  ) {}

  /** Reads `Authorization: Bearer <secret or token>`. */
  authenticate(gateway: WebchatGatewayConfig, authorization: string | undefined): Caller {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    if (!match) throw new DirectLineError(401, 'Unauthorized', 'Authorization: Bearer <secret or token> is required');
    const credential = match[1];
    if (!looksLikeToken(credential)) {
      if (gateway.secrets.some((s) => safeEqual(s, credential))) return { kind: 'secret' };
      throw new DirectLineError(403, 'Forbidden', 'the secret or token is not valid for this web chat');
    }
    const check = verifyToken(credential, gateway.id, gateway.secrets, this.clock.now());
    if (!check.ok) {
      if (check.reason === 'expired') throw new DirectLineError(403, 'TokenExpired', 'the token has expired');
      throw new DirectLineError(403, 'Forbidden', 'the secret or token is not valid for this web chat');
    }
    if (check.claims.kind !== 'token') throw new DirectLineError(403, 'Forbidden', 'a stream token opens a WebSocket only');
    return { kind: 'token', claims: check.claims };
  }

  /** POST tokens/generate: a token for a new conversation, bound to `user.id` when given. Secret only. */
  async generate(gateway: WebchatGatewayConfig, caller: Caller, body: Record<string, unknown>): Promise<{ conversationId: string; token: string; expires_in: number }> {
    if (caller.kind !== 'secret') throw new DirectLineError(403, 'Forbidden', 'tokens/generate takes the secret, not a token');
    const user = readUser(body, true);
    const conversationId = newConversationId();
    await this.transcripts.create(conversationId, gateway.id, user?.id ?? null);
    return this.tokenFor(gateway, conversationId, user);
  }

  /** POST tokens/refresh: a new token for the same conversation and user, while the old one has not expired. */
  refresh(gateway: WebchatGatewayConfig, caller: Caller): { conversationId: string; token: string; expires_in: number } {
    if (caller.kind !== 'token') throw DirectLineError.badArgument('Authorization', 'tokens/refresh takes a token, not the secret');
    return this.tokenFor(gateway, caller.claims.conversationId, caller.claims.user);
  }

  /**
   * POST conversations. The secret starts a new conversation each time; a token starts its own conversation (201),
   * and again answers it without creating anything (200).
   */
  async start(gateway: WebchatGatewayConfig, caller: Caller, body: Record<string, unknown>, base: string): Promise<{ status: number; body: Record<string, unknown> }> {
    let conversationId: string;
    let user: { id: string; name?: string } | undefined;
    if (caller.kind === 'secret') {
      conversationId = newConversationId();
      await this.transcripts.create(conversationId, gateway.id, null);
    } else {
      conversationId = caller.claims.conversationId;
      user = caller.claims.user;
    }
    const conversation = await this.conversation(gateway, conversationId);
    const first = await this.transcripts.markStarted(conversationId);
    const token = caller.kind === 'token' ? this.reuse(gateway, caller.claims) : this.tokenFor(gateway, conversationId, undefined);
    // Direct Line tells the bot at once when the token names the user; otherwise on the user's first activity.
    if (first && user) await this.hand(gateway, { type: 'conversation_started', platformActivityId: `${conversationId}|start`, platformConversationId: conversationId, user: { ...user, ...(typeof body.locale === 'string' ? { locale: body.locale.slice(0, 35) } : {}) }, occurredAt: new Date(this.clock.now()) });
    return {
      status: first ? 201 : 200,
      body: { ...token, streamUrl: this.streamUrl(gateway, base, conversationId, conversation.lastSeq, user) },
    };
  }

  /** GET conversations/{id}?watermark=: a fresh stream URL, replaying after `watermark` (or only new activities). */
  async reconnect(gateway: WebchatGatewayConfig, caller: Caller, conversationId: string, watermark: string | undefined, base: string): Promise<Record<string, unknown>> {
    this.assertMine(caller, conversationId);
    const conversation = await this.conversation(gateway, conversationId);
    const after = watermark === undefined || watermark === '' ? conversation.lastSeq : parseWatermark(watermark);
    const user = caller.kind === 'token' ? caller.claims.user : undefined;
    const token = caller.kind === 'token' ? this.reuse(gateway, caller.claims) : this.tokenFor(gateway, conversationId, undefined);
    return { ...token, streamUrl: this.streamUrl(gateway, base, conversationId, after, user) };
  }

  /** GET conversations/{id}/activities?watermark=: what follows the watermark (typing is never stored). */
  async activities(gateway: WebchatGatewayConfig, caller: Caller, conversationId: string, watermark: string | undefined): Promise<{ activities: unknown[]; watermark: string }> {
    this.assertMine(caller, conversationId);
    await this.conversation(gateway, conversationId);
    const after = watermark === undefined || watermark === '' ? 0 : parseWatermark(watermark);
    const entries = await this.transcripts.since(conversationId, after);
    return { activities: entries.map((e) => e.activity), watermark: String(entries.length ? entries[entries.length - 1].seq : after) };
  }

  /**
   * POST conversations/{id}/activities: stamps the user's activity (id, timestamp, channel, conversation, the token's
   * user), puts it on the transcript (the echo Web Chat waits for) and hands it to the bot's side.
   */
  async post(gateway: WebchatGatewayConfig, caller: Caller, conversationId: string, activity: DirectLineActivity, fileIdOf: (url: string) => string | undefined): Promise<{ id: string }> {
    this.assertMine(caller, conversationId);
    const conversation = await this.conversation(gateway, conversationId);
    if (conversation.endedAt) throw new DirectLineError(403, 'ConversationEnded', 'the conversation has ended');
    const from = this.sender(caller, conversation, activity);
    const { id: _clientId, ...rest } = activity;
    const stamped: DirectLineActivity = {
      ...rest,
      channelId: CHANNEL_ID,
      conversation: { id: conversationId },
      from,
      timestamp: new Date(this.clock.now()).toISOString(),
    };
    if (stamped.type === 'typing') {
      stamped.id = `${conversationId}|t${randomBytes(6).toString('hex')}`;
      await this.streams.typing(conversationId, stamped);
    } else {
      const entry = await this.transcripts.append(conversationId, stamped);
      stamped.id = String(entry.activity.id);
      await this.streams.appended(conversationId, entry);
      if (stamped.type === 'endOfConversation') await this.transcripts.markEnded(conversationId);
    }
    const normalized = toUserActivity(stamped, fileIdOf);
    if (normalized) await this.hand(gateway, normalized);
    return { id: stamped.id };
  }

  /** Checks a conversation exists for the gateway (a file or token of one gateway never reaches another's). */
  async conversation(gateway: WebchatGatewayConfig, conversationId: string): Promise<WebchatConversationRow> {
    const conversation = await this.transcripts.find(conversationId);
    if (!conversation || conversation.gatewayId !== gateway.id) throw DirectLineError.notFound('no such conversation');
    return conversation;
  }

  assertMine(caller: Caller, conversationId: string): void {
    if (caller.kind === 'token' && caller.claims.conversationId !== conversationId) throw new DirectLineError(403, 'Forbidden', 'the token is for another conversation');
  }

  /** Mints a token bound to a conversation and, when given, a user. */
  tokenFor(gateway: WebchatGatewayConfig, conversationId: string, user: { id: string; name?: string } | undefined): { conversationId: string; token: string; expires_in: number } {
    const expiresAt = Math.floor(this.clock.now() / 1000) + gateway.tokenLifetimeSeconds;
    const token = signToken({ kind: 'token', gatewayId: gateway.id, conversationId, ...(user ? { user } : {}), expiresAt }, gateway.secrets[0]);
    return { conversationId, token, expires_in: gateway.tokenLifetimeSeconds };
  }

  /** The token as the caller holds it, re-signed unchanged (its expiry stays: only refresh extends it). */
  private reuse(gateway: WebchatGatewayConfig, claims: TokenClaims): { conversationId: string; token: string; expires_in: number } {
    return {
      conversationId: claims.conversationId,
      token: signToken(claims, gateway.secrets[0]),
      expires_in: Math.max(0, claims.expiresAt - Math.floor(this.clock.now() / 1000)),
    };
  }

  private streamUrl(gateway: WebchatGatewayConfig, base: string, conversationId: string, watermark: number, user: { id: string; name?: string } | undefined): string {
    const t = signToken(
      { kind: 'stream', gatewayId: gateway.id, conversationId, watermark, ...(user ? { user } : {}), expiresAt: Math.floor(this.clock.now() / 1000) + STREAM_TOKEN_SECONDS },
      gateway.secrets[0],
    );
    const ws = base.replace(/^http/, 'ws');
    return `${ws}/webchat/${gateway.id}/v3/directline/conversations/${encodeURIComponent(conversationId)}/stream?t=${encodeURIComponent(t)}`;
  }

  /** A user-bound token forces its user id on what is sent with it; otherwise the client's `from.id` stands. */
  private sender(caller: Caller, conversation: WebchatConversationRow, activity: DirectLineActivity): { id: string; name?: string; role: 'user' } {
    const bound = caller.kind === 'token' ? caller.claims.user : undefined;
    const id = bound?.id ?? conversation.userId ?? activity.from?.id;
    if (typeof id !== 'string' || id === '') throw DirectLineError.badArgument('from.id', 'is required');
    if (id.length > 200) throw DirectLineError.badArgument('from.id', 'has more than 200 characters');
    const name = typeof activity.from?.name === 'string' ? activity.from.name.slice(0, 200) : bound?.name;
    return { id, ...(name ? { name } : {}), role: 'user' };
  }

  private async hand(gateway: WebchatGatewayConfig, activity: UserActivity): Promise<void> {
    try {
      await this.ingest.receive(gateway.id, [activity]);
    } catch (error) {
      this.logger.warn({ msg: 'web chat activity not taken by the channel core', gatewayId: gateway.id, error: (error as Error).message }, 'webchat');
      throw new DirectLineError(502, 'BotRejectedActivity', 'the bot did not take the activity; send it again');
    }
  }
}

export function readUser(body: Record<string, unknown>, bound: boolean): { id: string; name?: string } | undefined {
  const user = body.user;
  if (user === undefined || user === null) return undefined;
  if (typeof user !== 'object' || Array.isArray(user)) throw DirectLineError.badArgument('user', 'must be an object');
  const { id, name } = user as { id?: unknown; name?: unknown };
  if (id === undefined) return undefined;
  if (typeof id !== 'string') throw DirectLineError.badArgument('user.id', 'must be a string');
  if (bound && !USER_ID.test(id)) throw DirectLineError.badArgument('user.id', 'a user id embedded in a token must start with dl_ and have 8 to 100 letters, digits, _ or - after it');
  if (name !== undefined && typeof name !== 'string') throw DirectLineError.badArgument('user.name', 'must be a string');
  return { id, ...(typeof name === 'string' && name !== '' ? { name: name.slice(0, 200) } : {}) };
}

export function newConversationId(): string {
  return randomBytes(16).toString('base64url');
}

export function newUserId(): string {
  return `dl_${randomBytes(16).toString('base64url')}`;
}

function parseWatermark(value: string): number {
  if (!/^\d{1,9}$/.test(value)) throw DirectLineError.badArgument('watermark', 'must be a watermark this service returned');
  return Number(value);
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
