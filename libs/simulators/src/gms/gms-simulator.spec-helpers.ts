import { GmsEnvelope } from './gms-protocol.types';
import { GmsFaultKind } from './gms-fault.injector';
import { GmsSimulator } from './gms-simulator';

/** An HTTP answer as the specs look at it. */
export interface TestResponse<T = GmsEnvelope> {
  status: number;
  headers: Headers;
  body: T;
}

/** POSTs a urlencoded form (values as given; the brackets of userData keys get percent-encoded like real clients do). */
export async function postForm<T = GmsEnvelope>(url: string, fields: Record<string, string | number | undefined>, headers: Record<string, string> = {}): Promise<TestResponse<T>> {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) body.append(name, String(value));
  const response = await fetch(url, { method: 'POST', body, headers });
  return { status: response.status, headers: response.headers, body: await readBody<T>(response) };
}

/** POSTs a body exactly as given, for raw-bracket and content-type tests. */
export async function postRaw<T = GmsEnvelope>(url: string, body: string | FormData, headers: Record<string, string> = {}): Promise<TestResponse<T>> {
  const response = await fetch(url, { method: 'POST', body, headers });
  return { status: response.status, headers: response.headers, body: await readBody<T>(response) };
}

/** Calls the control API with a JSON body. */
export async function control<T = any>(baseUrl: string, method: string, path: string, body?: unknown): Promise<TestResponse<T>> {
  const response = await fetch(`${baseUrl}/sim${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  });
  return { status: response.status, headers: response.headers, body: await readBody<T>(response) };
}

async function readBody<T>(response: Response): Promise<T> {
  const text = await response.text();
  if (!(response.headers.get('content-type') ?? '').includes('json')) return text as T;
  return JSON.parse(text) as T;
}

/**
 * A minimal GMS client as a careful integrator writes it: keeps alias/userId/secureKey from every response and
 * advances its position to `nextPosition`.
 */
export class TestGmsClient {
  chatId = '';
  userId = '';
  secureKey = '';
  alias = '';
  position = 1;

  constructor(
    readonly serviceUrl: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  async requestChat(fields: Record<string, string | undefined> = { nickname: 'Jo Client' }): Promise<TestResponse> {
    const response = await postForm(this.serviceUrl, fields, this.headers);
    this.remember(response.body);
    return response;
  }

  /** Calls `{chatId}/{path}` with the session triple and the current position (unless given). */
  async call(path: string, fields: Record<string, string | number | undefined> = {}): Promise<TestResponse> {
    const response = await postForm(`${this.serviceUrl}/${this.chatId}/${path}`, this.session(fields), this.headers);
    this.remember(response.body);
    return response;
  }

  refresh(): Promise<TestResponse> {
    return this.call('refresh');
  }

  session(fields: Record<string, string | number | undefined> = {}): Record<string, string | number | undefined> {
    return { userId: this.userId, secureKey: this.secureKey, alias: this.alias, transcriptPosition: this.position, ...fields };
  }

  private remember(envelope: GmsEnvelope): void {
    if (typeof envelope !== 'object' || envelope.statusCode !== 0) return;
    if (envelope.chatId) this.chatId = envelope.chatId;
    if (envelope.userId) this.userId = envelope.userId;
    if (envelope.secureKey) this.secureKey = envelope.secureKey;
    if (envelope.alias) this.alias = envelope.alias;
    if (envelope.nextPosition !== undefined) this.position = envelope.nextPosition;
  }
}

/** Resolves once the simulator has applied `count` faults of the kind in all: a request it delays has reached it and waits from then on. */
export function faultsApplied(gms: GmsSimulator, kind: GmsFaultKind, count: number): Promise<void> {
  return gms.faultsApplied(kind, count);
}
