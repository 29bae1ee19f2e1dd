import type { OutboundHttp } from './outbound-client';
import type { FetchedLink } from './outbound-http';
import { AgentOverride, SettingsSchema, SettingsValues } from './settings-schema';
import {
  EscalationRequest,
  OutboundMessage,
  PlatformEvent,
  PlatformSession,
  AttachmentRef,
} from './normalized';

/** `escalation`: a human agent takes over; `channel`: the end user talks through it. */
export type GatewayKind = 'channel' | 'escalation';

/** What a gateway type can do; the service and operators read these instead of switching on the type. */
export type GatewayCapability =
  | 'typing'
  | 'attachments'
  | 'adaptive-cards'
  | 'push-url'
  | 'queue-transfer'
  | 'agent-availability'
  | 'hand-back'
  /** Events are read by polling (`poll`). */
  | 'polling'
  /** Events arrive as webhooks (`verifyWebhook` + `handleWebhook`). */
  | 'webhooks'
  /** Channels: buttons the user presses instead of typing. */
  | 'quick-replies'
  /** Channels: the platform reports that a sent message was delivered. */
  | 'delivery-receipts'
  /** Channels: the platform reports that the user read a sent message. */
  | 'read-receipts'
  /** Channels: the service can write first, to a user who is not in a conversation now. */
  | 'proactive'
  /** Channels: pre-approved templates, needed outside the service window. */
  | 'templates'
  /** Channels: free-form messages only within a window after the user's last message (WhatsApp's 24 hours). */
  | 'service-window'
  /** Channels: the service itself serves the channel to the user (web chat over Direct Line). */
  | 'hosted';

/** Static description of a gateway type. */
export interface GatewayDefinition {
  /** Stable type code used in the API, e.g. `genesys-pureengage`. */
  type: string;
  kind: GatewayKind;
  displayName: string;
  description: string;
  capabilities: GatewayCapability[];
  settings: SettingsSchema;
  /**
   * For webhook gateways: how long the service holds a received delivery before turning it into events, so
   * deliveries the platform sent out of order can be put back in platform-time order. 0 processes at once.
   */
  inboundReorderWindowMs?: number;
  /**
   * Channels with the capability `service-window`: free-form messages are allowed only this many hours after the
   * user's last message (WhatsApp: 24); outside it only a template. The service keeps the user's last message time.
   */
  serviceWindowHours?: number;
}

/** Structured logger handed to gateways; the service adds correlation ids and redacts secrets. */
export interface GatewayLogger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** A keyed cache for access tokens, shared by every call of every gateway in the process. */
export interface TokenCache {
  get(key: string): { token: string; expiresAt: number } | undefined;
  set(key: string, token: string, expiresAt: number): void;
  delete(key: string): void;
}

/** Behaviour settings common to every escalation gateway, resolved by the service from the settings groups. */
export interface EscalationPolicy {
  transferBackOnAgentClose: boolean;
  agentOverride: AgentOverride;
  escalationTimeoutSeconds: number;
  apiRetry: { maxAttempts: number; initialDelayMs: number; multiplier: number };
}

/** Per-call context: everything a stateless gateway needs for one operation. */
export interface GatewayContext {
  gatewayId: string;
  /** Decrypted settings values, per group, with defaults applied. */
  settings: SettingsValues;
  /** State the gateway returned from `deploy` (e.g. provisioned webhook and channel ids). */
  provisioning: Record<string, unknown>;
  /** Public URL at which this gateway's platform webhooks arrive. */
  webhookUrl: string;
  logger: GatewayLogger;
  signal: AbortSignal;
  tokens: TokenCache;
  /**
   * The service's outbound HTTP, the only way a gateway reaches its platform: a URL, each redirect and every address
   * a name resolves to are held to the service's outbound policy, so settings or a platform's answers cannot lead the
   * service to its own network or a cloud metadata address. `fetch` for ordinary calls, `send` for hot paths.
   */
  http: OutboundHttp;
}

/** What a call for a platform token needs from the context it is made in (any gateway's). */
export type TokenCallContext = Pick<GatewayContext, 'tokens' | 'signal' | 'logger' | 'http'>;

/** Context of a call about one escalation. */
export interface EscalationContext extends GatewayContext {
  escalationId: string;
  /** The platform session stored after `startEscalation` (null before). */
  session: PlatformSession | null;
  /** Reads the bytes of an attachment the service holds or can fetch. */
  readAttachment(ref: AttachmentRef): Promise<Buffer>;
  /**
   * GETs a link the platform handed over (an agent's file on its storage) under the service's outbound policy: the
   * link, each redirect and every address a name resolves to are checked before anything is sent, so a link cannot
   * lead the service to its own network. No credential goes with it. Throws a transient GatewayError when there is
   * no answer (in time); see `FetchedLink` for the rest.
   */
  fetchLink(url: string, maxBytes: number): Promise<FetchedLink>;
}

