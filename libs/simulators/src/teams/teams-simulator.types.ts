import { SimulatorClock } from '../clock/simulator-clock';

/** A bot registration: the Entra app, its credentials and where the Connector delivers its activities. */
export interface TeamsBotRegistration {
  appId: string;
  name?: string;
  secret?: string;
  /** X.509 certificate or SPKI public key (PEM) that checks the bot's `private_key_jwt` client assertions. */
  certificatePem?: string;
  tenantId: string;
  /** Accept token requests on the `botframework.com` tenant as well (legacy multi-tenant bots). */
  multiTenant?: boolean;
  messagingEndpoint: string;
}

/** A Teams user: `id` is the bot-specific `29:` id, `aadObjectId` the Entra object id. */
export interface TeamsUser {
  id: string;
  aadObjectId: string;
  name: string;
  tenantId: string;
}

export interface TeamsUserInput {
  name: string;
  id?: string;
  aadObjectId?: string;
  tenantId?: string;
}

/** How the simulator spoils an inbound request's authentication, for the bot's validation tests. */
export type InboundFault =
  | 'expired'
  | 'not_yet_valid'
  | 'within_skew'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'unknown_key'
  | 'bad_signature'
  | 'wrong_service_url'
  | 'missing_endorsement'
  | 'no_header'
  | 'lowercase_bearer';

export const INBOUND_FAULTS: readonly InboundFault[] = [
  'expired',
  'not_yet_valid',
  'within_skew',
  'wrong_audience',
  'wrong_issuer',
  'unknown_key',
  'bad_signature',
  'wrong_service_url',
  'missing_endorsement',
  'no_header',
  'lowercase_bearer',
];

export type TeamsTranscriptOp = 'send' | 'reply' | 'update' | 'delete' | 'typing';

/** One thing the bot did in a conversation through the Connector. */
export interface TeamsTranscriptEntry {
  op: TeamsTranscriptOp;
  activityId: string;
  activity: Record<string, unknown>;
  at: number;
}

/** The next Connector calls (optionally of one conversation) answer this instead of doing their work. */
export interface TeamsConnectorFault {
  status: number;
  code?: string;
  /** Replaces the Bot Framework error body built from `code` (e.g. the 209 `MessageWritesBlocked` shape). */
  body?: unknown;
  retryAfterSeconds?: number;
  /** How many calls it answers (default 1). */
  count?: number;
  conversationId?: string;
}

/** Requests allowed per window, as `[windowMs, limit]` pairs. */
export type TeamsRateWindows = Array<[number, number]>;

export interface TeamsRateLimits {
  /** Per bot per conversation for sends and creates (default 7/1 s, 8/2 s, 60/30 s, 1800/h). */
  perConversation?: TeamsRateWindows;
  /** Requests per second per app per tenant (default 50). */
  perTenantRps?: number;
}

export type TeamsBlockShape = 'code' | 'messageWritesBlocked';

export interface TeamsSimulatorOptions {
  clock?: SimulatorClock;
  /** How long a delivery to the bot may take before it counts as 504 (default 15 s, as Azure Bot Service). */
  deliveryTimeoutMs?: number;
  /** Access token lifetime in seconds (default 3600). */
  tokenLifetimeSeconds?: number;
  /** Largest activity the Connector accepts, in bytes of its JSON (default 100 KB). */
  maxActivityBytes?: number;
  /** Default region of service URLs (default `amer`). */
  region?: string;
  host?: string;
}

export interface TeamsConnectorRequestRecord {
  method: string;
  path: string;
  status: number;
  at: number;
}

export interface TeamsInboundDelivery {
  activityId: string;
  type: string;
  status: number;
  at: number;
}

/** A user's place with one bot: its 1:1 conversation, install state and what stops the bot reaching them. */
export interface TeamsMembership {
  appId: string;
  userId: string;
  conversationId: string;
  region: string;
  installed: boolean;
  /** Set once installed: sends after an uninstall answer `BotNotInConversationRoster` rather than not found. */
  everInstalled: boolean;
  blocked?: TeamsBlockShape;
}
