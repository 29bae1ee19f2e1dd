import { AdminApiClient } from './admin-api.client';
import { BotDelivery } from './bot-platform.receiver';

/** The channel event types the demo's bot acts on (docs/channels.md). */
export const USER_MESSAGE = 'user_message';

/**
 * The demo's bot for web chat conversations: it answers what the user writes, hands the conversation to a person on
 * the GMS simulator when the user asks for one (with what was said so far as the history), and greets the user again
 * when the agent has closed and control is back with it. It answers through the bot API, with the event's id as the
 * Idempotency-Key, so an event delivered twice is answered once.
 */
export class DemoBot {
  private readonly history = new Map<string, Array<{ author: 'user' | 'bot'; text: string; time: string }>>();
  /** Conversations handed to an agent and not yet back: the agent answers there, and the service would refuse the bot. */
  private readonly withAgent = new Set<string>();
  /** What went wrong answering, for the demo's summary. */
  readonly problems: string[] = [];
  onSay?: (conversationId: string, text: string) => void;
  onEscalate?: (conversationId: string, escalationId: string) => void;

  constructor(
    private readonly api: AdminApiClient,
    private readonly domain: string,
    private readonly agentGatewayId: () => string | undefined,
  ) {}

  /** Called for every event the bot platform receives. */
  handle(delivery: BotDelivery): void {
    void this.react(delivery).catch((error: Error) => this.problems.push(`${delivery.type} #${delivery.seq}: ${error.message}`));
  }

  private async react(delivery: BotDelivery): Promise<void> {
    const id = delivery.conversationId;
    if (delivery.type === USER_MESSAGE && typeof delivery.data.text === 'string') {
      const text = delivery.data.text.trim();
      this.remember(id, 'user', text);
      if (this.withAgent.has(id)) return;
      if (/\b(agent|person|human)\b/i.test(text)) {
        const gatewayId = this.agentGatewayId();
        if (!gatewayId) return this.say(delivery, 'Nobody can take over in this demo right now, sorry.');
        await this.say(delivery, 'I am handing you to a person. Please wait a moment.');
        this.withAgent.add(id);
        const escalation = await this.api.expect<{ id: string }>(
          202,
          'POST',
          '/v1/escalations',
          {
            domain: this.domain,
            gatewayId,
            conversation: { id },
            user: { name: String(delivery.data.user?.name ?? 'Web chat user') },
            attributes: { Intent: 'talk-to-a-person', Channel: 'webchat' },
            history: this.history.get(id) ?? [],
            queue: 'cards',
          },
          { 'idempotency-key': `demo-bot-${delivery.id}` },
        );
        this.onEscalate?.(id, escalation.id);
        return;
      }
      return this.say(delivery, `You said "${text}". I am a demo bot: ask for an agent to talk to a person.`);
    }
    if (delivery.type === 'failed' && this.withAgent.delete(id)) {
      return this.say(delivery, 'Sorry, nobody could take over. The bot is still here.');
    }
    if (delivery.type === 'ended' && this.history.has(id)) {
      this.withAgent.delete(id);
      if (!delivery.data.controlReturnedToBot) return;
      return this.say(delivery, 'The bot again: the agent has closed the chat. Anything else I can do?');
    }
  }

  private async say(delivery: BotDelivery, text: string): Promise<void> {
    const id = delivery.conversationId;
    await this.api.expect(202, 'POST', `/v1/conversations/${id}/messages`, { text }, { 'idempotency-key': `demo-bot-${delivery.id}` });
    this.remember(id, 'bot', text);
    this.onSay?.(id, text);
  }

  private remember(conversationId: string, author: 'user' | 'bot', text: string): void {
    const entries = this.history.get(conversationId) ?? [];
    entries.push({ author, text: text.slice(0, 1000), time: new Date().toISOString() });
    this.history.set(conversationId, entries.slice(-20));
  }
}
