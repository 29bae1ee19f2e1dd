import { randomBytes } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { resolve } from 'node:path';
import { Client } from 'pg';
import { EscalationProducer } from '@app/client';
import { BenchProcess, cpuByPid, cpuDelta, freePort, machineJiffies, pidsByName, sleep } from './support/processes';
import { machineLine, processCpuSeconds, writeSection } from './support/report';
import { adminApi, resetBenchState } from './support/service';
import type { RefreshWindowStats } from './support/refresh-timing.preload';

/**
 * Polling benchmark (issue 4): N escalated GMS chats polled every second by the service, against the GMS simulator,
 * for N = 1,000, 5,000 and 10,000, and in the same run the machine's ceiling: a bare HTTP client polling the same
 * simulator for the same number of chats. Lateness is measured at the simulator (see the report's definition).
 *
 *   npm run bench:polling
 *   BENCH_SIZES=1000 BENCH_WINDOW_SECONDS=10 npm run bench:polling       (a quick look)
 *   BENCH_POLL_SHARDS=... BENCH_POLL_TICK_MS=... BENCH_POLL_CONCURRENCY=...  (the service's polling knobs)
 *   BENCH_NO_REPORT=1                                                      (print only, leave docs/benchmarks.md)
 *   BENCH_SERVICE_ARGS="--cpu-prof --cpu-prof-dir /tmp/prof"                 (node flags for the service process)
 */

const DIST = resolve(__dirname, '..');
const SERVICE_MAIN = resolve(DIST, 'src/main.js');
const SIMULATOR_MAIN = resolve(DIST, 'libs/simulators/src/gms/gms-simulator.main.js');
const PRELOAD = resolve(__dirname, 'support/refresh-timing.preload.js');
const BARE_POLLER = resolve(__dirname, 'support/bare-poller.js');

const SIZES = (process.env.BENCH_SIZES ?? '1000,5000,10000').split(',').map(Number).filter((n) => n > 0 && n <= 50_000);
const WINDOW_MS = Number(process.env.BENCH_WINDOW_SECONDS ?? 30) * 1000;
const WARMUP_MS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5) * 1000;
const INTERVAL_MS = 1000;
const RAMP_INTERVAL_SECONDS = 30;
/** Node flags of the service process (e.g. BENCH_SERVICE_ARGS="--max-semi-space-size=32"), named in the report. */
const SERVICE_FLAGS = (process.env.BENCH_SERVICE_ARGS ?? '').split(' ').filter(Boolean);
const BARE_TRANSPORTS = (process.env.BENCH_BARE ?? 'http,fetch').split(',').filter((t): t is 'http' | 'fetch' => t === 'http' || t === 'fetch');
const SERVICE_NAME = 'customer-support';
const DATABASE = 'chat_gateway_bench';
const DATABASE_URL = `postgres://postgres@127.0.0.1:5432/${DATABASE}`;
const REDIS_URL = 'redis://127.0.0.1:6379';
const REDIS_PREFIX = '{cgbench}';
const API_KEY = `bench-${randomBytes(16).toString('hex')}`;
const POLL_ENV: Record<string, string> = Object.fromEntries(
  (['POLL_SHARDS', 'POLL_TICK_MS', 'POLL_CONCURRENCY'] as const).flatMap((name) => (process.env[`BENCH_${name}`] ? [[name, process.env[`BENCH_${name}`]!]] : [])),
);

interface CpuShares {
  service?: number;
  simulator: number;
  client?: number;
  postgres: number;
  redis: number;
  machine: number;
}

interface Row {
  chats: number;
  client: 'bare client, node:http' | 'bare client, fetch' | 'service';
  stats: RefreshWindowStats;
  cpu: CpuShares;
  notes: string[];
}

/** Percent of one core used over the window, per process group, and the whole machine's busy share. */
class CpuWindow {
  private readonly t0 = performance.now();
  private readonly machine0 = machineJiffies();
  private readonly pg0: Map<number, number>;
  private readonly redis0: Map<number, number>;
  private readonly own0: Map<string, number>;

