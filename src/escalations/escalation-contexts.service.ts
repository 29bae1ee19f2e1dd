import { Injectable } from '@nestjs/common';
import {
  AttachmentRef,
  ChatGateway,
  EscalationContext,
  EscalationRequest,
  fetchLinkUnder,
  GatewayContext,
  GatewayError,
  HistoryEntry,
  LinkPolicy,
  OutboundHttpClient,
} from '@app/gateway-sdk';
import { EVERY_DOMAIN } from '../auth/domain-scope';
import { signalOnRead } from '../common/signal-on-read';
import { ConversationsRepository } from '../conversations/conversations.repository';
import { EscalationEntity, GatewayEntity } from '../database/entities';
import { GatewayContextFactory } from '../gateways/gateway-context.factory';
import { GatewayRegistry } from '../gateways/gateway-registry';
import { GatewaysService } from '../gateways/gateways.service';
import { AttachmentsRepository } from './attachments.repository';

/** Stands for a signal `contextFrom` makes on first read; never seen by a gateway. */
const NOT_MADE_YET = new AbortController().signal;
const MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024;
/** For a link a platform handed over (`fetchLink`), redirects included: the time handling a webhook has for its calls. */
const PLATFORM_LINK_TIMEOUT_MS = 30_000;
const USER_LINK_TIMEOUT_MS = 20_000;

/** What a gateway needs for a call about an escalation: its gateway, its context, the request to start it. */
@Injectable()
export class EscalationContexts {
  constructor(
    private readonly registry: GatewayRegistry,
    private readonly gateways: GatewaysService,
    private readonly contexts: GatewayContextFactory,
    private readonly conversations: ConversationsRepository,
    private readonly attachments: AttachmentsRepository,
    private readonly outbound: OutboundHttpClient,
  ) {}

  async gatewayOf(escalation: Pick<EscalationEntity, 'gatewayId'>): Promise<{ gateway: ChatGateway; entity: GatewayEntity }> {
    const entity = await this.gateways.get(escalation.gatewayId, EVERY_DOMAIN);
    return { gateway: this.registry.getEscalation(entity.type).gateway, entity };
  }

  context(entity: GatewayEntity, escalation: Pick<EscalationEntity, 'id'>, session: EscalationContext['session'], timeoutMs = 30_000): EscalationContext {
    return this.contextFrom(this.contexts.create(entity, timeoutMs), escalation, session);
  }

  /**
   * An escalation's context on a gateway context the caller already holds (its settings decrypted once). `signal` as
   * a function is called when the gateway first reads the context's signal, if it does.
   */
  contextFrom(base: GatewayContext, escalation: Pick<EscalationEntity, 'id'>, session: EscalationContext['session'], signal: AbortSignal | (() => AbortSignal) = base.signal): EscalationContext {
    // Spelled out rather than spread: this runs once per poll, thousands of times a second.
    const ctx: EscalationContext = {
      gatewayId: base.gatewayId,
      settings: base.settings,
      provisioning: base.provisioning,
      webhookUrl: base.webhookUrl,
      logger: base.logger,
      signal: typeof signal === 'function' ? NOT_MADE_YET : signal,
      tokens: base.tokens,
      http: base.http,
      escalationId: escalation.id,
      session,
      readAttachment: (ref) => this.readAttachment(escalation.id, ref),
      fetchLink: (url, maxBytes) => fetchLinkUnder(this.linkPolicy(PLATFORM_LINK_TIMEOUT_MS), url, maxBytes),
    };
    return typeof signal === 'function' ? signalOnRead(ctx, signal) : ctx;
  }

  /** What a gateway is told when it starts the escalation: the conversation, the user, attributes, history. */
  async requestOf(escalation: EscalationEntity): Promise<EscalationRequest> {
    const conversation = await this.conversations.identity(escalation.conversationId);
    return {
      escalationId: escalation.id,
      conversation,
      user: escalation.endUser,
      attributes: escalation.attributes,
      history: escalation.history as HistoryEntry[],
      queue: escalation.queue ?? undefined,
    };
  }

  /** The outbound policy for links from outside (platforms' files, users' attachment URLs). */
  private linkPolicy(timeoutMs: number): LinkPolicy {
    return { allowPrivateNetworks: this.outbound.policy.allowPrivateNetworks, resolve: this.outbound.policy.resolve, timeoutMs };
  }

  private async readAttachment(escalationId: string, ref: AttachmentRef): Promise<Buffer> {
    if (ref.id) {
      const content = await this.attachments.content(ref.id, escalationId);
      if (!content) throw new GatewayError('invalid_request', `attachment ${ref.id} is not stored`);
      return content;
    }
    if (!ref.url) throw new GatewayError('invalid_request', 'attachment has neither id nor url');
    // The link, each redirect and the addresses they resolve to are held to the outbound policy.
    const fetched = await fetchLinkUnder(this.linkPolicy(USER_LINK_TIMEOUT_MS), ref.url, MAX_ATTACHMENT_BYTES);
    if ('refused' in fetched) throw new GatewayError('invalid_request', `attachment ${fetched.refused}`);
    if (fetched.status < 200 || fetched.status >= 300) throw new GatewayError(fetched.status >= 500 ? 'transient' : 'invalid_request', `attachment download answered ${fetched.status}`);
    return fetched.content;
  }
}
