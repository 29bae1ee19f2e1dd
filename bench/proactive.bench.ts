import { Agent, createServer, request } from 'node:http';
import { AddressInfo } from 'node:net';
import { cpus } from 'node:os';
import { Client } from 'pg';
import { TeamsSimulator, TeamsUser } from '@app/simulators/teams';
import { machineLine, percentile, processCpuSeconds, writeSection } from './support/report';
import { cpuByPid, cpuDelta, machineJiffies, pidsByName, sleep } from './support/processes';
import { adminApi, BenchService, pool, resetBenchState } from './support/service';

/**
 * Issue 21 benchmark: a proactive fan-out of USERS notifications (`POST /v1/notifications`) to Teams users who
 * installed the app, through the Teams simulator with its rate limits on (per conversation 7/1 s, 8/2 s, 60/30 s,
 * 1800/h; per app and tenant TENANT_RPS/s, answering 429 with Retry-After). The users are spread over TENANTS tenants
 * (1 by default: a company's bot notifying its own people; more make a multi-tenant app), so the platform's cap for the
 * fan-out is TENANTS x TENANT_RPS sends/s. Measured: accepted/s
 * (the POSTs answered 202, CONCURRENCY at a time), sent/s (the Connector's accepted sends, by the simulator's clock),
 * accepted -> sent (the outbound row's created_at to the simulator's receipt of the send, one machine, one clock), and
 * that every user got exactly one notification.
 */
const USERS = Number(process.env.BENCH_USERS ?? 10_000);
const TENANTS = Number(process.env.BENCH_TENANTS ?? 1);
const TENANT_RPS = Number(process.env.BENCH_TENANT_RPS ?? 50);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const PORT = Number(process.env.BENCH_PORT ?? 3921);
const KEY = 'bench-admin-key-0123456789abcdefghij';
const APP_ID = '00000000-0000-4000-8000-0000000be4c4';
const APP_SECRET = 'bench-teams-app-secret';
const url = `http://127.0.0.1:${PORT}`;
const api = adminApi(url, KEY);
const env = {
  APP_ROLE: 'all',
  PORT: String(PORT),
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/chat_gateway_bench_proactive',
  REDIS_PREFIX: '{cgbenchpro}',
  SECRETS_KEY: Buffer.alloc(32, 7).toString('base64'),
  BOOTSTRAP_API_KEY: KEY,
  OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
  LOG_LEVEL: 'warn',
  PUBLIC_BASE_URL: url,
};

