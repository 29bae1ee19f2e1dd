import { Injectable } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { DirectLineActivity } from '@app/gateways';
import { AppConfig } from '../config/app-config';
import { AppLogger } from '../common/app-logger';
import { attachmentDisposition, fileContentType } from '../common/file-headers';
import { WebchatClock } from './webchat-clock';
import { Caller, newConversationId, newUserId, WebchatDirectLineService } from './webchat-direct-line.service';
import { DirectLineError } from './webchat-errors';
import { WebchatGatewayConfig, WebchatGatewaysService } from './webchat-gateways.service';
import { parseObject, readBody, requestBase, sendJson } from './webchat-http';
import { WebchatPageService } from './webchat-page.service';
import { WebchatStreamsService } from './webchat-streams.service';
import { verifyToken } from './webchat-tokens';
import { WebchatTranscriptRepository } from './webchat-transcript.repository';
import { readUpload } from './webchat-uploads';

const DIRECT_LINE = /^\/webchat\/([^/?#]+)\/v3\/directline\/(tokens\/generate|tokens\/refresh|conversations)(?:\/([^/?#]+)(?:\/(activities|upload|stream))?)?\/?(?:\?(.*))?$/;
const FILE = /^\/webchat\/([^/?#]+)\/files\/([0-9a-f-]{36})(?:\?.*)?$/i;
const PAGE = /^\/webchat\/([^/?#]+)(\/session)?\/?(?:\?.*)?$/;
const ASSET = /^\/webchat\/assets\/(webchat\.js|page\.js)(?:\?.*)?$/;
const ALLOWED_HEADERS = 'Authorization, Content-Type, x-ms-bot-agent';

/**
 * Direct Line 3.0 under `/webchat/{gatewayId}/v3/directline` (a client's `domain` points at one gateway), the
 * files users uploaded, the hosted page and its assets. Served before Express, like platform webhooks: these are
 * protocol routes with their own error body, CORS per gateway and no API key.
 */
@Injectable()
export class WebchatRouter {
  constructor(
    private readonly gateways: WebchatGatewaysService,
    private readonly directLine: WebchatDirectLineService,
    private readonly transcripts: WebchatTranscriptRepository,
    private readonly streams: WebchatStreamsService,
    private readonly pages: WebchatPageService,
    private readonly clock: WebchatClock,
    private readonly config: AppConfig,
    private readonly logger: AppLogger,
  ) {}

  /** True when the request is ours (and is being answered). */
  handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '';
    if (!url.startsWith('/webchat/')) return false;
    void this.route(req, res, url).catch((error: unknown) => this.fail(req, res, error));
    return true;
  }

  /** WebSocket handshakes of Direct Line streams; true when the request is ours. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): boolean {
    const match = DIRECT_LINE.exec(req.url ?? '');
    if (!match || match[2] !== 'conversations' || match[4] !== 'stream') return false;
    void this.openStream(req, socket, head, safeDecode(match[1]), safeDecode(match[3] ?? ''), new URLSearchParams(match[5] ?? '').get('t') ?? '').catch(() => refuse(socket, 500));
    return true;
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: string): Promise<void> {
    const method = req.method ?? 'GET';
    const asset = ASSET.exec(url);
    if (asset && (method === 'GET' || method === 'HEAD')) return this.pages.asset(req, res, asset[1]);
    const dl = DIRECT_LINE.exec(url);
    if (dl) {
      const gateway = await this.gateways.get(safeDecode(dl[1]));
      if (!this.cors(req, res, gateway)) return;
      if (method === 'OPTIONS') return void res.writeHead(204).end();
      return this.directLineCall(req, res, gateway, method, dl[2], dl[3] === undefined ? undefined : safeDecode(dl[3]), dl[4], new URLSearchParams(dl[5] ?? ''));
    }
    const file = FILE.exec(url);
    if (file && method === 'GET') return this.download(res, safeDecode(file[1]), file[2].toLowerCase());
    const page = PAGE.exec(url);
    if (page) {
      const gateway = await this.gateways.get(safeDecode(page[1]));
      if (!gateway.hostedPage) throw DirectLineError.notFound('no web chat page here');
      if (!page[2] && method === 'GET') return this.pages.page(res, gateway);
      if (page[2] && method === 'POST') return this.session(req, res, gateway);
    }
    throw DirectLineError.notFound('no such web chat route');
  }

  private async directLineCall(
    req: IncomingMessage,
    res: ServerResponse,
    gateway: WebchatGatewayConfig,
    method: string,
    resource: string,
    conversationId: string | undefined,
    sub: string | undefined,
    query: URLSearchParams,
  ): Promise<void> {
    const caller = this.directLine.authenticate(gateway, header(req, 'authorization'));
    const base = this.publicBase(req);
    const watermark = query.get('watermark') ?? undefined;
    if (method === 'POST' && resource === 'tokens/generate') return sendJson(res, 200, await this.directLine.generate(gateway, caller, await this.jsonBody(req, gateway)));
    if (method === 'POST' && resource === 'tokens/refresh') return sendJson(res, 200, this.directLine.refresh(gateway, caller));
    if (resource !== 'conversations') throw DirectLineError.notFound('no such Direct Line route');
    if (conversationId === undefined) {
      if (method !== 'POST') throw new DirectLineError(405, 'BadArgument', 'use POST to start a conversation');
      const started = await this.directLine.start(gateway, caller, await this.jsonBody(req, gateway), base);
      return sendJson(res, started.status, started.body);
    }
    if (sub === undefined && method === 'GET') return sendJson(res, 200, await this.directLine.reconnect(gateway, caller, conversationId, watermark, base));
    if (sub === 'activities' && method === 'GET') return sendJson(res, 200, await this.directLine.activities(gateway, caller, conversationId, watermark));
    if (sub === 'activities' && method === 'POST') {
      const activity = readActivity(await this.jsonBody(req, gateway));
      return sendJson(res, 200, await this.directLine.post(gateway, caller, conversationId, activity, fileIdOf(gateway)));
    }
    if (sub === 'upload' && method === 'POST') return sendJson(res, 200, await this.upload(req, gateway, caller, conversationId, query.get('userId'), base));
    throw DirectLineError.notFound('no such Direct Line route');
  }

  /** A body within the gateway's activity size (characters of its JSON, as Direct Line counts). */
  private async jsonBody(req: IncomingMessage, gateway: WebchatGatewayConfig): Promise<Record<string, unknown>> {
    const text = (await readBody(req, gateway.maxActivityChars * 4, 'the activity')).toString('utf8');
    if (text.length > gateway.maxActivityChars) throw DirectLineError.tooBig(`the activity exceeds ${gateway.maxActivityChars} characters`);
    return parseObject(text);
  }

  private async upload(req: IncomingMessage, gateway: WebchatGatewayConfig, caller: Caller, conversationId: string, userId: string | null, base: string): Promise<{ id: string }> {
    if (!userId) throw DirectLineError.badArgument('userId', 'the query parameter is required');
    this.directLine.assertMine(caller, conversationId);
    await this.directLine.conversation(gateway, conversationId);
    const { files, activity } = await readUpload(req, gateway.maxAttachmentBytes, gateway.maxActivityChars);
    const attachments = [];
    for (const file of files) {
      const id = await this.transcripts.addFile(conversationId, file);
      attachments.push({ contentType: file.contentType, contentUrl: `${base}/webchat/${gateway.id}/files/${id}`, name: file.name });
    }
    const template = activity ? readActivity(activity) : { type: 'message' };
    const from = template.from ?? { id: userId };
    return this.directLine.post(gateway, caller, conversationId, { ...template, type: 'message', from, attachments }, fileIdOf(gateway));
  }

  /**
   * A file a user uploaded. Its URL is the capability (an unguessable id, given to the conversation's client and to
   * the bot): a browser shows images without an Authorization header, as Direct Line's private links do.
   */
  private async download(res: ServerResponse, gatewayId: string, fileId: string): Promise<void> {
    const file = await this.transcripts.file(fileId);
    if (!file || file.gatewayId !== gatewayId) throw DirectLineError.notFound('no such file');
    const type = fileContentType(file.contentType);
    const inline = /^image\/(png|jpeg|gif|webp)$/i.test(type);
    res.writeHead(200, {
      'content-type': type,
      'content-length': String(file.content.length),
      'content-disposition': inline ? 'inline' : attachmentDisposition(file.name),
      // A user's file is never run as a page of this origin.
      'content-security-policy': "default-src 'none'; sandbox",
      'x-content-type-options': 'nosniff',
      'cache-control': 'private, max-age=3600',
    });
    res.end(file.content);
  }

  /** The hosted page's session: a user-bound token for a new conversation (the gateway's `hostedPage` is on). */
  private async session(req: IncomingMessage, res: ServerResponse, gateway: WebchatGatewayConfig): Promise<void> {
    const origin = header(req, 'origin');
    if (origin && origin !== requestBase(req) && origin !== new URL(this.config.publicBaseUrl).origin && !gateway.allowedOrigins.includes(origin)) {
      throw new DirectLineError(403, 'Forbidden', `origin ${origin} may not open this web chat`);
    }
    const body = parseObject((await readBody(req, 4096, 'the body')).toString('utf8'));
    const name = typeof body.name === 'string' ? body.name.trim().slice(0, 100) : '';
    const user = { id: newUserId(), ...(name ? { name } : {}) };
    const conversationId = newConversationId();
    await this.transcripts.create(conversationId, gateway.id, user.id);
    const token = this.directLine.tokenFor(gateway, conversationId, user);
    sendJson(res, 200, { ...token, userId: user.id, userName: user.name ?? null, domain: `${this.publicBase(req)}/webchat/${gateway.id}/v3/directline` });
  }

  private async openStream(req: IncomingMessage, socket: Duplex, head: Buffer, gatewayId: string, conversationId: string, t: string): Promise<void> {
    let gateway: WebchatGatewayConfig;
    try {
      gateway = await this.gateways.get(gatewayId);
    } catch {
      return refuse(socket, 404);
    }
    const origin = header(req, 'origin');
    if (origin && !this.originAllowed(req, gateway, origin)) return refuse(socket, 403);
    const check = verifyToken(t, gateway.id, gateway.secrets, this.clock.now());
    if (!check.ok) return refuse(socket, check.reason === 'expired' ? 403 : 401);
    if (check.claims.kind !== 'stream' || check.claims.conversationId !== conversationId) return refuse(socket, 401);
    this.streams.accept(req, socket, head, conversationId, check.claims.watermark ?? 0);
  }

  /** CORS: the gateway's allowed origins and the service's own (its page). False when refused (answered). */
  private cors(req: IncomingMessage, res: ServerResponse, gateway: WebchatGatewayConfig): boolean {
    const origin = header(req, 'origin');
    if (!origin) return true;
    if (!this.originAllowed(req, gateway, origin)) {
      sendJson(res, 403, new DirectLineError(403, 'Forbidden', `origin ${origin} is not allowed for this web chat`).body(), { vary: 'Origin' });
      return false;
    }
    res.setHeader('access-control-allow-origin', origin);
    res.setHeader('vary', 'Origin');
    if (req.method === 'OPTIONS') {
      res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
      res.setHeader('access-control-allow-headers', ALLOWED_HEADERS);
      res.setHeader('access-control-max-age', '600');
    }
    return true;
  }

  private originAllowed(req: IncomingMessage, gateway: WebchatGatewayConfig, origin: string): boolean {
    if (gateway.allowedOrigins.includes(origin)) return true;
    // The service's own page (only served when the gateway's hostedPage is on).
    return gateway.hostedPage && (origin === requestBase(req) || origin === new URL(this.config.publicBaseUrl).origin);
  }

  /** Where clients reach this service: PUBLIC_BASE_URL when set, else the address the request came to. */
  private publicBase(req: IncomingMessage): string {
    return this.config.PUBLIC_BASE_URL ? this.config.publicBaseUrl : requestBase(req);
  }

  private fail(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    if (!req.complete) res.setHeader('connection', 'close');
    if (error instanceof DirectLineError) return sendJson(res, error.status, error.body(), error.headers);
    // Never the URL or headers: they may carry a token.
    this.logger.error({ msg: 'web chat request failed', error: error instanceof Error ? error.message : String(error), stack: (error as Error)?.stack }, 'webchat');
    sendJson(res, 500, new DirectLineError(500, 'ServiceError', 'internal error').body());
  }
}

function readActivity(body: Record<string, unknown>): DirectLineActivity {
  if (typeof body.type !== 'string' || body.type === '') throw DirectLineError.badArgument('type', 'is required');
  if (body.from !== undefined && (typeof body.from !== 'object' || body.from === null)) throw DirectLineError.badArgument('from', 'must be an object');
  if (body.attachments !== undefined && !Array.isArray(body.attachments)) throw DirectLineError.badArgument('attachments', 'must be an array');
  for (const [i, a] of ((body.attachments as unknown[]) ?? []).entries()) {
    if (typeof a !== 'object' || a === null || typeof (a as { contentType?: unknown }).contentType !== 'string') throw DirectLineError.badArgument(`attachments[${i}].contentType`, 'is required');
  }
  return body as DirectLineActivity;
}

/** The id of a file uploaded to this gateway, when a URL points at one. */
function fileIdOf(gateway: WebchatGatewayConfig): (url: string) => string | undefined {
  const pattern = new RegExp(`/webchat/${gateway.id}/files/([0-9a-f-]{36})$`, 'i');
  return (url) => pattern.exec(url)?.[1];
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function refuse(socket: Duplex, status: number): void {
  const text = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' }[status] ?? 'Error';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
