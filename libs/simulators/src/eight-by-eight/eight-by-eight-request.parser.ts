import { CardInput, CreateConversationInput, MessageInput, UpdateConversationInput } from './eight-by-eight-conversation.service';
import { badRequest, FieldChecks, invalidParameter } from './eight-by-eight-problems';
import { CHAT_GATEWAY_VERSION, ConversationUser, PostAgentAssignmentRecord } from './eight-by-eight.model';

type Json = Record<string, unknown>;

/** Card content types of the document's ContentType enum. */
export const CARD_CONTENT_TYPES = [
  'application/vnd.microsoft.card.adaptive',
  'application/8x8.quick.replies',
  'Interactive',
  'Location',
  'Template',
  'Suggestions',
  'Buttons',
  'Carousel',
];

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** The JSON object body of a request; 400 BadRequestProblem when absent (and required) or malformed. */
export function jsonBody(raw: Buffer, required = true): Json | undefined {
  if (raw.length === 0) {
    if (required) throw badRequest('Required request body is missing');
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString('utf8'));
  } catch (error) {
    throw badRequest(`JSON parse error: ${(error as Error).message}`);
  }
  if (!isObject(parsed)) throw badRequest('The request body must be a JSON object');
  return parsed;
}

function isAbsoluteHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** WebHookV2CreateRequest / PutRequest. The document requires `notificationVersion` but defines `version`: both are read. */
export function parseWebhookInput(body: Json): { name: string; uri: string; version: string } {
  const checks = new FieldChecks();
  const version = body.version ?? body.notificationVersion;
  checks.requireString('name', body.name, 256);
  if (checks.requireString('uri', body.uri) && !isAbsoluteHttpUrl(body.uri as string)) checks.fail('uri', body.uri, 'invalid_uri', 'Must be an absolute http(s) URI.');
  if (checks.requireString('version', version) && version !== CHAT_GATEWAY_VERSION) checks.fail('version', version, 'invalid_value', `Must be '${CHAT_GATEWAY_VERSION}'.`);
  checks.throwIfAny();
  return { name: body.name as string, uri: body.uri as string, version: version as string };
}

/** WebHookV2VerifyRequest: both fields required, any version (its example is the legacy `v2.0`). */
export function parseVerifyInput(body: Json): { uri: string; version: string } {
  const checks = new FieldChecks();
  checks.requireString('version', body.version);
  if (checks.requireString('uri', body.uri) && !isAbsoluteHttpUrl(body.uri as string)) checks.fail('uri', body.uri, 'invalid_uri', 'Must be an absolute http(s) URI.');
  checks.throwIfAny();
  return { uri: body.uri as string, version: body.version as string };
}

/** ChannelV2CreateRequest / PutRequest. */
export function parseChannelInput(body: Json): { name: string; type: string; description?: string; webHookId: string; routingOptions: { type: 'queue'; id: string } } {
  const checks = new FieldChecks();
  checks.requireString('name', body.name, 255);
  const type = body.type ?? 'ChatAPI';
  if (type !== 'ChatAPI') checks.fail('type', type, 'invalid_value', 'Only ChatAPI channels can be created using the API.');
  checks.requireString('webHookId', body.webHookId);
  checks.optionalString('description', body.description);
  const routing = body.routingOptions;
  if (!isObject(routing)) checks.fail('routingOptions', routing, 'required_field', 'May not be empty.');
  else {
    if ((routing.type ?? 'queue') !== 'queue') checks.fail('routingOptions.type', routing.type, 'invalid_value', "Must be 'queue'.");
    checks.requireString('routingOptions.id', routing.id);
  }
  checks.throwIfAny();
  return {
    name: body.name as string,
    type: 'ChatAPI',
    description: body.description as string | undefined,
    webHookId: body.webHookId as string,
    routingOptions: { type: 'queue', id: (routing as Json).id as string },
  };
}

function parseUser(value: unknown, checks: FieldChecks, required: boolean): ConversationUser | undefined {
  if (value === undefined && !required) return undefined;
  if (!isObject(value)) {
    checks.fail('user', value, 'required_field', 'May not be empty.');
    return undefined;
  }
  for (const field of ['name', 'userId', 'email', 'phone', 'company', 'caseId', 'language']) checks.optionalString(`user.${field}`, value[field]);
  const properties = value.additionalProperties;
  if (properties !== undefined) {
    if (!Array.isArray(properties)) checks.fail('user.additionalProperties', properties, 'invalid_type', 'Must be an array.');
    else {
      if (properties.length > 30) checks.fail('user.additionalProperties', properties.length, 'invalid_size', 'At most 30 items.');
      properties.forEach((property, index) => {
        if (!isObject(property) || typeof property.key !== 'string' || typeof property.value !== 'string') {
          checks.fail(`user.additionalProperties[${index}]`, property, 'invalid_value', 'Must have a string key and a string value.');
        }
      });
    }
  }
  return { ...value } as ConversationUser;
}

function parseAssignment(value: unknown, checks: FieldChecks): CreateConversationInput['assignment'] {
  if (value === undefined) return undefined;
  if (!isObject(value)) {
    checks.fail('assignment', value, 'invalid_type', 'Must be an object.');
    return undefined;
  }
  const type = value.type ?? 'queue';
  if (type !== 'queue' && type !== 'script') checks.fail('assignment.type', type, 'invalid_value', "Must be 'queue' or 'script'.");
  checks.optionalString('assignment.id', value.id);
  return { type: type as 'queue' | 'script', id: value.id as string | undefined };
}

