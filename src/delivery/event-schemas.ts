import type { NormalizedEventType } from '@app/gateway-sdk';
import type { OpenAPIObject, ReferenceObject, SchemaObject } from '@nestjs/swagger';

/**
 * The events the bot platform receives, as schemas of the OpenAPI document: each type's `data` as the service stores
 * and delivers it (after the Agent Override and the attachment store: see `EscalationIngestService`), the envelope POSTed
 * to a domain's callback (`deliveryBody`), and the callback itself on the operations that set its URL.
 */
const ref = (name: string): ReferenceObject => ({ $ref: `#/components/schemas/${name}` });
const text: SchemaObject = { type: 'string' };
const agent = ref('EventAgent');
const controlReturnedToBot: SchemaObject = { type: 'boolean', description: 'The bot controls the conversation again.' };

const SHARED: Record<string, SchemaObject> = {
  EventAgent: {
    type: 'object',
    description: "The agent, as the gateway's Agent Override setting shows them: `none` gives no name, `agent name only` the platform's, `lookup agent by email` the domain directory's (with `email` and `directoryMatch`).",
    required: ['id', 'displayName'],
    properties: {
      id: { type: 'string', nullable: true },
      displayName: { type: 'string', nullable: true },
      email: { type: 'string', nullable: true },
      directoryMatch: { type: 'boolean' },
    },
  },
  EventCard: {
    type: 'object',
    required: ['contentType', 'content'],
    properties: { contentType: { type: 'string', example: 'application/vnd.microsoft.card.adaptive' }, content: {} },
  },
  EventAttachment: {
    type: 'object',
    description: 'A file the agent sent, stored by the service: fetch it at `url` with an API key holding `conversations:observe`.',
    required: ['id', 'name', 'mimeType', 'size', 'url'],
    properties: { id: text, name: text, mimeType: text, size: { type: 'integer' }, url: { type: 'string', example: '/v1/escalations/{id}/attachments/{attachmentId}' } },
  },
};

/** Each event type's `data`. */
export const EVENT_DATA: Record<NormalizedEventType, SchemaObject> = {
  queued: {
    type: 'object',
    description: 'Waiting for an agent (again, after a transfer or a queue change).',
    properties: { queueId: text, queueName: text, position: { type: 'integer', description: 'Place in the queue, where the platform tells it.' } },
  },
  agent_joined: { type: 'object', required: ['agent'], properties: { agent } },
  agent_left: { type: 'object', required: ['agent'], properties: { agent } },
  agent_message: { type: 'object', properties: { agent, text, cards: { type: 'array', items: ref('EventCard') } } },
  agent_typing_started: { type: 'object', properties: { agent } },
  agent_typing_stopped: { type: 'object', properties: { agent } },
  push_url: { type: 'object', required: ['url'], properties: { agent, url: text } },
  attachment: { type: 'object', required: ['attachment'], properties: { agent, attachment: ref('EventAttachment') } },
  transferred: { type: 'object', properties: { toQueueId: text, toQueueName: text } },
  notice: { type: 'object', required: ['text'], properties: { text } },
  ended: {
    type: 'object',
    required: ['by'],
    properties: {
      by: { type: 'string', enum: ['agent', 'user', 'timeout', 'system'] },
      reason: text,
      controlReturnedToBot,
      conversationClosed: { type: 'boolean', description: 'The conversation is closed (the agent closed with "transfer back" off, or the user left).' },
    },
  },
  failed: { type: 'object', required: ['reason'], properties: { reason: text, controlReturnedToBot } },
};

const channelUser: SchemaObject = {
  type: 'object',
  description: "The end user as the channel knows them (the channel's stable id for them).",
  required: ['id'],
  properties: { id: text, name: text, locale: text },
};
const user = ref('ChannelUser');
SHARED.ChannelUser = channelUser;
SHARED.UserAttachment = {
  type: 'object',
  description: 'A file the user sent: where the channel holds it (`url`) or, on a hosted channel, the service\'s own file id.',
  required: ['contentType'],
  properties: { contentType: text, name: text, size: { type: 'integer' }, url: text, fileId: text },
};

