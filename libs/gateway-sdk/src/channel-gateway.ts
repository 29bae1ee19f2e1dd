import type {
  ConnectionCheck,
  GatewayCapability,
  GatewayContext,
  GatewayDefinition,
  InboundWebhook,
  OutboundUrl,
  VerifiedWebhook,
  ChatGateway,
} from './chat-gateway';
import type { SettingsValues } from './settings-schema';

/**
 * Why a channel cannot reach its user, the same words for every channel type. A send that fails with one of these is
 * not retried: the outbound message is `failed` with this reason.
 */
export type UnreachableReason =
  /** The user blocked the bot or the sender (Teams 403 blocked, WhatsApp user block). */
  | 'blocked'
  /** The bot is not installed for the user, or was uninstalled (Teams). */
  | 'not_installed'
  /** The user opted out (SMS STOP, Twilio 21610). */
  | 'opted_out'
  /** The address does not exist or cannot take messages (invalid number, landline, unknown conversation). */
  | 'invalid_recipient'
  /** Outside the channel's customer-service window; a template is needed (WhatsApp 131047). */
  | 'window_closed'
  /** The user's session on a hosted channel has ended (web chat token expired and not renewed). */
  | 'session_ended'
  /** The platform refused for a reason it did not say. */
  | 'unknown';

/** The end user as a channel knows them. */
export interface ChannelUser {
  /** The channel's stable id for the user (Teams AAD object id, phone number, web chat user id). */
  id: string;
  name?: string;
  /** BCP-47 locale when the channel tells it. */
  locale?: string;
}

/** A file or card on a user activity. Files the channel hosts are fetched by the service, never carried in jobs. */
export interface ChannelAttachment {
  contentType: string;
  name?: string;
  size?: number;
  /** Where the channel holds the bytes (a media URL), when it does. */
  url?: string;
  /** The service's own file id when the bytes were uploaded to the service (hosted channels). */
  fileId?: string;
  /** Inline content: an Adaptive Card or hero card's JSON. */
  content?: unknown;
}

/** A button the user can press instead of typing; pressing it sends `value` (or `title` when absent). */
export interface QuickReply {
  title: string;
  value?: string;
}

/** The types of normalized user activity, the same for every channel. */
export type UserActivityType =
  | 'message'
  | 'typing'
  | 'conversation_started'
  | 'user_joined'
  | 'user_left'
  /** A delivery or read receipt of a message the service sent. */
  | 'receipt'
  /**
   * Whether the service may write to the user first changed: the app was installed or uninstalled (Teams), the user
   * opted out or back in (SMS STOP/START), blocked the sender. Kept with the conversation; a proactive message to an
   * unreachable user is refused up front with the reason.
   */
  | 'reachability';

/** One thing the user (or the channel about the user) did, normalized. */
export interface UserActivity {
  type: UserActivityType;
  /**
   * The platform's id of this activity: a repeated delivery of the same activity carries the same id and is stored
   * once per conversation.
   */
  platformActivityId: string;
  /** The platform's conversation id (Direct Line conversation, Teams conversation, the user's phone number...). */
  platformConversationId: string;
  user: ChannelUser;
  /** When the platform says it happened. */
  occurredAt: Date;
  text?: string;
  attachments?: ChannelAttachment[];
  /** A postback, quick-reply or card-submit payload. */
  value?: unknown;
  /** For `receipt`: which sent message and what became of it. */
  receipt?: {
    platformMessageId: string;
    status: 'delivered' | 'read' | 'failed';
    reason?: UnreachableReason;
    detail?: string;
  };
  /** For `reachability`: whether the user can be written to first now, and why not. */
  reachability?: { reachable: boolean; reason?: UnreachableReason };
  /**
   * What the channel needs to reach the user again later (Teams conversation reference, service URL). Kept with the
   * conversation, latest wins.
   */
  reference?: Record<string, unknown>;
}

/** A file, link or card the service sends to the user. */
export interface OutboundAttachment {
  contentType: string;
  name?: string;
  /** A URL the channel can fetch, or the service's own file URL. */
  url?: string;
  /** Inline content: an Adaptive Card's JSON. */
  content?: unknown;
}

/**
 * A pre-approved message template (WhatsApp): what the service may send outside the channel's service window, and to
 * open a conversation. Checked against the channel's registry (`listTemplates`) before it is accepted.
 */
export interface TemplateMessage {
  name: string;
  /** The template's language code as registered (`en_US`, `es`). */
  language: string;
  /** The body's `{{1}}`, `{{2}}`... values, in order. */
  parameters?: string[];
  /** Payloads of the template's quick-reply buttons, in order: pressing one sends it back as the activity's `value`. */
  buttonPayloads?: string[];
}

/** A template as the channel's registry holds it. */
export interface ChannelTemplate {
  name: string;
  language: string;
  category: 'marketing' | 'utility' | 'authentication';
  /** Only `approved` templates can be sent. */
  status: 'approved' | 'pending' | 'rejected' | 'paused' | 'disabled';
  /** How many body parameters (`{{n}}`) it takes. */
  parameterCount: number;
  /** How many quick-reply buttons it has. */
  quickReplyButtons: number;
}

