import { Agent, createServer, request } from 'node:http';
import { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { Client } from 'pg';
import WebSocket from 'ws';
import { machineLine, percentile, processCpuSeconds, writeSection } from './support/report';
import { BenchProcess, sleep } from './support/processes';
import { adminApi, BenchService, openLoop, resetBenchState } from './support/service';

/**
 * Issue 20 benchmark, web chat both ways at once, with PostgreSQL, Redis, the service and this load generator on one
 * machine: a user's Direct Line activity POSTed -> the event at the bot's callback, and the bot's message POSTed to
 * `/v1/conversations/{id}/messages` -> the activity on the user's WebSocket, over CONVERSATIONS open conversations
 * (each with its stream open). Beside it, in the same run, a bare `ws` echo server at the same message rate: what a
 * message across a WebSocket costs on this machine without the service.
 */
const RATE = Number(process.env.BENCH_RATE ?? 500);
/** One direction alone (the other at 0), to see which part of the service a latency comes from. */
const USER_RATE = Number(process.env.BENCH_USER_RATE ?? RATE);
const BOT_RATE = Number(process.env.BENCH_BOT_RATE ?? RATE);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 1000);
/** Rates each way measured after the main one (comma-separated; empty for none). */
const LADDER = (process.env.BENCH_LADDER ?? '250,100,50')
  .split(',')
  .filter(Boolean)
  .map(Number);
const LADDER_SECONDS = Number(process.env.BENCH_LADDER_SECONDS ?? 10);
const PORT = Number(process.env.BENCH_PORT ?? 3919);
const KEY = 'bench-admin-key-0123456789abcdefghij';
const SECRET = 'bench-direct-line-secret-0123456789abcdef';
const url = `http://127.0.0.1:${PORT}`;
const api = adminApi(url, KEY);
const env = {
  APP_ROLE: 'all',
  PORT: String(PORT),
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/chat_gateway_bench_webchat',
  REDIS_PREFIX: '{cgbenchwc}',
  SECRETS_KEY: Buffer.alloc(32, 9).toString('base64'),
  BOOTSTRAP_API_KEY: KEY,
  ...(process.env.BENCH_POOL ? { DATABASE_POOL_SIZE: process.env.BENCH_POOL } : {}),
  OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
  LOG_LEVEL: 'warn',
  PUBLIC_BASE_URL: url,
};

