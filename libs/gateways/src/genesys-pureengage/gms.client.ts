import { GatewayError, GatewayLogger, OutboundHttp, OutboundRefused, TokenCache } from '@app/gateway-sdk';
import { EntraTokenClient } from './entra-token.client';
import { GmsSettings } from './genesys-pureengage.settings';
import { GmsHttpAnswer, GmsTransport } from './gms-http.client';
import { GMS_ERROR, GmsApiError, GmsEnvelope, GmsFields, GmsOperation, GmsSession, MAX_DOWNLOAD_BYTES } from './gms.types';

/** What the client needs from the gateway context. */
export interface GmsCallContext {
  signal: AbortSignal;
  tokens: TokenCache;
  logger: GatewayLogger;
  http: OutboundHttp;
}

/** A file to upload (Upload File, multipart as in GMSLibrary). */
export interface GmsUpload {
  name: string;
  mimeType: string;
  content: Buffer;
  userData?: Record<string, string>;
}

/** A downloaded file (Download File, raw bytes as in GMSLibrary), or why GMS refused it. */
export type GmsDownload = { content: Buffer; mimeType: string } | { refused: string } | { tooLarge: true };

/** How the admin "test" probe went. */
export interface GmsProbe {
  ok: boolean;
  detail: string;
}

type RequestBody = URLSearchParams | FormData;

/** Envelopes larger than this are not GMS talking. */
const MAX_ENVELOPE_BYTES = 8 * 1024 * 1024;
/** A chat id that cannot exist: the probe asks GMS about it and expects a refusal in envelope form. */
const PROBE_CHAT_ID = '0000000000000000';

/**
 * The only part of the gateway that speaks HTTP to GMS. One instance serves one gateway call: it carries the session
 * triple, refreshes it from every successful answer (the alias may change several times in one session: GMS API
 * Responses), and turns every failure into a GatewayError. It never retries: the service does, per the API Retry settings.
 * The one exception is a bearer token the API rejects, which is renewed once, because that is token upkeep.
 */
export class GmsClient {
  session: GmsSession | undefined;

  constructor(
    private readonly settings: GmsSettings,
    private readonly ctx: GmsCallContext,
    private readonly transport: GmsTransport,
    private readonly entra: EntraTokenClient,
    session?: GmsSession,
  ) {
    this.session = session ? { ...session } : undefined;
  }

  /** Request Chat (GMS Chat API v2): creates the chat and takes its identifiers. */
  async requestChat(fields: GmsFields): Promise<GmsEnvelope> {
    const envelope = await this.exchange('requestChat', this.settings.serviceBaseUrl, () => urlencoded(fields));
    const { chatId, userId, secureKey, alias } = envelope;
    if (!chatId || !secureKey) throw new GatewayError('transient', 'GMS accepted Request Chat without a chatId or secureKey');
    this.session = { chatId, userId: userId ?? '', secureKey, alias: alias ?? '' };
    return envelope;
  }

  /**
   * An operation on the chat, with the session triple. With `endedIsAnswer`, a statusCode 2 that says the chat ended
   * is returned (Refresh reads the end) instead of thrown as `session_gone`.
   */
  async call(operation: GmsOperation, fields: GmsFields = [], options: { endedIsAnswer?: boolean } = {}): Promise<GmsEnvelope> {
    const session = this.requireSession();
    return this.exchange(operation, this.operationUrl(operation, session.chatId), () => urlencoded([...this.triple(), ...fields]), options);
  }

  /** Upload File (GMSLibrary): multipart upload; the answer's `userData["file-id"]` names the file. */
  async upload(file: GmsUpload): Promise<GmsEnvelope> {
    const session = this.requireSession();
    const body = () => {
      const form = new FormData();
      for (const [name, value] of [...this.triple(), ['transcriptPosition', '0'] as [string, string]]) form.append(name, value);
      for (const [key, value] of Object.entries(file.userData ?? {})) form.append(`userData[${key}]`, value);
      form.append('file', new Blob([file.content], { type: file.mimeType || 'application/octet-stream' }), file.name);
      return form;
    };
    return this.exchange('fileUpload', this.operationUrl('fileUpload', session.chatId), body);
  }

