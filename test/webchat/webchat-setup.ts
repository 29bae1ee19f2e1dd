import { WebSocket } from 'ws';
import { TestApp } from '../support/test-app';
import { waitFor } from '../support/bot-receiver';

export const DIRECT_LINE_SECRET = 'dl-secret-for-tests-0123456789abcdef-xyz';
let counter = 0;

/** A domain whose callback is `callbackUrl` and a deployed `webchat` gateway in it. */
export async function webchatGateway(
  t: Pick<TestApp, 'request'>,
  options: { callbackUrl?: string; signingSecret?: string; configuration?: Record<string, unknown>; additional?: Record<string, unknown> } = {},
): Promise<{ gatewayId: string; domain: string; domainId: string }> {
  const domain = `wc${++counter}-${Date.now()}`;
  const d = await t.request('POST', '/v1/domains', {
    body: { name: domain, callbackUrl: options.callbackUrl ?? 'http://127.0.0.1:9/unused', ...(options.signingSecret ? { signingSecret: options.signingSecret } : {}) },
  });
  if (d.status !== 201) throw new Error(`domain: ${d.text}`);
  const g = await t.request('POST', '/v1/gateways', {
    body: {
      type: 'webchat',
      settings: {
        basic: { name: 'web', domain, deployed: true, directLineSecret: DIRECT_LINE_SECRET, botId: 'helpbot', botName: 'Help Bot' },
        configuration: { ...(options.configuration ?? {}) },
        additional: { ...(options.additional ?? {}) },
      },
    },
  });
  if (g.status !== 201) throw new Error(`gateway: ${g.text}`);
  return { gatewayId: g.body.id, domain, domainId: d.body.id };
}

/** A Direct Line stream as a client reads it: every ActivitySet, keep-alives apart, and how it closed. */
export class StreamReader {
  readonly sets: Array<{ activities: any[]; watermark?: string }> = [];
  keepAlives = 0;
  closed: { code: number; reason: string } | null = null;
  readonly socket: WebSocket;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.socket = new WebSocket(url, { headers });
    this.socket.on('message', (data) => {
      const text = data.toString();
      if (text === '') this.keepAlives += 1;
      else this.sets.push(JSON.parse(text));
    });
    this.socket.on('close', (code, reason) => (this.closed = { code, reason: reason.toString() }));
    this.socket.on('error', () => undefined);
  }

  get activities(): any[] {
    return this.sets.flatMap((s) => s.activities);
  }

  get watermark(): string | undefined {
    return [...this.sets].reverse().find((s) => s.watermark !== undefined)?.watermark;
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.socket.readyState === WebSocket.OPEN) return resolve();
      this.socket.once('open', () => resolve());
      this.socket.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.socket.once('error', reject);
    });
  }

  /** Resolves with the handshake's refusal status. */
  refused(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.socket.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      this.socket.once('open', () => reject(new Error('the handshake was accepted')));
    });
  }

  waitFor(what: string, predicate: (a: any) => boolean): Promise<any> {
    return waitFor(what, () => this.activities.find(predicate));
  }

  close(): void {
    this.socket.close();
  }
}
