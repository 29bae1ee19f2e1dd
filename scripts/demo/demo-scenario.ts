import { AdminApiClient, EscalationInput } from './admin-api.client';
import { BotDelivery, BotPlatformReceiver } from './bot-platform.receiver';
import { DemoChecklist, DemoPlatform, DemoTimeline } from './demo-timeline';

/** What every scripted escalation gets from the runner. */
export interface ScenarioContext {
  api: AdminApiClient;
  receiver: BotPlatformReceiver;
  timeline: DemoTimeline;
  checklist: DemoChecklist;
  /** The domain both gateways belong to (its callback is the receiver). */
  domain: string;
  /** Makes the conversation ids of one run unique. */
  runId: string;
  serviceUrl: string;
}

/**
 * Waits for the bot platform to receive a conversation's events in order: each expectation looks only after the
 * event the previous one matched, so an event delivered out of order shows up as a missing step.
 */
export class BotExpectations {
  private cursor = 0;

  constructor(
    private readonly context: ScenarioContext,
    private readonly platform: DemoPlatform,
    private readonly conversationId: string,
  ) {}

  async next(type: string, options: { step?: string; where?: (delivery: BotDelivery) => boolean; timeoutMs?: number } = {}): Promise<BotDelivery> {
    const step = options.step ?? `${type} reached the bot`;
    return this.context.checklist.expect(
      this.platform,
      step,
      () => {
        const deliveries = this.context.receiver.of(this.conversationId);
        for (let i = this.cursor; i < deliveries.length; i++) {
          const delivery = deliveries[i];
          if (delivery.type === type && (!options.where || options.where(delivery))) {
            this.cursor = i + 1;
            return delivery;
          }
        }
        return undefined;
      },
      options.timeoutMs ?? 10_000,
    );
  }
}

/** The user every scripted escalation hands over, with the bot history and the attributes it passes. */
export function demoEscalation(domain: string, gatewayId: string, externalId: string, queue: string, topic: { intent: string; history: [string, string, string] }): EscalationInput {
  const start = Date.now() - 60_000;
  const at = (seconds: number) => new Date(start + seconds * 1000).toISOString();
  return {
    domain,
    gatewayId,
    conversation: { externalId, channel: 'webchat' },
    user: { firstName: 'Ada', lastName: 'Lovelace', name: 'Ada Lovelace', email: 'ada@example.com', phone: '+441234567890', language: 'en' },
    attributes: { Intent: topic.intent, CustomerTier: 'gold', Authenticated: 'yes' },
    history: [
      { author: 'user', text: topic.history[0], time: at(0) },
      { author: 'bot', text: topic.history[1], time: at(4) },
      { author: 'user', text: topic.history[2], time: at(9) },
    ],
    queue,
  };
}

export const quote = (text: string) => `"${text}"`;

export const pairs = (values: Record<string, string> | Array<{ key: string; value: string }>) =>
  (Array.isArray(values) ? values.map(({ key, value }) => [key, value]) : Object.entries(values)).map(([key, value]) => `${key}=${value}`).join(', ');
