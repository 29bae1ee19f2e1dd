import { createHash } from 'node:crypto';
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
  OutboundUrl,
  PlatformEvent,
  PlatformUpdate,
  SettingsValues,
  StartResult,
  toGatewayError,
  VerifiedWebhook,
} from '@app/gateway-sdk';
import { EightByEightSignatureVerifier } from './eight-by-eight-signature.verifier';
import { EightByEightClient, statusError } from './eight-by-eight.client';
import {
  followTransfers,
  isBareWebhookVerify,
  MAX_WEBHOOK_BYTES,
  parseWebhookBody,
  toAttachmentEvent,
  toCreateConversation,
  toSendMessage,
  translateWebhook,
  webhookConversationId,
  webhookOccurredAt,
} from './eight-by-eight.mapper';
import { provisionEightByEight } from './eight-by-eight.provisioner';
import { EIGHT_BY_EIGHT_SETTINGS, eightByEightOutboundUrls, jwkUrl, readEightByEightSettings } from './eight-by-eight.settings';

/**
 * Signing-key fetches per gateway and process: a few at once (a rotation, a retry), then one a minute. 8x8 rotates
 * rarely and a known key is cached for a day, so only made-up kids ever meet the bound.
 */
export const JWK_FETCHES = { burst: 3, refillMs: 60_000 };

/** Agent files larger than this are not fetched (the service would refuse to keep them anyway). */
export const MAX_AGENT_FILE_BYTES = 25 * 1024 * 1024;

/**
 * The 8x8 Contact Center Chat Gateway v1 (docs/gateways/8x8-chat-gateway.md). Push-based: 8x8 posts signed webhooks
 * that `verifyWebhook` checks and `handleWebhook` turns into normalized events. HTTP is in the client, translation in
 * the mapper, deploy-time setup in the provisioner.
 */
@ChatGatewayPlugin()
@Injectable()
export class EightByEightGateway implements ChatGateway {
  readonly definition: GatewayDefinition = {
    type: '8x8-chat-gateway',
    kind: 'escalation',
    displayName: '8x8 Contact Center (Chat Gateway)',
    description: 'Hands conversations to 8x8 Contact Center agents through the Chat Gateway v1 API and its signed webhooks.',
    capabilities: ['typing', 'attachments', 'adaptive-cards', 'queue-transfer', 'agent-availability', 'hand-back', 'webhooks'],
    settings: EIGHT_BY_EIGHT_SETTINGS,
    // 8x8 documents neither its delivery order nor its retry intervals; a retried event can overtake the next one.
    // A second's hold lets the service put such pairs back in platform-time order at little cost to chat latency.
    inboundReorderWindowMs: 1000,
  };

  outboundUrls(settings: SettingsValues): OutboundUrl[] {
    return eightByEightOutboundUrls(settings);
  }

  async checkConnection(ctx: GatewayContext): Promise<ConnectionCheck> {
    try {
      const settings = readEightByEightSettings(ctx.settings, ctx.gatewayId);
      await new EightByEightClient(settings, ctx).listWebhooks(0, 1);
      return { ok: true, detail: `8x8 Chat Gateway reachable at ${settings.baseUrl}; API key and tenant accepted` };
    } catch (error) {
      const failure = toGatewayError(error);
      if (failure.code === 'auth_failed') return { ok: false, detail: `8x8 refused the credentials: ${failure.message}` };
      if (failure.code === 'transient') return { ok: false, detail: `8x8 unreachable: ${failure.message}` };
      return { ok: false, detail: failure.message };
    }
  }

  async deploy(ctx: GatewayContext): Promise<Record<string, unknown>> {
    const settings = readEightByEightSettings(ctx.settings, ctx.gatewayId);
    return { ...(await provisionEightByEight(new EightByEightClient(settings, ctx), settings, ctx.webhookUrl, ctx.logger)) };
  }

  async checkAvailability(ctx: GatewayContext, queue: string | undefined): Promise<{ available: boolean; agents?: number }> {
    const settings = readEightByEightSettings(ctx.settings, ctx.gatewayId);
    const queueId = queue ?? settings.defaultQueueId;
    // The client id may be the API key: it goes into the cache key only as a digest.
    const account = createHash('sha256').update(`${settings.metricsClientId}:${settings.tenantId ?? ''}`).digest('base64url').slice(0, 22);
    const cacheKey = `8x8:availability:${settings.metricsBaseUrl}:${account}:${queueId}`;
    const cached = settings.availabilityRefreshSeconds > 0 ? ctx.tokens.get(cacheKey) : undefined;
    if (cached) return JSON.parse(cached.token) as { available: boolean; agents: number };
    const agents = await new EightByEightClient(settings, ctx).availableAgents(queueId);
    const answer = { available: agents > 0, agents };
    if (settings.availabilityRefreshSeconds > 0) ctx.tokens.set(cacheKey, JSON.stringify(answer), Date.now() + settings.availabilityRefreshSeconds * 1000);
    return answer;
  }

