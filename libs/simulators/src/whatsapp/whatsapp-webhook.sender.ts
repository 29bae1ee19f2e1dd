import { createHmac, randomBytes } from 'node:crypto';
import { SimulatorClock } from '../clock/simulator-clock';
import { WhatsAppBusiness, WhatsAppSignatureFault, WhatsAppWebhookDelivery } from './whatsapp-simulator.types';

/** JSON as Meta sends it: non-ASCII escaped as `\uXXXX`, so the signed bytes are ASCII. */
export function metaJson(body: unknown): string {
  return JSON.stringify(body).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** `sha256=<lower-case hex HMAC-SHA256 of the raw body with the app secret>`. */
export function hubSignature(appSecret: string, rawBody: string | Buffer): string {
  return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}

/** The envelope of every webhook: one entry for the WABA, one `messages` change. */
export function envelope(business: WhatsAppBusiness, value: Record<string, unknown>): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: business.wabaId,
        changes: [
          {
            field: 'messages',
            value: { messaging_product: 'whatsapp', metadata: { display_phone_number: business.displayPhoneNumber, phone_number_id: business.phoneNumberId }, ...value },
          },
        ],
      },
    ],
  };
}

/**
 * Meta's side of the webhook: POSTs signed bodies to the business's callback URL and records the answer. An answer
 * slower than the delivery timeout counts as 504. Meta's redelivery on failure is not modelled: a test repeats a
 * delivery itself with `postWebhook`.
 */
export class WhatsAppWebhookSender {
  constructor(
    private readonly clock: SimulatorClock,
    private readonly deliveries: WhatsAppWebhookDelivery[],
    private readonly timeoutMs: number,
  ) {}

  async post(
    business: WhatsAppBusiness,
    body: unknown,
    record: Omit<WhatsAppWebhookDelivery, 'status' | 'at' | 'phoneNumberId'>,
    fault?: WhatsAppSignatureFault,
  ): Promise<{ status: number; body: string }> {
    const raw = metaJson(body);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'facebookexternalua' };
    if (fault === 'bad_signature') headers['x-hub-signature-256'] = hubSignature(randomBytes(16).toString('hex'), raw);
    else if (fault === 'sha1_only') headers['x-hub-signature'] = `sha1=${createHmac('sha1', business.appSecret).update(raw).digest('hex')}`;
    else if (fault !== 'no_signature') headers['x-hub-signature-256'] = hubSignature(business.appSecret, raw);
    const at = this.clock.now();
    const result = await this.request(business.callbackUrl, { method: 'POST', headers, body: raw });
    this.deliveries.push({ ...record, phoneNumberId: business.phoneNumberId, status: result.status, at });
    return result;
  }

  /** The verification handshake: GET with hub.mode, hub.verify_token and a random hub.challenge; ok when echoed. */
  async verify(business: WhatsAppBusiness, verifyToken = business.verifyToken): Promise<{ ok: boolean; status: number }> {
    const challenge = String(randomBytes(5).readUInt32BE(0));
    const url = new URL(business.callbackUrl);
    url.searchParams.set('hub.mode', 'subscribe');
    url.searchParams.set('hub.challenge', challenge);
    url.searchParams.set('hub.verify_token', verifyToken);
    const result = await this.request(url.toString(), { method: 'GET', headers: {} });
    return { ok: result.status === 200 && result.body === challenge, status: result.status };
  }

  private async request(url: string, init: { method: string; headers: Record<string, string>; body?: string }): Promise<{ status: number; body: string }> {
    const abort = new AbortController();
    const timedOut = this.clock.wait(this.timeoutMs, abort.signal).then(() => undefined);
    try {
      const answered = fetch(url, { ...init, signal: abort.signal }).then(async (res) => ({ status: res.status, body: await res.text() }));
      return (await Promise.race([answered, timedOut])) ?? { status: 504, body: '' };
    } catch (error) {
      return { status: abort.signal.aborted ? 504 : 502, body: (error as Error).message };
    } finally {
      abort.abort();
    }
  }
}
