import { Injectable } from '@nestjs/common';
import { settingText } from '@app/gateway-sdk';
import { TtlCache } from '../common/ttl-cache';
import { GatewayContextFactory } from '../gateways/gateway-context.factory';
import { GatewaysService } from '../gateways/gateways.service';
import { DirectLineError } from './webchat-errors';

/** A `webchat` gateway's settings as the Direct Line server uses them. */
export interface WebchatGatewayConfig {
  id: string;
  domainId: string;
  /** The current secret first, then the previous one while it is kept. */
  secrets: string[];
  bot: { id: string; name: string };
  allowedOrigins: string[];
  hostedPage: boolean;
  tokenLifetimeSeconds: number;
  maxAttachmentBytes: number;
  maxActivityChars: number;
}

/** Settings changes reach every API process within this period. */
const SETTINGS_TTL_MS = 5_000;

/** Finds deployed `webchat` gateways and reads their settings (decrypted once per period, not per request). */
@Injectable()
export class WebchatGatewaysService {
  private readonly cache = new TtlCache<WebchatGatewayConfig | null>(SETTINGS_TTL_MS);

  constructor(
    private readonly gateways: GatewaysService,
    private readonly contexts: GatewayContextFactory,
  ) {}

  /** The gateway, or a Direct Line 404 when no deployed web chat gateway has this id. */
  async get(gatewayId: string): Promise<WebchatGatewayConfig> {
    const config = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(gatewayId) ? await this.cache.get(gatewayId, () => this.load(gatewayId)) : null;
    if (!config) throw DirectLineError.notFound('no web chat here');
    return config;
  }

  private async load(gatewayId: string): Promise<WebchatGatewayConfig | null> {
    const [gateway] = await this.gateways.findMany([gatewayId]);
    if (!gateway || gateway.type !== 'webchat' || !gateway.deployed) return null;
    const { basic, configuration, additional } = this.contexts.settings(gateway);
    const secrets = [settingText(basic.directLineSecret), settingText(basic.previousSecret)].filter((s): s is string => !!s && s.length >= 32);
    return {
      id: gateway.id,
      domainId: gateway.domainId,
      secrets,
      bot: { id: settingText(basic.botId) ?? 'bot', name: settingText(basic.botName) ?? 'Bot' },
      allowedOrigins: (settingText(configuration.allowedOrigins) ?? '').split(/[\s,]+/).filter(Boolean).map((o) => o.replace(/\/$/, '')),
      hostedPage: configuration.hostedPage === true,
      tokenLifetimeSeconds: Number(additional.tokenLifetimeSeconds),
      maxAttachmentBytes: Number(additional.maxAttachmentBytes),
      maxActivityChars: Number(additional.maxActivityChars),
    };
  }
}