  async startEscalation(ctx: EscalationContext, request: EscalationRequest): Promise<StartResult> {
    const settings = readEightByEightSettings(ctx.settings, ctx.gatewayId);
    const client = new EightByEightClient(settings, ctx);
    const queueId = request.queue ?? settings.defaultQueueId;
    const events: PlatformEvent[] = [];
    if (settings.checkAgentAvailability && !(await this.anyoneAvailable(ctx, queueId))) {
      if (settings.noAgentsBehaviour === 'reject') throw new GatewayError('no_agents_available', `No 8x8 agent is available in queue ${queueId}`);
      events.push({ type: 'notice', key: `start:${request.escalationId}:no-agents`, occurredAt: new Date(), data: { text: `No agent is available in queue ${queueId} right now; waiting in the queue.` } });
    }
    const channelId = settings.channelId ?? stringOrUndefined(ctx.provisioning.channelId);
    if (!channelId) throw new GatewayError('invalid_request', 'No 8x8 channel: deploy the gateway or set the Channel ID');
    const mapped = toCreateConversation(request, { channelId, queueId });
    mapped.warnings.forEach((warning) => ctx.logger.warn(`8x8 hand-over: ${warning}`, { escalationId: request.escalationId }));
    const conversationId = await client.createConversation(mapped.body);
    if (settings.transferBackOnAgentClose) await this.arrangeHandBack(ctx, client, conversationId, channelId);
    return { session: { conversationId }, platformConversationId: conversationId, events };
  }

  async sendMessage(ctx: EscalationContext, message: OutboundMessage): Promise<PlatformUpdate> {
    const { client, conversationId } = this.open(ctx);
    const attachmentIds: string[] = [];
    for (const ref of message.attachments ?? []) {
      const content = await ctx.readAttachment(ref).catch((error: unknown) => Promise.reject(toGatewayError(error)));
      attachmentIds.push(await client.uploadAttachment(conversationId, { name: ref.name, mimeType: ref.mimeType, content }));
    }
    const mapped = toSendMessage(message, attachmentIds);
    mapped?.warnings.forEach((warning) => ctx.logger.warn(`8x8 message: ${warning}`, { messageId: message.id }));
    if (!mapped) {
      ctx.logger.warn('8x8 message: nothing 8x8 can carry is left; not sent', { messageId: message.id });
      return { events: [] };
    }
    await client.sendMessage(conversationId, mapped.body);
    return { events: [] };
  }

  /** 8x8 has a typing signal but no "stopped typing" one: the agent's indicator lapses by itself. */
  async sendTyping(ctx: EscalationContext, typing: boolean): Promise<PlatformUpdate> {
    if (!typing) return { events: [] };
    const { client, conversationId } = this.open(ctx);
    await client.sendTyping(conversationId);
    return { events: [] };
  }

  async endEscalation(ctx: EscalationContext): Promise<PlatformUpdate> {
    const { client, conversationId } = this.open(ctx);
    try {
      await client.removeUser(conversationId);
    } catch (error) {
      // Already gone on 8x8's side is what ending wanted.
      if (!(error instanceof GatewayError && error.code === 'session_gone')) throw error;
      ctx.logger.debug('8x8 conversation already gone when the user left', { conversationId });
    }
    return { events: [] };
  }

  /** Re-routes a waiting conversation; 8x8 confirms with CONVERSATION_UPDATE and QUEUED webhooks. */
  async transferEscalation(ctx: EscalationContext, queue: string): Promise<PlatformUpdate> {
    const { client, conversationId } = this.open(ctx);
    await client.patchConversation(conversationId, { assignment: { type: 'queue', id: queue } });
    return { events: [] };
  }

  async verifyWebhook(ctx: GatewayContext, request: InboundWebhook): Promise<VerifiedWebhook> {
    const settings = readEightByEightSettings(ctx.settings, ctx.gatewayId);
    const headers = lowerCaseHeaders(request.headers);
    if (request.rawBody.length > MAX_WEBHOOK_BYTES) throw new GatewayError('invalid_request', `8x8 webhook body of ${request.rawBody.length} bytes is too large`);
    const parsed = parseWebhookBody(request.rawBody);
    if (!headers['x-8x8-signature']) {
      // Only the bare endpoint-verification hello may come unsigned; it carries nothing to act on.
      if ('body' in parsed && isBareWebhookVerify(parsed.body)) {
        return { eventId: headers['x-8x8-event-id'] ?? `web-hook-verify:${request.receivedAt.getTime()}`, platformConversationId: null, occurredAt: request.receivedAt };
      }
      throw new GatewayError('auth_failed', '8x8 webhook refused: the webhook carries no x-8x8-signature', { status: 401 });
    }
    const client = new EightByEightClient(settings, ctx);
    const verifier = new EightByEightSignatureVerifier({
      tokens: ctx.tokens,
      jwkUrl: (kid) => jwkUrl(settings, kid),
      fetchJwk: (url) => client.fetchJwk(url),
      tenantId: settings.tenantId,
      maxAgeSeconds: settings.maxWebhookAgeSeconds,
      keyFetches: { key: `8x8:jwk-fetches:${ctx.gatewayId}`, ...JWK_FETCHES },
    });
    const delivery = await verifier.verify(headers, request.rawBody, request.receivedAt);
    if ('problem' in parsed) {
      ctx.logger.warn(`8x8 webhook accepted but unreadable: ${parsed.problem}`, { eventId: delivery.eventId });
      return { eventId: delivery.eventId, platformConversationId: null, occurredAt: request.receivedAt };
    }
    return { eventId: delivery.eventId, platformConversationId: webhookConversationId(parsed.body), occurredAt: webhookOccurredAt(parsed.body, request.receivedAt) };
  }