  constructor(private readonly own: Record<string, number>) {
    this.pg0 = cpuByPid(pidsByName('postgres'));
    this.redis0 = cpuByPid(pidsByName('redis-server'));
    this.own0 = new Map(Object.entries(own).map(([name, pid]) => [name, processCpuSeconds(pid)]));
  }

  end(): Record<string, number> {
    const seconds = (performance.now() - this.t0) / 1000;
    const pct = (cpu: number) => (100 * cpu) / seconds;
    const machine = machineJiffies();
    const result: Record<string, number> = {
      postgres: pct(cpuDelta(this.pg0, cpuByPid(pidsByName('postgres')))),
      redis: pct(cpuDelta(this.redis0, cpuByPid(pidsByName('redis-server')))),
      machine: (100 * (machine.busy - this.machine0.busy)) / (machine.total - this.machine0.total),
    };
    for (const [name, pid] of Object.entries(this.own)) result[name] = pct(processCpuSeconds(pid) - this.own0.get(name)!);
    return result;
  }
}

async function startSimulator(): Promise<{ process: BenchProcess; baseUrl: string }> {
  const port = await freePort();
  // Inactivity control off (chats nobody answers), flex-disconnect left at Chat Server's 45 s: a chat the service
  // forgot to poll would be dropped, and the report counts drops.
  const simulator = new BenchProcess(
    'GMS simulator',
    ['-r', PRELOAD, SIMULATOR_MAIN, '--port', String(port), '--timeout-alert-seconds', '0', '--timeout-close-seconds', '0'],
    {},
    { ipc: true },
  );
  const [, baseUrl] = await simulator.waitForOutput(/GMS simulator listening on (\S+)/, 15_000);
  return { process: simulator, baseUrl };
}

async function measureWindow(simulator: BenchProcess, own: Record<string, number>): Promise<{ stats: RefreshWindowStats; cpu: Record<string, number> }> {
  await simulator.request({ cmd: 'start' }, 'started', 5_000);
  const cpu = new CpuWindow(own);
  await sleep(WINDOW_MS);
  const shares = cpu.end();
  const stats = await simulator.request<RefreshWindowStats>({ cmd: 'stop', intervalMs: INTERVAL_MS }, 'stats', 30_000);
  return { stats, cpu: shares };
}

async function flexDisconnectDrops(baseUrl: string): Promise<number> {
  const res = await fetch(`${baseUrl}/sim/chats?state=ended`, { signal: AbortSignal.timeout(30_000) });
  const chats = (await res.json()) as { endReason?: string }[];
  return chats.filter((chat) => chat.endReason === 'flex-disconnect').length;
}

// ---- the bare client ------------------------------------------------------------------------------------------------

async function benchBareClient(n: number, simulator: BenchProcess, baseUrl: string, transport: 'http' | 'fetch'): Promise<Row> {
  const poller = new BenchProcess(`bare client (${transport})`, [BARE_POLLER], {}, { ipc: true });
  try {
    const created = await poller.request<{ count: number }>(
      { cmd: 'create', serviceUrl: `${baseUrl}/genesys/2/chat/${SERVICE_NAME}`, count: n, timeoutMs: 120_000, transport },
      'created',
      130_000,
    );
    if (created.count !== n) throw new Error(`bare client opened ${created.count} of ${n} chats`);
    await simulator.request({ cmd: 'forget' }, 'forgotten', 5_000);
    const polled = poller.request<{ sent: number; answered: number; errors: number; peakInFlight: number; behindAtEnd: number }>(
      { cmd: 'poll', durationMs: WARMUP_MS + WINDOW_MS + 2_000, intervalMs: INTERVAL_MS, maxInFlight: 256 },
      'polled',
      WARMUP_MS + WINDOW_MS + 30_000,
    );
    await sleep(WARMUP_MS);
    const { stats, cpu } = await measureWindow(simulator, { client: poller.pid, simulator: simulator.pid });
    const result = await polled;
    await poller.request({ cmd: 'disconnect', timeoutMs: 60_000 }, 'disconnected', 70_000);
    return {
      chats: n,
      client: transport === 'http' ? 'bare client, node:http' : 'bare client, fetch',
      stats,
      cpu: cpu as unknown as CpuShares,
      notes: [`${result.errors} failed polls, at most ${result.peakInFlight} in flight (cap 256), ${result.behindAtEnd} polls behind the grid at the end`],
    };
  } finally {
    await poller.stop(5_000);
  }
}

