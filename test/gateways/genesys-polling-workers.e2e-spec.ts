import { createServer, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { GmsSimulator } from '@app/simulators/gms';
import { BotReceiver, waitFor } from '../support/bot-receiver';
import { ServiceProcess } from '../support/service-process';
import { freePort, requestAgainst, resetState } from '../support/test-app';
import { escalationBody, SIGNING_SECRET } from '../escalations/fake-setup';

const SERVICE = 'customer-support';
const CHATS = 12;
/**
 * Chat Server drops a client that has not polled for this long (45 s at Genesys; shorter here so the test is short,
 * but three shard leases (5 s) long: at 10 s a loaded 2-core CI machine once saw the takeover come too late).
 */
const FLEX_DISCONNECT_SECONDS = 15;

/**
 * Stands between the workers and GMS and watches every Refresh per chat: when it arrived, and how many of the same
 * chat were in flight at once. Each Refresh answer is held 300 ms, so two workers polling one chat would overlap.
 */
class RefreshWatcher {
  readonly arrivals = new Map<string, number[]>();
  readonly maxInFlight = new Map<string, number>();
  private readonly inFlight = new Map<string, number>();
  private server?: Server;
  url = '';

  constructor(private readonly target: string) {}

  async start(): Promise<void> {
    const upstream = new URL(this.target);
    this.server = createServer((req, res) => {
      const chatId = /\/([^/]+)\/refresh$/.exec(req.url ?? '')?.[1];
      if (chatId) {
        (this.arrivals.get(chatId) ?? this.arrivals.set(chatId, []).get(chatId)!).push(Date.now());
        const now = (this.inFlight.get(chatId) ?? 0) + 1;
        this.inFlight.set(chatId, now);
        this.maxInFlight.set(chatId, Math.max(now, this.maxInFlight.get(chatId) ?? 0));
      }
      const forward = request({ hostname: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          setTimeout(() => {
            if (chatId) this.inFlight.set(chatId, this.inFlight.get(chatId)! - 1);
            res.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(chunks));
          }, chatId ? 300 : 0);
        });
      });
      forward.on('error', () => res.writeHead(502).end());
      req.pipe(forward);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** The longest time between two Refresh requests of `chatId` that arrived after `since`. */
  longestGapSince(chatId: string, since: number): number {
    const times = (this.arrivals.get(chatId) ?? []).filter((at) => at >= since);
    let longest = 0;
    for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i] - times[i - 1]);
    return longest;
  }
}

describe('GMS polling across worker processes', () => {
  const gms = new GmsSimulator({ flexDisconnectSeconds: FLEX_DISCONNECT_SECONDS, timeoutAlertSeconds: 0, timeoutCloseSeconds: 0 });
  const receiver = new BotReceiver(SIGNING_SECRET);
  let watcher: RefreshWatcher;

  beforeAll(async () => {
    await resetState();
    await gms.start();
    await receiver.start();
    watcher = new RefreshWatcher(gms.baseUrl);
    await watcher.start();
  });
  afterAll(async () => {
    await watcher?.stop();
    await gms.stop();
    await receiver.stop();
  });

  it('never polls a chat from two workers at once, and a surviving worker takes over a killed one before GMS drops anyone', async () => {
    const port = await freePort();
    const env = { PORT: String(port), LOG_LEVEL: 'info', RECONCILE_INTERVAL_SECONDS: '2', POLL_TICK_MS: '200', POLL_SHARDS: '4' };
    const apiProcess = new ServiceProcess({ ...env, APP_ROLE: 'api' });
    const first = new ServiceProcess({ ...env, APP_ROLE: 'worker' });
    const second = new ServiceProcess({ ...env, APP_ROLE: 'worker' });
    const url = `http://127.0.0.1:${port}`;
    try {
      await Promise.all([apiProcess.start(`${url}/health/ready`), first.start()]);
      const request = requestAgainst(url);
      const domain = `poll-workers-${Date.now()}`;
      expect((await request('POST', '/v1/domains', { body: { name: domain, callbackUrl: receiver.url, signingSecret: SIGNING_SECRET } })).status).toBe(201);
      const gateway = await request('POST', '/v1/gateways', {
        body: {
          type: 'genesys-pureengage',
          settings: {
            basic: { name: `gms-${domain}`, domain, deployed: true, serviceUrl: watcher.url, serviceName: SERVICE },
            configuration: { escalationTimeoutSeconds: 300 },
            additional: { clientPollingIntervalSeconds: 1 },
          },
        },
      });
      expect(gateway.status).toBe(201);
      for (let i = 0; i < CHATS; i++) {
        const created = await request('POST', '/v1/escalations', { body: escalationBody(domain, gateway.body.id, `poll-workers-${i}`), headers: { 'idempotency-key': `poll-workers-${i}` } });
        expect(created.status).toBe(202);
      }
      const chatIds = await waitFor('every chat waiting on GMS and polled', () => {
        const chats = gms.listChats().filter((c) => c.state === 'waiting');
        return chats.length === CHATS && chats.every((c) => (watcher.arrivals.get(c.chatId)?.length ?? 0) >= 2) ? chats.map((c) => c.chatId) : null;
      }, 20_000);

      // A second worker joins while the first polls: both run their poll ticks for a while.
      await second.start();
      await new Promise((resolve) => setTimeout(resolve, 4_000));

      // The first worker dies without a word; its shard leases lapse and the second takes them over.
      const killedAt = Date.now();
      first.kill9();
      // Past the flex-disconnect timeout, so that a chat nobody polled would have been dropped by now.
      await new Promise((resolve) => setTimeout(resolve, FLEX_DISCONNECT_SECONDS * 1000 + 5_000));

      for (const chatId of chatIds) {
        expect({ chatId, maxInFlight: watcher.maxInFlight.get(chatId) }).toEqual({ chatId, maxInFlight: 1 });
        // Lease expiry (5 s) plus a tick and an interval: well inside the flex-disconnect timeout.
        expect(watcher.longestGapSince(chatId, killedAt - 1_500)).toBeLessThan(FLEX_DISCONNECT_SECONDS * 1000);
        const chat = gms.getChat(chatId)!;
        expect({ chatId, state: chat.state, endReason: chat.endReason }).toEqual({ chatId, state: 'waiting', endReason: undefined });
        expect(Date.now() - Date.parse(chat.lastClientRequestAt)).toBeLessThan(2_000);
      }
    } finally {
      first.kill9();
      await Promise.all([second.stop(), apiProcess.stop()]);
    }
  }, 90_000);
});
