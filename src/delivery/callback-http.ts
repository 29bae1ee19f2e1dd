import { IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { OutboundAgents } from '@app/gateway-sdk';

/**
 * POSTs one signed event to a bot platform's callback over node:http(s) with keep-alive sockets, not the global fetch
 * (undici), which costs several times the CPU per request, and delivery runs once per event. Redirects are not
 * followed (a 3xx is a failed delivery), the answer's body is read and dropped.
 */

/**
 * Errors of a request sent on a kept-alive socket that the server closed meanwhile: it closes an idle socket (Node's
 * default keep-alive timeout is 5 s, ours 15 s) while our request is already on its way. Nothing was answered.
 */
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

/** A failed callback request; `staleSocket` when it went on a reused socket that was closed before any answer. */
export type CallbackError = NodeJS.ErrnoException & { staleSocket?: boolean };

/**
 * Resolves with the HTTP status; rejects (with a `CallbackError`) on a network error or when `timeoutMs` passes before
 * the answer ends. `agents` are the outbound policy's (`OutboundHttpClient`): kept-alive sockets, each new connection
 * made only to an address the policy allows, whatever the callback's host name resolves to.
 */
export function postCallback(url: string, headers: Record<string, string>, body: string, timeoutMs: number, agents: OutboundAgents): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      reject(new Error(`invalid callback URL`));
      return;
    }
    const https = target.protocol === 'https:';
    if (!https && target.protocol !== 'http:') {
      reject(new Error(`unsupported callback URL scheme ${target.protocol}`));
      return;
    }
    const payload = Buffer.from(body);
    const req = (https ? httpsRequest : httpRequest)({
      method: 'POST',
      protocol: target.protocol,
      hostname: target.hostname.replace(/^\[|\]$/g, ''),
      port: target.port || (https ? 443 : 80),
      path: `${target.pathname}${target.search}`,
      headers: { ...headers, 'content-length': String(payload.length) },
      agent: https ? agents.https : agents.http,
    });
    const timer = setTimeout(() => req.destroy(new Error(`callback did not answer within ${timeoutMs} ms`)), timeoutMs);
    req.once('response', (res: IncomingMessage) => {
      res.resume();
      res.once('end', () => {
        clearTimeout(timer);
        resolve(res.statusCode ?? 0);
      });
      res.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
    let answered = false;
    req.once('response', () => (answered = true));
    req.once('error', (error: CallbackError) => {
      clearTimeout(timer);
      if (!answered && req.reusedSocket && STALE_SOCKET.has(error.code ?? '')) error.staleSocket = true;
      reject(error);
    });
    req.end(payload);
  });
}
