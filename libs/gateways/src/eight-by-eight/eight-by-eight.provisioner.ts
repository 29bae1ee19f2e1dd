import { GatewayError, GatewayLogger } from '@app/gateway-sdk';
import { CHAT_GATEWAY_VERSION, ChannelResource, EightByEightClient, HalPage, WebhookResource } from './eight-by-eight.client';
import { EightByEightSettings } from './eight-by-eight.settings';

/** What deploy keeps: the webhook 8x8 posts to and the channel conversations are created on. */
export interface EightByEightProvisioning {
  webhookId: string | null;
  channelId: string;
}

const PAGE_SIZE = 100;
/** 5,000 webhooks or channels on one account is already far past anything real; stop reading there. */
const MAX_PAGES = 50;

/**
 * Deploy-time setup (webhook, then channel, as in 8x8's chat workflow guide), idempotent: the webhook is found by its
 * URI (this gateway's webhook URL) or by its name, the channel by its name, and both are corrected in place when they
 * drifted (new service URL, other queue) instead of being duplicated. Creating or re-pointing a webhook makes 8x8 POST
 * WEB_HOOK_VERIFY to the URL, which the service must already answer.
 */
export async function provisionEightByEight(
  client: EightByEightClient,
  settings: EightByEightSettings,
  webhookUrl: string,
  logger: GatewayLogger,
): Promise<EightByEightProvisioning> {
  if (!settings.provisionOnDeploy) {
    if (!settings.channelId) throw new GatewayError('invalid_request', 'Provisioning on deploy is off, so the Channel ID must be set');
    const channel = await client.getChannel(settings.channelId);
    return { webhookId: channel.webHookId ?? null, channelId: channel.id ?? settings.channelId };
  }
  const webhook = await ensureWebhook(client, settings, webhookUrl, logger);
  if (settings.channelId) {
    const channel = await client.getChannel(settings.channelId);
    if (channel.webHookId !== webhook.id) {
      logger.warn('the configured 8x8 channel sends its events to another webhook; they reach this gateway only if that webhook forwards them', {
        channelId: settings.channelId,
        channelWebhookId: channel.webHookId,
        webhookId: webhook.id,
      });
    }
    return { webhookId: webhook.id, channelId: settings.channelId };
  }
  const channel = await ensureChannel(client, settings, webhook.id, logger);
  return { webhookId: webhook.id, channelId: channel.id };
}

async function ensureWebhook(client: EightByEightClient, settings: EightByEightSettings, uri: string, logger: GatewayLogger): Promise<WebhookResource> {
  const webhooks = await listAll((page, size) => client.listWebhooks(page, size));
  const byUri = webhooks.find((webhook) => webhook.uri === uri);
  if (byUri) {
    const version = byUri.version ?? (byUri as { notificationVersion?: string }).notificationVersion;
    if (version === undefined || version === CHAT_GATEWAY_VERSION) return byUri;
    logger.info('8x8 webhook uses another event version; switching it to Chat Gateway v1.0', { webhookId: byUri.id });
    return client.updateWebhook(byUri.id, { name: byUri.name ?? settings.webhookName, uri });
  }
  const byName = webhooks.find((webhook) => webhook.name === settings.webhookName);
  if (byName) {
    logger.info('8x8 webhook found by name points elsewhere; re-pointing it at this gateway', { webhookId: byName.id });
    return client.updateWebhook(byName.id, { name: settings.webhookName, uri });
  }
  const created = await client.createWebhook({ name: settings.webhookName, uri });
  logger.info('8x8 webhook created', { webhookId: created.id });
  return created;
}

async function ensureChannel(client: EightByEightClient, settings: EightByEightSettings, webhookId: string, logger: GatewayLogger): Promise<ChannelResource> {
  const channels = (await listAll((page, size) => client.listChannels(page, size))).filter(
    (channel) => channel.name === settings.channelName && (channel.type ?? 'ChatAPI') === 'ChatAPI',
  );
  const existing = channels.find((channel) => channel.webHookId === webhookId) ?? channels[0];
  const input = { name: settings.channelName, webHookId: webhookId, queueId: settings.defaultQueueId };
  if (!existing) {
    const created = await client.saveChannel(undefined, input);
    logger.info('8x8 channel created', { channelId: created.id });
    return created;
  }
  if (existing.webHookId === webhookId && existing.routingOptions?.id === settings.defaultQueueId) return existing;
  logger.info('8x8 channel updated to this webhook and default queue', { channelId: existing.id });
  const updated = await client.saveChannel(existing.id, input);
  return { ...updated, id: updated.id ?? existing.id };
}

async function listAll<T>(list: (page: number, size: number) => Promise<HalPage<T>>): Promise<T[]> {
  const all: T[] = [];
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await list(page, PAGE_SIZE);
    all.push(...result.items);
    if (result.items.length === 0 || page + 1 >= result.totalPages) break;
  }
  return all;
}