/** What the service sends to a user. */
export interface OutboundActivity {
  type: 'message' | 'typing';
  /** Who wrote it: the bot, or an agent through the switchboard. */
  author: 'bot' | 'agent';
  /** The name shown for the author where the channel shows one (the agent's name). */
  authorName?: string;
  text?: string;
  attachments?: OutboundAttachment[];
  quickReplies?: QuickReply[];
  /**
   * The service writes first (a notification or a pushed conversation): channels that can raise an alert for it do
   * (Teams' activity feed).
   */
  proactive?: boolean;
  /** Send this template instead of free-form content (capability `templates`); `text` is then only the record. */
  template?: TemplateMessage;
}

/** What a send returned. */
export interface SentActivity {
  /** The platform's id of the sent message, used to match later receipts; null when it has none (typing). */
  platformMessageId: string | null;
}

/**
 * A channel the service itself serves to the user (web chat over Direct Line): sending appends to the conversation's
 * transcript on this service instead of calling a platform. Provided by the module that serves it.
 */
export interface HostedChannel {
  /**
   * Appends an activity to a conversation's transcript and pushes it to the user's open streams. `messageId` is the
   * service's outbound message id: posting the same id again returns the id given the first time.
   */
  post(platformConversationId: string, activity: OutboundActivity, options: { messageId: string }): Promise<string | null>;
}

/** The channel conversation a send is about. */
export interface ChannelConversationRef {
  /** The service's conversation id. */
  id: string;
  platformConversationId: string;
  user: ChannelUser;
  /** The latest `reference` a user activity carried. */
  reference: Record<string, unknown> | null;
}

/** Context of a call about one channel conversation. */
export interface ChannelContext extends GatewayContext {
  conversation: ChannelConversationRef;
  /** Set for gateway types with the capability `hosted`. */
  hosted?: HostedChannel;
  /**
   * For `send`: the service's id of the outbound message, the same on every attempt of it. Pass it where the platform
   * takes an idempotency key (and as `HostedChannel.post`'s `messageId`), so a repeated attempt is not a second message.
   */
  messageId?: string;
}

/** What a channel's webhook delivery turned into. */
export interface InboundActivities {
  activities: UserActivity[];
  /**
   * The answer the platform expects, when it is not an empty 200 (WhatsApp's verification challenge, TwiML). Absent:
   * 200 with no body.
   */
  response?: { status: number; contentType?: string; body: string };
}

/**
 * The contract of a channel gateway type (kind `channel`). Stateless like every gateway: the service stores
 * conversations, outbound messages and their statuses, and calls `send` for one message at a time, in order.
 */
export interface ChannelGateway {
  readonly definition: GatewayDefinition & { kind: 'channel' };

  /** See `ChatGateway.outboundUrls`. */
  outboundUrls?(settings: SettingsValues): OutboundUrl[];

  /** Probes the platform with the given settings. */
  checkConnection(ctx: GatewayContext): Promise<ConnectionCheck>;

  /** Provisions platform-side resources when deployed (idempotent). */
  deploy?(ctx: GatewayContext): Promise<Record<string, unknown>>;

  /** Checks a webhook's signature before anything is stored (capability `webhooks`). */
  verifyWebhook?(ctx: GatewayContext, request: InboundWebhook): Promise<VerifiedWebhook>;

  /** Turns a verified webhook delivery into user activities (capability `webhooks`). */
  handleWebhook?(ctx: GatewayContext, request: InboundWebhook): Promise<InboundActivities>;

  /**
   * How a user the service has never heard from is reached by the channel's id for them (capability `proactive`
   * without an install: an SMS or WhatsApp number): the platform conversation to create for them, or a GatewayError
   * `unreachable` / `invalid_recipient` when the id cannot be an address (not E.164). Absent on channels that need the
   * user first (Teams: the app installed).
   */
  addressOf?(ctx: GatewayContext, userId: string): { platformConversationId: string; user: ChannelUser; reference?: Record<string, unknown> };

  /** The channel's templates (capability `templates`), read by the service to refuse an unknown one up front. */
  listTemplates?(ctx: GatewayContext): Promise<ChannelTemplate[]>;

  /**
   * Sends one activity to the user and returns the platform's message id. Throws a GatewayError: `transient` and
   * `rate_limited` are retried with the gateway's API retry settings; `unreachable` fails the message with its reason.
   */
  send(ctx: ChannelContext, activity: OutboundActivity): Promise<SentActivity>;
}

/** Any registered gateway type. */
export type AnyGateway = ChatGateway | ChannelGateway;

export function isChannelGateway(gateway: AnyGateway): gateway is ChannelGateway {
  return gateway.definition.kind === 'channel';
}

/** Capabilities only channel types have; listed here so that a reader of the contract finds them together. */
export const CHANNEL_CAPABILITIES: GatewayCapability[] = [
  'typing',
  'attachments',
  'adaptive-cards',
  'quick-replies',
  'delivery-receipts',
  'read-receipts',
  'proactive',
  'templates',
  'service-window',
  'hosted',
];
