import { Injectable } from '@nestjs/common';

/** Events an ingest stored in one conversation, as a module above escalations may act on them. */
export interface StoredEscalationEvents {
  conversationId: string;
  domainId: string;
  escalationId: string;
  events: { seq: number; type: string; data: Record<string, unknown> }[];
}

/**
 * What escalations tells the channel side of the switchboard. Escalations sits below channels in the layers, so it
 * cannot import it: channels implements this and registers it at boot (`SwitchboardHooksRegistry.use`).
 */
export interface SwitchboardHooks {
  /** After the commit of an ingest that stored events: the agent's messages, typing and files may go to a channel. */
  escalationEventsStored(stored: StoredEscalationEvents[]): Promise<void>;
}

/** Holds the hooks channels registered; without them (a deployment without channels) nothing happens. */
@Injectable()
export class SwitchboardHooksRegistry {
  private hooks: SwitchboardHooks | null = null;

  use(hooks: SwitchboardHooks): void {
    this.hooks = hooks;
  }

  async escalationEventsStored(stored: StoredEscalationEvents[]): Promise<void> {
    if (this.hooks && stored.length) await this.hooks.escalationEventsStored(stored);
  }
}
