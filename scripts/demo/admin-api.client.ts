/** An answer of the admin API. */
export interface ApiAnswer<T = any> {
  status: number;
  body: T;
  text: string;
}

/** The request bodies the demo sends (a subset of openapi.json). */
export interface EscalationInput {
  domain: string;
  gatewayId: string;
  conversation: { externalId: string; channel: string };
  user: Record<string, string>;
  attributes: Record<string, string>;
  history: Array<{ author: 'user' | 'bot' | 'agent' | 'system'; text: string; time: string }>;
  queue?: string;
}

export interface RelayInput {
  text?: string;
  attachments?: Array<{ name: string; mimeType: string; contentBase64: string }>;
}

/** The service's admin and integration API, as an integrator calls it: Bearer API key, JSON. */
export class AdminApiClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey: string,
  ) {}

  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer<T>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.apiKey}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    return { status: response.status, body: parsed as T, text };
  }

  /** Throws with the service's error body unless the status is the expected one. */
  async expect<T = any>(status: number, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    const answer = await this.request<T>(method, path, body, headers);
    if (answer.status !== status) throw new Error(`${method} ${path} answered ${answer.status}: ${answer.text.slice(0, 500)}`);
    return answer.body;
  }

  createDomain(name: string, callbackUrl: string, signingSecret: string): Promise<{ id: string; name: string }> {
    return this.expect(201, 'POST', '/v1/domains', { name, description: 'chat-gateway demo', callbackUrl, signingSecret });
  }

  createGateway(type: string, settings: Record<string, Record<string, unknown>>): Promise<{ id: string; deployed: boolean; provisioning?: Record<string, unknown> }> {
    return this.expect(201, 'POST', '/v1/gateways', { type, settings });
  }

  escalate(input: EscalationInput): Promise<{ id: string; conversationId: string; state: string }> {
    return this.expect(202, 'POST', '/v1/escalations', input, { 'idempotency-key': `demo-${input.conversation.externalId}` });
  }

  relay(escalationId: string, input: RelayInput): Promise<unknown> {
    return this.expect(202, 'POST', `/v1/escalations/${escalationId}/messages`, input);
  }

  typing(escalationId: string, state: 'started' | 'stopped'): Promise<unknown> {
    return this.expect(202, 'POST', `/v1/escalations/${escalationId}/typing`, { state });
  }

  transfer(escalationId: string, queue: string): Promise<unknown> {
    return this.expect(202, 'POST', `/v1/escalations/${escalationId}/transfer`, { queue });
  }

  escalation(escalationId: string): Promise<Record<string, any>> {
    return this.expect(200, 'GET', `/v1/escalations/${escalationId}`);
  }

  conversation(conversationId: string): Promise<{ control: 'bot' | 'agent'; closedAt: string | null }> {
    return this.expect(200, 'GET', `/v1/conversations/${conversationId}`);
  }

  /** A file the agent sent, as the bot platform downloads it from the delivered URL. */
  async download(path: string): Promise<Buffer> {
    const response = await fetch(`${this.baseUrl}${path}`, { headers: { authorization: `Bearer ${this.apiKey}` }, signal: AbortSignal.timeout(15_000) });
    if (!response.ok) throw new Error(`GET ${path} answered ${response.status}`);
    return Buffer.from(await response.arrayBuffer());
  }
}
