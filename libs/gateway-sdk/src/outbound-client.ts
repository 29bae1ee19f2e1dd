import { Agent as HttpAgent, ClientRequest, ClientRequestArgs, IncomingMessage, request as httpRequest, RequestOptions } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { Duplex, Readable } from 'node:stream';
import { guardedLookup, OutboundRefused, Resolver } from './outbound-http';
import { checkOutboundAddress, checkOutboundUrl, outboundHost } from './url-policy';

/** The service's outbound policy, as one `OutboundHttpClient` applies it to every request. */
export interface OutboundPolicy {
  /** Loopback and private ranges may be reached (development and tests); link-local and reserved ones never. */
  allowPrivateNetworks: boolean;
  /** Resolves host names; the system's resolver when absent. */
  resolve?: Resolver;
  /** Certificates trusted beside the system's for https (a platform behind a private CA). */
  ca?: string | string[];
}

/**
 * WHATWG `fetch` under the outbound policy: the URL and every redirect's target are checked before they are requested
 * (`redirect: 'follow'`, the default, follows up to 5, dropping credentials on a change of origin; `'error'` and
 * `'manual'` as in fetch), and every connection is made only to an address the policy allows, whatever a name
 * resolves to. A request the policy refuses rejects with `OutboundRefused` and sends nothing; a network failure
 * rejects with a TypeError whose `cause` is the socket's error, as fetch does. Answers are not decompressed (no
 * Accept-Encoding is sent unless the caller sends one).
 */
export type OutboundFetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

/** One request of `OutboundHttp.send`. */
export interface OutboundRequest {
  /** POST when absent. */
  method?: string;
  url: string;
  headers: Record<string, string>;
  body?: Buffer | string;
  signal: AbortSignal;
  /** Bodies larger than this are not read (`body` undefined in the answer). */
  limit: number;
}

/** An answer of `OutboundHttp.send`, its body already read. */
export interface OutboundAnswer {
  status: number;
  ok: boolean;
  header(name: string): string | null;
  /** Undefined when the body was larger than the request's limit. */
  body: Buffer | undefined;
}

/**
 * The service's outbound HTTP, which gateways get on their context (`GatewayContext.http`) and use for every request
 * they make: the policy (`url-policy.ts`) is the service's, and holds for each connection and each redirect.
 */
export interface OutboundHttp {
  fetch: OutboundFetch;
  /**
   * One request over kept-alive sockets with its answer read up to `limit`, redirects not followed: for the hot paths
   * (a polled platform's calls), at a fraction of fetch's cost. Same policy and errors as `fetch`, except that a
   * network failure rejects with the socket's error itself.
   */
  send(request: OutboundRequest): Promise<OutboundAnswer>;
}

/** Node agents whose every new connection is checked against the policy; reused sockets are not checked again. */
export interface OutboundAgents {
  http: HttpAgent;
  https: HttpsAgent;
}

// A free socket closes after 15 s, or 1 s before the server's announced keep-alive timeout when that is shorter (Node's
// agent reads the Keep-Alive hint), so a reused socket is rarely one the server is closing; LIFO keeps the busiest
// sockets warm and lets the rest idle out.
const KEEP_ALIVE = { keepAlive: true, timeout: 15_000, scheduling: 'lifo' as const, maxFreeSockets: 1024 };
const MAX_REDIRECTS = 5;
/** Headers that carry credentials, dropped when a redirect leaves the origin (as fetch does with Authorization). */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie', 'x-api-key'];

/** The outbound policy's HTTP client: one per policy, its agents shared by every request made under it. */
export class OutboundHttpClient implements OutboundHttp {
  readonly agents: OutboundAgents;
  /** Parsed origins (scheme, host, port, the policy's verdict) by URL prefix: a poll's URL differs from the last by its path. */
  private readonly origins = new Map<string, Origin>();

  constructor(readonly policy: OutboundPolicy) {
    const options = { ...KEEP_ALIVE, lookup: guardedLookup(policy.allowPrivateNetworks, policy.resolve) };
    this.agents = {
      http: new (guarded(HttpAgent, policy))(options),
      https: new (guarded(HttpsAgent, policy))({ ...options, ...(policy.ca ? { ca: policy.ca } : {}) }),
    };
  }

