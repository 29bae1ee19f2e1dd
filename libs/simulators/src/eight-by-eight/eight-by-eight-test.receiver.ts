import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { close, listen, readBody } from '../http/simulator-http';

/** A webhook POST as the receiver got it. */
export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
  body: Record<string, unknown>;
  receivedAt: number;
}

/** How the receiver answers a POST: a status, optionally after a delay (a delay past the sender's timeout = timeout). */
export interface ReceiverAnswer {
  status: number;
  delayMs?: number;
}

/**
 * A small webhook receiver for tests of the simulator (and for contract tests against it): records every POST with
 * its raw body and answers 200 unless told otherwise.
 */
export class EightByEightTestReceiver {
  readonly received: ReceivedWebhook[] = [];
  private answer: (webhook: ReceivedWebhook) => ReceiverAnswer = () => ({ status: 200 });
  private server?: Server;
  private waiters: Array<() => void> = [];

  /** Starts on a free port; resolves with the URL to register as the webhook URI. */
  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void readBody(req, 10 * 1024 * 1024).then(async (rawBody) => {
        let body: Record<string, unknown> = {};
        try {
          body = JSON.parse(rawBody.toString('utf8')) as Record<string, unknown>;
        } catch {
          // keep the raw body only
        }
        const webhook = { headers: req.headers, rawBody, body, receivedAt: Date.now() };
        this.received.push(webhook);
        this.waiters.forEach((wake) => wake());
        const { status, delayMs } = this.answer(webhook);
        if (delayMs) await new Promise((resolve) => setTimeout(resolve, delayMs));
        if (!res.destroyed) res.writeHead(status).end();
      });
    });
    return `${await listen(this.server)}/webhook`;
  }

  async stop(): Promise<void> {
    if (this.server) await close(this.server);
  }

  /** Answers every following POST through `answer` (a fixed status or a function of the request). */
  respondWith(answer: number | ReceiverAnswer | ((webhook: ReceivedWebhook) => ReceiverAnswer)): void {
    this.answer = typeof answer === 'function' ? answer : typeof answer === 'number' ? () => ({ status: answer }) : () => answer;
  }

  /** Bodies received, optionally of one conversation, without WEB_HOOK_VERIFY. */
  events(conversationId?: string): Array<Record<string, unknown>> {
    return this.received
      .map((webhook) => webhook.body)
      .filter((body) => body.eventType !== 'WEB_HOOK_VERIFY' && (conversationId === undefined || body.conversationId === conversationId));
  }

  /** Resolves with the received webhooks once `predicate` holds for them. */
  async waitFor(predicate: (received: ReceivedWebhook[]) => boolean, timeoutMs = 3000): Promise<ReceivedWebhook[]> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this.received)) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new Error(`Timed out waiting for webhooks; got ${this.received.map((webhook) => webhook.body.eventType).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      this.waiters = [];
    }
    return this.received;
  }

  clear(): void {
    this.received.length = 0;
  }
}
