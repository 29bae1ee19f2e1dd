import { lookup as dnsLookup, LookupAddress, LookupOptions } from 'node:dns';
import { IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { LookupFunction } from 'node:net';
import { GatewayError } from './gateway-error';
import { checkOutboundAddress, checkOutboundUrl } from './url-policy';

/** A host name resolver with dns.lookup's `all: true` form. */
export type Resolver = (hostname: string, options: LookupOptions & { all: true }, callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

const systemResolver: Resolver = (hostname, options, callback) => dnsLookup(hostname, options, callback);

/** A request refused by the outbound policy (`url-policy.ts`): nothing was sent. */
export class OutboundRefused extends Error {
  readonly code = 'EOUTBOUNDREFUSED';
}

/**
 * A `lookup` for node:http(s) requests that refuses a host name resolving to an address the outbound policy denies
 * (cloud metadata, link-local; loopback and private ranges unless allowed). The policy's check of a URL cannot see
 * what a name resolves to, and a name can be made to resolve anywhere; this one runs when the connection is made,
 * on the addresses it is made to. Literal addresses are not looked up: their URL's check covers them.
 */
export function guardedLookup(allowPrivateNetworks: boolean, resolve: Resolver = systemResolver): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, '', 0);
      const problem = addresses.map((a) => checkOutboundAddress(a.address, allowPrivateNetworks)).find((p) => p !== null);
      if (problem || addresses.length === 0) return callback(new OutboundRefused(`${hostname} ${problem ?? 'resolved to no address'}`), '', 0);
      if (options.all) return (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}

export interface DownloadOptions {
  allowPrivateNetworks: boolean;
  /** For the whole download, redirects included. */
  timeoutMs: number;
  maxBytes: number;
  maxRedirects?: number;
  resolve?: Resolver;
}

export interface Downloaded {
  status: number;
  /** The body of a 2xx answer (empty otherwise). */
  body: Buffer;
  contentType: string | undefined;
  /** The Retry-After header of a non-2xx answer, as sent. */
  retryAfter?: string;
}

/** An answer larger than the download's `maxBytes`: the transfer was cut. */
export class DownloadTooLarge extends Error {}

/**
 * GETs a URL given from outside (a user's attachment link) under the outbound policy: the URL and every redirect's
 * target are checked before they are requested, and names are resolved through `guardedLookup`, so that neither a
 * redirect nor a name can lead the request to an address the policy denies. The body is read up to `maxBytes` and
 * the transfer cut beyond. A non-2xx answer (after up to `maxRedirects` redirects) is returned with its status.
 */
export async function downloadOutbound(url: string, options: DownloadOptions): Promise<Downloaded> {
  const lookup = guardedLookup(options.allowPrivateNetworks, options.resolve);
  const signal = AbortSignal.timeout(options.timeoutMs);
  let target = url;
  for (let hop = 0; ; hop++) {
    const problem = checkOutboundUrl(target, options.allowPrivateNetworks);
    if (problem) throw new OutboundRefused(hop === 0 ? problem : `redirect target ${problem}`);
    const res = await get(target, lookup, signal);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (status >= 300 && status < 400 && location && hop < (options.maxRedirects ?? 3)) {
      res.resume();
      target = new URL(location, target).toString();
      continue;
    }
    if (status < 200 || status >= 300) {
      res.resume();
      const retryAfter = res.headers['retry-after'];
      return { status, body: Buffer.alloc(0), contentType: undefined, ...(retryAfter ? { retryAfter } : {}) };
    }
    return { status, body: await readUpTo(res, options.maxBytes), contentType: res.headers['content-type']?.split(';')[0].trim() || undefined };
  }
}

function get(url: string, lookup: LookupFunction, signal: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const https = url.startsWith('https:');
    const req = (https ? httpsRequest : httpRequest)(url, { method: 'GET', lookup, signal, agent: false });
    req.once('response', resolve);
    req.once('error', reject);
    req.end();
  });
}

function readUpTo(res: IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(res.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      res.destroy();
      return reject(new DownloadTooLarge(`larger than ${maxBytes} bytes (${declared} declared)`));
    }
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        res.destroy();
        reject(new DownloadTooLarge(`larger than ${maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.once('end', () => resolve(Buffer.concat(chunks)));
    res.once('error', reject);
  });
}

/**
 * A link a platform handed over (an agent's file), as `EscalationContext.fetchLink` answers it: the body of a 2xx
 * answer, the status of any other, or why it was neither requested nor read to the end.
 */
export type FetchedLink = { status: number; content: Buffer; mimeType?: string; retryAfter?: string } | { refused: string };

/** The service's outbound policy for links from outside, as `fetchLinkUnder` applies it. */
export interface LinkPolicy {
  allowPrivateNetworks: boolean;
  /** For the whole download, redirects included. */
  timeoutMs: number;
  resolve?: Resolver;
}

/**
 * `EscalationContext.fetchLink` under `policy` (see `downloadOutbound`): a URL, redirect target or resolved address
 * the policy denies, and a body over `maxBytes`, are `refused` (asking again would not change the answer); no answer
 * in time or a failed connection is a transient GatewayError, which the caller's retry covers.
 */
export async function fetchLinkUnder(policy: LinkPolicy, url: string, maxBytes: number): Promise<FetchedLink> {
  try {
    const { status, body, contentType, retryAfter } = await downloadOutbound(url, { ...policy, maxBytes });
    return { status, content: body, mimeType: contentType, ...(retryAfter ? { retryAfter } : {}) };
  } catch (error) {
    if (error instanceof OutboundRefused) return { refused: `url ${error.message}` };
    if (error instanceof DownloadTooLarge) return { refused: error.message };
    const name = (error as Error)?.name;
    const reason = name === 'TimeoutError' || name === 'AbortError' ? 'no answer in time' : ((error as Error)?.message ?? String(error));
    // The URL parsed: an unparsable one is refused before any request.
    throw new GatewayError('transient', `link unreachable (${new URL(url).host}): ${reason}`, { cause: error });
  }
}