/** SendConversationMessagePayload or the external-provider variant; errors use the BadRequestProblem of the document. */
export function parseMessageInput(body: Json): MessageInput {
  // Required by the schema (its `default: user` notwithstanding).
  const authorType = body.authorType;
  if (authorType !== 'user' && authorType !== 'bot') {
    throw badRequest(`Invalid authorType=${String(authorType)}, has to be one of user, bot, agent`);
  }
  if (body.text !== undefined && typeof body.text !== 'string') throw badRequest('text must be a string');
  if (body.text !== undefined && body.externalProvider !== undefined) throw badRequest('Both text and externalProvider cannot be provided at the same time');
  let externalProvider: MessageInput['externalProvider'];
  if (body.externalProvider !== undefined) {
    const provider = body.externalProvider;
    if (!isObject(provider) || provider.name !== 'X' || typeof provider.externalMessageId !== 'string') {
      throw badRequest("externalProvider must have name 'X' and an externalMessageId");
    }
    externalProvider = { name: provider.name, externalMessageId: provider.externalMessageId };
  }
  const attachments = body.attachments ?? [];
  if (!Array.isArray(attachments) || attachments.some((attachment) => !isObject(attachment) || typeof attachment.id !== 'string')) {
    throw badRequest('attachments must be a list of {id}');
  }
  const cards = parseCards(body.cards);
  if (body.text === undefined && !externalProvider && attachments.length === 0 && cards.length === 0) {
    throw badRequest('A message needs text, attachments, cards or an externalProvider');
  }
  return {
    authorType,
    text: body.text as string | undefined,
    externalProvider,
    attachmentIds: (attachments as Json[]).map((attachment) => attachment.id as string),
    cards,
  };
}

/** Cards of a message (API or agent); the content type must be one of the document's. */
export function parseCards(value: unknown): CardInput[] {
  const cards = value ?? [];
  if (!Array.isArray(cards)) throw badRequest('cards must be a list');
  return cards.map((card) => {
    if (!isObject(card) || !CARD_CONTENT_TYPES.includes(String(card.contentType))) {
      throw badRequest(`Invalid card contentType=${isObject(card) ? String(card.contentType) : ''}, has to be one of ${CARD_CONTENT_TYPES.join(', ')}`);
    }
    return { contentType: card.contentType as string, content: card.content ?? {} };
  });
}

/** CreateTransactionRequest. */
export function parseCreateConversation(body: Json): CreateConversationInput {
  const checks = new FieldChecks();
  checks.requireString('channelId', body.channelId);
  const user = parseUser(body.user, checks, true);
  const assignment = parseAssignment(body.assignment, checks);
  let history: MessageInput[] | undefined;
  if (body.history !== undefined) {
    const messages = isObject(body.history) ? body.history.messages : undefined;
    if (!Array.isArray(messages)) checks.fail('history.messages', messages, 'required_field', 'May not be empty.');
    else if (messages.length > 200) checks.fail('history.messages', messages.length, 'invalid_size', 'At most 200 items.');
    else history = messages.map((message) => parseMessageInput(isObject(message) ? message : {}));
  }
  checks.throwIfAny();
  return { channelId: body.channelId as string, user: user!, assignment, history };
}

/** UpdateTransactionRequest (PUT) or PatchTransactionRequest (PATCH: assignment and/or user). */
export function parseUpdateConversation(body: Json, mode: 'put' | 'patch'): UpdateConversationInput {
  const checks = new FieldChecks();
  checks.optionalString('channelId', body.channelId);
  const user = parseUser(body.user, checks, false);
  const assignment = parseAssignment(body.assignment, checks);
  if (mode === 'patch' && user === undefined && assignment === undefined) checks.fail('assignment', undefined, 'required_field', 'A patch needs assignment or user.');
  checks.throwIfAny();
  return { channelId: body.channelId as string | undefined, user, assignment };
}

function checkRange(configuration: Json, field: string, min: number, max: number): number | undefined {
  const value = configuration[field];
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) {
    throw invalidParameter(`Invalid parameter exception: configuration.${field} must be an integer between ${min} and ${max}.`);
  }
  return value as number;
}

/** PostAgentAssignmentRequest; errors are InvalidParameterExceptionPayload as the document says. */
export function parsePostAgentAssignment(body: Json): Omit<PostAgentAssignmentRecord, 'createdAt'> {
  if (body.type !== 'webhook') throw invalidParameter(`Invalid parameter exception: type must be 'webhook', got ${String(body.type)}.`);
  if (typeof body.id !== 'string' || body.id === '') throw invalidParameter('Invalid parameter exception: id (webhook id) is required.');
  let configuration: PostAgentAssignmentRecord['configuration'];
  if (body.configuration !== undefined) {
    if (!isObject(body.configuration)) throw invalidParameter('Invalid parameter exception: configuration must be an object.');
    const notify = body.configuration.notifyChannelWebhookIfExists;
    if (notify !== undefined && typeof notify !== 'string') throw invalidParameter('Invalid parameter exception: configuration.notifyChannelWebhookIfExists must be a string.');
    configuration = {
      notifyChannelWebhookIfExists: notify as string | undefined,
      maxTotalMinutes: checkRange(body.configuration, 'maxTotalMinutes', 20, 600),
      userTimeoutInMinutes: checkRange(body.configuration, 'userTimeoutInMinutes', 10, 300),
    };
  }
  return { type: 'webhook', id: body.id, configuration };
}

/** authorType of typing and read receipts (bot or user). */
export function parseSignalAuthor(body: Json, allowed: string[]): string {
  const authorType = body.authorType;
  if (typeof authorType !== 'string' || !allowed.includes(authorType)) {
    throw invalidParameter(`Invalid parameter exception: authorType=${String(authorType)}, has to be one of ${allowed.join(', ')}.`);
  }
  return authorType;
}
