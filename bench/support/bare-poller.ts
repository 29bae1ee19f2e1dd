import { Agent, request } from 'node:http';

/**
 * The machine's ceiling for bench/polling.bench.ts: a bare HTTP client with keep-alive that opens N GMS chats and
 * sends each a Refresh every second on a fixed grid, with the gateway's request body and JSON parsing, and nothing
 * else: no queue, no database, no Redis. Transport `http` is node:http with a keep-alive agent; `fetch` is Node's
 * global fetch (undici, keep-alive by default). Run as a child process with an IPC channel; every phase is bounded.
 */

interface Chat {
  chatId: string;
  userId: string;
  secureKey: string;
  alias: string;
}

interface StartMessage {
  cmd: 'create';
  serviceUrl: string;
  count: number;
  timeoutMs: number;
  transport: 'http' | 'fetch';
}

const chats: Chat[] = [];
let serviceUrl = '';

const agent = new Agent({ keepAlive: true, maxSockets: 256 });
let transport: 'http' | 'fetch' = 'http';

function postHttp(url: string, fields: [string, string][]): Promise<Record<string, unknown>> {
  const body = new URLSearchParams(fields).toString();
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        agent,
        timeout: 10_000,
        headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch (error) {
            reject(error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function post(url: string, fields: [string, string][]): Promise<Record<string, unknown>> {
  if (transport === 'http') return postHttp(url, fields);
  const response = await fetch(url, {
    method: 'POST',
    headers: { accept: 'application/json' },
    body: new URLSearchParams(fields),
    signal: AbortSignal.timeout(10_000),
  });
  return (await response.json()) as Record<string, unknown>;
}

async function eachLimited(count: number, limit: number, deadline: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count && Date.now() < deadline) await fn(next++);
    }),
  );
}

async function create(message: StartMessage): Promise<void> {
  serviceUrl = message.serviceUrl;
  transport = message.transport;
  const deadline = Date.now() + message.timeoutMs;
  await eachLimited(message.count, 50, deadline, async (i) => {
    const envelope = await post(serviceUrl, [
      ['nickname', `bare ${i}`],
      ['userData[queue]', 'bare-client'],
    ]);
    if (envelope.statusCode !== 0) throw new Error(`Request Chat refused: ${JSON.stringify(envelope)}`);
    chats.push({ chatId: String(envelope.chatId), userId: String(envelope.userId), secureKey: String(envelope.secureKey), alias: String(envelope.alias) });
  });
  process.send!({ type: 'created', count: chats.length });
}

/**
 * Poll k of the run goes to chat k mod N at k * interval / N ms after the start: every chat once per interval, spread
 * evenly. A late client fires what is due at once, so it never drifts off the grid; at most `maxInFlight` requests
 * are outstanding (an overloaded client falls behind instead of piling up sockets), and firing stops at `durationMs`.
 */
function poll(durationMs: number, intervalMs: number, maxInFlight: number): Promise<{ sent: number; answered: number; errors: number; peakInFlight: number; behindAtEnd: number }> {
  const n = chats.length;
  const t0 = performance.now();
  let next = 0;
  let answered = 0;
  let errors = 0;
  let inFlight = 0;
  let peakInFlight = 0;
  const fire = (chat: Chat) => {
    inFlight++;
    if (inFlight > peakInFlight) peakInFlight = inFlight;
    post(`${serviceUrl}/${chat.chatId}/refresh`, [
      ['userId', chat.userId],
      ['secureKey', chat.secureKey],
      ['alias', chat.alias],
      ['transcriptPosition', '2'],
    ])
      .then((envelope) => {
        if (envelope.statusCode !== 0) errors++;
        else if (typeof envelope.alias === 'string') chat.alias = envelope.alias;
        answered++;
      })
      .catch(() => errors++)
      .finally(() => inFlight--);
  };
  return new Promise((resolve) => {
    const pump = () => {
      const now = performance.now() - t0;
      if (now < durationMs) {
        while ((next * intervalMs) / n <= now && inFlight < maxInFlight) fire(chats[next++ % n]);
        setTimeout(pump, 1);
        return;
      }
      const behindAtEnd = Math.max(0, Math.floor((durationMs * n) / intervalMs) - next);
      // Let the last answers arrive (bounded).
      const until = performance.now() + 5_000;
      const drain = () =>
        inFlight > 0 && performance.now() < until ? setTimeout(drain, 5) : resolve({ sent: next, answered, errors, peakInFlight, behindAtEnd });
      drain();
    };
    pump();
  });
}

async function disconnect(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await eachLimited(chats.length, 50, deadline, async (i) => {
    const chat = chats[i];
    await post(`${serviceUrl}/${chat.chatId}/disconnect`, [
      ['userId', chat.userId],
      ['secureKey', chat.secureKey],
      ['alias', chat.alias],
      ['transcriptPosition', '0'],
    ]).catch(() => undefined);
  });
  process.send!({ type: 'disconnected' });
}

process.on('message', (message: StartMessage | { cmd: 'poll'; durationMs: number; intervalMs: number; maxInFlight: number } | { cmd: 'disconnect'; timeoutMs: number }) => {
  const fail = (error: Error) => {
    process.send!({ type: 'error', message: error.message });
    process.exit(1);
  };
  if (message.cmd === 'create') create(message).catch(fail);
  else if (message.cmd === 'poll') poll(message.durationMs, message.intervalMs, message.maxInFlight).then((result) => process.send!({ type: 'polled', ...result }), fail);
  else if (message.cmd === 'disconnect') disconnect(message.timeoutMs).catch(fail);
});
process.on('disconnect', () => process.exit(0));