  readonly fetch: OutboundFetch = async (input, init = {}) => {
    let url = input instanceof URL ? input.href : String(input);
    const request = new Request(url, init);
    let method = request.method;
    const headers: Record<string, string> = Object.fromEntries(request.headers);
    let body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    const signal = init.signal ?? undefined;
    for (let hop = 0; ; hop++) {
      const problem = checkOutboundUrl(url, this.policy.allowPrivateNetworks);
      if (problem) throw new OutboundRefused(`${hop === 0 ? '' : 'redirect target '}${describeHost(url)} ${problem}`);
      const res = await this.exchange(url, method, headers, body, signal);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status < 300 || status >= 400 || !location || init.redirect === 'manual') return toResponse(res, method);
      res.resume();
      if (init.redirect === 'error') throw new TypeError('fetch failed', { cause: new Error(`redirected (HTTP ${status}) where redirects are refused`) });
      if (hop >= MAX_REDIRECTS) throw new TypeError('fetch failed', { cause: new Error(`more than ${MAX_REDIRECTS} redirects`) });
      const next = new URL(location, url);
      if ((status === 303 && method !== 'HEAD') || ((status === 301 || status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        for (const name of Object.keys(headers)) if (name.startsWith('content-')) delete headers[name];
      }
      if (next.origin !== new URL(url).origin) for (const name of CREDENTIAL_HEADERS) delete headers[name];
      url = next.href;
    }
  };

  send(request: OutboundRequest): Promise<OutboundAnswer> {
    const origin = this.origin(request.url);
    if (origin.problem) return Promise.reject(new OutboundRefused(origin.problem));
    if (request.signal.aborted) return Promise.reject(new Error('aborted before it was sent'));
    const payload = request.body === undefined ? undefined : typeof request.body === 'string' ? Buffer.from(request.body, 'utf8') : request.body;
    const options: RequestOptions = {
      protocol: origin.protocol,
      hostname: origin.hostname,
      port: origin.port,
      path: origin.path(request.url),
      method: request.method ?? 'POST',
      agent: origin.https ? this.agents.https : this.agents.http,
      headers: payload ? { ...request.headers, 'content-length': String(payload.length) } : request.headers,
    };
    return new Promise<OutboundAnswer>((resolve, reject) => {
      let settled = false;
      let untrack = () => {};
      const fail = (error: Error) => {
        untrack();
        if (settled) return;
        settled = true;
        reject(error);
      };
      const req = (origin.https ? httpsRequest : httpRequest)(options, (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const answer = (body: Buffer | undefined): OutboundAnswer => ({
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
          untrack();
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
            untrack();
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

  /** Closes the agents' idle sockets (at shutdown, or when a test is done). */
  destroy(): void {
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private origin(url: string): Origin {
    const slash = url.indexOf('/', url.indexOf('//') + 2);
    const prefix = slash < 0 ? url : url.slice(0, slash);
    let origin = this.origins.get(prefix);
    if (!origin) {
      const problem = checkOutboundUrl(prefix, this.policy.allowPrivateNetworks);
      const parsed = problem ? undefined : new URL(prefix);
      const https = parsed?.protocol === 'https:';
      origin = {
        https,
        protocol: parsed?.protocol ?? '',
        hostname: parsed ? parsed.hostname.replace(/^\[|\]$/g, '') : '',
        port: parsed ? parsed.port || (https ? 443 : 80) : 0,
        problem: problem ? `${describeHost(prefix)} ${problem}` : null,
        path: (full) => (full.length === prefix.length ? '/' : full.slice(prefix.length)),
      };
      if (this.origins.size > 1000) this.origins.clear();
      this.origins.set(prefix, origin);
    }
    return origin;
  }

  /** One request of `fetch`, its answer not read yet. */
  private exchange(url: string, method: string, headers: Record<string, string>, body: Buffer | undefined, signal: AbortSignal | undefined): Promise<IncomingMessage> {
    const target = new URL(url);
    const https = target.protocol === 'https:';
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(target, {
        method,
        headers: body ? { ...headers, 'content-length': String(body.length) } : headers,
        agent: https ? this.agents.https : this.agents.http,
        signal,
      });
      req.once('response', resolve);
      req.once('error', (error) => {
        if (error instanceof OutboundRefused) reject(error);
        else if (signal?.aborted) reject(signal.reason);
        else reject(new TypeError('fetch failed', { cause: error }));
      });
      req.end(body);
    });
  }
}

interface Origin {
  https: boolean;
  protocol: string;
  hostname: string;
  port: string | number;
  /** Why the policy refuses this origin, or null. */
  problem: string | null;
  path(url: string): string;
}

function describeHost(url: string): string {
  try {
    return outboundHost(new URL(url).hostname) || url;
  } catch {
    return url;
  }
}

/**
 * An agent class whose new connections go only where the policy allows: a name through `guardedLookup` (set in the
 * agent's options, which Node passes to every connection it opens), a literal address checked here, since connecting
 * to one looks nothing up.
 */
function guarded<T extends typeof HttpAgent | typeof HttpsAgent>(Base: T, policy: OutboundPolicy): T {
  const Agent = Base as typeof HttpAgent;
  class GuardedAgent extends Agent {
    override createConnection(options: ClientRequestArgs, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
      const host = options.host ?? options.hostname ?? '';
      const problem = isIP(host) ? checkOutboundAddress(host, policy.allowPrivateNetworks) : null;
      if (problem) {
        process.nextTick(() => callback?.(new OutboundRefused(`${host} ${problem}`), undefined as unknown as Duplex));
        return undefined;
      }
      return super.createConnection(options, callback);
    }
  }
  return GuardedAgent as unknown as T;
}

function toResponse(res: IncomingMessage, method: string): Response {
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
    try {
      headers.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
    } catch {
      // A header value fetch cannot hold; the answer is read without it.
    }
  }
  const status = res.statusCode ?? 0;
  const empty = method === 'HEAD' || status === 204 || status === 205 || status === 304;
  if (empty) res.resume();
  try {
    return new Response(empty ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage, headers });
  } catch (error) {
    res.destroy();
    throw new TypeError('fetch failed', { cause: error });
  }
}

/**
 * Requests in flight per deadline signal. The GMS poller gives every poll of a dispatch slice one signal: one 'abort'
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