  /** Download File (GMSLibrary): raw bytes; an envelope instead means GMS refused (file gone, no attempts left). */
  async download(fileId: string): Promise<GmsDownload> {
    const session = this.requireSession();
    const url = this.operationUrl('fileDownload', session.chatId).replace(/\{fileId\}/g, encodeURIComponent(fileId));
    const response = await this.send('fileDownload', url, () => urlencoded(this.triple()), MAX_DOWNLOAD_BYTES);
    if (!response.ok) throw httpError('fileDownload', response);
    const content = response.body;
    if (!content) return { tooLarge: true };
    const mimeType = (response.header('content-type') ?? '').split(';')[0].trim() || 'application/octet-stream';
    const envelope = mimeType.endsWith('json') ? asEnvelope(content) : undefined;
    if (envelope && envelope.statusCode !== 0) {
      if (envelope.statusCode === 1) throw envelopeError('fileDownload', envelope);
      const error = envelopeError('fileDownload', envelope);
      if (error.code === 'session_gone') throw error;
      return { refused: error.message };
    }
    return { content, mimeType };
  }

  /**
   * Asks GMS about a chat that cannot exist. Any envelope means the service answers under that name with these
   * credentials; 401/403 mean the credentials are refused; 404 means no such service (or context path).
   */
  async probe(): Promise<GmsProbe> {
    const where = this.settings.serviceBaseUrl;
    let response: GmsHttpAnswer;
    try {
      const body = () => urlencoded([['userId', ''], ['secureKey', 'connection-test'], ['alias', ''], ['transcriptPosition', '0']]);
      response = await this.send('refresh', this.operationUrl('refresh', PROBE_CHAT_ID), body);
    } catch (error) {
      const gatewayError = error as GatewayError;
      const what = gatewayError.code === 'auth_failed' ? 'access token not obtained' : 'unreachable';
      return { ok: false, detail: `${what}: ${gatewayError.message}` };
    }
    if (response.status === 401 || response.status === 403) return { ok: false, detail: `authentication failed: HTTP ${response.status} from ${where}` };
    if (response.status === 404) return { ok: false, detail: `unknown service: HTTP 404 for service "${this.settings.serviceName}" at ${where}` };
    if (!response.ok) return { ok: false, detail: `GMS answered HTTP ${response.status} at ${where}` };
    const envelope = asEnvelope(response.body ?? Buffer.alloc(0));
    if (!envelope) return { ok: false, detail: `${where} answered, but not with a GMS Chat API v2 envelope` };
    return { ok: true, detail: `GMS chat service "${this.settings.serviceName}" answered at ${where}` };
  }

  private async exchange(operation: GmsOperation | 'requestChat', url: string, body: () => RequestBody, options: { endedIsAnswer?: boolean } = {}): Promise<GmsEnvelope> {
    const response = await this.send(operation, url, body);
    if (!response.ok) throw httpError(operation, response);
    const envelope = response.body && asEnvelope(response.body);
    if (!envelope) throw new GatewayError('transient', `GMS ${operation}: the answer is not a readable envelope`, { status: response.status });
    if (envelope.statusCode === 0) {
      this.refreshSession(envelope);
      return envelope;
    }
    if (envelope.statusCode === 2 && envelope.chatEnded === true && options.endedIsAnswer) return envelope;
    throw envelopeError(operation, envelope);
  }

  /** One HTTP POST with auth; network failures and aborts are transient. */
  private async send(operation: string, url: string, body: () => RequestBody, limit = MAX_ENVELOPE_BYTES): Promise<GmsHttpAnswer> {
    const auth = this.settings.microsoftAuth;
    let token = auth ? await this.entra.token(this.ctx, auth) : undefined;
    let response = await this.post(operation, url, body(), limit, token);
    if (auth && response.status === 401) {
      // The token may have been revoked or expired early: renew it once. A 401 means GMS did not act on the request.
      this.entra.invalidate(this.ctx, auth);
      token = await this.entra.token(this.ctx, auth);
      response = await this.post(operation, url, body(), limit, token);
    }
    return response;
  }

