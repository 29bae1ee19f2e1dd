import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { verifyWebhook } from '@app/client';

/** One event as the bot platform received it (the delivery body the service signs). */
export interface BotDelivery {
  id: string;
  type: string;
  domain: string;
  conversationId: string;
  externalConversationId: string;
  escalationId: string | null;
  seq: number;
  occurredAt: string;
  data: Record<string, any>;
  receivedAt: number;
}

/**
 * The demo's bot platform: accepts only deliveries whose Standard Webhooks signature verifies with the domain's
 * secret (401 otherwise, so the service retries and the demo notices), keeps each event once, and reports it.
 */
export class BotPlatformReceiver {
  readonly deliveries: BotDelivery[] = [];
  /** Why deliveries were refused (bad signature, unreadable body). */
  readonly refused: string[] = [];
  onDelivery?: (delivery: BotDelivery) => void;
  private server?: Server;
  private readonly seen = new Set<string>();
  url = '';

  constructor(private readonly secret: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        let delivery: BotDelivery;
        try {
          delivery = verifyWebhook<BotDelivery>(this.secret, req.headers as Record<string, string>, Buffer.concat(chunks));
        } catch (error) {
          this.refused.push((error as Error).message);
          res.writeHead(401).end();
          return;
        }
        // A retry of an event already taken (our answer was lost) is acknowledged and not counted twice.
        if (!this.seen.has(delivery.id)) {
          this.seen.add(delivery.id);
          const received = { ...delivery, receivedAt: Date.now() };
          this.deliveries.push(received);
          this.onDelivery?.(received);
        }
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/bot/events`;
    return this.url;
  }

  of(conversationId: string): BotDelivery[] {
    return this.deliveries.filter((delivery) => delivery.conversationId === conversationId);
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server!.close(resolve));
    this.server = undefined;
  }
}

/** One readable line for a delivered event. */
export function describeDelivery(delivery: BotDelivery): string {
  const data = delivery.data ?? {};
  const agent = (value: any) => value?.displayName ?? value?.id ?? 'agent';
  const detail = (() => {
    switch (delivery.type) {
      case 'queued':
        return `queue ${data.queueName && data.queueName !== data.queueId ? `${data.queueName} (${data.queueId})` : (data.queueId ?? data.queueName ?? '?')}`;
      case 'agent_joined':
      case 'agent_left':
        return agent(data.agent);
      case 'agent_typing_started':
      case 'agent_typing_stopped':
        return data.agent ? agent(data.agent) : '';
      case 'agent_message':
        return `${data.agent ? `${agent(data.agent)}: ` : ''}"${data.text ?? ''}"${data.cards?.length ? ` + ${data.cards.length} card(s)` : ''}`;
      case 'attachment':
        return `${data.attachment?.name} (${data.attachment?.mimeType}, ${data.attachment?.size} bytes) at ${data.attachment?.url}`;
      case 'push_url':
        return data.url;
      case 'notice':
        return `"${data.text}"`;
      case 'transferred':
        return data.toQueueId ? `to ${data.toQueueId}` : '';
      case 'ended':
        return `by ${data.by}${data.reason ? ` (${data.reason})` : ''}; control back to the bot: ${data.controlReturnedToBot ? 'yes' : 'no'}`;
      case 'failed':
        return data.reason ?? '';
      case 'conversation_started':
        return `${data.channel ?? ''} ${data.user?.name ?? data.user?.id ?? ''}`.trim();
      case 'user_message':
        return `${data.user?.name ?? data.user?.id ?? 'user'}: "${data.text ?? ''}"${data.attachments?.length ? ` + ${data.attachments.length} file(s)` : ''}`;
      case 'user_reachability':
        return `${data.user?.name ?? data.user?.id ?? 'user'} ${data.reachable ? 'reachable' : `not reachable (${data.reason})`}`;
      case 'user_joined':
      case 'user_left':
      case 'user_typing':
        return data.user?.name ?? data.user?.id ?? '';
      case 'message_status':
        return `${data.author} message #${data.messageSeq} ${data.status}${data.reason ? ` (${data.reason})` : ''}`;
      default:
        return JSON.stringify(data);
    }
  })();
  return `#${delivery.seq} ${delivery.type}${detail ? `  ${detail}` : ''}`;
}
