import { Agent, createServer, request } from 'node:http';
import { AddressInfo } from 'node:net';
import { Client } from 'pg';
import { TwilioSimulator } from '@app/simulators/twilio';
import { WhatsAppSimulator } from '@app/simulators/whatsapp';
import { machineLine, percentile, processCpuSeconds, writeSection } from './support/report';
import { sleep } from './support/processes';
import { adminApi, BenchService, openLoop, pool, resetBenchState } from './support/service';

/**
 * Issue 22 benchmark, two parts on one service process:
 *  1. WhatsApp: NOTIFICATIONS template notifications (`POST /v1/notifications`) to as many new users, through the
 *     WhatsApp simulator with its throughput limit at THROUGHPUT messages/s per business number (130429 over it):
 *     whether the sends stay under the limit, none lost or doubled, accepted -> sent.
 *  2. SMS: signed inbound SMS webhooks from the Twilio simulator at SMS_RATE/s for SMS_SECONDS, from SMS_PHONES phones
 *     (each had written once before): the SMS sent -> the `user_message` event at the bot's callback; beside it, in
 *     the same run, the same requests at the same rate against a bare node:http server (the machine's floor).
 */
const NOTIFICATIONS = Number(process.env.BENCH_NOTIFICATIONS ?? 10_000);
const THROUGHPUT = Number(process.env.BENCH_THROUGHPUT ?? 80);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 64);
const SMS_RATE = Number(process.env.BENCH_SMS_RATE ?? 500);
const SMS_SECONDS = Number(process.env.BENCH_SMS_SECONDS ?? 20);
const SMS_PHONES = Number(process.env.BENCH_SMS_PHONES ?? 1000);
/** Lower inbound rates after the main one, 10 s each (comma-separated; empty for none). */
const SMS_LADDER = (process.env.BENCH_SMS_LADDER ?? '250,100,50').split(',').filter(Boolean).map(Number);
const PORT = Number(process.env.BENCH_PORT ?? 3923);
const KEY = 'bench-admin-key-0123456789abcdefghij';
const BUSINESS_NUMBER = '+14155550100';
const url = `http://127.0.0.1:${PORT}`;
const api = adminApi(url, KEY);
const env = {
  APP_ROLE: 'all',
  PORT: String(PORT),
  DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/chat_gateway_bench_messaging',
  REDIS_PREFIX: '{cgbenchmsg}',
  SECRETS_KEY: Buffer.alloc(32, 5).toString('base64'),
  BOOTSTRAP_API_KEY: KEY,
  OUTBOUND_ALLOW_PRIVATE_NETWORKS: 'true',
  LOG_LEVEL: 'warn',
  PUBLIC_BASE_URL: url,
};

const agent = new Agent({ keepAlive: true, maxSockets: 256 });
function post(target: string, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((done, reject) => {
    const req = request(target, { method: 'POST', agent, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
      res.resume();
      res.once('end', () => done(res.statusCode ?? 0));
    });
    req.once('error', reject);
    req.end(body);
  });
}


/** The most sends accepted in any one-second window. */
function peakPerSecond(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let peak = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= 1000) j++;
    peak = Math.max(peak, i - j + 1);
  }
  return peak;
}

