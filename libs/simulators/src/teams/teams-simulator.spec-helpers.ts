import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { close, listen, readBody } from '../http/simulator-http';
import { TeamsSimulator } from './teams-simulator';

/** What the bot endpoint received. */
export interface ReceivedActivity {
  headers: IncomingHttpHeaders;
  activity: Record<string, any>;
}

/**
 * A stand-in for a bot's messaging endpoint: records each POST and answers 200 (or what `answer` says). It plays the
 * bot, the party the simulator talks to; it does not replace any of our code.
 */
export class BotEndpointDouble {
  readonly received: ReceivedActivity[] = [];
  answer: (activity: Record<string, any>) => number | Promise<number> = () => 200;
  private server?: Server;
  private readonly waiters: Array<() => void> = [];

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void readBody(req, 10 * 1024 * 1024).then(async (body) => {
        const activity = JSON.parse(body.toString('utf8')) as Record<string, any>;
        this.received.push({ headers: req.headers, activity });
        this.waiters.splice(0).forEach((wake) => wake());
        const status = await this.answer(activity);
        if (!res.destroyed) res.writeHead(status).end();
      });
    });
    return `${await listen(this.server)}/api/messages`;
  }

  /** Resolves once `count` activities have arrived. */
  async untilReceived(count: number): Promise<void> {
    while (this.received.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  stop(): Promise<void> {
    return this.server ? close(this.server) : Promise.resolve();
  }
}

export const APP_ID = '00000000-0000-4000-8000-00000000b0t1';
export const APP_SECRET = 'bot-secret';
export const TENANT_ID = '72f988bf-0000-4000-8000-2d7cd011db47';

export async function postForm(url: string, fields: Record<string, string>): Promise<{ status: number; body: Record<string, any> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export async function botToken(teams: TeamsSimulator, appId = APP_ID, secret = APP_SECRET, tenant = TENANT_ID): Promise<string> {
  const { status, body } = await postForm(teams.tokenEndpoint(tenant), {
    grant_type: 'client_credentials',
    client_id: appId,
    client_secret: secret,
    scope: 'https://api.botframework.com/.default',
  });
  if (status !== 200) throw new Error(`token: ${status} ${JSON.stringify(body)}`);
  return body.access_token as string;
}

export interface ConnectorAnswer {
  status: number;
  headers: Headers;
  body: any;
}

/** A Connector call relative to the service URL, e.g. `v3/conversations`. */
export async function connector(teams: TeamsSimulator, token: string | undefined, method: string, path: string, body?: unknown, region?: string): Promise<ConnectorAnswer> {
  const res = await fetch(`${teams.serviceUrl(region)}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

export function decodePart(token: string, index: 0 | 1): Record<string, any> {
  return JSON.parse(Buffer.from(token.split('.')[index], 'base64url').toString('utf8')) as Record<string, any>;
}