  private async post(operation: string, url: string, body: RequestBody, limit: number, token?: string): Promise<GmsHttpAnswer> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (token) headers.authorization = `Bearer ${token}`;
    else if (this.settings.basicAuth) {
      const { username, password } = this.settings.basicAuth;
      headers.authorization = `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
    }
    try {
      return await this.transport({ url, headers, body, signal: this.ctx.signal, limit });
    } catch (error) {
      if (error instanceof OutboundRefused) throw new GatewayError('invalid_request', `GMS ${operation}: refused by the outbound policy: ${error.message}`, { cause: error });
      const reason = this.ctx.signal.aborted
        ? (this.ctx.signal.reason as Error)?.name === 'TimeoutError'
          ? 'no answer before the call timed out'
          : 'the call was aborted'
        : networkReason(error);
      throw new GatewayError('transient', `GMS ${operation}: ${reason}`, { cause: error });
    }
  }

  private refreshSession(envelope: GmsEnvelope): void {
    if (!this.session) return;
    // Only statusCode 0 answers are trustworthy (GMS API Responses); each of the three may be rotated on its own.
    for (const field of ['alias', 'userId', 'secureKey'] as const) {
      const value = envelope[field];
      if (typeof value === 'string' && value !== '') this.session[field] = value;
    }
  }

  private triple(): GmsFields {
    const { userId, secureKey, alias } = this.requireSession();
    return [
      ['userId', userId],
      ['secureKey', secureKey],
      ['alias', alias],
    ];
  }

  private operationUrl(operation: GmsOperation, chatId: string): string {
    return `${this.settings.serviceBaseUrl}/${encodeURIComponent(chatId)}/${this.settings.paths[operation]}`;
  }

  private requireSession(): GmsSession {
    if (!this.session?.chatId || !this.session.secureKey) throw new GatewayError('session_gone', 'No GMS chat session is stored for this escalation');
    return this.session;
  }
}

function urlencoded(fields: GmsFields): URLSearchParams {
  // URLSearchParams percent-encodes the brackets of userData[...] names, as GMSLibrary does.
  return new URLSearchParams(fields);
}

function asEnvelope(raw: Buffer): GmsEnvelope | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return undefined;
  const envelope = parsed as GmsEnvelope;
  return typeof envelope.statusCode === 'number' ? envelope : undefined;
}

function httpError(operation: string, response: GmsHttpAnswer): GatewayError {
  const status = response.status;
  const options = { status };
  if (status === 401 || status === 403) return new GatewayError('auth_failed', `GMS ${operation}: HTTP ${status}, credentials refused`, options);
  if (status === 404) return new GatewayError('invalid_request', `GMS ${operation}: HTTP 404 (unknown service name, context path or endpoint override)`, options);
  if (status === 429) {
    const retryAfter = Number(response.header('retry-after'));
    return new GatewayError('rate_limited', `GMS ${operation}: HTTP 429`, { ...options, retryAfterMs: Number.isFinite(retryAfter) ? retryAfter * 1000 : undefined });
  }
  if (status >= 500 || status === 408) return new GatewayError('transient', `GMS ${operation}: HTTP ${status}`, options);
  return new GatewayError('invalid_request', `GMS ${operation}: HTTP ${status}`, options);
}

/** GMS API Responses: statusCode 1 is worth retrying; statusCode 2 is not, and says whether the chat is over. */
function envelopeError(operation: string, envelope: GmsEnvelope): GatewayError {
  const errors: GmsApiError[] = Array.isArray(envelope.errors) ? envelope.errors : [];
  const codes = errors.map((error) => Number(error?.code));
  const detail = errors.map((error) => `${error?.code ?? '?'} ${String(error?.message ?? '').slice(0, 200)}`.trim()).join('; ') || 'no error detail';
  const message = `GMS ${operation}: statusCode ${envelope.statusCode} (${detail})`;
  const status = Number.isFinite(codes[0]) ? codes[0] : envelope.statusCode;
  if (envelope.statusCode === 1) return new GatewayError('transient', message, { status });
  if (envelope.statusCode !== 2) return new GatewayError('transient', `GMS ${operation}: unknown statusCode ${envelope.statusCode}`, { status });
  const badKey = codes.includes(GMS_ERROR.badSecureKey) || errors.some((error) => /secure\s*key/i.test(String(error?.message ?? '')));
  if (envelope.chatEnded === true || badKey) return new GatewayError('session_gone', message, { status });
  // A stale alias only means another call of this chat saw the rotation first; the retry carries the new one.
  if (codes.includes(GMS_ERROR.staleAlias)) return new GatewayError('transient', message, { status });
  return new GatewayError('invalid_request', message, { status });
}

function networkReason(error: unknown): string {
  // fetch wraps the socket error in `cause`; node:http reports it directly.
  const cause = (error as { cause?: { code?: string; message?: string } })?.cause;
  const code = (error as { code?: string })?.code;
  return `network error (${cause?.code ?? cause?.message ?? code ?? (error instanceof Error ? error.message : String(error))})`;
}