// node:http over keep-alive sockets: fetch costs several times the CPU per request on a machine the generator shares.
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
function send(method: string, target: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: string }> {
  const payload = body === undefined ? '' : JSON.stringify(body);
  return new Promise((resolvePost, reject) => {
    const req = request(target, { method, agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => resolvePost({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.once('error', reject);
    req.end(payload);
  });
}

interface Open {
  directLineId: string;
  token: string;
  userId: string;
  socket: WebSocket;
  /** The service's conversation id, learned from the first event the bot receives. */
  conversationId?: string;
}

/** Arrival times by message key, and when each key was sent. */
class Timings {
  readonly sentAt = new Map<string, number>();
  readonly latencies: number[] = [];
  readonly arrivedAt = new Map<string, number>();
  sent(key: string): void {
    this.sentAt.set(key, Date.now());
  }
  arrived(key: string): void {
    const sent = this.sentAt.get(key);
    if (sent === undefined || this.arrivedAt.has(key)) return;
    const now = Date.now();
    this.arrivedAt.set(key, now);
    this.latencies.push(now - sent);
  }
  reset(): void {
    this.sentAt.clear();
    this.latencies.length = 0;
    this.arrivedAt.clear();
  }
}

async function main(): Promise<void> {
  await resetBenchState('chat_gateway_bench_webchat', env.REDIS_PREFIX);
  const toBot = new Timings();
  const toUser = new Timings();
  const byDirectLine = new Map<string, Open>();
  const hellos = new Map<string, Open>();
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(204).end();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const text = body.data?.text;
      if (typeof text !== 'string') return;
      if (text.startsWith('u-')) toBot.arrived(text);
      else if (text.startsWith('hello-')) {
        const open = hellos.get(text);
        if (open) open.conversationId = body.conversationId;
      }
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const callback = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  const service = new BenchService(env);
  await service.start(url);
  const echo = new BenchProcess('bare-ws-echo', [resolve(__dirname, 'support', 'bare-ws-echo.js')], {});
  const opens: Open[] = [];
  try {
    await api('POST', '/v1/domains', { name: 'bench', callbackUrl: callback, signingSecret: 'whsec_' + Buffer.alloc(32, 1).toString('base64') });
    const gateway = await api('POST', '/v1/gateways', {
      type: 'webchat',
      settings: { basic: { name: 'bench-webchat', domain: 'bench', deployed: true, directLineSecret: SECRET } },
    });
    const directLine = `${url}/webchat/${gateway.id}/v3/directline`;

    // Open the conversations, each with its stream, 50 at a time.
    for (let start = 0; start < CONVERSATIONS; start += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, CONVERSATIONS - start) }, async (_, j) => {
          const i = start + j;
          const userId = `dl_bench-${i}`;
          const started = await send('POST', `${directLine}/conversations`, { authorization: `Bearer ${SECRET}` }, { user: { id: userId } });
          if (started.status !== 201 && started.status !== 200) throw new Error(`start conversation: HTTP ${started.status} ${started.body}`);
          const { conversationId, token, streamUrl } = JSON.parse(started.body);
          const socket = new WebSocket(streamUrl);
          await new Promise<void>((ok, fail) => {
            socket.once('open', () => ok());
            socket.once('error', (error) => fail(new Error(`opening the stream of conversation ${i}: ${error.message}`)));
          });
          const open: Open = { directLineId: conversationId, token, userId, socket };
          socket.on('error', (error) => process.stderr.write(`stream of conversation ${i}: ${error.message}\n`));
          socket.on('message', (data) => {
            const raw = data.toString();
            if (!raw) return;
            for (const activity of JSON.parse(raw).activities ?? []) {
              if (typeof activity.text === 'string' && activity.text.startsWith('b-')) toUser.arrived(activity.text);
            }
          });
          byDirectLine.set(conversationId, open);
          opens[i] = open;
        }),
      );
    }
    const answeredIn: number[] = [];
    const postActivity = async (open: Open, text: string) => {
      const t0 = Date.now();
      const res = await send('POST', `${directLine}/conversations/${open.directLineId}/activities`, { authorization: `Bearer ${open.token}` }, { type: 'message', from: { id: open.userId }, text });
      if (res.status !== 200) throw new Error(`post activity: HTTP ${res.status} ${res.body}`);
      answeredIn.push(Date.now() - t0);
    };
    // Each conversation's first message tells the bot (and this generator) the service's conversation id.
    for (let start = 0; start < CONVERSATIONS; start += 100) {
      await Promise.all(
        opens.slice(start, start + 100).map((open, j) => {
          const text = `hello-${start + j}`;
          hellos.set(text, open);
          return postActivity(open, text).catch((error: Error) => {
            throw new Error(`the first message of conversation ${start + j}: ${error.message}`);
          });
        }),
      );
    }
    const deadline = Date.now() + 60_000;
    while (opens.some((o) => !o.conversationId)) {
      if (Date.now() > deadline) throw new Error(`${opens.filter((o) => !o.conversationId).length} conversations never reached the bot`);
      await sleep(200);
    }

    const counters = { userSent: 0, userFailed: 0, botSent: 0, botFailed: 0 };
    const errors = new Map<string, number>();
    const fail = (what: string) => errors.set(what, (errors.get(what) ?? 0) + 1);
    const userSide = async (i: number) => {
      const open = opens[i % CONVERSATIONS];
      const key = `u-${i}`;
      toBot.sent(key);
      counters.userSent++;
      await postActivity(open, key).catch((error: Error) => {
        counters.userFailed++;
        fail(`user: ${error.message.slice(0, 80)}`);
      });
    };
    const botSide = async (i: number) => {
      // Another conversation than the user side's at the same instant, so both directions spread over all of them.
      const open = opens[(i + CONVERSATIONS / 2) % CONVERSATIONS];
      const key = `b-${i}`;
      toUser.sent(key);
      counters.botSent++;
      const res = await send('POST', `${url}/v1/conversations/${open.conversationId}/messages`, { authorization: `Bearer ${KEY}` }, { text: key }).catch((error: Error) => ({
        status: 0,
        body: error.message,
      }));
      if (res.status !== 202) {
        counters.botFailed++;
        fail(`bot: HTTP ${res.status} ${res.body.slice(0, 80)}`);
      }
    };
    // An overloaded rate leaves a backlog: wait for it (bounded), so that the next rate starts from none.
    const drained = async () => {
      const until = Date.now() + 180_000;
      while (Date.now() < until && (toBot.arrivedAt.size < counters.userSent - counters.userFailed || toUser.arrivedAt.size < counters.botSent - counters.botFailed)) await sleep(100);
    };

    // Warm-up: 5 s at a fifth of the rate each way.
    const warm = Math.max(1, Math.round(RATE / 5));
    await Promise.all([openLoop(warm, warm * 5, userSide), openLoop(warm, warm * 5, (i) => botSide(i + 1_000_000))]);
    await drained();
    await sleep(2000);
    toBot.reset();
    toUser.reset();
    answeredIn.length = 0;
    Object.assign(counters, { userSent: 0, userFailed: 0, botSent: 0, botFailed: 0 });
    errors.clear();

    const cpuBefore = processCpuSeconds(service.pid);
    const started = Date.now();
    await Promise.all([
      USER_RATE > 0 ? openLoop(USER_RATE, USER_RATE * SECONDS, (i) => userSide(i + 2_000_000)) : Promise.resolve(),
      BOT_RATE > 0 ? openLoop(BOT_RATE, BOT_RATE * SECONDS, (i) => botSide(i + 3_000_000)) : Promise.resolve(),
    ]);
    await drained();
    const elapsed = (Date.now() - started) / 1000;
    const cpu = (processCpuSeconds(service.pid) - cpuBefore) / elapsed;
    const accepted = await acceptedToSocket(env.DATABASE_URL, toUser.arrivedAt);
    // The main measurement, kept before the lower rates reuse the counters.
    const main = {
      toBot: [...toBot.latencies],
      toUser: [...toUser.latencies],
      toBotArrived: toBot.arrivedAt.size,
      toUserArrived: toUser.arrivedAt.size,
      answered: [...answeredIn],
      counters: { ...counters },
    };

    // Lower rates after the main measurement, to show where the service holds the target on this machine: each after
    // the backlog of the one before has drained, on the same conversations, for LADDER_SECONDS.
    const ladder: { rate: number; toBot: number[]; toUser: number[]; lost: number }[] = [];
    for (const rate of LADDER) {
      await sleep(3000);
      toBot.reset();
      toUser.reset();
      Object.assign(counters, { userSent: 0, userFailed: 0, botSent: 0, botFailed: 0 });
      const base = 4_000_000 + rate * 100_000;
      await Promise.all([openLoop(rate, rate * LADDER_SECONDS, (i) => userSide(i + base)), openLoop(rate, rate * LADDER_SECONDS, (i) => botSide(i + base + 50_000))]);
      await drained();
      const lost = counters.userSent - counters.userFailed - toBot.arrivedAt.size + (counters.botSent - counters.botFailed - toUser.arrivedAt.size);
      ladder.push({ rate, toBot: [...toBot.latencies], toUser: await acceptedToSocket(env.DATABASE_URL, toUser.arrivedAt), lost });
    }

    for (const open of opens) open.socket.close();
    const ceiling = await bareEcho(echo);

    const p = (values: number[]) => `${percentile(values, 50)} ms / ${percentile(values, 99)} ms`;
    const toBotP99 = percentile(main.toBot, 99);
    const toUserP99 = percentile(accepted, 99);
    const lines = [
      '## Web chat: user -> bot and bot -> user at once (issue 20)',
      '',
      `Machine: ${machineLine()}.`,
      `Setup: service as one process (APP_ROLE=all), freshly started; a \`webchat\` gateway; ${CONVERSATIONS} Direct Line conversations started with the secret, each with its WebSocket stream open; after 5 s at ${warm}/s each way, the measurement: ${RATE} user activities/s (POST .../activities) and ${RATE} bot messages/s (POST /v1/conversations/{id}/messages) for ${SECONDS} s, open loop, spread over all conversations. Load generator, the bot's callback receiver and the ${CONVERSATIONS} WebSockets in one other process; the bare echo server in a third.`,
      '',
      '| measure | value |',
      '|---|---|',
      `| user activities sent / failed | ${main.counters.userSent} / ${main.counters.userFailed} |`,
      `| bot messages sent / failed | ${main.counters.botSent} / ${main.counters.botFailed}${errors.size ? ` (${[...errors].map(([what, n]) => `${what}: ${n}`).join('; ')})` : ''} |`,
      `| user activities that reached the bot's callback | ${main.toBotArrived} |`,
      `| bot messages that reached the user's WebSocket | ${main.toUserArrived} |`,
      `| **user -> bot**: activity POSTed -> event at the bot's callback, p50 / p99 | **${p(main.toBot)}** |`,
      `| **bot -> user**: message accepted (its outbound_messages row written) -> activity on the WebSocket, p50 / p99 | **${p(accepted)}** |`,
      `| of which: the user's POST answered (stored, echoed, handed to the channel core), p50 / p99 | ${p(main.answered)} |`,
      `| bot -> user from the moment the bot's POST was sent, p50 / p99 | ${p(main.toUser)} |`,
      `| service process CPU | ${(cpu * 100).toFixed(0)} % of one core |`,
      `| bare \`ws\` echo, ${ceiling.connections} connections, ${ceiling.rate} messages/s for ${ceiling.seconds} s: round trip p50 / p99 | ${p(ceiling.latencies)} |`,
      `| ratio of our p99 to the bare echo's p99: user -> bot / bot -> user | ${(toBotP99 / Math.max(1, percentile(ceiling.latencies, 99))).toFixed(1)}x / ${(toUserP99 / Math.max(1, percentile(ceiling.latencies, 99))).toFixed(1)}x |`,
      '',
      `Lower rates, each way at once, ${LADDER_SECONDS} s each, after the measurement above (same conversations and streams):`,
      '',
      '| rate each way | user -> bot p50 / p99 | bot -> user (accepted -> WebSocket) p50 / p99 | not arrived |',
      '|---|---|---|---|',
      ...ladder.map((step) => `| ${step.rate}/s | ${p(step.toBot)} | ${p(step.toUser)} | ${step.lost} |`),
      '',
      `Target: p99 at most 50 ms each way at ${CONVERSATIONS} conversations and 500 messages/s each way. ${
        toBotP99 <= 50 && toUserP99 <= 50 && RATE >= 500 && CONVERSATIONS >= 1000 ? 'Met in this run.' : 'Not met in this run.'
      }`,
    ];
    if (process.env.BENCH_SHOW_LOG) process.stderr.write(`service log (last lines):\n${service.log.split('\n').slice(-8).join('\n')}\n`);
    writeSection('webchat', lines.join('\n'));
    process.stdout.write(lines.join('\n') + '\n');
  } catch (error) {
    process.stderr.write(`service log (last lines):\n${service.log.split('\n').slice(-20).join('\n')}\n`);
    throw error;
  } finally {
    for (const open of opens) open?.socket.terminate();
    await echo.stop();
    await service.stop();
    receiver.closeAllConnections();
    receiver.close();
  }
}

