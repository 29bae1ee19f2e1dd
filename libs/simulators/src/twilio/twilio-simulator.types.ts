import type { SimulatorClock } from '../clock/simulator-clock';

export interface TwilioSimulatorOptions {
  clock?: SimulatorClock;
  /** Interface to listen on; 127.0.0.1 by default. */
  host?: string;
  /**
   * Time between two status changes of an outbound message (queued → sent → delivered), on the simulator's clock. 0
   * (default): each change follows the previous callback's answer at once.
   */
  statusDelayMs?: number;
  /** Longest wait for the gateway's answer to a webhook; Twilio's default total timeout is 15 s. */
  webhookTimeoutMs?: number;
}

export interface TwilioAccount {
  accountSid: string;
  authToken: string;
  /** Media of inbound MMS needs the account's Basic auth to be read ("HTTP Basic Authentication for media"). */
  mediaBasicAuth: boolean;
}

export interface TwilioPhoneNumber {
  accountSid: string;
  phoneNumber: string;
  /** The SMS webhook ("A message comes in") as configured in Twilio: the URL that is signed. */
  smsUrl: string;
  smsMethod: 'POST';
  /**
   * Where the webhook request is really sent, when it is not `smsUrl`: a TLS-terminating proxy in front of the
   * gateway. The signature is still over `smsUrl`, as Twilio signs what it was configured with.
   */
  deliverTo?: string;
  /** The Messaging Service the number belongs to, if any. */
  messagingServiceSid?: string;
}

export interface TwilioMessagingService {
  sid: string;
  accountSid: string;
  phoneNumbers: string[];
}

/** What becomes of messages to a phone: carrier results after creation, or a refusal at creation (`rejected:`). */
export type TwilioOutcome =
  | 'delivered'
  /** Handed to the carrier, no delivery receipt ever comes. */
  | 'sent'
  | `undelivered:${number}`
  | `failed:${number}`
  /** The REST API refuses the send with this code: 21211 invalid To, 21614 not mobile, 21408 region not enabled. */
  | `rejected:${number}`;

export type TwilioMessageStatus = 'accepted' | 'queued' | 'sending' | 'sent' | 'delivered' | 'undelivered' | 'failed' | 'received';

export interface TwilioStatusCallbackRecord {
  status: TwilioMessageStatus;
  /** The gateway's HTTP answer; 0 when it did not answer. */
  httpStatus: number;
  at: number;
}

/** One message as the simulator keeps it: outbound (the business wrote) or inbound (the phone wrote). */
export interface TwilioMessageRecord {
  sid: string;
  accountSid: string;
  messagingServiceSid: string | null;
  direction: 'inbound' | 'outbound-api' | 'outbound-reply';
  from: string;
  to: string;
  body: string;
  mediaUrls: string[];
  numSegments: number;
  status: TwilioMessageStatus;
  errorCode: number | null;
  statusCallback: string | null;
  dateCreated: number;
  dateUpdated: number;
  dateSent: number | null;
  /** Each status the message went through, in order. */
  statusHistory: TwilioMessageStatus[];
  /** Each status callback sent for it and how the gateway answered. */
  callbacks: TwilioStatusCallbackRecord[];
}

/** A queued REST fault: the next `count` message creations answer it. */
export interface TwilioFault {
  status: number;
  /** Twilio error code in the body; by default 20429 for 429, 20500 for 500, 20503 for 503. */
  code?: number;
  count?: number;
  retryAfterSeconds?: number;
}

export const SIGNATURE_FAULTS = ['bad_signature', 'wrong_url', 'no_signature', 'tampered'] as const;
/**
 * How an inbound webhook's signature is spoiled: signed with another token, signed over another URL, not signed, or a
 * parameter changed after signing.
 */
export type SignatureFault = (typeof SIGNATURE_FAULTS)[number];

export const PORT_VARIANTS = ['as_configured', 'with_default_port', 'without_port'] as const;
/**
 * Which form of the configured URL the signature is computed over. Twilio's own validators accept the URL with and
 * without the scheme's default port, because the URL Twilio signs and the URL a server reconstructs may differ in it.
 */
export type PortVariant = (typeof PORT_VARIANTS)[number];

export interface TwilioSendOptions {
  /** Media the phone attaches: hosted by the simulator, which redirects to these URLs as Twilio redirects to its storage. */
  mediaUrls?: string[];
  /** Media with content served by the simulator itself. */
  media?: Array<{ contentType: string; content: Buffer | string }>;
  signatureFault?: SignatureFault;
  portVariant?: PortVariant;
  /** Reuse a MessageSid (a redelivery). */
  messageSid?: string;
  /** Extra parameters, as Twilio adds new ones without notice. */
  extraParams?: Record<string, string>;
}

/** One webhook the simulator sent to the gateway. */
export interface TwilioWebhookRecord {
  kind: 'inbound' | 'status';
  url: string;
  messageSid: string;
  params: Array<[string, string]>;
  signature: string | null;
  httpStatus: number;
  responseBody: string;
  at: number;
}

/** One REST request the simulator answered. */
export interface TwilioRequestRecord {
  method: string;
  path: string;
  accountSid: string | null;
  params: Array<[string, string]>;
  status: number;
  errorCode: number | null;
  at: number;
}
