import { ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { Client } from 'pg';
import { EightByEightSimulator } from '../libs/simulators/src/eight-by-eight';
import { machineLine, percentile, processCpuSeconds, writeSection } from './support/report';
import { adminApi, BenchService, resetBenchState } from './support/service';

/**
 * Issue 5 benchmark: webhook intake. Signed 8x8 deliveries are fired open loop (at fixed instants, whatever the
 * answers do) at increasing rates against the service, which verifies the JWS, stores the raw delivery and answers;
 * the acknowledgement latency is measured from the instant each request was due, so a stalled server cannot hide
 * behind a slowed client. The same client against a bare node:http server, at the same rates and closed loop, is
 * the machine's HTTP ceiling in this run. Results go to docs/benchmarks.md.
 */
const RATES = (process.env.BENCH_RATES ?? '1000,2000,2500,3000,4000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 1000);
const PORT = Number(process.env.BENCH_PORT ?? 3931);
const BARE_PORT = PORT + 1;
const ROLE = process.env.BENCH_APP_ROLE ?? 'api';
const P99_LIMIT_MS = 20;
const TIMEOUT_MS = 5_000;
/** Requests the client lets wait at most; past it the stage counts them as not sent (the server is drowning). */
const MAX_IN_FLIGHT = 4_000;
const DATABASE = 'chat_gateway_bench_webhooks';
const PREFIX = '{cgbenchwh}';
const KEY = 'bench-webhooks-admin-key-0123456789abcdef';
const API_KEY = 'bench-8x8-api-key';
const TENANT = 'tenant01';
const url = `http://127.0.0.1:${PORT}`;
const api = adminApi(url, KEY);
const bodyBytes = { min: Infinity, max: 0 };

interface Delivery {
  headers: Record<string, string>;
  body: Buffer;
}

interface StageResult {
  target: string;
  offered: number;
  sent: number;
  ok: number;
  errors: number;
  notSent: number;
  achieved: number;
  p50: number;
  p99: number;
  max: number;
  serverCpu: number;
  clientCpu: number;
  machineCpu: number;
}

/** A node:http server that reads the body and answers 200 with a small JSON body: the HTTP ceiling. */
function startBareServer(): ChildProcess {
  const code = `
    const http = require('node:http');
    const server = http.createServer((req, res) => {
      req.on('data', () => {});
      req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"received":true,"duplicate":false}'); });
    });
    server.keepAliveTimeout = 65000;
    server.listen(${BARE_PORT}, '127.0.0.1', () => process.stdout.write('ready\\n'));`;
  return spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function machineBusy(): { busy: number; total: number } {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const values = fields.map(Number);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - values[3] - values[4], total };
}

const TEXTS = [
  'Hello, this is Ann from the support team. I can see your card was blocked this morning after three failed PIN attempts.',
  'Could you confirm the last four digits of the card and the date of your last purchase, please?',
  'Thanks. I have unblocked it; a new PIN letter is on its way and should arrive within five working days.',
  'Is there anything else I can help you with today?',
];

/** `count` agent MESSAGE deliveries over the conversations, each with its own event id, signed as 8x8 signs them. */
function presign(simulator: EightByEightSimulator, count: number, offset: number): Delivery[] {
  const deliveries: Delivery[] = [];
  for (let i = 0; i < count; i++) {
    const n = offset + i;
    const timestamp = Date.now();
    const body = Buffer.from(
      JSON.stringify({
        eventType: 'MESSAGE',
        conversationId: `bench-conversation-${String(n % CONVERSATIONS).padStart(6, '0')}`,
        timestamp,
        data: { isEcho: false, sender: { id: `agent-${n % 97}`, type: 'agent' }, text: TEXTS[n % TEXTS.length], attachments: [], cards: [] },
      }),
    );
    bodyBytes.min = Math.min(bodyBytes.min, body.length);
    bodyBytes.max = Math.max(bodyBytes.max, body.length);
    const fields = { tenantId: simulator.tenantId, customerId: simulator.customerId, eventId: randomUUID(), retry: 0, transmissionTime: timestamp };
    deliveries.push({
      body,
      headers: {
        'content-type': 'application/json',
        'content-length': String(body.length),
        'user-agent': '8x8-chat-gateway-simulator',
        'x-8x8-tenant-id': fields.tenantId,
        'x-8x8-customer-id': fields.customerId,
        'x-8x8-event-id': fields.eventId,
        'x-8x8-transmission-time': String(timestamp),
        'x-8x8-retry': '0',
        'x-8x8-signature': simulator.signingKeys.sign(body, fields),
      },
    });
  }
  return deliveries;
}

/** Where a stage's requests go: the webhook (POST with the delivery) or a plain GET (the delivery unused). */
interface Target {
  port: number;
  method: 'POST' | 'GET';
  path: string;
}

/** One request on the keep-alive agent; resolves with the status (0: network error or timeout). */
function send(agent: Agent, target: Target, delivery: Delivery): Promise<number> {
  return new Promise((done) => {
    const headers = target.method === 'POST' ? delivery.headers : {};
    const req = request({ host: '127.0.0.1', port: target.port, path: target.path, method: target.method, headers, agent, timeout: TIMEOUT_MS }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => done(res.statusCode ?? 0));
      res.on('error', () => done(0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => done(0));
    req.end(target.method === 'POST' ? delivery.body : undefined);
  });
}

/** Fires `deliveries` at `rate` per second, open loop, and measures each acknowledgement from its due instant. */
async function openLoop(name: string, target: Target, rate: number, deliveries: Delivery[], serverPid: number): Promise<StageResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const latencies: number[] = [];
  let ok = 0;
  let errors = 0;
  let notSent = 0;
  let inFlight = 0;
  let lastDone = 0;
  const pending: Promise<void>[] = [];
  const serverCpu0 = processCpuSeconds(serverPid);
  const client0 = process.cpuUsage();
  const machine0 = machineBusy();
  const started = performance.now();
  let next = 0;
  while (next < deliveries.length) {
    const now = performance.now();
    while (next < deliveries.length && started + (next * 1000) / rate <= now) {
      const due = started + (next * 1000) / rate;
      const delivery = deliveries[next++];
      if (inFlight >= MAX_IN_FLIGHT) {
        notSent++;
        continue;
      }
      inFlight++;
      pending.push(
        send(agent, target, delivery).then((status) => {
          inFlight--;
          const end = performance.now();
          lastDone = end;
          if (status >= 200 && status < 300) {
            ok++;
            latencies.push(end - due);
          } else {
            errors++;
          }
        }),
      );
    }
    await sleep(1);
  }
  await Promise.all(pending);
  const elapsed = (Math.max(lastDone, performance.now()) - started) / 1000;
  const client = process.cpuUsage(client0);
  const machine1 = machineBusy();
  agent.destroy();
  return {
    target: name,
    offered: rate,
    sent: deliveries.length - notSent,
    ok,
    errors,
    notSent,
    achieved: ok / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: percentile(latencies, 100),
    serverCpu: (processCpuSeconds(serverPid) - serverCpu0) / elapsed,
    clientCpu: (client.user + client.system) / 1e6 / elapsed,
    machineCpu: (machine1.busy - machine0.busy) / Math.max(1, machine1.total - machine0.total),
  };
}

/** The bare server's throughput with `connections` requests always outstanding, for `seconds`. */
async function closedLoop(connections: number, seconds: number, deliveries: Delivery[]): Promise<{ rate: number; p50: number; p99: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const latencies: number[] = [];
  const until = performance.now() + seconds * 1000;
  let index = 0;
  const lane = async () => {
    while (performance.now() < until) {
      const started = performance.now();
      const status = await send(agent, { port: BARE_PORT, method: 'POST', path: '/' }, deliveries[index++ % deliveries.length]);
      if (status === 200) latencies.push(performance.now() - started);
    }
  };
  const began = performance.now();
  await Promise.all(Array.from({ length: connections }, lane));
  agent.destroy();
  return { rate: latencies.length / ((performance.now() - began) / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

const ms = (value: number) => (Number.isFinite(value) ? value.toFixed(1) : 'n/a');
const sustained = (r: StageResult) => r.p99 <= P99_LIMIT_MS && r.errors === 0 && r.notSent === 0 && r.achieved >= r.offered * 0.97;

async function main(): Promise<void> {
  await resetBenchState(DATABASE, PREFIX);
  const simulator = new EightByEightSimulator({ apiKey: API_KEY, tenantId: TENANT, validateRequests: false, queues: [{ id: '101', name: 'Support', agents: { available: 1 } }] });
  await simulator.start();
  const service = new BenchService({
    APP_ROLE: ROLE,
    PORT: String(PORT),
    DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${DATABASE}`,
    REDIS_URL: 'redis://127.0.0.1:6379',
    REDIS_PREFIX: PREFIX,
    SECRETS_KEY: Buffer.alloc(32, 5).toString('base64'),
    BOOTSTRAP_API_KEY: KEY,
    OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
    LOG_LEVEL: 'warn',
    PUBLIC_BASE_URL: url,
  });
  // What else the shared machine was doing: its CPU over 3 s before anything of this run started.
  const before0 = machineBusy();
  await sleep(3_000);
  const before1 = machineBusy();
  const background = (before1.busy - before0.busy) / Math.max(1, before1.total - before0.total);
  const bare = startBareServer();
  await new Promise<void>((ready) => bare.stdout!.once('data', () => ready()));
  await service.start(url);
  const results: StageResult[] = [];
  let ceiling = { rate: NaN, p50: NaN, p99: NaN };
  let stored = 0;
  let accepted = 0;
  try {
    await api('POST', '/v1/domains', { name: 'bench', callbackUrl: 'http://127.0.0.1:9/hooks', signingSecret: 'whsec_' + Buffer.alloc(32, 1).toString('base64') });
    const gateway = await api('POST', '/v1/gateways', {
      type: '8x8-chat-gateway',
      settings: {
        basic: { name: 'bench-8x8', domain: 'bench', deployed: false, baseUrl: simulator.baseUrl, apiKey: API_KEY, tenantId: TENANT, metricsBaseUrl: `${simulator.baseUrl}/analytics/cc/v5/realtime-metrics` },
        configuration: { defaultQueueId: '101' },
        additional: {},
      },
    });
    // Deploy provisions the webhook and channel on the simulator, which sends WEB_HOOK_VERIFY to the service.
    await api('POST', `/v1/gateways/${gateway.id}/deploy`, {});
    const webhook: Target = { port: PORT, method: 'POST', path: `/v1/webhooks/${gateway.id}` };
    const health: Target = { port: PORT, method: 'GET', path: '/health/live' };
    const bareTarget: Target = { port: BARE_PORT, method: 'POST', path: '/' };

    // Warm-up (JIT, connection pools, the JWK fetch); not reported.
    let offset = 0;
    const warm = presign(simulator, 3000, offset);
    offset += warm.length;
    accepted += (await openLoop('warm-up', webhook, 500, warm, service.pid)).ok;
    await sleep(2_000);

    for (const rate of RATES) {
      const deliveries = presign(simulator, rate * SECONDS, offset);
      offset += deliveries.length;
      const bareResult = await openLoop('bare node:http', bareTarget, rate, deliveries, bare.pid!);
      results.push(bareResult);
      await sleep(1_000);
      results.push(await openLoop('chat-gateway GET /health/live', health, rate, deliveries, service.pid));
      await sleep(1_000);
      const result = await openLoop('chat-gateway webhook', webhook, rate, deliveries, service.pid);
      results.push(result);
      accepted += result.ok;
      process.stdout.write(`${rate}/s: webhook p50 ${ms(result.p50)} ms p99 ${ms(result.p99)} ms ok ${result.ok}/${deliveries.length}; bare p99 ${ms(bareResult.p99)} ms\n`);
      await sleep(2_000);
      // The target rate is always measured; past it the first rate not sustained ends the run.
      if (!sustained(result) && rate >= 2000) break;
    }
    ceiling = await closedLoop(50, 5, presign(simulator, 1000, offset));
    const db = new Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${DATABASE}` });
    await db.connect();
    stored = (await db.query(`SELECT count(*)::int AS n FROM inbound_webhooks WHERE gateway_id = $1 AND platform_conversation_id IS NOT NULL`, [gateway.id])).rows[0].n;
    await db.end();
  } finally {
    await service.stop();
    bare.kill('SIGTERM');
    await simulator.stop();
  }

  const ours = results.filter((r) => r.target === 'chat-gateway webhook');
  const best = ours.filter(sustained).reduce((top, r) => Math.max(top, r.offered), 0);
  const target = ours.find((r) => r.offered === 2000);
  const lines = [
    '## Webhook intake: signed 8x8 deliveries verified, stored and acknowledged (issue 5)',
    '',
    `Machine: ${machineLine()}.`,
    `Setup: the service as one process (\`node dist/src/main.js\`, APP_ROLE=${ROLE}, LOG_LEVEL=warn) with a deployed \`8x8-chat-gateway\` ` +
      `gateway; ${CONVERSATIONS} conversations; agent MESSAGE deliveries (${bodyBytes.min}-${bodyBytes.max} bytes each) signed beforehand with the 8x8 simulator's RS256 key ` +
      `(2048-bit), each with its own event id; fired open loop for ${SECONDS} s per rate by one node:http keep-alive client in another process ` +
      `(latency from the instant each request was due to the end of the answer). Per rate, in this order: bare node:http (the same client ` +
      'and requests against a server that reads the body and answers 200); the service\'s `GET /health/live` (the same process, ' +
      'Nest/Express and its global middleware, no work: the framework\'s floor); the webhook. Machine CPU is the whole machine ' +
      '(PostgreSQL, Redis, client, and whatever else ran), 100 % = both cores.',
    '',
    '| target | offered/s | sent | 2xx | errors | achieved/s | p50 ms | p99 ms | max ms | server CPU (one core) | server CPU per request | client CPU | machine CPU |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...results.map(
      (r) =>
        `| ${r.target} | ${r.offered} | ${r.sent} | ${r.ok} | ${r.errors + r.notSent} | ${r.achieved.toFixed(0)} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ` +
        `${(r.serverCpu * 100).toFixed(0)} % | ${r.ok ? ((r.serverCpu * 1e6) / r.achieved).toFixed(0) : 'n/a'} µs | ${(r.clientCpu * 100).toFixed(0)} % | ${(r.machineCpu * 100).toFixed(0)} % |`,
    ),
    '',
    `Machine CPU before the run (3 s, nothing of this benchmark running): ${(background * 100).toFixed(0)} %.`,
    `Bare node:http ceiling, closed loop with 50 connections for 5 s: ${ceiling.rate.toFixed(0)} requests/s, p50 ${ms(ceiling.p50)} ms, p99 ${ms(ceiling.p99)} ms.`,
    `Deliveries acknowledged 2xx ${accepted}; rows stored for them ${stored}.`,
    '',
    `Highest rate sustained (p99 <= ${P99_LIMIT_MS} ms, no errors, >= 97 % of the offered rate achieved): ${best ? `${best} deliveries/s` : 'none of the rates tried'}. ` +
      `Target: at least 2,000 deliveries/s with p99 at most 20 ms. ${target && sustained(target) ? 'Met in this run.' : 'Not met in this run.'}`,
  ];
  writeSection('webhooks', lines.join('\n'));
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  },
);
