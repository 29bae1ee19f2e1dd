import type { IncomingMessage, ServerResponse } from 'node:http';
import { DirectLineError } from './webchat-errors';

/** Reads a request body up to `limit` bytes; more is a 413 (the rest is not read: the connection is closed). */
export function readBody(req: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  if (Number(req.headers['content-length']) > limit) return Promise.reject(DirectLineError.tooBig(`${what} exceeds ${limit} bytes`));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.pause();
        reject(DirectLineError.tooBig(`${what} exceeds ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

/** A JSON object body; an empty body is `{}` (Direct Line's bodies are optional on most calls). */
export function parseObject(text: string, field = 'body'): Record<string, unknown> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw DirectLineError.badArgument(field, 'is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw DirectLineError.badArgument(field, 'must be a JSON object');
  return value as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const json = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(json)), 'cache-control': 'no-store' });
  res.end(json);
}

/** The origin this request reached the service at (what a page served by the service sends as its Origin). */
export function requestBase(req: IncomingMessage): string {
  const forwarded = String(req.headers['x-forwarded-proto'] ?? '').split(',')[0].trim();
  const proto = forwarded === 'https' || forwarded === 'http' ? forwarded : (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  return `${proto}://${req.headers.host ?? 'localhost'}`;
}
