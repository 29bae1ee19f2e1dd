import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { undocumentedDelivery } from './documented-events';

/** A delivery as the bot platform saw it. */
export interface Delivery {
  id: string;
  type: string;
  conversationId: string;
  externalConversationId: string;
  escalationId: string | null;
  seq: number;
  data: Record<string, any>;
  receivedAt: number;
  verified: boolean;
  /** The request as it came, for checks of its signatures. */
  raw: { body: string; headers: Record<string, string> };
}

/**
 * Whether a delivery's signatures verify with `secret`, checked by the Standard Webhooks reference library (an
 * independent client: the service's own verifier agreeing with its own signer would prove little).
 */
export function verifiesWith(secret: string, raw: { body: string; headers: Record<string, string> }): boolean {
  try {
    new Webhook(secret).verify(raw.body, raw.headers);
    return true;
  } catch {
    return false;
  }
}

/**
 * A small bot platform: receives signed deliveries, verifies them with the domain's secret (through the Standard
 * Webhooks reference library), records them, and can be told to fail the next N deliveries (per conversation or for
 * all).
 */
export class BotReceiver {
  readonly deliveries: Delivery[] = [];
  readonly attempts: { conversationId: string; seq: number; status: number }[] = [];
  /** Deliveries whose body departs from the OpenAPI document's `DeliveredEvent`, with how. */
  readonly undocumented: string[] = [];
  private failures = new Map<string, number>();
  private holds = new Map<string, { arrived: () => void; released: Promise<void> }>();
  private drops = new Map<string, number>();
  private readonly requestsOn = new WeakMap<object, number>();
  private server?: Server;
  url = '';

  constructor(readonly secret: string) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const body = JSON.parse(raw) as Delivery;
        const verified = verifiesWith(this.secret, { body: raw, headers: req.headers as Record<string, string> });
        const problem = undocumentedDelivery(body);
        if (problem) this.undocumented.push(`${raw.slice(0, 300)}: ${problem}`);
        // A server closing a kept-alive connection as a request comes in on it: no answer at all.
        const earlier = this.requestsOn.get(req.socket) ?? 0;
        this.requestsOn.set(req.socket, earlier + 1);
        const drops = this.drops.get(body.conversationId) ?? 0;
        if (drops > 0 && earlier > 0) {
          this.drops.set(body.conversationId, drops - 1);
          this.attempts.push({ conversationId: body.conversationId, seq: body.seq, status: 0 });
          req.socket.destroy();
          return;
        }
        const key = this.failures.has(body.conversationId) ? body.conversationId : '*';
        const remaining = this.failures.get(key) ?? 0;
        if (remaining > 0) {
          this.failures.set(key, remaining - 1);
          this.attempts.push({ conversationId: body.conversationId, seq: body.seq, status: 503 });
          res.writeHead(503).end();
          return;
        }
        const hold = this.holds.get(body.conversationId);
        const answer = () => {
          this.attempts.push({ conversationId: body.conversationId, seq: body.seq, status: 200 });
          this.deliveries.push({ ...body, receivedAt: Date.now(), verified, raw: { body: raw, headers: req.headers as Record<string, string> } });
          res.writeHead(204).end();
        };
        if (hold) {
          this.holds.delete(body.conversationId);
          hold.arrived();
          void hold.released.then(answer);
        } else answer();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks`;
    return this.url;
  }

  failNext(count: number, conversationId = '*'): void {
    this.failures.set(conversationId, count);
  }

  /** Drops, unanswered, the conversation's next `count` deliveries that come on a connection used before. */
  dropNext(count: number, conversationId: string): void {
    this.drops.set(conversationId, count);
  }

  /**
   * Holds the conversation's next delivery unanswered until `release()` (then answers it 204): a test acts while the
   * service is in the middle of sending it, for as long as it needs, whatever the machine's speed.
   */
  holdNext(conversationId: string): { arrived: Promise<void>; release: () => void } {
    let arrived!: () => void;
    let release!: () => void;
    const hasArrived = new Promise<void>((resolve) => (arrived = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.holds.set(conversationId, { arrived, released });
    return { arrived: hasArrived, release };
  }

  of(conversationId: string): Delivery[] {
    return this.deliveries.filter((d) => d.conversationId === conversationId);
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

/** Polls `fn` until it returns a truthy value (or throws after `timeoutMs`, naming what it waited for). */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, timeoutMs = 10_000, everyMs = 50): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/**
 * Resolves once the machine's clock reads a later millisecond than `ms`: for things stamped in whole milliseconds
 * (a creation time, a platform timestamp) that a test needs distinct and in order, however fast the machine is.
 */
export async function clockPast(ms: number): Promise<void> {
  while (Date.now() <= ms) await new Promise((resolve) => setImmediate(resolve));
}
