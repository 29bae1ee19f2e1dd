import { createHmac, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  ChatGateway,
  ChatGatewayPlugin,
  ConnectionCheck,
  EscalationContext,
  EscalationRequest,
  GatewayContext,
  GatewayDefinition,
  GatewayError,
  InboundWebhook,
  OutboundMessage,
  PlatformEvent,
  PlatformUpdate,
  SettingsValues,
  StartResult,
  toGatewayError,
  VerifiedWebhook,
} from '@app/gateway-sdk';
import { FAKE_SETTINGS } from './fake.settings';

interface FakeEvent {
  index: number;
  type: string;
  data: Record<string, unknown>;
  at: number;
}

const KIND_TO_ERROR: Record<string, GatewayError['code']> = {
  transient: 'transient',
  auth: 'auth_failed',
  no_agents: 'no_agents_available',
  gone: 'session_gone',
  invalid: 'invalid_request',
};

/**
 * Scripted gateway type for tests and demos (registered only when FAKE_GATEWAY_ENABLED). It talks JSON over HTTP
 * to the FakePlatform in libs/simulators, whose events are already in normalized form.
 */
@ChatGatewayPlugin()
@Injectable()
export class FakeGateway implements ChatGateway {
  readonly definition: GatewayDefinition = {
    type: 'fake',
    kind: 'escalation',
    displayName: 'Fake (scripted, tests only)',
    description: 'A scripted escalation platform for tests and demos.',
    capabilities: ['typing', 'attachments', 'queue-transfer', 'polling', 'webhooks'],
    settings: FAKE_SETTINGS,
  };

  async checkConnection(ctx: GatewayContext): Promise<ConnectionCheck> {
    try {
      await this.call(ctx, 'GET', '/health');
      return { ok: true, detail: 'fake platform reachable' };
    } catch (error) {
      return { ok: false, detail: (error as Error).message };
    }
  }

  pollIntervalMs(settings: SettingsValues): number {
    return Number(settings.additional.pollIntervalMs ?? 200);
  }

  async startEscalation(ctx: EscalationContext, request: EscalationRequest): Promise<StartResult> {
    const queue = request.queue ?? String(ctx.settings.configuration.escalationQueue ?? 'default');
    const body = await this.call(ctx, 'POST', '/sessions', { ...request, queue });
    return { session: { sessionId: String(body.sessionId) }, platformConversationId: String(body.sessionId), cursor: '0', events: [] };
  }

  async sendMessage(ctx: EscalationContext, message: OutboundMessage): Promise<PlatformUpdate> {
    const attachments = [];
    for (const ref of message.attachments ?? []) {
      attachments.push({ name: ref.name, mimeType: ref.mimeType, base64: (await ctx.readAttachment(ref)).toString('base64') });
    }
    await this.op(ctx, 'message', { id: message.id, text: message.text, cards: message.cards, attachments });
    return { events: [] };
  }

  async sendTyping(ctx: EscalationContext, typing: boolean): Promise<PlatformUpdate> {
    await this.op(ctx, 'typing', { typing });
    return { events: [] };
  }

  async endEscalation(ctx: EscalationContext): Promise<PlatformUpdate> {
    await this.op(ctx, 'end', {});
    return { events: [] };
  }

  async transferEscalation(ctx: EscalationContext, queue: string): Promise<PlatformUpdate> {
    await this.op(ctx, 'transfer', { queue });
    return { events: [] };
  }

  async poll(ctx: EscalationContext, cursor: string | null): Promise<PlatformUpdate> {
    const body = await this.op(ctx, 'poll', { cursor: Number(cursor ?? 0) });
    const events = (body.events as FakeEvent[]).map((e) => this.toEvent(e));
    return { cursor: String(body.cursor), events };
  }

  /** Pushed events: `{eventId, sessionId, event: {index, type, data, at}}`, HMAC-SHA256 of the body with the API token. */
  async verifyWebhook(ctx: GatewayContext, request: InboundWebhook): Promise<VerifiedWebhook> {
    const token = ctx.settings.basic.apiToken as string | undefined;
    if (token) {
      const given = Buffer.from(request.headers['x-fake-signature'] ?? '', 'hex');
      const expected = createHmac('sha256', token).update(request.rawBody).digest();
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new GatewayError('auth_failed', 'bad x-fake-signature');
    }
    const body = this.parsePush(request);
    return { eventId: body.eventId, platformConversationId: body.sessionId, occurredAt: new Date(body.event.at) };
  }

  async handleWebhook(_ctx: EscalationContext, request: InboundWebhook): Promise<PlatformUpdate> {
    return { events: [this.toEvent(this.parsePush(request).event)] };
  }

  private parsePush(request: InboundWebhook): { eventId: string; sessionId: string; event: FakeEvent } {
    try {
      const body = JSON.parse(request.rawBody.toString('utf8'));
      if (typeof body.eventId !== 'string' || typeof body.sessionId !== 'string' || typeof body.event?.type !== 'string') throw new Error('missing fields');
      return body;
    } catch (error) {
      throw new GatewayError('invalid_request', `not a fake platform event: ${(error as Error).message}`);
    }
  }

  private toEvent(e: FakeEvent): PlatformEvent {
    const data = { ...e.data } as Record<string, unknown>;
    if (e.type === 'attachment') {
      const file = data.attachment as { name: string; mimeType: string; base64: string };
      const content = Buffer.from(file.base64, 'base64');
      data.attachment = { name: file.name, mimeType: file.mimeType, size: content.length, content };
    }
    return { type: e.type, key: `idx:${e.index}`, occurredAt: new Date(e.at), data } as PlatformEvent;
  }

  private async op(ctx: EscalationContext, operation: string, body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const sessionId = ctx.session?.sessionId;
    if (!sessionId) throw new GatewayError('session_gone', 'no platform session');
    return this.call(ctx, 'POST', `/sessions/${sessionId}/${operation}`, body);
  }

  private async call(ctx: GatewayContext, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
    const base = String(ctx.settings.basic.platformUrl).replace(/\/$/, '');
    let res: Response;
    try {
      res = await ctx.http.fetch(base + path, {
        method,
        headers: { 'content-type': 'application/json', ...(ctx.settings.basic.apiToken ? { authorization: `Bearer ${ctx.settings.basic.apiToken}` } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: ctx.signal,
      });
    } catch (error) {
      throw toGatewayError(error);
    }
    const text = await res.text();
    const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (!res.ok) {
      const code = KIND_TO_ERROR[String(parsed.kind)] ?? (res.status >= 500 ? 'transient' : 'invalid_request');
      throw new GatewayError(code, String(parsed.message ?? `HTTP ${res.status}`), { status: res.status });
    }
    return parsed;
  }
}
