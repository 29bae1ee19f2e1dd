import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { close, readBody } from '../http/simulator-http';
import { TwilioSimulator } from './twilio-simulator';

/** What the webhook endpoint received. */
export interface ReceivedWebhook {
  url: string;
  headers: IncomingHttpHeaders;
  params: Array<[string, string]>;
  form: Record<string, string>;
}

/**
 * A stand-in for the business's webhook endpoint (the party the simulator talks to): records each POST and answers an
 * empty TwiML response, or what `answer` says.
 */
export class WebhookEndpointDouble {
  readonly received: ReceivedWebhook[] = [];
  answer: () => number = () => 200;
  origin = '';
  private server?: Server;
  private readonly waiters: Array<() => void> = [];

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      void readBody(req, 1024 * 1024).then((body) => {
        const params = [...new URLSearchParams(body.toString('utf8'))];
        this.received.push({ url: `${this.origin}${req.url}`, headers: req.headers, params, form: Object.fromEntries(params) });
        this.waiters.splice(0).forEach((wake) => wake());
        res.writeHead(this.answer(), { 'content-type': 'text/xml' }).end('<?xml version="1.0" encoding="UTF-8"?><Response/>');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.origin;
  }

  async untilReceived(count: number): Promise<void> {
    while (this.received.length < count) await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  stop(): Promise<void> {
    return this.server ? close(this.server) : Promise.resolve();
  }
}

export const BUSINESS = '+14155550100';
export const PHONE = '+14155550123';

/** A REST call to the simulator with Basic auth. */
export async function rest(
  twilio: TwilioSimulator,
  auth: { accountSid: string; authToken: string },
  method: string,
  path: string,
  form?: Array<[string, string]> | Record<string, string>,
): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${twilio.apiBaseUrl}/2010-04-01/Accounts/${auth.accountSid}${path}`, {
    method,
    headers: {
      authorization: `Basic ${Buffer.from(`${auth.accountSid}:${auth.authToken}`).toString('base64')}`,
      ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
    },
    body: form ? new URLSearchParams(form as Record<string, string>).toString() : undefined,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}