/**
 * Bot -> user from acceptance: the outbound message's created_at (the same clock as this process) to the arrival of
 * its activity on the WebSocket, matched by text.
 */
async function acceptedToSocket(databaseUrl: string, arrivedAt: Map<string, number>): Promise<number[]> {
  const db = new Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const { rows } = await db.query<{ text: string; created: number }>(
      `SELECT activity->>'text' AS text, extract(epoch FROM created_at)::float8 * 1000 AS created
         FROM outbound_messages WHERE activity->>'text' = ANY($1::text[])`,
      [[...arrivedAt.keys()]],
    );
    return rows.map((row) => Math.round(arrivedAt.get(row.text)! - row.created));
  } finally {
    await db.end();
  }
}

/** The ceiling: round trips through a bare `ws` echo server at the benchmark's combined rate over as many connections. */
async function bareEcho(echo: BenchProcess): Promise<{ connections: number; rate: number; seconds: number; latencies: number[] }> {
  const port = Number((await echo.waitForOutput(/listening (\d+)/, 10_000))[1]);
  const sockets: WebSocket[] = [];
  const latencies: number[] = [];
  for (let start = 0; start < CONVERSATIONS; start += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, CONVERSATIONS - start) }, async () => {
        const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
        await new Promise<void>((ok, failOpen) => {
          socket.once('open', () => ok());
          socket.once('error', failOpen);
        });
        socket.on('message', (data) => latencies.push(Date.now() - Number(JSON.parse(data.toString()).t)));
        sockets.push(socket);
      }),
    );
  }
  const rate = RATE * 2;
  const seconds = Math.min(SECONDS, 10);
  await openLoop(rate, rate * seconds, async (i) => sockets[i % sockets.length].send(JSON.stringify({ t: Date.now(), i, text: 'x'.repeat(40) })));
  const until = Date.now() + 10_000;
  while (latencies.length < rate * seconds && Date.now() < until) await sleep(50);
  for (const socket of sockets) socket.close();
  return { connections: sockets.length, rate, seconds, latencies };
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  },
);