/**
 * The events of channel conversations (issue 20), named like the agent events. Their `escalationId` is null; a
 * channel conversation's escalation events come in the same sequence.
 */
export const CHANNEL_EVENT_DATA: Record<'conversation_started' | 'user_message' | 'user_typing' | 'user_joined' | 'user_left' | 'user_reachability' | 'message_status', SchemaObject> = {
  conversation_started: {
    type: 'object',
    description: "A channel conversation began (its first activity): where it comes from. The conversation's id is the bot platform's to use.",
    required: ['user'],
    properties: {
      user,
      gatewayId: { type: 'string', format: 'uuid' },
      channel: { type: 'string', description: 'The gateway type (webchat, microsoft-teams, fake-channel...).' },
      platformConversationId: text,
      origin: {
        type: 'string',
        enum: ['user', 'proactive'],
        description: '`proactive`: the bot pushed this conversation (`POST /v1/conversations`); absent when the user began it.',
      },
      messageId: { type: 'string', format: 'uuid', description: "For a pushed conversation: its opening message's id (its `message_status` events follow)." },
      context: { type: 'object', additionalProperties: true, description: 'For a pushed conversation: the `context` the push carried, handed back as it was.' },
    },
  },
  user_message: {
    type: 'object',
    description: 'The user wrote, sent files or cards, or pressed a button (`value`: a postback, quick-reply or card-submit payload).',
    required: ['user'],
    properties: { user, text, attachments: { type: 'array', items: ref('UserAttachment') }, cards: { type: 'array', items: ref('EventCard') }, value: {} },
  },
  user_typing: { type: 'object', required: ['user'], properties: { user } },
  user_joined: { type: 'object', required: ['user'], properties: { user } },
  user_left: { type: 'object', required: ['user'], properties: { user } },
  user_reachability: {
    type: 'object',
    description:
      'Whether the service may write to the user first changed: the app was installed or uninstalled (Teams), the user opted out or back in, blocked the bot. ' +
      'A proactive message to an unreachable user is refused with 422 and the reason.',
    required: ['user', 'reachable'],
    properties: { user, reachable: { type: 'boolean' }, reason: { type: 'string', description: 'When not reachable: not_installed, blocked, opted_out, invalid_recipient, unknown.' } },
  },
  message_status: {
    type: 'object',
    description: 'An outbound message (`POST /v1/conversations/{id}/messages`, or an agent\'s through the switchboard) moved on; `accepted` was the POST\'s answer.',
    required: ['messageId', 'messageSeq', 'author', 'status'],
    properties: {
      messageId: { type: 'string', format: 'uuid' },
      messageSeq: { type: 'integer' },
      author: { type: 'string', enum: ['bot', 'agent'] },
      proactive: { type: 'boolean', description: 'Present (true) for a notification or the opening message of a pushed conversation: the outcome of `POST /v1/notifications` or `POST /v1/conversations`.' },
      status: { type: 'string', enum: ['sent', 'delivered', 'read', 'failed'] },
      reason: {
        type: 'string',
        description: 'For `failed`: an unreachable reason (blocked, not_installed, opted_out, invalid_recipient, window_closed, session_ended, unknown), `retries_exhausted` or `rejected`.',
      },
      detail: text,
    },
  },
};

type DeliveredType = NormalizedEventType | keyof typeof CHANNEL_EVENT_DATA;

/** `queued` -> `QueuedEventData`, `agent_joined` -> `AgentJoinedEventData`. */
export function eventDataSchemaName(type: DeliveredType): string {
  return `${type.replace(/(^|_)([a-z])/g, (_, _sep: string, letter: string) => letter.toUpperCase())}EventData`;
}

/** `queued` -> `QueuedEvent`: the delivered envelope of that type. */
export function deliveredEventSchemaName(type: DeliveredType): string {
  return eventDataSchemaName(type).replace(/Data$/, '');
}

