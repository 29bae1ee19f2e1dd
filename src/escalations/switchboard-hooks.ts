import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

/** Events an ingest stored in one channel conversation, as a module above escalations may act on them. */
export interface StoredEscalationEvents {
  conversationId: string;
  domainId: string;
  escalationId: string;
  events: { seq: number; type: string; data: Record<string, unknown> }[];
}

/** Work that may only run once the ingest committed (waking a sender); losing it must lose nothing. */
export type AfterCommit = () => Promise<void>;

/**
 * What escalations tells the channel side of the switchboard. Escalations sits below channels in the layers, so it
 * cannot import it: channels implements this and registers it at boot (`SwitchboardHooksRegistry.use`).
 */
export interface SwitchboardHooks {
  /**
   * In the ingest's transaction, before its commit (the conversations are locked): stores what the agent's events
   * send to the channel, so that it commits with them or not at all. Answers what to do after the commit. It must
   * not throw for anything a retry would not cure: the ingest would never commit.
   */
  escalationEventsStoring(em: EntityManager, stored: StoredEscalationEvents[]): Promise<AfterCommit | null>;
}

/** Holds the hooks channels registered; without them (a deployment without channels) nothing happens. */
@Injectable()
export class SwitchboardHooksRegistry {
  private hooks: SwitchboardHooks | null = null;

  use(hooks: SwitchboardHooks): void {
    this.hooks = hooks;
  }

  /** Only events of channel conversations come here: the ingest knows which those are from its lock, with no query. */
  async escalationEventsStoring(em: EntityManager, stored: StoredEscalationEvents[]): Promise<AfterCommit | null> {
    if (!this.hooks || !stored.length) return null;
    return this.hooks.escalationEventsStoring(em, stored);
  }
}
