import { Agent as HttpAgent, ClientRequest, IncomingMessage, request as httpRequest, RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { HttpFetch } from './gms.types';

/** One POST to GMS, as GmsClient sends it. */
export interface GmsHttpRequest {
  url: string;
  headers: Record<string, string>;
  body: URLSearchParams | FormData;
  signal: AbortSignal;
  /** Bodies larger than this are not read (`body` undefined in the answer). */
  limit: number;
}

/** An HTTP answer with its body already read. */
export interface GmsHttpAnswer {
  status: number;
  ok: boolean;
  header(name: string): string | null;
  /** Undefined when the body was larger than the request's limit. */
  body: Buffer | undefined;
}

/** How GmsClient reaches GMS. Failures reject with the underlying error; GmsClient turns them into GatewayErrors. */
export type GmsTransport = (request: GmsHttpRequest) => Promise<GmsHttpAnswer>;

/** Through a WHATWG fetch: the global one, or one a module provides (tests trusting a private CA). */
export function fetchTransport(fetchImpl: HttpFetch): GmsTransport {
  return async ({ url, headers, body, signal, limit }) => {
    const response = await fetchImpl(url, { method: 'POST', headers, body, signal });
    return {
      status: response.status,
      ok: response.ok,
      header: (name) => response.headers.get(name),
      body: await readLimited(response, limit),
    };
  };
}

// Shared by every gateway instance and call: sockets only, never credentials. A free socket closes after 15 s, or
// 1 s before the server's announced keep-alive timeout when that is shorter (Node's agent reads the Keep-Alive hint),
// so a reused socket is rarely one the server is closing; LIFO keeps the busiest sockets warm and lets the rest idle out.
const KEEP_ALIVE = { keepAlive: true, timeout: 15_000, scheduling: 'lifo' as const, maxFreeSockets: 1024 };
const httpAgent = new HttpAgent(KEEP_ALIVE);
const httpsAgent = new HttpsAgent(KEEP_ALIVE);

/**
 * node:http(s) with keep-alive agents for form-urlencoded calls (every operation but uploads), `fallback` for the
 * rest. Measured on the polling path (docs/polling.md): the global fetch costs about eight times the CPU per Refresh.
 */
export function keepAliveTransport(fallback: GmsTransport): GmsTransport {
  return (request) => (request.body instanceof URLSearchParams ? post(request, request.body) : fallback(request));
}

interface Origin {
  https: boolean;
  protocol: string;
  hostname: string;
  port: string | number;
}
/** Parsed origins (scheme, host, port) by their URL prefix: a poll's URL differs from the last one by its path only. */
const origins = new Map<string, Origin>();

function split(url: string): { origin: Origin; path: string } {
  const slash = url.indexOf('/', url.indexOf('//') + 2);
  const prefix = slash < 0 ? url : url.slice(0, slash);
  let origin = origins.get(prefix);
  if (!origin) {
    const parsed = new URL(prefix);
    const https = parsed.protocol === 'https:';
    origin = { https, protocol: parsed.protocol, hostname: parsed.hostname.replace(/^\[|\]$/g, ''), port: parsed.port || (https ? 443 : 80) };
    if (origins.size > 1000) origins.clear();
    origins.set(prefix, origin);
  }
  return { origin, path: slash < 0 ? '/' : url.slice(slash) };
}

function post(request: GmsHttpRequest, form: URLSearchParams): Promise<GmsHttpAnswer> {
  const { origin, path } = split(request.url);
  const https = origin.https;
  const payload = Buffer.from(form.toString(), 'utf8');
  const options: RequestOptions = {
    protocol: origin.protocol,
    hostname: origin.hostname,
    port: origin.port,
    path,
    method: 'POST',
    agent: https ? httpsAgent : httpAgent,
    headers: {
      ...request.headers,
      'content-type': 'application/x-www-form-urlencoded;charset=UTF-8',
      'content-length': String(payload.length),
    },
  };
  if (request.signal.aborted) return Promise.reject(new Error('aborted before it was sent'));
  return new Promise<GmsHttpAnswer>((resolve, reject) => {
    let settled = false;
    let untrack = () => {};
    const fail = (error: Error) => {
      untrack();
      if (settled) return;
      settled = true;
      reject(error);
    };
    const req = (https ? httpsRequest : httpRequest)(options, (res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      const answer = (body: Buffer | undefined): GmsHttpAnswer => ({
        status,
        ok: status >= 200 && status < 300,
        header: (name) => {
          const value = res.headers[name.toLowerCase()];
          return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
        },
        body,
      });
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > request.limit) {
        settled = true;
        res.destroy();
        resolve(answer(undefined));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        size += chunk.length;
        if (size > request.limit) {
          settled = true;
          res.destroy();
          resolve(answer(undefined));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        untrack();
        if (settled) return;
        settled = true;
        resolve(answer(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
      });
      res.on('aborted', () => fail(new Error('the connection closed before the whole answer arrived')));
      res.on('error', fail);
    });
    req.on('error', fail);
    untrack = track(request.signal, req);
    req.end(payload);
  });
}

/**
 * Requests in flight per deadline signal. The poller gives every poll of a dispatch slice one signal: one 'abort'
 * listener per signal, instead of one added and removed per request (measurable at thousands of polls a second).
 */
const inFlight = new WeakMap<AbortSignal, Set<ClientRequest>>();

function track(signal: AbortSignal, req: ClientRequest): () => void {
  let requests = inFlight.get(signal);
  if (!requests) {
    const set = new Set<ClientRequest>();
    requests = set;
    inFlight.set(signal, set);
    signal.addEventListener(
      'abort',
      () => {
        for (const pending of set) pending.destroy(new Error('aborted'));
        set.clear();
      },
      { once: true },
    );
  }
  const set = requests;
  set.add(req);
  return () => set.delete(req);
}

/** Reads at most `limit` bytes of a fetch Response; undefined when the body is larger. */
export async function readLimited(response: Response, limit: number): Promise<Buffer | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await response.body?.cancel();
    return undefined;
  }
  if (!response.body) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}
