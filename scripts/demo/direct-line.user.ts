import WebSocket from 'ws';

/** An activity as a Direct Line client receives it on its stream. */
export interface StreamActivity {
  id?: string;
  type: string;
  text?: string;
  from?: { id?: string; name?: string; role?: string };
  attachments?: Array<{ contentType: string; name?: string; contentUrl?: string; content?: unknown }>;
  suggestedActions?: { actions: Array<{ title: string; value?: unknown }> };
}

/**
 * The demo's web chat user: a Direct Line 3.0 client over plain HTTP and a WebSocket, what Web Chat does in a browser.
 * Starts a conversation on a `webchat` gateway of the service, keeps every activity its stream brings, and posts
 * messages as the user.
 */
export class DirectLineUser {
  readonly received: StreamActivity[] = [];
  private socket?: WebSocket;
  private token = '';
  conversationId = '';

  constructor(
    /** `<service>/webchat/<gatewayId>/v3/directline` */
    private readonly directLine: string,
    readonly userId: string,
    readonly userName: string,
  ) {}

  /** Starts a conversation with a token minted from the secret (as a site's token server would) and opens its stream. */
  async start(secret: string): Promise<void> {
    const generated = await this.call<{ token: string }>('POST', '/tokens/generate', secret, { user: { id: this.userId, name: this.userName } });
    const started = await this.call<{ conversationId: string; token: string; streamUrl: string }>('POST', '/conversations', generated.token);
    this.conversationId = started.conversationId;
    this.token = started.token;
    const socket = new WebSocket(started.streamUrl);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    socket.on('message', (data) => {
      const text = data.toString();
      // An empty message keeps the stream alive; an ActivitySet carries activities.
      if (text) this.received.push(...((JSON.parse(text) as { activities?: StreamActivity[] }).activities ?? []));
    });
    this.socket = socket;
  }

  /** Sends a message as the user; resolves with the activity id the service gave it. */
  async say(text: string): Promise<string> {
    const answer = await this.call<{ id: string }>('POST', `/conversations/${this.conversationId}/activities`, this.token, {
      type: 'message',
      from: { id: this.userId, name: this.userName },
      text,
    });
    return answer.id;
  }

  /** What others (the bot, an agent) sent, in the order the stream brought it. */
  fromOthers(): StreamActivity[] {
    return this.received.filter((activity) => activity.from?.id !== this.userId);
  }

  close(): void {
    this.socket?.close();
  }

  private async call<T>(method: string, path: string, bearer: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.directLine}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`Direct Line ${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as T;
  }
}