// ---- the service ----------------------------------------------------------------------------------------------------

/** A bot platform that accepts every delivery at once (the benchmark is about polling, not delivery). */
async function startBotPlatform(): Promise<{ server: Server; url: string; received: () => number }> {
  let received = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      received++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hooks`, received: () => received };
}

async function waitUntil(what: string, timeoutMs: number, check: () => Promise<boolean>, everyMs = 1000): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await check()) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`benchmark: ${what} not reached within ${timeoutMs} ms`);
    await sleep(everyMs);
  }
}

/** Polls counted by the service itself (chat_gateway_polls_total by outcome). */
async function servicePolls(base: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${API_KEY}` }, signal: AbortSignal.timeout(10_000) })).text();
  const result: Record<string, number> = {};
  for (const match of text.matchAll(/^chat_gateway_polls_total\{outcome="(\w+)"\} (\S+)$/gm)) result[match[1]] = Number(match[2]);
  return result;
}

async function benchService(n: number, simulator: BenchProcess, baseUrl: string): Promise<Row> {
  await resetBenchState(DATABASE, REDIS_PREFIX, REDIS_URL);
  const bot = await startBotPlatform();
  const port = await freePort();
  const service = new BenchProcess('service', [...SERVICE_FLAGS, SERVICE_MAIN], {
    APP_ROLE: 'all',
    PORT: String(port),
    DATABASE_URL,
    REDIS_URL,
    REDIS_PREFIX,
    SECRETS_KEY: randomBytes(32).toString('base64'),
    BOOTSTRAP_API_KEY: API_KEY,
    LOG_LEVEL: 'warn',
    OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
    DOCS_UI_ENABLED: 'false',
    ...POLL_ENV,
  });
  const base = `http://127.0.0.1:${port}`;
  const api = adminApi(base, API_KEY);
  const producer = new EscalationProducer({ connection: { host: '127.0.0.1', port: 6379 }, prefix: REDIS_PREFIX });
  const db = new Client({ connectionString: DATABASE_URL });
  try {
    await waitUntil('service ready', 60_000, () => fetch(`${base}/health/ready`).then((r) => r.ok, () => false), 250);
    await db.connect();
    const domain = `bench-${n}`;
    await api('POST', '/v1/domains', { name: domain, callbackUrl: bot.url, signingSecret: `whsec_${randomBytes(32).toString('base64')}` });
    const gateway = await api('POST', '/v1/gateways', {
      type: 'genesys-pureengage',
      settings: {
        basic: { name: `gms-bench-${n}`, domain, deployed: true, serviceUrl: baseUrl, serviceName: SERVICE_NAME },
        configuration: { escalationTimeoutSeconds: 86_400 },
        // Slow polling while the escalations are created (creation is not what is measured here); 1 s from the
        // measurement on, through the admin API like an operator would change it.
        additional: { clientPollingIntervalSeconds: RAMP_INTERVAL_SECONDS },
      },
    });

    // Through the intake queue, as an internal service would, many in flight at once.
    const enqueueStarted = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        while (next < n && Date.now() - enqueueStarted < 120_000) {
          const i = next++;
          await producer.enqueue({
            idempotencyKey: `bench-${n}-${i}`,
            requestedBy: 'polling-bench',
            request: {
              domain,
              gatewayId: gateway.id,
              conversation: { externalId: `bench-${n}-${i}`, channel: 'webchat' },
              user: { firstName: 'Bench', lastName: `User ${i}`, email: `user${i}@example.com` },
              attributes: { Intent: 'benchmark' },
            },
          });
        }
      }),
    );
    const enqueueMs = Date.now() - enqueueStarted;
    const queuedMs = await waitUntil(`${n} escalations queued on GMS`, 60_000 + n * 30, async () => {
      const [{ count }] = (await db.query(`SELECT count(*)::int AS count FROM escalations WHERE state = 'queued'`)).rows;
      return count >= n;
    });
    // The `queued` event of every escalation goes to the bot platform; let that finish before measuring polls.
    await waitUntil('queued events delivered', 120_000, async () => {
      const [{ count }] = (await db.query(`SELECT count(*)::int AS count FROM conversations WHERE delivered_seq < last_seq`)).rows;
      return count === 0;
    });
    await api('PATCH', `/v1/gateways/${gateway.id}`, { settings: { additional: { clientPollingIntervalSeconds: INTERVAL_MS / 1000 } } });
    // The poller re-reads gateway settings every 5 s and reschedules every chat of a gateway whose interval changed.
    await waitUntil('polling at the new interval', 30_000, async () => {
      const before = (await servicePolls(base)).empty ?? 0;
      await sleep(1_000);
      return ((await servicePolls(base)).empty ?? 0) - before >= 0.9 * n;
    }, 0);
    await sleep(WARMUP_MS);
    const polls0 = await servicePolls(base);
    const { stats, cpu } = await measureWindow(simulator, { service: service.pid, simulator: simulator.pid });
    const polls1 = await servicePolls(base);
    const errors = (polls1.error ?? 0) - (polls0.error ?? 0);
    const [{ states }] = (await db.query(`SELECT json_object_agg(state, c) AS states FROM (SELECT state, count(*)::int AS c FROM escalations GROUP BY state) s`)).rows;
    return {
      chats: n,
      client: 'service',
      stats,
      cpu: cpu as unknown as CpuShares,
      notes: [
        `${n} escalations enqueued in ${(enqueueMs / 1000).toFixed(1)} s, all queued on GMS ${(queuedMs / 1000).toFixed(1)} s later`,
        `${errors} failed polls (service metric); escalations by state after the window: ${JSON.stringify(states)}`,
      ],
    };
  } finally {
    await producer.close().catch(() => undefined);
    await db.end().catch(() => undefined);
    await service.stop(15_000);
    bot.server.closeAllConnections();
    await new Promise((done) => bot.server.close(done));
  }
}

