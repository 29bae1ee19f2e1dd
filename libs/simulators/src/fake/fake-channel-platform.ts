import { createHmac, randomUUID } from 'node:crypto';
import { Server } from 'node:http';
import { close, HttpError, listen, send, SimulatorRouter } from '../http/simulator-http';

/** A scripted failure of the next sends. */
export type FakeChannelFault =
  | { kind: 'transient'; count: number }
  | { kind: 'rate_limited'; count: number; retryAfterMs: number }
  | { kind: 'unreachable'; count: number; reason: string };

/** One send request as the platform received it (every attempt, repeats included). */
export interface FakeChannelSend {
  conversationId: string;
  /** The service's outbound message id (its idempotency key). */
  messageId: string | null;
  activity: Record<string, unknown>;
  /** The platform's id answered, null when the send was refused. */
  platformMessageId: string | null;
  at: number;
}

/** A user activity as the fake platform pushes it to the service's webhook. */
export interface FakeUserActivity {
  id?: string;
  conversationId: string;
  type?: 'message' | 'typing' | 'conversation_started' | 'user_joined' | 'user_left' | 'receipt' | 'reachability';
  user?: { id: string; name?: string };
  text?: string;
  attachments?: { contentType: string; name?: string; url?: string; content?: unknown }[];
  value?: unknown;
  receipt?: { platformMessageId: string; status: 'delivered' | 'read' | 'failed'; reason?: string };
  /** For `reachability`: the user installed or removed the app, opted out or in. */
  reachability?: { reachable: boolean; reason?: string };
  occurredAt?: string;
}

/**
 * The platform behind the `fake-channel` gateway type: a tiny messaging channel that records what the service sends
 * its users, fails on request (transient, rate limited with a retry-after, a user unreachable), holds a send for a
 * test to catch the service mid-call, and pushes signed webhooks of user activities.
 */
export class FakeChannelPlatform {
  readonly sends: FakeChannelSend[] = [];
  private faults: FakeChannelFault[] = [];
  private holds: { arrived: () => void; released: Promise<void> }[] = [];
  /** The platform id given to each service message id: a repeated send of one message gets the same. */
  private readonly ids = new Map<string, string>();
  private server?: Server;
  baseUrl = '';

  async start(port = 0): Promise<string> {
    const router = new SimulatorRouter(4 * 1024 * 1024);
    router
      .on('POST', '/conversations/:id/messages', async (req, res) => {
        const body = JSON.parse(req.body.toString('utf8') || '{}') as { messageId?: string; activity?: Record<string, unknown> };
        const record: FakeChannelSend = { conversationId: req.params.id, messageId: body.messageId ?? null, activity: body.activity ?? {}, platformMessageId: null, at: Date.now() };
        this.sends.push(record);
        // The id is the platform's from the moment it has the message: a receipt may name it before the answer.
        const key = body.messageId ?? randomUUID();
        if (!this.ids.has(key)) this.ids.set(key, `fcm-${randomUUID()}`);
        await this.heldIfAsked();
        const fault = this.faults.find((f) => f.count > 0);
        if (fault) {
          fault.count -= 1;
          this.faults = this.faults.filter((f) => f.count > 0);
          if (fault.kind === 'transient') throw new HttpError(503, { error: 'scripted outage' });
          if (fault.kind === 'rate_limited') throw new HttpError(429, { error: 'slow down', retryAfterMs: fault.retryAfterMs });
          throw new HttpError(403, { error: 'user unreachable', reason: fault.reason });
        }
        const id = this.ids.get(key)!;
        record.platformMessageId = id;
        send(res, 200, { id });
      })
      .on('GET', '/health', (_req, res) => send(res, 200, { ok: true }));
    this.server = router.createServer();
    this.baseUrl = await listen(this.server, port);
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    if (this.server) await close(this.server);
  }

  addFault(fault: FakeChannelFault): void {
    this.faults.push({ ...fault });
  }

  /** Holds the next send once it arrives, unanswered until `release()`. */
  holdNext(): { arrived: Promise<void>; release: () => void } {
    let arrived!: () => void;
    let release!: () => void;
    const hasArrived = new Promise<void>((resolve) => (arrived = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.holds.push({ arrived, released });
    return { arrived: hasArrived, release };
  }

  /** The platform's id for the service's message `messageId` once the platform has it (even while its send is held). */
  idFor(messageId: string): string | undefined {
    return this.ids.get(messageId);
  }

  /** The sends to one platform conversation that the platform accepted, in order. */
  delivered(conversationId: string): FakeChannelSend[] {
    return this.sends.filter((s) => s.conversationId === conversationId && s.platformMessageId !== null);
  }

  /**
   * POSTs user activities to the service's webhook URL, signed with the gateway's webhook secret (HMAC-SHA256 of the
   * body, hex, in `x-fake-channel-signature`). Answers the service's status and body.
   */
  async push(webhookUrl: string, secret: string, activities: FakeUserActivity[]): Promise<{ status: number; body: string }> {
    const body = JSON.stringify({
      activities: activities.map((a) => ({
        id: a.id ?? randomUUID(),
        type: a.type ?? 'message',
        user: a.user ?? { id: `user-${a.conversationId}` },
        occurredAt: a.occurredAt ?? new Date().toISOString(),
        ...a,
      })),
    });
    const signature = createHmac('sha256', secret).update(body).digest('hex');
    const res = await fetch(webhookUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'x-fake-channel-signature': signature }, body });
    return { status: res.status, body: await res.text() };
  }

  private async heldIfAsked(): Promise<void> {
    const hold = this.holds.shift();
    if (!hold) return;
    hold.arrived();
    await hold.released;
  }
}
