import { Injectable } from '@nestjs/common';
import type { ChannelGateway, ChannelTemplate, GatewayCapability, TemplateMessage } from '@app/gateway-sdk';
import { toGatewayError } from '@app/gateway-sdk';
import { DomainError } from '../common/domain-error';
import { TtlCache } from '../common/ttl-cache';
import { GatewayContextFactory } from '../gateways/gateway-context.factory';
import { ChannelContexts } from './channel-contexts.service';
import { quietHoursOf, QuietHours, quietUntil } from './quiet-hours';

/** How long a gateway's template registry and quiet hours are reused: a new template is usable within a minute. */
const REGISTRY_CACHE_MS = 60_000;
const SETTINGS_CACHE_MS = 5_000;
const REGISTRY_TIMEOUT_MS = 10_000;

/**
 * What a channel lets the bot send and when: the service window (WhatsApp's 24 hours after the user's last message:
 * outside it, a template only), templates checked against the channel's registry before they are accepted, and a
 * gateway's quiet hours for proactive messages. One place for the bot API and the proactive API.
 */
@Injectable()
export class ChannelContentPolicy {
  private readonly registries = new TtlCache<ChannelTemplate[]>(REGISTRY_CACHE_MS);
  private readonly quiet = new TtlCache<QuietHours | null>(SETTINGS_CACHE_MS);

  constructor(
    private readonly channelContexts: ChannelContexts,
    private readonly contexts: GatewayContextFactory,
  ) {}

  /**
   * The template to send instead of free-form content, or none: refused up front (422 `template_required`) when the
   * window is closed and no template was given, and (400, naming the field) when the template is not in the channel's
   * registry as given. With the window open a template is sent only when asked for and there is no free-form content.
   */
  async templateFor(
    gateway: ChannelGateway,
    gatewayId: string,
    lastUserMessageAt: Date | null,
    request: { template?: TemplateMessage; hasContent: boolean },
    now = new Date(),
  ): Promise<TemplateMessage | undefined> {
    const capabilities: GatewayCapability[] = gateway.definition.capabilities;
    if (request.template && !capabilities.includes('templates')) {
      throw DomainError.validation([{ field: 'template', message: `this channel type has no templates (it lacks the capability 'templates')` }]);
    }
    const windowHours = capabilities.includes('service-window') ? (gateway.definition.serviceWindowHours ?? 24) : null;
    const open = windowHours === null || (lastUserMessageAt !== null && now.getTime() - lastUserMessageAt.getTime() < windowHours * 3_600_000);
    if (open && (request.hasContent || !request.template)) return undefined;
    if (!request.template) {
      throw new DomainError(
        'template_required',
        `The user has not written in the last ${windowHours} hours: outside the channel's service window only a template can be sent`,
        [{ field: 'template', message: 'required outside the service window' }],
      );
    }
    await this.checkTemplate(gateway, gatewayId, request.template);
    return request.template;
  }

  /** When a proactive message stored now may go (the end of the gateway's quiet hours), or null: at once. */
  async notBefore(gatewayId: string, now = new Date()): Promise<Date | null> {
    const quiet = await this.quiet.get(gatewayId, async () => {
      const entity = await this.channelContexts.entity(gatewayId);
      return entity ? quietHoursOf(this.contexts.settings(entity)) : null;
    });
    return quietUntil(quiet, now);
  }

  private async checkTemplate(gateway: ChannelGateway, gatewayId: string, template: TemplateMessage): Promise<void> {
    const registry = await this.registries.get(gatewayId, async () => {
      if (!gateway.listTemplates) return [];
      const entity = await this.channelContexts.entity(gatewayId);
      if (!entity) return [];
      try {
        return await gateway.listTemplates(this.contexts.create(entity, REGISTRY_TIMEOUT_MS));
      } catch (error) {
        throw new DomainError('gateway_unavailable', `The channel's template registry could not be read: ${toGatewayError(error).message}`);
      }
    });
    const named = registry.filter((t) => t.name === template.name);
    const found = named.find((t) => t.language === template.language);
    if (!found) {
      const languages = named.map((t) => t.language);
      throw DomainError.validation([
        named.length
          ? { field: 'template.language', message: `template '${template.name}' has no '${template.language}' version (it has ${languages.join(', ')})` }
          : { field: 'template.name', message: `no template '${template.name}' in the channel's registry` },
      ]);
    }
    if (found.status !== 'approved') throw DomainError.validation([{ field: 'template.name', message: `template '${template.name}' (${template.language}) is ${found.status}, not approved` }]);
    const given = template.parameters?.length ?? 0;
    if (given !== found.parameterCount) {
      throw DomainError.validation([{ field: 'template.parameters', message: `template '${template.name}' takes ${found.parameterCount} parameter(s), ${given} given` }]);
    }
    if ((template.buttonPayloads?.length ?? 0) > found.quickReplyButtons) {
      throw DomainError.validation([{ field: 'template.buttonPayloads', message: `template '${template.name}' has ${found.quickReplyButtons} quick-reply button(s)` }]);
    }
  }
}