// ---- report ---------------------------------------------------------------------------------------------------------

const ms = (value: number) => (Number.isFinite(value) ? `${Math.round(value)} ms` : 'n/a');
const pct = (value: number | undefined) => (value === undefined || !Number.isFinite(value) ? '' : `${Math.round(value)} %`);

function table(rows: Row[]): string {
  const lines = [
    '| chats | poller | polls/s (target) | chats polled | lateness p50 | lateness p99 | gap max | gaps > 2 s | new connections | CPU poller | CPU simulator | CPU PostgreSQL | CPU Redis | machine busy |',
    '|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const s = row.stats;
    const perSecond = s.refreshes / (s.windowMs / 1000);
    lines.push(
      `| ${row.chats.toLocaleString('en-US')} | ${row.client} | ${Math.round(perSecond).toLocaleString('en-US')} (${row.chats.toLocaleString('en-US')}) | ${s.chats.toLocaleString('en-US')} | ${ms(s.lateness.p50)} | ${ms(s.lateness.p99)} | ${ms(s.gap.max)} | ${s.gapsOverTwice} | ${s.connections} | ${pct(row.cpu.service ?? row.cpu.client)} | ${pct(row.cpu.simulator)} | ${pct(row.cpu.postgres)} | ${pct(row.cpu.redis)} | ${pct(row.cpu.machine)} |`,
    );
  }
  return lines.join('\n');
}