/** Result of connection checks (`POST /v1/gateways/{id}/test`). */
export interface ConnectionCheck {
  ok: boolean;
  detail: string;
}

/** Result of any operation that talks to the platform about an escalation. */
export interface PlatformUpdate {
  /** New session identifiers when the platform rotated them (GMS alias, secure key). Merged into the stored session. */
  session?: PlatformSession;
  /** New read position (GMS nextPosition). Stored in the same transaction as `events`. */
  cursor?: string | null;
  /** Events the platform reported in this answer. */
  events: PlatformEvent[];
}

/** Result of starting an escalation. */
export interface StartResult extends PlatformUpdate {
  session: PlatformSession;
  /** Identifier by which the platform's webhooks name this escalation (8x8 conversation id). */
  platformConversationId?: string;
}

/** An inbound platform webhook, exactly as received. */
export interface InboundWebhook {
  headers: Record<string, string | undefined>;
  rawBody: Buffer;
  receivedAt: Date;
  /** Channels: `GET` for a platform's endpoint verification (WhatsApp's `hub.challenge`), else `POST`. */
  method?: 'GET' | 'POST';
  /**
   * Channels: the public URL the platform sent to, as it sees it (PUBLIC_BASE_URL with the request's path and query
   * string): what Twilio signs.
   */
  url?: string;
}

/** What verification learned about a webhook delivery. */
export interface VerifiedWebhook {
  /** Platform delivery/event id used to store the delivery once. */
  eventId: string;
  /**
   * Platform conversation id it concerns, or null for gateway-level events (e.g. endpoint verification): those are
   * answered 2xx and not stored, since there is nothing to process.
   */
  platformConversationId: string | null;
  /** Platform time of the event, for ordering. */
  occurredAt?: Date;
}

/**
 * A URL a gateway type will request with given settings, named by the setting it comes from (`basic.jwkUrlTemplate`),
 * or why those settings cannot give one. The service checks each against its outbound policy when settings are
 * written, beside every setting of `format: 'uri'`.
 */
export type OutboundUrl = { setting: string; url: string } | { setting: string; problem: string };

/**
 * The contract every gateway type implements. Gateways are stateless: they never touch the database, never cache
 * credentials outside `ctx.tokens`, and report failures only as `GatewayError`.
 */
export interface ChatGateway {
  readonly definition: GatewayDefinition;

  /**
   * The URLs these settings make the gateway request that are not a `format: 'uri'` setting as it is: templates filled
   * in, endpoints derived from another setting. Checked by the service at write time (every request is checked again
   * when it is made). Settings with defaults applied; never throws.
   */
  outboundUrls?(settings: SettingsValues): OutboundUrl[];

  /** Probes the platform with the given settings (used by the admin "test" action). */
  checkConnection(ctx: GatewayContext): Promise<ConnectionCheck>;

  /** Provisions platform-side resources when a gateway is deployed (idempotent). Returns provisioning state to keep. */
  deploy?(ctx: GatewayContext): Promise<Record<string, unknown>>;

  /** Reports whether an agent can take a conversation in the queue now (capability `agent-availability`). */
  checkAvailability?(ctx: GatewayContext, queue: string | undefined): Promise<{ available: boolean; agents?: number }>;

  /** Opens the platform session and hands the conversation over. */
  startEscalation(ctx: EscalationContext, request: EscalationRequest): Promise<StartResult>;

  /** Relays one user message to the agent. */
  sendMessage(ctx: EscalationContext, message: OutboundMessage): Promise<PlatformUpdate>;

  /** Relays the user's typing state. */
  sendTyping(ctx: EscalationContext, typing: boolean): Promise<PlatformUpdate>;

  /** The user left: closes the platform session. */
  endEscalation(ctx: EscalationContext): Promise<PlatformUpdate>;

  /** Moves a waiting conversation to another queue (capability `queue-transfer`). */
  transferEscalation?(ctx: EscalationContext, queue: string): Promise<PlatformUpdate>;

  /** Reads new platform events after `cursor` (capability `polling`). */
  poll?(ctx: EscalationContext, cursor: string | null): Promise<PlatformUpdate>;

  /** Polling interval in ms for these settings (capability `polling`); 0 means the platform pushes instead. */
  pollIntervalMs?(settings: SettingsValues): number;

  /** Checks a webhook's signature and freshness before anything is stored (capability `webhooks`). */
  verifyWebhook?(ctx: GatewayContext, request: InboundWebhook): Promise<VerifiedWebhook>;

  /** Turns a stored webhook delivery into normalized events for its escalation (capability `webhooks`). */
  handleWebhook?(ctx: EscalationContext, request: InboundWebhook): Promise<PlatformUpdate>;
}
