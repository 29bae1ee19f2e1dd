import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, createServer as createNetServer } from 'node:net';
import busboy from 'busboy';

/** A request as the simulators' handlers see it: path parameters, query and the raw body already read. */
export interface SimulatorRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  raw: IncomingMessage;
  body: Buffer;
}

export type SimulatorHandler = (req: SimulatorRequest, res: ServerResponse) => void | Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: SimulatorHandler;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly contentType = 'application/json',
    readonly headers: Record<string, string> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

/**
 * The small router both simulators share. It is built on node:http rather than a framework because the
 * polling benchmark drives the GMS simulator at 10,000 requests per second on two cores.
 */
export class SimulatorRouter {
  private readonly routes: Route[] = [];

  constructor(private readonly bodyLimit = 32 * 1024 * 1024) {}

  on(method: string, path: string, handler: SimulatorHandler): this {
    const names: string[] = [];
    const source = path
      .split('/')
      .map((segment) => {
        if (segment.startsWith(':')) {
          names.push(segment.slice(1));
          return '([^/]+)';
        }
        return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    this.routes.push({ method: method.toUpperCase(), pattern: new RegExp(`^${source}/?$`), names, handler });
    return this;
  }

  async handle(raw: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(raw.url ?? '/', 'http://simulator');
    const method = (raw.method ?? 'GET').toUpperCase();
    let pathMatched = false;
    for (const route of this.routes) {
      const match = route.pattern.exec(url.pathname);
      if (!match) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => (params[name] = decodeURIComponent(match[i + 1])));
      try {
        const isMultipart = (raw.headers['content-type'] ?? '').startsWith('multipart/');
        const body = isMultipart ? Buffer.alloc(0) : await readBody(raw, this.bodyLimit);
        await route.handler({ method, path: url.pathname, params, query: url.searchParams, headers: raw.headers, raw, body }, res);
      } catch (error) {
        if (error instanceof HttpError) {
          send(res, error.status, error.body, error.contentType, error.headers);
        } else if (!res.headersSent) {
          send(res, 500, { message: (error as Error).message });
        } else {
          res.destroy();
        }
      }
      return;
    }
    send(res, pathMatched ? 405 : 404, { message: pathMatched ? 'Method not allowed' : 'Not found' });
  }

  createServer(): Server {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 65_000;
    return server;
  }
}

export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new HttpError(413, { message: 'Payload too large' }));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  contentType = 'application/json',
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  const payload = body === undefined || status === 204 ? '' : Buffer.isBuffer(body) ? body : typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, { ...(payload === '' ? {} : { 'content-type': contentType }), ...headers });
  res.end(payload);
}

/** A file part of a multipart body. */
export interface MultipartFile {
  field: string;
  filename: string;
  mimeType: string;
  content: Buffer;
}

export interface MultipartBody {
  fields: Record<string, string>;
  files: MultipartFile[];
}

export function readMultipart(req: IncomingMessage, fileSizeLimit = 32 * 1024 * 1024): Promise<MultipartBody> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    const files: MultipartFile[] = [];
    let parser: busboy.Busboy;
    try {
      parser = busboy({ headers: req.headers, limits: { fileSize: fileSizeLimit } });
    } catch (error) {
      reject(new HttpError(400, { message: (error as Error).message }));
      return;
    }
    parser.on('field', (name, value) => (fields[name] = value));
    parser.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => reject(new HttpError(413, { message: 'File too large' })));
      stream.on('end', () => files.push({ field, filename: info.filename ?? "", mimeType: info.mimeType, content: Buffer.concat(chunks) }));
    });
    parser.on('close', () => resolve({ fields, files }));
    parser.on('error', (error: Error) => reject(new HttpError(400, { message: error.message })));
    req.pipe(parser);
  });
}

/** A TCP port free on 127.0.0.1 now, for a process that must know its URL before it starts (PUBLIC_BASE_URL). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createNetServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Starts a server on 127.0.0.1 and returns its base URL (port 0 picks a free port). */
export function listen(server: Server, port = 0, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const address = server.address() as AddressInfo;
      resolve(`http://${host}:${address.port}`);
    });
  });
}

export function close(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections?.();
    server.close(() => resolve());
  });
}

/** Reads `--name value` pairs from a command line, for the simulators' stand-alone entry points. */
export function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) continue;
    const [name, inline] = arg.slice(2).split('=', 2);
    out[name] = inline ?? (argv[i + 1] && !argv[i + 1].startsWith('--') ? argv[++i] : 'true');
  }
  return out;
}