const agent = new Agent({ keepAlive: true, maxSockets: 256 });
function post(target: string, headers: Record<string, string>, body: unknown): Promise<{ status: number; body: string }> {
  const payload = JSON.stringify(body);
  return new Promise((done, reject) => {
    const req = request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.once('end', () => done({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.once('error', reject);
    req.end(payload);
  });
}


async function main(): Promise<void> {
  await resetBenchState('chat_gateway_bench_proactive', env.REDIS_PREFIX);
  let eventsAtBot = 0;
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      eventsAtBot++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const callback = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  const teams = new TeamsSimulator();
  await teams.start();
  const service = new BenchService(env);
  await service.start(url);
  try {
    await api('POST', '/v1/domains', { name: 'bench', callbackUrl: callback, signingSecret: 'whsec_' + Buffer.alloc(32, 1).toString('base64') });
    const tenants = Array.from({ length: TENANTS }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const gateway = await api('POST', '/v1/gateways', {
      type: 'microsoft-teams',
      settings: {
        basic: { name: 'bench-teams', domain: 'bench', deployed: true, appId: APP_ID, appPassword: APP_SECRET, appType: TENANTS > 1 ? 'MultiTenant' : 'SingleTenant', appTenantId: tenants[0] },
        configuration: { openIdMetadataUrl: teams.openIdMetadataUrl, tokenEndpointTemplate: teams.tokenEndpointTemplate, allowedServiceUrlHosts: '127.0.0.1' },
      },
    });
    teams.registerBot({ appId: APP_ID, secret: APP_SECRET, tenantId: tenants[0], multiTenant: TENANTS > 1, messagingEndpoint: `${url}/v1/webhooks/${gateway.id}` });

    // The users install the app (personal scope): each install is two signed activities to the service, which opens
    // the user's conversation and marks them reachable.
    const users: TeamsUser[] = Array.from({ length: USERS }, (_, i) => teams.addUser({ name: `User ${i}`, tenantId: tenants[i % TENANTS] }));
    const installStarted = Date.now();
    const conversations = new Map<string, string>();
    await pool(users, 32, async (user) => {
      const { conversationId, statuses } = await teams.install(APP_ID, user.id);
      if (statuses.some((s) => s !== 200)) throw new Error(`install of ${user.id}: HTTP ${statuses.join(', ')}`);
      conversations.set(user.id, conversationId);
    });
    const installSeconds = (Date.now() - installStarted) / 1000;
    const db = new Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    for (let until = Date.now() + 120_000; ; await sleep(250)) {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM channel_conversations`);
      if (rows[0].n >= USERS) break;
      if (Date.now() > until) throw new Error(`only ${rows[0].n} of ${USERS} conversations stored`);
    }

    teams.setRateLimit(true, { perTenantRps: TENANT_RPS });
    const requestsBefore = teams.connectorRequests.length;
    const cpuBefore = processCpuSeconds(service.pid);
    const pgBefore = cpuByPid(pidsByName('postgres'));
    const redisBefore = cpuByPid(pidsByName('redis-server'));
    const ownBefore = processCpuSeconds(process.pid);
    const machineBefore = machineJiffies();
    const answered: number[] = [];
    const failures = new Map<string, number>();
    const started = Date.now();
    await pool(users, CONCURRENCY, async (user, i) => {
      const t0 = Date.now();
      const res = await post(`${url}/v1/notifications`, { authorization: `Bearer ${KEY}`, 'idempotency-key': `fanout-${i}` }, {
        gatewayId: gateway.id,
        recipient: { userId: user.aadObjectId },
        message: { text: `n-${i}: your laptop is ready for pick-up` },
      }).catch((error: Error) => ({ status: 0, body: error.message }));
      answered.push(Date.now() - t0);
      if (res.status !== 202) failures.set(`HTTP ${res.status} ${res.body.slice(0, 80)}`, (failures.get(`HTTP ${res.status} ${res.body.slice(0, 80)}`) ?? 0) + 1);
    });
    const acceptSeconds = (Date.now() - started) / 1000;

    // Sent: every notification's send accepted by the Connector (bounded wait).
    const sentAt = new Map<number, number>();
    const seen = () => {
      for (const user of users) {
        for (const entry of teams.transcript(conversations.get(user.id)!)) {
          const match = /^n-(\d+):/.exec(String(entry.activity.text ?? ''));
          if (match && entry.op === 'send') {
            const n = Number(match[1]);
            if (sentAt.has(n)) sentAt.set(-1 - n, entry.at); // a second send of the same notification: counted below
            else sentAt.set(n, entry.at);
          }
        }
      }
    };
    for (let until = Date.now() + 600_000; ; await sleep(1000)) {
      sentAt.clear();
      seen();
      if ([...sentAt.keys()].filter((n) => n >= 0).length >= USERS - [...failures.values()].reduce((a, b) => a + b, 0) || Date.now() > until) break;
    }
    const elapsed = (Date.now() - started) / 1000;
    const cpu = (processCpuSeconds(service.pid) - cpuBefore) / elapsed;
    const pgCpu = cpuDelta(pgBefore, cpuByPid(pidsByName('postgres'))) / elapsed;
    const redisCpu = cpuDelta(redisBefore, cpuByPid(pidsByName('redis-server'))) / elapsed;
    const ownCpu = (processCpuSeconds(process.pid) - ownBefore) / elapsed;
    const machineAfter = machineJiffies();
    const machineBusy = (machineAfter.busy - machineBefore.busy) / Math.max(1, machineAfter.total - machineBefore.total);
    const sent = [...sentAt.entries()].filter(([n]) => n >= 0);
    const duplicates = [...sentAt.keys()].filter((n) => n < 0).length;
    const { rows } = await db.query<{ text: string; created: number; status: string; attempts: number }>(
      `SELECT activity->>'text' AS text, extract(epoch FROM created_at)::float8 * 1000 AS created, status, attempts FROM outbound_messages WHERE activity->>'text' LIKE 'n-%'`,
    );
    await db.end();
    const created = new Map(rows.map((row) => [Number(/^n-(\d+):/.exec(row.text)![1]), row.created]));
    const latencies = sent.map(([n, at]) => Math.round(at - created.get(n)!)).filter((v) => Number.isFinite(v));
    const firstSent = Math.min(...sent.map(([, at]) => at));
    const lastSent = Math.max(...sent.map(([, at]) => at));
    const window = teams.connectorRequests.slice(requestsBefore);
    const throttled = window.filter((r) => r.status === 429).length;
    const statuses = rows.reduce<Record<string, number>>((acc, row) => ((acc[row.status] = (acc[row.status] ?? 0) + 1), acc), {});
    const retried = rows.filter((row) => row.attempts > 1).length;
    const p = (values: number[]) => `${percentile(values, 50)} ms / ${percentile(values, 99)} ms`;
    const lines = [
      '## Proactive fan-out to Teams (issue 21)',
      '',
      `Machine: ${machineLine()}.`,
      `Setup: service as one process (APP_ROLE=all), freshly started; a \`microsoft-teams\` gateway (${TENANTS > 1 ? 'multi-tenant' : 'single-tenant'} app) at the Teams simulator, which runs in the load generator's process; ${USERS} users over ${TENANTS} tenants installed the app first (${installSeconds.toFixed(1)} s for the ${USERS * 2} signed install activities). Then the simulator's rate limits on (per conversation 7/1 s, 8/2 s, 60/30 s, 1800/h; ${TENANT_RPS} requests/s per app and tenant: a platform cap of ${TENANTS * TENANT_RPS} sends/s for this fan-out) and ${USERS} \`POST /v1/notifications\`, ${CONCURRENCY} at a time, one per user, each with its Idempotency-Key.`,
      '',
      '| measure | value |',
      '|---|---|',
      `| notifications accepted (202) / refused | ${USERS - [...failures.values()].reduce((a, b) => a + b, 0)} / ${[...failures.values()].reduce((a, b) => a + b, 0)}${failures.size ? ` (${[...failures].map(([w, n]) => `${w}: ${n}`).join('; ')})` : ''} |`,
      `| **accepted/s** (all POSTs answered in ${acceptSeconds.toFixed(1)} s) | **${(USERS / acceptSeconds).toFixed(0)}** |`,
      `| POST answered, p50 / p99 | ${p(answered)} |`,
      `| **sent/s** (first to last send the Connector accepted) | **${(sent.length / Math.max(0.001, (lastSent - firstSent) / 1000)).toFixed(0)}** |`,
      `| **accepted -> sent** (outbound row written -> the Connector accepted the send), p50 / p99 | **${p(latencies)}** |`,
      `| 429 Throttled answers of the Connector during the fan-out / notifications sent after one | ${throttled} / ${retried} |`,
      `| notifications that reached their user once / twice or more / never | ${sent.length} / ${duplicates} / ${USERS - sent.length} |`,
      `| outbound statuses in PostgreSQL | ${Object.entries(statuses).map(([s, n]) => `${s} ${n}`).join(', ')} |`,
      `| events delivered to the bot's callback (install events and status events) | ${eventsAtBot} |`,
      `| CPU during the fan-out, % of one core: service / PostgreSQL / Redis / load generator with the simulator | ${(cpu * 100).toFixed(0)} / ${(pgCpu * 100).toFixed(0)} / ${(redisCpu * 100).toFixed(0)} / ${(ownCpu * 100).toFixed(0)} |`,
      `| machine busy during the fan-out (all ${cpus().length} cores) | ${(machineBusy * 100).toFixed(0)} % |`,
      '',
      'No target was set for this benchmark: it shows what a fan-out costs and that none is lost or doubled under throttling.',
    ];
    writeSection('proactive', lines.join('\n'));
    process.stdout.write(lines.join('\n') + '\n');
  } catch (error) {
    process.stderr.write(`service log (last lines):\n${service.log.split('\n').slice(-20).join('\n')}\n`);
    throw error;
  } finally {
    await service.stop();
    await teams.stop();
    receiver.closeAllConnections();
    receiver.close();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${(error as Error).stack}\n`);
    process.exit(1);
  },
);