const ALL_DATA: Record<DeliveredType, SchemaObject> = { ...EVENT_DATA, ...CHANNEL_EVENT_DATA };
const TYPES = Object.keys(ALL_DATA) as DeliveredType[];

function envelope(type: DeliveredType): SchemaObject {
  return {
    type: 'object',
    required: ['id', 'type', 'domain', 'conversationId', 'externalConversationId', 'escalationId', 'seq', 'occurredAt', 'data'],
    properties: {
      id: { type: 'string', example: 'evt_1042', description: 'Also the `webhook-id` header: the same on every attempt, so a repeat can be dropped.' },
      type: { type: 'string', enum: [type] },
      domain: { type: 'string', description: "The domain's name." },
      conversationId: { type: 'string', format: 'uuid' },
      externalConversationId: { type: 'string', description: "The bot platform's id of the conversation, as given at the escalation; for a conversation a channel opened, the service's id." },
      escalationId: { type: 'string', format: 'uuid', nullable: true },
      seq: { type: 'integer', minimum: 1, description: "Per-conversation sequence number, from 1, without gaps: deliveries come in this order, one conversation's next only after its previous was accepted." },
      occurredAt: { type: 'string', format: 'date-time' },
      data: ref(eventDataSchemaName(type)),
    },
  };
}

/** Adds the event schemas and, on the operations that set a domain's callback URL, the callback they cause. */
export function describeDeliveredEvents(document: OpenAPIObject): void {
  const schemas = (document.components ??= {}).schemas ??= {};
  Object.assign(schemas, SHARED);
  for (const type of TYPES) {
    schemas[eventDataSchemaName(type)] = ALL_DATA[type];
    schemas[deliveredEventSchemaName(type)] = envelope(type);
  }
  schemas.EventData = { description: "An event's `data`; which one its `type` says (`<Type>EventData`).", anyOf: TYPES.map((type) => ref(eventDataSchemaName(type))) };
  schemas.DeliveredEvent = {
    description: 'What the service POSTs to a domain callback, one event per request.',
    oneOf: TYPES.map((type) => ref(deliveredEventSchemaName(type))),
    discriminator: { propertyName: 'type', mapping: Object.fromEntries(TYPES.map((type) => [type, `#/components/schemas/${deliveredEventSchemaName(type)}`])) },
  };
  const header = (name: string, description: string, example: string) => ({ name, in: 'header' as const, required: true, description, schema: { type: 'string' as const }, example });
  const callback = {
    '{$request.body#/callbackUrl}': {
      post: {
        summary: "An event of one of the domain's conversations, signed (Standard Webhooks)",
        description:
          'Verify with `verifyWebhook` from `libs/client`, or any Standard Webhooks verifier, with the domain signing secret. Answer 2xx to accept it; ' +
          "anything else (or no answer in 10 s) holds that conversation's later events and retries with exponential backoff for up to " +
          '`DELIVERY_MAX_AGE_SECONDS` (24 h by default), after which the event is abandoned (still in the replay). Redirects are not followed.',
        parameters: [
          header('webhook-id', 'The event id (the body `id`), the same on every attempt.', 'evt_1042'),
          header('webhook-timestamp', 'Seconds since the epoch when this attempt was signed.', '1796290912'),
          header('webhook-signature', 'Space-separated `v1,<base64 HMAC-SHA256>` of `<id>.<timestamp>.<body>`: one per valid secret (two while a replaced secret still signs).', 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4='),
        ],
        requestBody: { required: true, content: { 'application/json': { schema: ref('DeliveredEvent') } } },
        responses: { '2XX': { description: 'Accepted; the conversation goes on to its next event.' } },
      },
    },
  };
  for (const [path, method] of [
    ['/v1/domains', 'post'],
    ['/v1/domains/{id}', 'patch'],
  ] as const) {
    const operation = document.paths[path]?.[method];
    if (operation) operation.callbacks = { event: callback };
  }
}
