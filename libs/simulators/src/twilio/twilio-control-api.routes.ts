import { send, SimulatorRequest, SimulatorRouter } from '../http/simulator-http';
import { TwilioControlError } from './twilio-messaging.store';
import type { TwilioSimulator } from './twilio-simulator';
import { PORT_VARIANTS, PortVariant, SIGNATURE_FAULTS, SignatureFault } from './twilio-simulator.types';

export const TWILIO_CONTROL_PATH = '/control';

/**
 * The JSON control API under `/control/`: the simulator's methods for tests in another process, the phone console
 * and a person with curl. Never authenticated: it is a local test tool.
 */
export function registerTwilioControlRoutes(router: SimulatorRouter, twilio: TwilioSimulator): void {
  const on = (method: string, path: string, action: (req: SimulatorRequest, body: Record<string, any>) => unknown, status = 200) =>
    router.on(method, `${TWILIO_CONTROL_PATH}${path}`, async (req, res) => {
      try {
        const result = await action(req, parseJson(req));
        send(res, result === undefined ? 204 : status, result);
      } catch (error) {
        if (error instanceof TwilioControlError) return send(res, error.status, { message: error.message });
        throw error;
      }
    });
  const { store } = twilio;

  on('GET', '/status', () => ({
    baseUrl: twilio.baseUrl,
    apiBaseUrl: twilio.apiBaseUrl,
    accounts: [...store.accounts.values()].map(({ accountSid, mediaBasicAuth }) => ({ accountSid, mediaBasicAuth })),
    numbers: [...store.numbers.values()],
    messagingServices: [...store.services.values()],
    outcomes: Object.fromEntries(store.outcomes),
    optOuts: [...store.optOuts].map((key) => ({ sender: key.split('|')[0], recipient: key.split('|')[1] })),
    faults: twilio.pendingFaults(),
  }));
  // The auth token is answered once, to whoever created the account: the control API is a local test tool.
  on('POST', '/accounts', (_req, body) => twilio.addAccount({ accountSid: body.accountSid, authToken: body.authToken, mediaBasicAuth: body.mediaBasicAuth === true }), 201);
  on('POST', '/numbers', (_req, body) => twilio.addNumber(required(body, 'accountSid'), { phoneNumber: required(body, 'phoneNumber'), smsUrl: required(body, 'smsUrl'), deliverTo: body.deliverTo }), 201);
  on('POST', '/numbers/:phoneNumber/sms-url', (req, body) => twilio.setSmsUrl(req.params.phoneNumber, required(body, 'smsUrl'), body.deliverTo));
  on('POST', '/messaging-services', (_req, body) => twilio.addMessagingService(required(body, 'accountSid'), { sid: body.sid, phoneNumbers: Array.isArray(body.phoneNumbers) ? body.phoneNumbers : [] }), 201);
  on('POST', '/sms', (_req, body) =>
    twilio.sendSms(required(body, 'from'), required(body, 'to'), typeof body.body === 'string' ? body.body : '', {
      mediaUrls: Array.isArray(body.mediaUrls) ? body.mediaUrls.map(String) : undefined,
      signatureFault: oneOf(body.signatureFault, SIGNATURE_FAULTS, 'signatureFault') as SignatureFault | undefined,
      portVariant: oneOf(body.portVariant, PORT_VARIANTS, 'portVariant') as PortVariant | undefined,
      messageSid: body.messageSid,
    }),
  );
  on('GET', '/phones/:phone/messages', (req) => twilio.messagesTo(req.params.phone));
  on('GET', '/phones/:phone/conversation/:businessNumber', (req) => twilio.conversation(req.params.phone, req.params.businessNumber));
  on('GET', '/messages/:sid', (req) => {
    const message = twilio.message(req.params.sid);
    if (!message) throw new TwilioControlError(404, `No message ${req.params.sid}`);
    return message;
  });
  on('POST', '/outcomes', (_req, body) => twilio.setOutcome(required(body, 'phone'), required(body, 'outcome') as never));
  on('DELETE', '/outcomes', () => twilio.clearOutcomes());
  on('POST', '/opt-outs', (_req, body) => twilio.setOptOut(required(body, 'sender'), required(body, 'recipient'), body.on !== false));
  on('POST', '/faults', (_req, body) => twilio.addFault({ status: Number(required(body, 'status')), code: body.code, count: body.count, retryAfterSeconds: body.retryAfterSeconds }), 201);
  on('DELETE', '/faults', () => twilio.clearFaults());
  on('GET', '/requests', () => ({ api: twilio.requests, webhooks: twilio.webhooks }));
}

function parseJson(req: SimulatorRequest): Record<string, any> {
  if (req.body.length === 0) return {};
  try {
    return JSON.parse(req.body.toString('utf8')) as Record<string, any>;
  } catch {
    throw new TwilioControlError(400, 'The body must be JSON');
  }
}

function required(body: Record<string, any>, name: string): string {
  if (body[name] === undefined || body[name] === '') throw new TwilioControlError(400, `${name} is required`);
  return String(body[name]);
}

function oneOf(value: unknown, allowed: readonly string[], name: string): string | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as string)) throw new TwilioControlError(400, `${name} must be one of ${allowed.join(', ')}`);
  return value as string;
}
