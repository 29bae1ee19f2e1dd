import { randomBytes } from 'node:crypto';
import { SimulatorClock } from '../clock/simulator-clock';
import { twilioSignature, TwilioParams, withDefaultPort, withoutPort } from './twilio-signature';
import { PortVariant, SignatureFault, TwilioWebhookRecord } from './twilio-simulator.types';

export interface TwilioWebhookRequest {
  kind: TwilioWebhookRecord['kind'];
  messageSid: string;
  /** The URL as configured in Twilio (what is signed). */
  url: string;
  /** Where the request really goes, when a proxy stands in front (default: `url`). */
  deliverTo?: string;
  params: TwilioParams;
  authToken: string;
  signatureFault?: SignatureFault;
  portVariant?: PortVariant;
}

/**
 * Twilio's side of a webhook: a form-encoded POST signed with X-Twilio-Signature over the configured URL. The
 * connection-override fragment (`#ct=…`) is never sent on the request line; it is left out of the signed URL too
 * (Twilio does not document this, see the protocol notes). No answer within the timeout counts as 0 (Twilio's 11200).
 */
export class TwilioWebhookSender {
  constructor(
    private readonly clock: SimulatorClock,
    private readonly records: TwilioWebhookRecord[],
    private readonly timeoutMs: number,
  ) {}

  async deliver(request: TwilioWebhookRequest): Promise<TwilioWebhookRecord> {
    const configured = request.url.split('#')[0];
    const target = (request.deliverTo ?? request.url).split('#')[0];
    let signed = configured;
    if (request.portVariant === 'with_default_port') signed = withDefaultPort(configured);
    if (request.portVariant === 'without_port') signed = withoutPort(configured);
    if (request.signatureFault === 'wrong_url') signed = `${signed}${signed.includes('?') ? '&' : '?'}forged=1`;
    const token = request.signatureFault === 'bad_signature' ? randomBytes(16).toString('hex') : request.authToken;
    const signature = request.signatureFault === 'no_signature' ? null : twilioSignature(token, signed, request.params);
    let params = request.params;
    if (request.signatureFault === 'tampered') params = params.map(([name, value]) => [name, name === 'Body' ? `${value} (changed)` : value]);
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'user-agent': 'TwilioProxy/1.1',
      'i-twilio-idempotency-token': randomBytes(16).toString('hex'),
      accept: '*/*',
    };
    if (signature) headers['x-twilio-signature'] = signature;
    const body = new URLSearchParams(params).toString();
    const abort = new AbortController();
    const timedOut = this.clock.wait(this.timeoutMs, abort.signal).then(() => undefined);
    let answer: { status: number; body: string };
    try {
      const answered = fetch(target, { method: 'POST', headers, body, signal: abort.signal, redirect: 'manual' }).then(async (res) => ({ status: res.status, body: await res.text() }));
      answer = (await Promise.race([answered, timedOut])) ?? { status: 0, body: 'timed out' };
    } catch (error) {
      answer = { status: 0, body: (error as Error).message };
    } finally {
      abort.abort();
    }
    const record: TwilioWebhookRecord = {
      kind: request.kind,
      url: configured,
      messageSid: request.messageSid,
      params,
      signature,
      httpStatus: answer.status,
      responseBody: answer.body,
      at: this.clock.now(),
    };
    this.records.push(record);
    return record;
  }
}
