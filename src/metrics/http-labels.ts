/**
 * Label values of the HTTP series. Anyone can send a request, so every value must come from a fixed set: a path
 * or method taken from the request would let unauthenticated callers add series (and memory) without end.
 */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The request's method when it is one the API serves, else `other`. */
export function methodLabel(method: string | undefined): string {
  return method && METHODS.has(method) ? method : 'other';
}

const QUEUE_DASHBOARD = /^\/queues(?:[/?#]|$)/i;
const DOCS = /^\/docs(?:[/?#]|$)/i;

/**
 * The route template that served the request; the dashboard and the documentation as one label each (bull-board's
 * routes are relative to its mount and would read as the API's); anything else, refused before routing or matching
 * no route, is `unmatched`.
 */
export function routeLabel(req: { originalUrl?: string; url?: string; route?: { path?: unknown } }): string {
  const url = req.originalUrl ?? req.url ?? '';
  if (QUEUE_DASHBOARD.test(url)) return '/queues';
  if (typeof req.route?.path === 'string') return req.route.path;
  return DOCS.test(url) ? '/docs' : 'unmatched';
}