  async handleWebhook(ctx: EscalationContext, request: InboundWebhook): Promise<PlatformUpdate> {
    const headers = lowerCaseHeaders(request.headers);
    const eventId = headers['x-8x8-event-id'];
    const parsed = parseWebhookBody(request.rawBody);
    if ('problem' in parsed || !eventId) {
      ctx.logger.warn(`8x8 webhook skipped: ${'problem' in parsed ? parsed.problem : 'no x-8x8-event-id'}`);
      return { events: [] };
    }
    const conversationId = webhookConversationId(parsed.body);
    const expected = stringOrUndefined(ctx.session?.conversationId);
    if (conversationId && expected && conversationId !== expected) {
      ctx.logger.warn('8x8 webhook skipped: it is about another conversation', { eventId, conversationId, expected });
      return { events: [] };
    }
    const translation = translateWebhook(parsed.body, eventId, request.receivedAt);
    if (translation.ignored) ctx.logger[translation.ignored.level](`8x8 webhook ignored: ${translation.ignored.reason}`, { eventId });
    const events = [...translation.events];
    for (const item of translation.attachments) {
      // Network failures propagate as transient so the stored delivery is handled again; refusals skip the file.
      const download = await agentFile(ctx, item.url);
      if ('refused' in download) ctx.logger.warn(`8x8 agent file ${item.fileName} not fetched: ${download.refused}`, { eventId });
      else events.push(toAttachmentEvent(item, download.content, download.mimeType));
    }
    // The service hands the session on from one webhook to the next, so the flag sees the deliveries in order.
    const pending = ctx.session?.transferPending === true;
    const followed = followTransfers(parsed.body, events, eventId, pending);
    return followed.transferPending === pending ? { events: followed.events } : { events: followed.events, session: { transferPending: followed.transferPending } };
  }

  /** Availability fails open: a broken metrics API must not stop hand-overs the platform itself would accept. */
  private async anyoneAvailable(ctx: EscalationContext, queueId: string): Promise<boolean> {
    try {
      return (await this.checkAvailability(ctx, queueId)).available;
    } catch (error) {
      ctx.logger.warn(`8x8 availability unknown, escalating anyway: ${(error as Error).message}`, { queueId });
      return true;
    }
  }

  /**
   * Asks 8x8 to hand the conversation back to our webhook when the agent closes (post-agent assignment). The
   * conversation already exists, so a failure here is logged, not thrown: a retry of startEscalation would open a
   * second conversation, while without the hand-back the close still arrives as an idle conversation.
   */
  private async arrangeHandBack(ctx: EscalationContext, client: EightByEightClient, conversationId: string, channelId: string): Promise<void> {
    try {
      const webhookId = stringOrUndefined(ctx.provisioning.webhookId) ?? (await client.getChannel(channelId)).webHookId;
      if (!webhookId) throw new GatewayError('invalid_request', 'no webhook id known for the channel');
      await client.postAgentAssignment(conversationId, webhookId);
    } catch (error) {
      ctx.logger.error(`8x8 hand-back after the agent could not be arranged: ${(error as Error).message}`, { conversationId });
    }
  }

  private open(ctx: EscalationContext): { client: EightByEightClient; conversationId: string } {
    const conversationId = stringOrUndefined(ctx.session?.conversationId);
    if (!conversationId) throw new GatewayError('session_gone', 'No 8x8 conversation for this escalation');
    return { client: new EightByEightClient(readEightByEightSettings(ctx.settings, ctx.gatewayId), ctx), conversationId };
  }
}

function lowerCaseHeaders(headers: Record<string, string | undefined>): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), Array.isArray(value) ? value.join(',') : value]));
}

function stringOrUndefined(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/**
 * An agent's file from the pre-signed link in 8x8's webhook, through the service's `fetchLink` (the link is the
 * credential: nothing of ours goes with it; the outbound policy holds for it and its redirects), or why it was not
 * taken. A storage failure (5xx, 429) throws, so that the delivery is handled again.
 */
async function agentFile(ctx: EscalationContext, url: string): Promise<{ content: Buffer; mimeType?: string } | { refused: string }> {
  const fetched = await ctx.fetchLink(url, MAX_AGENT_FILE_BYTES);
  if ('refused' in fetched) return fetched;
  const { status } = fetched;
  if (status === 429 || status >= 500) throw statusError(status, fetched.retryAfter ?? null, `attachment download: 8x8's storage answered ${status}`, 'account');
  // An expired (403) or vanished (404) link will not come back by retrying.
  if (status < 200 || status >= 300) return { refused: `HTTP ${status}` };
  return { content: fetched.content, mimeType: fetched.mimeType };
}
