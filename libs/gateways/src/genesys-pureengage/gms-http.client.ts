import { OutboundAnswer, OutboundFetch, OutboundHttp } from '@app/gateway-sdk';

/** One POST to GMS, as GmsClient sends it. */
export interface GmsHttpRequest {
  url: string;
  headers: Record<string, string>;
  body: URLSearchParams | FormData;
  signal: AbortSignal;
  /** Bodies larger than this are not read (`body` undefined in the answer). */
  limit: number;
}

/** An HTTP answer with its body already read (undefined when larger than the request's limit). */
export type GmsHttpAnswer = OutboundAnswer;

/** How GmsClient reaches GMS. Failures reject with the underlying error; GmsClient turns them into GatewayErrors. */
export type GmsTransport = (request: GmsHttpRequest) => Promise<GmsHttpAnswer>;

/** Through a WHATWG fetch. */
export function fetchTransport(fetchImpl: OutboundFetch): GmsTransport {
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

/**
 * GMS through the service's outbound HTTP: form-urlencoded calls (every operation but uploads, so every call of the
 * polling path) through `send`, kept-alive sockets at a fraction of fetch's CPU (docs/polling.md); uploads through
 * `fetch`, which encodes the multipart body.
 */
export function outboundTransport(http: OutboundHttp): GmsTransport {
  const upload = fetchTransport(http.fetch);
  return (request) =>
    request.body instanceof URLSearchParams
      ? http.send({
          url: request.url,
          headers: { ...request.headers, 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8' },
          body: request.body.toString(),
          signal: request.signal,
          limit: request.limit,
        })
      : upload(request);
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
