import { dirname } from 'node:path';
import { WebSocket } from 'ws';
import { DirectLine } from 'botframework-directlinejs';

/**
 * DirectLineJS in Node, unmodified. It opens its stream with the global `WebSocket` (Node 20 has none: the `ws`
 * package stands in) and makes its HTTP calls through RxJS 5's `Observable.ajax`, which needs XMLHttpRequest; it
 * takes an `ajax` service in its options instead, given here on top of fetch with the shape RxJS's AjaxResponse and
 * AjaxError have (`response`, `status`, `xhr.getResponseHeader`).
 */
(globalThis as { WebSocket?: unknown }).WebSocket ??= WebSocket;

// DirectLineJS's own RxJS (5.x), whose Observable carries the operators it patches in.
const { Observable } = require(require.resolve('rxjs/Observable', { paths: [dirname(require.resolve('botframework-directlinejs'))] }));

interface AjaxRequest {
  method?: string;
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeout?: number;
  responseType?: string;
}

function fetchAjax(request: AjaxRequest): unknown {
  return Observable.create((observer: { next(v: unknown): void; error(e: unknown): void; complete(): void }) => {
    const headers = { ...(request.headers ?? {}) };
    let body: string | FormData | undefined;
    if (request.body instanceof FormData) {
      body = request.body;
      // fetch writes the multipart boundary itself.
      for (const name of Object.keys(headers)) if (name.toLowerCase() === 'content-type') delete headers[name];
    } else if (request.body !== undefined) body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
    fetch(request.url, { method: request.method ?? 'GET', headers, body, signal: request.timeout ? AbortSignal.timeout(request.timeout) : undefined })
      .then(async (res) => {
        const response = request.responseType === 'arraybuffer' ? await res.arrayBuffer() : await res.text().then((text) => (text ? JSON.parse(text) : null));
        const xhr = { getResponseHeader: (name: string) => res.headers.get(name) };
        if (res.status >= 400) observer.error({ status: res.status, response, xhr });
        else {
          observer.next({ status: res.status, response, xhr });
          observer.complete();
        }
      })
      .catch((error: Error) => observer.error({ status: 0, message: error.message, xhr: { getResponseHeader: () => null } }));
  });
}

/** A DirectLineJS client against `domain` (a gateway's `/webchat/{id}/v3/directline`). */
export function directLineClient(options: { domain: string; token?: string; secret?: string; conversationId?: string; watermark?: string; webSocket?: boolean; pollingInterval?: number }): DirectLine {
  return new DirectLine({ ...options, ajax: fetchAjax } as ConstructorParameters<typeof DirectLine>[0]);
}
