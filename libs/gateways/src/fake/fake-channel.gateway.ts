import { createHmac, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  ChannelContext,
  ChannelGateway,
  ChatGatewayPlugin,
  ConnectionCheck,
  GatewayContext,
  GatewayDefinition,
  GatewayError,
  InboundActivities,
  InboundWebhook,
  OutboundActivity,
  SentActivity,
  toGatewayError,
  UnreachableReason,
  UserActivity,
  VerifiedWebhook,
} from '@app/gateway-sdk';
import { FAKE_CHANNEL_SETTINGS } from './fake-channel.settings';

interface FakeActivityBody {
  id: string;
  conversationId: string;
  type: UserActivity['type'];
  user: { id: string; name?: string };
  text?: string;
  attachments?: UserActivity['attachments'];
  value?: unknown;
  receipt?: UserActivity['receipt'];
  reachability?: UserActivity['reachability'];
  occurredAt: string;
}

const REASONS: UnreachableReason[] = ['blocked', 'not_installed', 'opted_out', 'invalid_recipient', 'window_closed', 'session_ended', 'unknown'];

/**
 * Scripted channel type for tests and demos (registered only when FAKE_GATEWAY_ENABLED), speaking JSON over HTTP to
 * the FakeChannelPlatform in libs/simulators. Its webhooks carry user activities already close to normalized form.
 */
@ChatGatewayPlugin()
@Injectable()
export class FakeChannelGateway implements ChannelGateway {
  readonly definition: GatewayDefinition & { kind: 'channel' } = {
    type: 'fake-channel',
    kind: 'channel',
    displayName: 'Fake channel (scripted, tests only)',
    description: 'A scripted messaging channel for tests and demos: no quick replies, so that refusals can be tested.',
    capabilities: ['typing', 'attachments', 'adaptive-cards', 'delivery-receipts', 'read-receipts', 'proactive', 'webhooks'],
    settings: FAKE_CHANNEL_SETTINGS,
  };

  async checkConnection(ctx: GatewayContext): Promise<ConnectionCheck> {
    try {
      const res = await ctx.http.fetch(`${this.base(ctx)}/health`, { signal: ctx.signal });
      return { ok: res.ok, detail: res.ok ? 'fake channel platform reachable' : `HTTP ${res.status}` };
    } catch (error) {
      return { ok: false, detail: (error as Error).message };
    }
  }

  /** With the setting `addressable`, a user id starting with "+" is an address (as an SMS number is). */
  addressOf(ctx: GatewayContext, userId: string): { platformConversationId: string; user: { id: string } } {
    if (ctx.settings.configuration.addressable !== true) throw new GatewayError('unreachable', 'this channel reaches only users it heard from', { unreachableReason: 'not_installed' });
    if (!userId.startsWith('+')) throw new GatewayError('unreachable', `'${userId}' is not an address of this channel`, { unreachableReason: 'invalid_recipient' });
    return { platformConversationId: `pc-${userId}`, user: { id: userId } };
  }

  async verifyWebhook(ctx: GatewayContext, request: InboundWebhook): Promise<VerifiedWebhook> {
    const given = Buffer.from(request.headers['x-fake-channel-signature'] ?? '', 'hex');
    const expected = createHmac('sha256', String(ctx.settings.basic.webhookSecret ?? '')).update(request.rawBody).digest();
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new GatewayError('auth_failed', 'bad x-fake-channel-signature');
    const first = this.parse(request).activities[0];
    return { eventId: first?.id ?? 'empty', platformConversationId: first?.conversationId ?? null };
  }

  async handleWebhook(_ctx: GatewayContext, request: InboundWebhook): Promise<InboundActivities> {
    const activities = this.parse(request).activities.map(
      (a): UserActivity => ({
        type: a.type,
        platformActivityId: a.id,
        platformConversationId: a.conversationId,
        user: a.user,
        occurredAt: new Date(a.occurredAt),
        ...(a.text !== undefined ? { text: a.text } : {}),
        ...(a.attachments ? { attachments: a.attachments } : {}),
        ...(a.value !== undefined ? { value: a.value } : {}),
        ...(a.receipt ? { receipt: a.receipt } : {}),
        ...(a.reachability ? { reachability: a.reachability } : {}),
        reference: { conversationId: a.conversationId },
      }),
    );
    return { activities };
  }

  async send(ctx: ChannelContext, activity: OutboundActivity): Promise<SentActivity> {
    let res: Response;
    try {
      res = await ctx.http.fetch(`${this.base(ctx)}/conversations/${encodeURIComponent(ctx.conversation.platformConversationId)}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messageId: ctx.messageId, activity }),
        signal: ctx.signal,
      });
    } catch (error) {
      throw toGatewayError(error);
    }
    const body = (await res.json().catch(() => ({}))) as { id?: string; reason?: string; retryAfterMs?: number; error?: string };
    if (res.ok) return { platformMessageId: body.id ?? null };
    if (res.status === 429) throw new GatewayError('rate_limited', body.error ?? 'rate limited', { status: 429, retryAfterMs: body.retryAfterMs });
    if (res.status === 403) {
      const reason = REASONS.includes(body.reason as UnreachableReason) ? (body.reason as UnreachableReason) : 'unknown';
      throw new GatewayError('unreachable', body.error ?? 'user unreachable', { status: 403, unreachableReason: reason });
    }
    throw new GatewayError(res.status >= 500 ? 'transient' : 'invalid_request', body.error ?? `HTTP ${res.status}`, { status: res.status });
  }

  private base(ctx: GatewayContext): string {
    return String(ctx.settings.basic.platformUrl).replace(/\/$/, '');
  }

  private parse(request: InboundWebhook): { activities: FakeActivityBody[] } {
    try {
      const body = JSON.parse(request.rawBody.toString('utf8')) as { activities?: FakeActivityBody[] };
      if (!Array.isArray(body.activities)) throw new Error('no activities');
      return { activities: body.activities };
    } catch (error) {
      throw new GatewayError('invalid_request', `not a fake channel delivery: ${(error as Error).message}`);
    }
  }
}
