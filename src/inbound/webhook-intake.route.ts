import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { OpenAPIObject } from '@nestjs/swagger';
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { AllExceptionsFilter } from '../common/all-exceptions.filter';
import { DomainError } from '../common/domain-error';
import { correlationMiddleware } from '../common/http-context.middleware';
import { requestContext } from '../common/request-context';
import { MetricsService } from '../metrics/metrics.service';
import { PlatformResponse, WebhookIntakeService } from './webhook-intake.service';

export const WEBHOOK_INTAKE_PATH = '/v1/webhooks/:gatewayId';
/** The route's path and method as Express would match them (case-insensitive, an optional trailing slash). */
const ROUTE = /^\/v1\/webhooks\/([^/?#]+)\/?(?:\?.*)?$/i;
const MAX_BODY_BYTES = 1024 * 1024;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Platform webhooks are the service's hottest route (every agent message, typing change and state change of every
 * escalation), public and verified by the gateway type's own signature check, never by an API key. They are served
 * by the HTTP server itself, before Express and Nest see the request: no guard, pipe, interceptor or Express routing
 * applies to them, and the raw body is all the gateway needs (it parses what it verified). The correlation id and
 * the request metrics are the same middleware the other routes have, and errors have the common error body. Every
 * other request goes on to Express. Served here, a delivery costs less service CPU than as an Express route or behind
 * a Nest controller (docs/decisions.md).
 */
export function mountWebhookIntake(app: NestExpressApplication): void {
  const inbound = app.get(WebhookIntakeService);
  const metrics = app.get(MetricsService);
  const errors = new AllExceptionsFilter();
  const log = new Logger('http');
  const server = app.getHttpServer() as Server;
  const others = server.listeners('request') as RequestListener[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // GET: a channel platform's endpoint verification (WhatsApp's hub.challenge); POST: deliveries.
    const match = req.method === 'POST' || req.method === 'GET' ? ROUTE.exec(req.url ?? '') : null;
    if (!match) {
      for (const listener of others) listener.call(server, req, res);
      return;
    }
    metrics.timeRequest(req, res, () => WEBHOOK_INTAKE_PATH);
    correlationMiddleware(req, res, () => {
      void receive(req, safeDecode(match[1]), inbound).then(
        ({ response, ...result }) => (response ? sendAsPlatformExpects(res, response) : send(res, 200, result)),
        (error: unknown) => {
          const body = errors.toBody(error, requestContext.correlationId() ?? requestContext.newId());
          if (body.statusCode >= 500) log.error({ msg: 'request failed', error: error instanceof Error ? error.message : String(error), stack: (error as Error)?.stack });
          // A refused body is not read to its end: close the connection rather than read the rest of it.
          if (!req.complete) res.setHeader('connection', 'close');
          send(res, body.statusCode, body);
        },
      );
    });
  });
}

async function receive(req: IncomingMessage, gatewayId: string, inbound: WebhookIntakeService): Promise<{ received: true; duplicate: boolean; response?: PlatformResponse }> {
  if (!UUID.test(gatewayId)) throw DomainError.validation([{ field: 'gatewayId', message: 'must be a UUID' }]);
  const body = await readBody(req);
  const headers: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  const { duplicate, response } = await inbound.receive(gatewayId, headers, body, { method: req.method === 'GET' ? 'GET' : 'POST', path: req.url ?? '' });
  return { received: true, duplicate, ...(response ? { response } : {}) };
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (declared > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.pause();
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function tooLarge(): DomainError {
  return new DomainError('payload_too_large', 'Request body exceeds the 1 MiB limit');
}

function send(res: ServerResponse, status: number, body: object): void {
  if (res.headersSent) return;
  const json = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(json) });
  res.end(json);
}

/** A channel platform's own expected answer (a verification challenge, TwiML), as its gateway wrote it. */
function sendAsPlatformExpects(res: ServerResponse, response: PlatformResponse): void {
  if (res.headersSent) return;
  res.writeHead(response.status, { 'content-type': response.contentType ?? 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(response.body) });
  res.end(response.body);
}

/** The mark `@Public()` gives an operation in the document (an OpenAPI extension). */
const PUBLIC: Record<`x-${string}`, unknown> = { 'x-public': true };

/** The route in the OpenAPI document (Nest's scanner does not see routes of the HTTP adapter). */
export function describeWebhookIntake(document: OpenAPIObject): void {
  document.paths['/v1/webhooks/{gatewayId}'] = {
    post: {
      // The id this operation had when a Nest controller served it, kept for clients generated from the document.
      operationId: 'WebhooksController_receive',
      parameters: [{ name: 'gatewayId', required: true, in: 'path', schema: { type: 'string' } }],
      responses: {
        '200': {
          description: 'Stored (or a duplicate of a stored delivery).',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['received', 'duplicate'],
                properties: { received: { type: 'boolean', enum: [true] }, duplicate: { type: 'boolean', description: 'The platform sent this event id before.' } },
              },
            },
          },
        },
        '400': {
          description:
            'Not a delivery of this gateway type, an empty body, or a platform conversation id that cannot be stored (over 2,000 bytes, or a NUL or unpaired surrogate); `details` names `body`. Nothing is stored.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBodyDto' } } },
        },
        '401': {
          description: 'Signature, tenant or freshness check failed.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBodyDto' } } },
        },
        '404': {
          description: 'No gateway with this id takes webhooks.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBodyDto' } } },
        },
        '413': {
          description: 'Body over 1 MiB.',
          content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBodyDto' } } },
        },
      },
      summary: 'Receives a platform webhook (e.g. 8x8 Chat Gateway events); verified by the gateway type, stored, then processed',
      tags: ['platform webhooks'],
      ...PUBLIC,
    },
    get: {
      operationId: 'WebhooksController_verify',
      parameters: [{ name: 'gatewayId', required: true, in: 'path', schema: { type: 'string' } }],
      responses: {
        '200': { description: 'The answer the platform expects (WhatsApp: the `hub.challenge` echoed).', content: { 'text/plain': { schema: { type: 'string' } } } },
        '400': { description: 'Not a verification request of this gateway type.', content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBodyDto' } } } },
        '401': { description: 'The verification token does not match.', content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBodyDto' } } } },
        '404': { description: 'No channel gateway with this id.', content: { 'application/json': { schema: { $ref: '#/components/schemas/ErrorBodyDto' } } } },
      },
      summary: "A channel platform's endpoint verification (WhatsApp Cloud API's subscription handshake); answered by the gateway type",
      tags: ['platform webhooks'],
      ...PUBLIC,
    },
  };
}
