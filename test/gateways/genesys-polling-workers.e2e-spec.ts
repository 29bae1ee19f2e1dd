import { createServer, request, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { GmsSimulator, ManualClock } from '@app/simulators/gms';
import { BotReceiver, waitFor } from '../support/bot-receiver';
import { ServiceProcess } from '../support/service-process';
import { freePort, requestAgainst, resetState } from '../support/test-app';
import { escalationBody, SIGNING_SECRET } from '../escalations/fake-setup';

const SERVICE = 'customer-support';
const CHATS = 12;
const POLL_SHARDS = 4;
/** The poller's shard lease: max(5 s, 5 ticks) (docs/polling.md); a dead worker's shards are free after it at most. */
const LEASE_MS = 5_000;

/**
 * Stands between the workers and GMS and watches every Refresh per chat: how many arrived, and how many of the same
 * chat were in flight at once. Each Refresh answer is held 300 ms, so two workers polling one chat would overlap.
 */
class RefreshWatcher {
  readonly arrivals = new Map<string, number>();
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
        this.arrivals.set(chatId, (this.arrivals.get(chatId) ?? 0) + 1);
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

  /** How many Refresh requests of each chat have arrived so far. */
  counts(chatIds: string[]): Map<string, number> {
    return new Map(chatIds.map((chatId) => [chatId, this.arrivals.get(chatId) ?? 0]));
  }

  /** Whether every chat has had at least `more` Refresh requests since `counts` was taken. */
  eachPolledSince(counts: Map<string, number>, more: number): boolean {
    return [...counts].every(([chatId, before]) => (this.arrivals.get(chatId) ?? 0) >= before + more);
  }
}

describe('GMS polling across worker processes', () => {
  // GMS's timers run on a clock the test moves (Chat Server's 45 s flex-disconnect by default), a period at a time once
  // every chat was polled since the last move: a chat is dropped only if nobody polled it, whatever the machine's speed.
  const clock = new ManualClock();
  const gms = new GmsSimulator({ clock, timeoutAlertSeconds: 0, timeoutCloseSeconds: 0 });
  const flexMs = gms.options.flexDisconnectSeconds * 1000;
  const receiver = new BotReceiver(SIGNING_SECRET);
  const redis = new Redis(process.env.REDIS_URL!);
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
    redis.disconnect();
  });

  /** Who holds each poll shard's lease (a worker process's token), as the poller names them in Redis. */
  const leaseKeys = Array.from({ length: POLL_SHARDS }, (_, shard) => `${process.env.REDIS_PREFIX}:lock:poll-shard:${POLL_SHARDS}:${shard}`);
  const leaseHolders = () => redis.mget(...leaseKeys);

  /** One flex-disconnect period of GMS's clock, once every chat's Refresh was accepted since the clock last moved. */
  const aPeriodPolled = async (chatIds: string[]) => {
    const acceptedNow = (chatId: string) => gms.getChat(chatId)!.lastClientRequestAt === new Date(clock.now()).toISOString();
    await waitFor('every chat polled since the clock last moved', () => chatIds.every(acceptedNow), 20_000);
    clock.advance(flexMs - 1);
  };

  it('never polls a chat from two workers at once, and a surviving worker takes over a killed one before GMS drops anyone', async () => {
    const port = await freePort();
    const env = { PORT: String(port), LOG_LEVEL: 'info', RECONCILE_INTERVAL_SECONDS: '2', POLL_TICK_MS: '200', POLL_SHARDS: String(POLL_SHARDS) };
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
        return chats.length === CHATS && chats.every((c) => (watcher.arrivals.get(c.chatId) ?? 0) >= 2) ? chats.map((c) => c.chatId) : null;
      }, 20_000);
      // The first worker holds every shard (the only one there).
      const held = await waitFor('every shard leased', async () => ((await leaseHolders()).every((holder) => holder !== null) ? await leaseHolders() : null));
      const firstToken = held[0]!;
      expect(new Set(held)).toEqual(new Set([firstToken]));
      await aPeriodPolled(chatIds);

      // A second worker joins while the first polls: both run their poll ticks for a while (each notes itself in
      // the poll-workers set at its ticks), measured in polls of every chat rather than in seconds.
      await second.start();
      await waitFor('both workers ticking', async () => (await redis.zcard(`${process.env.REDIS_PREFIX}:poll-workers`)) === 2);
      const joined = watcher.counts(chatIds);
      await waitFor('every chat polled three more times with both workers up', () => watcher.eachPolledSince(joined, 3), 20_000);
      await aPeriodPolled(chatIds);

      // The first worker dies without a word; its shard leases lapse and the second takes them over.
      await first.kill9();
      const killed = watcher.counts(chatIds);
      // What bounds the takeover: a dead worker's leases run out by themselves within the lease term, far inside
      // GMS's flex-disconnect timeout; the survivor takes each at its next tick after that.
      const left = await leaseHolders();
      for (const [shard, holder] of left.entries()) {
        if (holder !== firstToken) continue;
        const remaining = await redis.pttl(leaseKeys[shard]);
        expect(remaining).toBeLessThanOrEqual(LEASE_MS);
      }
      expect(LEASE_MS).toBeLessThan(flexMs);
      await waitFor('every shard taken over', async () => (await leaseHolders()).every((holder) => holder !== null && holder !== firstToken), 20_000);
      // Every Refresh since the kill is the survivor's: it polls every chat again, and GMS keeps every customer.
      await waitFor('every chat polled by the survivor', () => watcher.eachPolledSince(killed, 2), 20_000);
      await aPeriodPolled(chatIds);
      await aPeriodPolled(chatIds);

      for (const chatId of chatIds) {
        expect({ chatId, maxInFlight: watcher.maxInFlight.get(chatId) }).toEqual({ chatId, maxInFlight: 1 });
        const chat = gms.getChat(chatId)!;
        expect({ chatId, state: chat.state, endReason: chat.endReason }).toEqual({ chatId, state: 'waiting', endReason: undefined });
        expect(clock.now() - Date.parse(chat.lastClientRequestAt)).toBeLessThan(flexMs);
      }
    } finally {
      first.kill9();
      await Promise.all([second.stop(), apiProcess.stop()]);
    }
  }, 90_000);
});
