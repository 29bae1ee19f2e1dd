import { ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { SimulatorClock } from '../clock/simulator-clock';
import { send, SimulatorRequest, SimulatorRouter } from '../http/simulator-http';
import { smsSegments } from './twilio-segments';
import { E164, newSid, TwilioApiError, TwilioMessagingStore } from './twilio-messaging.store';
import { TwilioAccount, TwilioMessageRecord, TwilioRequestRecord } from './twilio-simulator.types';

export const API_VERSION = '2010-04-01';
const BODY_LIMIT = 1600;
const MEDIA_LIMIT = 10;

export interface TwilioApiDependencies {
  store: TwilioMessagingStore;
  clock: SimulatorClock;
  requests: TwilioRequestRecord[];
  baseUrl: () => string;
  /** Starts the status changes of a message just created (after its 201 is written). */
  created: (message: TwilioMessageRecord) => void;
}

/**
 * The slice of Twilio's REST API (2010-04-01) a messaging client uses, at Twilio's paths: the account, Messages
 * (create, fetch, list) and the Media of inbound MMS. Basic auth with the Account SID and Auth Token; errors in
 * Twilio's JSON shape.
 */
export function registerTwilioApiRoutes(router: SimulatorRouter, deps: TwilioApiDependencies): void {
  const { store, clock } = deps;
  const base = `/${API_VERSION}/Accounts/:accountSid`;
  const on = (method: string, path: string, action: (req: SimulatorRequest, account: TwilioAccount, params: Array<[string, string]>) => { status: number; body: unknown }) =>
    router.on(method, path, (req, res) => {
      const params = [...new URLSearchParams(req.body.toString('utf8'))];
      const record: TwilioRequestRecord = { method: req.method, path: req.path, accountSid: null, params, status: 0, errorCode: null, at: clock.now() };
      deps.requests.push(record);
      try {
        const account = authenticate(store, req);
        record.accountSid = account.accountSid;
        const { status, body } = action(req, account, params);
        record.status = status;
        send(res, status, body);
      } catch (error) {
        if (!(error instanceof TwilioApiError)) throw error;
        record.status = error.status;
        record.errorCode = error.code;
        fail(res, error);
      }
    });

  on('GET', `/${API_VERSION}/Accounts/:accountSidJson`, (req, account) => {
    if (req.params.accountSidJson !== `${account.accountSid}.json`) throw notFound(req.path);
    const now = rfc2822(clock.now());
    return {
      status: 200,
      body: { sid: account.accountSid, friendly_name: 'Simulated account', status: 'active', type: 'Full', date_created: now, date_updated: now, owner_account_sid: account.accountSid, uri: `/${API_VERSION}/Accounts/${account.accountSid}.json` },
    };
  });

  on('POST', `${base}/Messages.json`, (_req, account, params) => {
    store.applyFault();
    const message = createMessage(store, clock, account, params);
    store.save(message);
    setImmediate(() => deps.created(message));
    return { status: 201, body: messageResource(message) };
  });

  on('GET', `${base}/Messages.json`, (req, account) => {
    const to = req.query.get('To');
    const from = req.query.get('From');
    const pageSize = Math.min(Number(req.query.get('PageSize') ?? 50) || 50, 1000);
    const messages = [...store.messages.values()]
      .filter((message) => message.accountSid === account.accountSid && (!to || message.to === to) && (!from || message.from === from))
      .reverse()
      .slice(0, pageSize);
    return { status: 200, body: { messages: messages.map(messageResource), page: 0, page_size: pageSize, uri: req.path, first_page_uri: req.path, next_page_uri: null, previous_page_uri: null } };
  });

  on('GET', `${base}/Messages/:messageSidJson`, (req, account) => {
    const message = store.messages.get(req.params.messageSidJson.replace(/\.json$/, ''));
    if (!message || message.accountSid !== account.accountSid || !req.params.messageSidJson.endsWith('.json')) throw notFound(req.path);
    return { status: 200, body: messageResource(message) };
  });

  // Media of inbound MMS: public unless the account asks for Basic auth on media.
  router.on('GET', `${base}/Messages/:messageSid/Media/:mediaSid`, (req, res) => {
    const media = store.media.get(req.params.mediaSid.replace(/\.json$/, ''));
    try {
      if (!media || media.messageSid !== req.params.messageSid || media.accountSid !== req.params.accountSid) throw notFound(req.path);
      if (store.account(media.accountSid).mediaBasicAuth) authenticate(store, req);
    } catch (error) {
      return fail(res, error instanceof TwilioApiError ? error : notFound(req.path));
    }
    if (media.redirectTo) return send(res, 307, '', 'text/plain', { location: media.redirectTo });
    send(res, 200, media.content ?? Buffer.alloc(0), media.contentType);
  });
}

function fail(res: ServerResponse, error: TwilioApiError): void {
  send(res, error.status, error.body, 'application/json', error.headers);
}

function notFound(path: string): TwilioApiError {
  return new TwilioApiError(404, 20404, `The requested resource ${path} was not found`);
}

/** HTTP Basic with `AccountSid:AuthToken`, for the account named in the path (20003 otherwise). */
function authenticate(store: TwilioMessagingStore, req: SimulatorRequest): TwilioAccount {
  const header = req.headers.authorization ?? '';
  const refused = new TwilioApiError(401, 20003, 'Authenticate', { 'www-authenticate': 'Basic realm="Twilio API"' });
  if (!header.toLowerCase().startsWith('basic ')) throw refused;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const username = decoded.slice(0, colon);
  const account = store.accounts.get(username);
  if (colon < 0 || !account || !sameText(decoded.slice(colon + 1), account.authToken)) throw refused;
  const named = req.params.accountSid ?? req.params.accountSidJson?.replace(/\.json$/, '');
  if (named !== account.accountSid) throw refused;
  return account;
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** Validates a create request as Twilio does, in its order, and builds the message (status queued, or accepted for a service). */
function createMessage(store: TwilioMessagingStore, clock: SimulatorClock, account: TwilioAccount, params: Array<[string, string]>): TwilioMessageRecord {
  const get = (name: string) => params.find(([key]) => key === name)?.[1];
  const to = get('To');
  const body = get('Body') ?? '';
  const mediaUrls = params.filter(([key]) => key === 'MediaUrl').map(([, value]) => value);
  const serviceSid = get('MessagingServiceSid');
  let from = get('From');
  if (!to) throw new TwilioApiError(400, 21604, "A 'To' phone number is required.");
  if (!E164.test(to)) throw new TwilioApiError(400, 21211, `Invalid 'To' Phone Number: ${to}`);
  if (!from && !serviceSid) throw new TwilioApiError(400, 21603, "A 'From' phone number is required.");
  if (serviceSid) {
    const service = store.services.get(serviceSid);
    if (!service || service.accountSid !== account.accountSid) throw new TwilioApiError(400, 21705, 'The Messaging Service Sid is invalid.');
    from = from ?? service.phoneNumbers[0];
  } else {
    const number = store.numbers.get(from!);
    if (!number || number.accountSid !== account.accountSid) throw new TwilioApiError(400, 21606, `The From phone number ${from} is not a valid, SMS-capable inbound phone number or short code for your account.`);
  }
  if (!body && mediaUrls.length === 0) throw new TwilioApiError(400, 21602, 'Message body is required.');
  if (body.length > BODY_LIMIT) throw new TwilioApiError(400, 21617, 'The concatenated message body exceeds the 1600 character limit.');
  if (mediaUrls.length > MEDIA_LIMIT) throw new TwilioApiError(400, 21623, 'The number of media files exceeds the allowed limit of 10.');
  if (to === from) throw new TwilioApiError(400, 21266, "'To' and 'From' number cannot be the same.");
  const outcome = store.outcomes.get(to);
  if (outcome?.startsWith('rejected:')) {
    const code = Number(outcome.slice('rejected:'.length));
    throw new TwilioApiError(400, code, REJECTIONS[code] ?? `Message refused (${code}).`);
  }
  if (from && store.optedOut(serviceSid ?? from, to)) throw new TwilioApiError(400, 21610, 'Attempt to send to unsubscribed recipient');
  const now = clock.now();
  const status = serviceSid ? 'accepted' : 'queued';
  return {
    sid: newSid(mediaUrls.length > 0 ? 'MM' : 'SM'),
    accountSid: account.accountSid,
    messagingServiceSid: serviceSid ?? null,
    direction: 'outbound-api',
    from: from ?? '',
    to,
    body,
    mediaUrls,
    numSegments: smsSegments(body),
    status,
    errorCode: null,
    statusCallback: get('StatusCallback') ?? null,
    dateCreated: now,
    dateUpdated: now,
    dateSent: null,
    statusHistory: [status],
    callbacks: [],
  };
}

const REJECTIONS: Record<number, string> = {
  21211: "Invalid 'To' Phone Number",
  21408: 'Permission to send an SMS has not been enabled for the region indicated by the \'To\' number',
  21612: "The 'To' phone number is not currently reachable via SMS",
  21614: "'To' number is not a valid mobile number",
};

/** The Message resource as the REST API answers it (snake_case, counts as strings, RFC 2822 dates). */
export function messageResource(message: TwilioMessageRecord): Record<string, unknown> {
  const uri = `/${API_VERSION}/Accounts/${message.accountSid}/Messages/${message.sid}`;
  const pending = message.messagingServiceSid !== null && message.status === 'accepted';
  return {
    sid: message.sid,
    account_sid: message.accountSid,
    messaging_service_sid: message.messagingServiceSid,
    from: pending ? null : message.from,
    to: message.to,
    body: message.body,
    status: message.status,
    direction: message.direction,
    num_segments: pending ? '0' : String(message.numSegments),
    num_media: String(message.mediaUrls.length),
    price: null,
    price_unit: 'USD',
    error_code: message.errorCode,
    error_message: null,
    date_created: rfc2822(message.dateCreated),
    date_updated: rfc2822(message.dateUpdated),
    date_sent: message.dateSent === null ? null : rfc2822(message.dateSent),
    api_version: API_VERSION,
    uri: `${uri}.json`,
    subresource_uris: { media: `${uri}/Media.json` },
  };
}

/** `Fri, 10 Jan 2025 09:30:00 +0000`. */
export function rfc2822(ms: number): string {
  return new Date(ms).toUTCString().replace('GMT', '+0000');
}