function verdicts(rows: Row[]): string[] {
  const lines: string[] = [];
  for (const n of SIZES) {
    const service = rows.find((r) => r.chats === n && r.client === 'service');
    const bare = rows.find((r) => r.chats === n && r.client === 'bare client, node:http');
    if (!service || !bare) continue;
    const rate = (r: Row) => r.stats.refreshes / (r.stats.windowMs / 1000);
    const share = (100 * rate(service)) / rate(bare);
    const p99 = service.stats.lateness.p99;
    const meets = p99 <= 250 || (bare.stats.lateness.p99 > 250 && share >= 80);
    lines.push(
      `- ${n.toLocaleString('en-US')} chats: service p99 lateness ${ms(p99)} (bare client ${ms(bare.stats.lateness.p99)}), ` +
        `polls/s ${Math.round(share)} % of the bare client's: target ${meets ? 'met' : 'missed'}.`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const machine = machineLine();
  const rows: Row[] = [];
  const drops: string[] = [];
  for (const n of SIZES) {
    const { process: simulator, baseUrl } = await startSimulator();
    try {
      for (const transport of BARE_TRANSPORTS) {
        process.stdout.write(`\n== ${n} chats: bare client (${transport})\n`);
        rows.push(await benchBareClient(n, simulator, baseUrl, transport));
        process.stdout.write(`${table(rows.slice(-1))}\n${rows[rows.length - 1].notes.join('\n')}\n`);
      }
      process.stdout.write(`== ${n} chats: service\n`);
      rows.push(await benchService(n, simulator, baseUrl));
      process.stdout.write(`${table(rows.slice(-1))}\n${rows[rows.length - 1].notes.join('\n')}\n`);
      drops.push(`${n.toLocaleString('en-US')} chats: ${await flexDisconnectDrops(baseUrl)}`);
    } finally {
      await simulator.stop(10_000);
    }
  }
  const settings = { POLL_SHARDS: '16', POLL_TICK_MS: '250', POLL_CONCURRENCY: '200', ...POLL_ENV };
  const markdown = [
    '## Polling (GMS, `npm run bench:polling`)',
    '',
    `Machine: ${machine}.`,
    '',
    `N escalated GMS chats, each to be polled (Refresh) every ${INTERVAL_MS / 1000} s. Per N, in one run and on one fresh simulator process ` +
      `(\`gms-simulator.main.js\`, inactivity control off, flex-disconnect 45 s): first the **bare HTTP client** ` +
      '(`bench/support/bare-poller.ts`: node:http with a keep-alive agent, then the same with the global fetch; the gateway\'s request body, a fixed 1 s grid per chat, no queue or ' +
      'database: the machine\'s ceiling), which opens its own N chats; then the **service** (`node dist/src/main.js`, API and worker ' +
      `in one process, LOG_LEVEL warn, ${Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(', ')}) with N escalations enqueued ` +
      'through the `escalation-requests` queue (`EscalationProducer`), measured once all are queued on GMS and their `queued` events delivered. ' +
      `Each measurement: ${WARMUP_MS / 1000} s warm-up, then a ${WINDOW_MS / 1000} s window.`,
    '',
    '**Lateness, defined**: measured at the simulator (a preloaded hook, `bench/support/refresh-timing.preload.ts`, notes the arrival of ' +
      'every Refresh request per chat). For every two consecutive Refresh requests of one chat, the gap between their arrivals minus the ' +
      '1 s polling interval, floored at 0 (an early poll counts as on time): lateness = max(0, gap - 1 s). Percentiles are over all gaps ' +
      'that end in the window. *polls/s* = Refresh requests the simulator received in the window per second (target N); *chats polled* = ' +
      'distinct chats refreshed in the window; *gap max* = the longest gap of any chat. CPU is the share of one core used in the window ' +
      '(from /proc; PostgreSQL is the sum over all its processes; the machine has 2 cores, so *machine busy* 100 % = both cores, other ' +
      'load included).',
    '',
    table(rows),
    '',
    ...verdicts(rows),
    '',
    `Chats dropped by GMS flex-disconnect during the run (service phase included): ${drops.join('; ')}.`,
    '',
    ...rows.filter((r) => r.client === 'service').map((r) => `- service, ${r.chats.toLocaleString('en-US')} chats: ${r.notes.join('; ')}.`),
    ...rows.filter((r) => r.client !== 'service').map((r) => `- ${r.client}, ${r.chats.toLocaleString('en-US')} chats: ${r.notes.join('; ')}.`),
  ].join('\n');
  process.stdout.write(`\n${markdown}\n`);
  if (!process.env.BENCH_NO_REPORT) writeSection('polling', markdown);
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`polling benchmark failed: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