async function main(): Promise<void> {
  await resetBenchState('chat_gateway_bench_messaging', env.REDIS_PREFIX);
  const arrived = new Map<string, number>();
  let eventsAtBot = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(204).end();
      eventsAtBot++;
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      if (body.type === 'user_message' && typeof body.data?.text === 'string' && !arrived.has(body.data.text)) arrived.set(body.data.text, Date.now());
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const callback = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  const whatsapp = new WhatsAppSimulator({ throughputPerSecond: THROUGHPUT });
  const twilio = new TwilioSimulator();
  await whatsapp.start();
  await twilio.start();
  const service = new BenchService(env);
  await service.start(url);
  const db = new Client({ connectionString: env.DATABASE_URL });
  try {
    await db.connect();
    await api('POST', '/v1/domains', { name: 'bench', callbackUrl: callback, signingSecret: 'whsec_' + Buffer.alloc(32, 1).toString('base64') });
    const lines = ['## SMS and WhatsApp (issue 22)', '', `Machine: ${machineLine()}.`, ''];

    // --- 1. WhatsApp template fan-out under the throughput limit ---
    const business = whatsapp.addBusiness({ callbackUrl: `${url}/v1/webhooks/pending` });
    const gateway = await api('POST', '/v1/gateways', {
      type: 'whatsapp-cloud',
      settings: {
        basic: { name: 'bench-wa', domain: 'bench', deployed: true, phoneNumberId: business.phoneNumberId, businessAccountId: business.wabaId, accessToken: business.accessToken, appSecret: business.appSecret, verifyToken: business.verifyToken },
        configuration: { graphBaseUrl: whatsapp.graphBaseUrl, markInboundAsRead: false },
      },
    });
    whatsapp.setCallbackUrl(business.phoneNumberId, `${url}/v1/webhooks/${gateway.id}`);
    whatsapp.addTemplate(business.wabaId, { name: 'order_shipped', language: 'en_US', category: 'UTILITY', body: 'Your order {{1}} has shipped.' });
    const users = Array.from({ length: NOTIFICATIONS }, (_, i) => `3460${String(i).padStart(7, '0')}`);
    const answered: number[] = [];
    const refused = new Map<string, number>();
    const cpu0 = processCpuSeconds(service.pid);
    const started = Date.now();
    await pool(users, CONCURRENCY, async (waId, i) => {
      const t0 = Date.now();
      const body = JSON.stringify({ gatewayId: gateway.id, recipient: { userId: waId }, message: { template: { name: 'order_shipped', language: 'en_US', parameters: [`A-${i}`] } } });
      const status = await post(`${url}/v1/notifications`, { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', 'idempotency-key': `wa-${i}` }, body).catch(() => 0);
      answered.push(Date.now() - t0);
      if (status !== 202) refused.set(`HTTP ${status}`, (refused.get(`HTTP ${status}`) ?? 0) + 1);
    });
    const acceptSeconds = (Date.now() - started) / 1000;
    const expected = NOTIFICATIONS - [...refused.values()].reduce((a, b) => a + b, 0);
    const sentRecords = () => users.flatMap((waId) => whatsapp.sentTo(business.phoneNumberId, waId));
    for (let until = Date.now() + 900_000; Date.now() < until; await sleep(1000)) if (sentRecords().length >= expected) break;
    const waSeconds = (Date.now() - started) / 1000;
    const waCpu = (processCpuSeconds(service.pid) - cpu0) / waSeconds;
    const records = sentRecords();
    const perUser = new Map<string, number>();
    for (const record of records) perUser.set(record.to, (perUser.get(record.to) ?? 0) + 1);
    const { rows } = await db.query<{ to: string; created: number; status: string }>(
      `SELECT cc."user" ->> 'id' AS to, extract(epoch FROM m.created_at)::float8 * 1000 AS created, m.status
         FROM outbound_messages m JOIN channel_conversations cc ON cc.id = m.conversation_id WHERE m.gateway_id = $1`,
      [gateway.id],
    );
    const createdFor = new Map(rows.map((row) => [row.to, row.created]));
    const latencies = records.map((record) => Math.round(record.at - createdFor.get(record.to)!)).filter(Number.isFinite);
    const throttled = whatsapp.graphRequests.filter((r) => r.code === 130429).length;
    const statuses = rows.reduce<Record<string, number>>((acc, row) => ((acc[row.status] = (acc[row.status] ?? 0) + 1), acc), {});
    const p = (values: number[]) => `${percentile(values, 50)} ms / ${percentile(values, 99)} ms`;
    lines.push(
      `### WhatsApp: ${NOTIFICATIONS} template notifications, throughput limit ${THROUGHPUT}/s`,
      '',
      `Setup: a \`whatsapp-cloud\` gateway at the WhatsApp simulator (in the load generator's process) limiting the business number to ${THROUGHPUT} messages/s (sliding one-second window, 130429 over it); ${NOTIFICATIONS} users who never wrote, one approved utility template each (one parameter), ${CONCURRENCY} POSTs at a time, each with its Idempotency-Key. Status webhooks (sent, delivered) come back to the service.`,
      '',
      '| measure | value |',
      '|---|---|',
      `| notifications accepted (202) / refused | ${expected} / ${NOTIFICATIONS - expected}${refused.size ? ` (${[...refused].map(([w, n]) => `${w}: ${n}`).join('; ')})` : ''} |`,
      `| **accepted/s** (all answered in ${acceptSeconds.toFixed(1)} s), POST p50 / p99 | **${(NOTIFICATIONS / acceptSeconds).toFixed(0)}**, ${p(answered)} |`,
      `| **sends the simulator accepted, most in any one second** (limit ${THROUGHPUT}) | **${peakPerSecond(records.map((r) => r.at))}** |`,
      `| sent/s over the fan-out | ${(records.length / Math.max(0.001, (Math.max(...records.map((r) => r.at)) - Math.min(...records.map((r) => r.at))) / 1000)).toFixed(1)} |`,
      `| **accepted -> sent** (outbound row written -> the simulator accepted the send), p50 / p99 | **${p(latencies)}** |`,
      `| sends refused 130429 (over the limit) and retried | ${throttled} |`,
      `| users who got their template once / twice or more / never | ${[...perUser.values()].filter((n) => n === 1).length} / ${[...perUser.values()].filter((n) => n > 1).length} / ${NOTIFICATIONS - perUser.size} |`,
      `| outbound statuses in PostgreSQL when the last send was accepted (status webhooks still arriving) | ${Object.entries(statuses).map(([s, n]) => `${s} ${n}`).join(', ')} |`,
      `| service CPU during the fan-out | ${(waCpu * 100).toFixed(0)} % of one core |`,
      '',
    );

    // The fan-out's status webhooks (sent, delivered) still come in: the SMS part starts once they have all been
    // taken, so that it measures inbound SMS alone.
    for (let until = Date.now() + 300_000; Date.now() < until; await sleep(500)) {
      const { rows: left } = await db.query(`SELECT count(*)::int AS n FROM outbound_messages WHERE gateway_id = $1 AND status <> 'delivered'`, [gateway.id]);
      if (left[0].n === 0) break;
    }
    await whatsapp.settled();
    await sleep(2000);

    // --- 2. Inbound SMS -> bot callback ---
    const account = twilio.addAccount({});
    const smsGateway = await api('POST', '/v1/gateways', {
      type: 'twilio-sms',
      settings: { basic: { name: 'bench-sms', domain: 'bench', deployed: true, accountSid: account.accountSid, authToken: account.authToken, sender: BUSINESS_NUMBER }, configuration: { apiBaseUrl: twilio.apiBaseUrl } },
    });
    twilio.addNumber(account.accountSid, { phoneNumber: BUSINESS_NUMBER, smsUrl: `${url}/v1/webhooks/${smsGateway.id}` });
    const phones = Array.from({ length: SMS_PHONES }, (_, i) => `+3461${String(i).padStart(7, '0')}`);
    await pool(phones, 32, async (phone, i) => void (await twilio.sendSms(phone, BUSINESS_NUMBER, `hello-${i}`)));
    for (let until = Date.now() + 60_000; Date.now() < until && phones.some((_, i) => !arrived.has(`hello-${i}`)); ) await sleep(200);
    await sleep(2000);
    const sentAt = new Map<string, number>();
    const failures = new Map<string, number>();
    const smsCpu0 = processCpuSeconds(service.pid);
    const smsStarted = Date.now();
    await openLoop(SMS_RATE, SMS_RATE * SMS_SECONDS, async (i) => {
      const text = `sms-${i}`;
      sentAt.set(text, Date.now());
      const res = await twilio.sendSms(phones[i % SMS_PHONES], BUSINESS_NUMBER, text).catch((error: Error) => ({ status: 0, body: error.message }));
      if (res.status !== 200) failures.set(`HTTP ${res.status}`, (failures.get(`HTTP ${res.status}`) ?? 0) + 1);
    });
    for (let until = Date.now() + 120_000; Date.now() < until && [...sentAt.keys()].some((k) => !arrived.has(k)); ) await sleep(200);
    const smsCpu = (processCpuSeconds(service.pid) - smsCpu0) / ((Date.now() - smsStarted) / 1000);
    const smsLatencies = [...sentAt].filter(([k]) => arrived.has(k)).map(([k, at]) => arrived.get(k)! - at);
    const lost = [...sentAt.keys()].filter((k) => !arrived.has(k)).length;

    // Lower rates, each after the backlog of the one before has drained.
    const ladder: { rate: number; latencies: number[]; lost: number }[] = [];
    for (const rate of SMS_LADDER) {
      await sleep(2000);
      const sent = new Map<string, number>();
      await openLoop(rate, rate * 10, async (i) => {
        const text = `sms-${rate}-${i}`;
        sent.set(text, Date.now());
        await twilio.sendSms(phones[i % SMS_PHONES], BUSINESS_NUMBER, text).catch(() => undefined);
      });
      for (let until = Date.now() + 60_000; Date.now() < until && [...sent.keys()].some((k) => !arrived.has(k)); ) await sleep(200);
      ladder.push({ rate, latencies: [...sent].filter(([k]) => arrived.has(k)).map(([k, at]) => arrived.get(k)! - at), lost: [...sent.keys()].filter((k) => !arrived.has(k)).length });
    }

    // The floor: a bare node:http server answering the same form bodies at the same rate.
    const bare = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'text/xml' }).end('<Response/>'));
    });
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/sms`;
    const form = new URLSearchParams({ MessageSid: 'SM' + '0'.repeat(32), AccountSid: account.accountSid, From: phones[0], To: BUSINESS_NUMBER, Body: 'sms-0000', NumMedia: '0', NumSegments: '1' }).toString();
    const bareLatencies: number[] = [];
    await openLoop(SMS_RATE, SMS_RATE * Math.min(SMS_SECONDS, 10), async () => {
      const t0 = Date.now();
      await post(bareUrl, { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': 'x' }, form).catch(() => 0);
      bareLatencies.push(Date.now() - t0);
    });
    bare.close();
    const smsP99 = percentile(smsLatencies, 99);
    lines.push(
      `### SMS: inbound at ${SMS_RATE}/s -> the bot's callback`,
      '',
      `Setup: a \`twilio-sms\` gateway; the Twilio simulator (in the load generator's process) POSTs signed inbound SMS webhooks (X-Twilio-Signature over the public URL and the form) at ${SMS_RATE}/s for ${SMS_SECONDS} s, open loop, from ${SMS_PHONES} phones that had each written once before (their conversations exist). Measured: the simulator starting the webhook -> the \`user_message\` event at the bot's callback.`,
      '',
      '| measure | value |',
      '|---|---|',
      `| SMS sent / refused / not at the bot | ${sentAt.size} / ${[...failures.values()].reduce((a, b) => a + b, 0)}${failures.size ? ` (${[...failures].map(([w, n]) => `${w}: ${n}`).join('; ')})` : ''} / ${lost} |`,
      `| **SMS -> user_message at the bot**, p50 / p99 | **${p(smsLatencies)}** |`,
      `| service CPU | ${(smsCpu * 100).toFixed(0)} % of one core |`,
      `| bare node:http server, the same form at ${SMS_RATE}/s for ${Math.min(SMS_SECONDS, 10)} s: round trip p50 / p99 | ${p(bareLatencies)} |`,
      `| ratio of our p99 to the bare server's | ${(smsP99 / Math.max(1, percentile(bareLatencies, 99))).toFixed(1)}x |`,
      `| events delivered to the bot's callback in the whole run | ${eventsAtBot} |`,
      '',
      'Lower rates, 10 s each, after the one above:',
      '',
      '| rate | SMS -> user_message p50 / p99 | not at the bot |',
      '|---|---|---|',
      ...ladder.map((step) => `| ${step.rate}/s | ${p(step.latencies)} | ${step.lost} |`),
      '',
      'No target was set for these: they show the throughput limit honoured with nothing lost or doubled, and what an inbound SMS costs.',
    );
    writeSection('messaging', lines.join('\n'));
    process.stdout.write(lines.join('\n') + '\n');
  } catch (error) {
    process.stderr.write(`service log (last lines):\n${service.log.split('\n').slice(-20).join('\n')}\n`);
    throw error;
  } finally {
    await db.end().catch(() => undefined);
    await service.stop();
    await whatsapp.stop();
    await twilio.stop();
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
