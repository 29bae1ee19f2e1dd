import { SimulatorClock } from '../clock/simulator-clock';

export interface WhatsAppSimulatorOptions {
  clock?: SimulatorClock;
  /** Messages per second per business phone number before 130429 (default 80, Meta's default throughput). */
  throughputPerSecond?: number;
  /** The Graph API version in paths, e.g. `v23.0` (default). Other versions answer error 100. */
  graphVersion?: string;
  /** Pair rate: a burst of this many messages to one user, then one per `pairIntervalMs` (default 45 and 6 s). */
  pairBurst?: number;
  pairIntervalMs?: number;
  /** How long a webhook POST may take before it counts as failed (default 20 s, as BSPs quote Meta's budget). */
  deliveryTimeoutMs?: number;
  host?: string;
}

/** A business: its WhatsApp Business Account, one phone number, the system-user token and the Meta app's webhook. */
export interface WhatsAppBusiness {
  wabaId: string;
  phoneNumberId: string;
  displayPhoneNumber: string;
  verifiedName: string;
  accessToken: string;
  appSecret: string;
  verifyToken: string;
  callbackUrl: string;
}

export interface WhatsAppBusinessInput {
  wabaId?: string;
  phoneNumberId?: string;
  displayPhoneNumber?: string;
  verifiedName?: string;
  accessToken?: string;
  appSecret?: string;
  verifyToken?: string;
  callbackUrl: string;
}

export type WhatsAppTemplateCategory = 'MARKETING' | 'UTILITY' | 'AUTHENTICATION';
export type WhatsAppTemplateStatus = 'APPROVED' | 'PENDING' | 'REJECTED' | 'PAUSED' | 'DISABLED';

export interface WhatsAppTemplateInput {
  name: string;
  language: string;
  category: WhatsAppTemplateCategory;
  status?: WhatsAppTemplateStatus;
  /** The body, with `{{1}}`, `{{2}}`... where parameters go. */
  body: string;
  /** Titles of the template's quick-reply buttons. */
  quickReplies?: string[];
}

export interface WhatsAppTemplate extends Required<WhatsAppTemplateInput> {
  id: string;
  wabaId: string;
  /** How many distinct `{{n}}` the body has. */
  parameterCount: number;
}

/** What a user is like, as far as the business's messages are concerned. */
export interface WhatsAppUserState {
  /** false: not a WhatsApp user; every message fails with 131026. */
  onWhatsApp: boolean;
  /** The user blocked the business: Meta reports no distinct code, messages fail as undeliverable (131026). */
  blocked: boolean;
  /** The user stopped marketing messages from this business: marketing templates fail with 131050. */
  stoppedMarketing: boolean;
  /** The per-user marketing cap is reached: marketing templates fail with 131049. */
  marketingCapped: boolean;
}

export type WhatsAppMessageStatus = 'accepted' | 'sent' | 'delivered' | 'read' | 'failed';

export interface WhatsAppStatusError {
  code: number;
  title: string;
  message: string;
  error_data: { details: string };
}

/** One message the business sent, as it was accepted, with what became of it. */
export interface WhatsAppSentRecord {
  id: string;
  phoneNumberId: string;
  to: string;
  type: string;
  /** The request's JSON body as sent. */
  request: Record<string, any>;
  /** What the user sees as text: the text body, the interactive body, a caption, or the template's body filled in. */
  text?: string;
  /** Template sends: which one, its category, the parameters and the buttons with the payloads they answer. */
  template?: { name: string; language: string; category: WhatsAppTemplateCategory; parameters: string[]; buttons: Array<{ title: string; payload: string }> };
  /** Interactive sends: the choices (reply buttons or list rows) with the id each answers. */
  choices?: Array<{ id: string; title: string }>;
  status: WhatsAppMessageStatus;
  error?: WhatsAppStatusError;
  /** `biz_opaque_callback_data`, echoed in its status webhooks. */
  callbackData?: string;
  at: number;
}

/** One message the user sent to the business. */
export interface WhatsAppInboundRecord {
  id: string;
  phoneNumberId: string;
  from: string;
  type: string;
  text?: string;
  at: number;
  /** Marked read by the business (`status: read`). */
  read: boolean;
  /** When the business last showed a typing indicator for it. */
  typingAt?: number;
}

/** The next Graph API calls answer this error instead of doing their work. */
export interface WhatsAppFault {
  /** HTTP status (default 400; 401 for 190, 429 for 130429, 503 for 131016). */
  status?: number;
  /** Graph error code. */
  code: number;
  /** How many calls it answers (default 1). */
  count?: number;
  /** Only calls for this phone number id. */
  phoneNumberId?: string;
}

export type WhatsAppSignatureFault = 'bad_signature' | 'no_signature' | 'sha1_only';
export const WHATSAPP_SIGNATURE_FAULTS: readonly WhatsAppSignatureFault[] = ['bad_signature', 'no_signature', 'sha1_only'];

/** A webhook POST the simulator made to a business's callback URL. */
export interface WhatsAppWebhookDelivery {
  phoneNumberId: string;
  kind: 'message' | 'status';
  /** The message id (inbound) or the status's message id. */
  id: string;
  status: number;
  at: number;
}

export interface WhatsAppGraphRequestRecord {
  method: string;
  path: string;
  status: number;
  code?: number;
  at: number;
}
