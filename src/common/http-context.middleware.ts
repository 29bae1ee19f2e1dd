import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestContext } from './request-context';

const ID_PATTERN = /^[A-Za-z0-9._:-]{1,100}$/;

/** Gives each request a correlation id (taken from X-Correlation-Id when sane) and echoes it in the response. */
export function correlationMiddleware(req: IncomingMessage, res: ServerResponse, next: () => void): void {
  const incoming = req.headers['x-correlation-id'];
  const correlationId = typeof incoming === 'string' && ID_PATTERN.test(incoming) ? incoming : requestContext.newId();
  res.setHeader('x-correlation-id', correlationId);
  requestContext.run({ correlationId }, () => next());
}
