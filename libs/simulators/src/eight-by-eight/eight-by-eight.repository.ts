import { randomBytes } from 'node:crypto';
import { ChannelRecord, ConversationRecord, QueueAgentCounts, QueueRecord, WebhookRecord } from './eight-by-eight.model';

/** A queue given in the simulator's options. */
export interface QueueSeed {
  id: string;
  name?: string;
  agents?: Partial<QueueAgentCounts>;
}

/** A pre-signed download link of an attachment. */
export interface PresignedLink {
  conversationId: string;
  attachmentId: string;
  expiresAt: number;
  /** Where the storage sends a download instead (307), as object stores do for a moved object; set by tests. */
  redirectTo?: string;
}

const NO_AGENTS: QueueAgentCounts = { available: 0, busy: 0, wrapUp: 0, onBreak: 0, workingOffline: 0, loggedOut: 0 };

/**
 * The simulator's whole state, in memory and public, so an agent console (or a test) can read it directly.
 * Nothing here emits events: that is the conversation service's job.
 */
export class EightByEightRepository {
  readonly webhooks = new Map<string, WebhookRecord>();
  readonly channels = new Map<string, ChannelRecord>();
  readonly conversations = new Map<string, ConversationRecord>();
  readonly queues = new Map<string, QueueRecord>();
  readonly presignedLinks = new Map<string, PresignedLink>();

  constructor(private readonly queueSeeds: QueueSeed[] = []) {
    this.seedQueues();
  }

  /** An opaque id like 8x8's (`vXg39aMTRlq4xCBFaUCTlA`); 64 bytes give the 86-character attachment ids. */
  newId(bytes = 16): string {
    return randomBytes(bytes).toString('base64url');
  }

  /** The queue with this id, registered on first use unless the simulator only accepts known queues. */
  queue(id: string): QueueRecord {
    let queue = this.queues.get(id);
    if (!queue) {
      queue = { id, name: `Queue ${id}`, agents: { ...NO_AGENTS }, metricOverrides: {} };
      this.queues.set(id, queue);
    }
    return queue;
  }

  /** Changes a queue's name, agent counts or metric overrides (counts not given stay as they are). */
  setQueue(id: string, patch: { name?: string; agents?: Partial<QueueAgentCounts>; metrics?: Record<string, number> }): QueueRecord {
    const queue = this.queue(id);
    if (patch.name !== undefined) queue.name = patch.name;
    if (patch.agents) Object.assign(queue.agents, patch.agents);
    if (patch.metrics) Object.assign(queue.metricOverrides, patch.metrics);
    return queue;
  }

  reset(): void {
    this.webhooks.clear();
    this.channels.clear();
    this.conversations.clear();
    this.queues.clear();
    this.presignedLinks.clear();
    this.seedQueues();
  }

  private seedQueues(): void {
    for (const seed of this.queueSeeds) this.setQueue(seed.id, { name: seed.name, agents: seed.agents });
  }
}
