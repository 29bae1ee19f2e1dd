import { readMultipart, send, SimulatorRequest, SimulatorRouter } from '../http/simulator-http';
import { EightByEightConversationService } from './eight-by-eight-conversation.service';
import {
  accessDenied,
  badRequest,
  generalError,
  HAL_JSON,
  halPage,
  resourceNotFound,
  tenantMismatch,
  validationFailed,
} from './eight-by-eight-problems';
import {
  jsonBody,
  parseChannelInput,
  parseCreateConversation,
  parseMessageInput,
  parsePostAgentAssignment,
  parseSignalAuthor,
  parseUpdateConversation,
  parseVerifyInput,
  parseWebhookInput,
} from './eight-by-eight-request.parser';
import { EightByEightSigningKeys } from './eight-by-eight-signature';
import { apiAttachment, apiChannel, apiConversation, apiMessage, apiParticipant, apiWebhook } from './eight-by-eight-view.mapper';
import { DeliveryAttempt } from './eight-by-eight-webhook-sender';
import { ConversationRecord, WebhookRecord } from './eight-by-eight.model';
import { EightByEightRepository } from './eight-by-eight.repository';

/** Where the Chat Gateway v1 API lives. */
export const CHAT_GATEWAY_BASE_PATH = '/chat-gateway/v1';

/** What the API routes need from the simulator. */
export interface ChatGatewayRouteContext {
  repository: EightByEightRepository;
  service: EightByEightConversationService;
  signingKeys: EightByEightSigningKeys;
  apiKey: string;
  tenantId: string;
  customerId: string;
  verifyOnCreate: 'require' | 'send' | 'off';
  /** POSTs WEB_HOOK_VERIFY to a URI and reports the receiver's answer. */
  verifyWebhook(uri: string, version?: string, webhook?: WebhookRecord): Promise<DeliveryAttempt>;
  /** Records OpenAPI violations of the request (no-op without a validator). */
  validateRequest(req: SimulatorRequest, form?: Record<string, string>): void;
}

/** What a handler answers; bodies default to `application/hal+json`. */
interface ApiReply {
  status: number;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

type ApiHandler = (req: SimulatorRequest) => ApiReply | Promise<ApiReply>;

function isSuccess(attempt: DeliveryAttempt): boolean {
  return attempt.status !== undefined && attempt.status >= 200 && attempt.status < 300;
}

function verificationFailed(uri: string, attempt: DeliveryAttempt): Error {
  const outcome = attempt.status === undefined ? attempt.error : `HTTP ${attempt.status}`;
  return generalError(400, 'webhook_verification_failed', `Webhook ${uri} did not confirm WEB_HOOK_VERIFY with a 2xx status (${outcome}).`);
}

/** The Chat Gateway v1 REST API of 8x8's document, plus the unauthenticated JWK endpoints. */
export function registerChatGatewayRoutes(router: SimulatorRouter, context: ChatGatewayRouteContext): void {
  const { repository, service } = context;
  const base = CHAT_GATEWAY_BASE_PATH;

  const route = (method: string, path: string, handler: ApiHandler, authenticated = true) =>
    router.on(method, path, async (req, res) => {
      const multipart = (req.headers['content-type'] ?? '').startsWith('multipart/');
      // Multipart bodies are validated once parsed, in the upload handler.
      if (!multipart) context.validateRequest(req);
      try {
        if (authenticated) authenticate(req);
        const reply = await handler(req);
        send(res, reply.status, reply.body, reply.contentType ?? HAL_JSON, reply.headers);
      } catch (error) {
        // An unread multipart body would stall the client; drain it before the error goes out.
        if (multipart && !req.raw.readableEnded) req.raw.resume();
        throw error;
      }
    });

  const authenticate = (req: SimulatorRequest) => {
    if (req.headers['x-api-key'] !== context.apiKey) throw accessDenied();
    const tenant = req.headers['x-8x8-tenant'];
    if (tenant !== undefined && tenant !== context.tenantId) throw tenantMismatch(context.customerId);
  };
  const list = <T>(req: SimulatorRequest, items: T[], name: string, defaultSort?: string): ApiReply => ({
    status: 200,
    body: halPage(items, name, Object.fromEntries(['size', 'page', 'sort', 'filter'].map((key) => [key, req.query.get(key)])), req.path, defaultSort),
  });
  const webhook = (id: string) => repository.webhooks.get(id) ?? fail(resourceNotFound('WebHook', id));
  const channel = (id: string) => repository.channels.get(id) ?? fail(resourceNotFound('Channel', id));
  const conversation = (req: SimulatorRequest): ConversationRecord => service.get(req.params.conversationId);

  // Webhooks
  route('GET', `${base}/webhooks`, (req) => list(req, [...repository.webhooks.values()].map(apiWebhook), 'webhooks', 'id:asc'));
  route('POST', `${base}/webhooks`, async (req) => {
    const input = parseWebhookInput(jsonBody(req.body)!);
    const record: WebhookRecord = { id: repository.newId(), ...input };
    if (context.verifyOnCreate !== 'off') {
      const attempt = await context.verifyWebhook(record.uri, undefined, record);
      if (context.verifyOnCreate === 'require' && !isSuccess(attempt)) throw verificationFailed(record.uri, attempt);
    }
    repository.webhooks.set(record.id, record);
    return { status: 200, body: apiWebhook(record) };
  });
  route('POST', `${base}/webhooks/verify`, async (req) => {
    const input = parseVerifyInput(jsonBody(req.body)!);
    const attempt = await context.verifyWebhook(input.uri, input.version);
    if (!isSuccess(attempt)) throw verificationFailed(input.uri, attempt);
    return { status: 204 };
  });
  route('GET', `${base}/webhooks/:webhookId`, (req) => ({ status: 200, body: apiWebhook(webhook(req.params.webhookId)) }));
  route('PUT', `${base}/webhooks/:webhookId`, async (req) => {
    const record = webhook(req.params.webhookId);
    const input = parseWebhookInput(jsonBody(req.body)!);
    if (input.uri !== record.uri && context.verifyOnCreate !== 'off') {
      const attempt = await context.verifyWebhook(input.uri, undefined, record);
      if (context.verifyOnCreate === 'require' && !isSuccess(attempt)) throw verificationFailed(input.uri, attempt);
    }
    Object.assign(record, input);
    return { status: 200, body: apiWebhook(record) };
  });
  route('DELETE', `${base}/webhooks/:webhookId`, (req) => {
    const record = webhook(req.params.webhookId);
    const users = [...repository.channels.values()].filter((candidate) => candidate.webHookId === record.id).map((candidate) => candidate.id);
    if (users.length > 0) throw generalError(400, 'webhook_in_use', `WebHook ${record.id} is used by channel(s) ${users.join(', ')}.`);
    repository.webhooks.delete(record.id);
    return { status: 204 };
  });

  // JWK: no security in the document; the legacy path is the one 8x8's own verifier samples fetch.
  const jwk: ApiHandler = (req) => {
    context.signingKeys.requested.push(req.params.jwkId);
    const key = context.signingKeys.publicJwk(req.params.jwkId);
    if (!key) throw resourceNotFound('JwkKey', req.params.jwkId);
    return { status: 200, body: key, contentType: 'application/json' };
  };
  route('GET', `${base}/jwk/:jwkId/public`, jwk, false);
  route('GET', '/vcc/:region/chat/v2/jwk/:jwkId/public', jwk, false);

  // Channels
  route('GET', `${base}/channels`, (req) => list(req, [...repository.channels.values()].map(apiChannel), 'channels', 'id:asc'));
  const saveChannel = (req: SimulatorRequest, id: string): ApiReply => {
    const input = parseChannelInput(jsonBody(req.body)!);
    if (!repository.webhooks.has(input.webHookId)) {
      throw validationFailed([{ field: 'webHookId', value: input.webHookId, code: 'invalid_webhook', message: `WebHook ${input.webHookId} does not exist.` }]);
    }
    service.assertQueue(input.routingOptions.id);
    const record = { id, ...input };
    repository.channels.set(id, record);
    return { status: 200, body: apiChannel(record) };
  };
  route('POST', `${base}/channels`, (req) => saveChannel(req, repository.newId(9)));
  route('GET', `${base}/channels/:channelId`, (req) => ({ status: 200, body: apiChannel(channel(req.params.channelId)) }));
  route('PUT', `${base}/channels/:channelId`, (req) => saveChannel(req, channel(req.params.channelId).id));
  route('DELETE', `${base}/channels/:channelId`, (req) => {
    repository.channels.delete(channel(req.params.channelId).id);
    return { status: 204 };
  });

  // Conversations
  route('GET', `${base}/conversations`, (req) => list(req, [...repository.conversations.values()].map(apiConversation), 'conversations', 'id:asc'));
  route('POST', `${base}/conversations`, (req) => {
    const created = service.create(parseCreateConversation(jsonBody(req.body)!));
    return { status: 202, body: { conversationId: created.id, createdAt: created.createdAt } };
  });
  route('GET', `${base}/conversations/:conversationId`, (req) => ({ status: 200, body: apiConversation(conversation(req)) }));
  for (const [method, mode] of [['PUT', 'put'], ['PATCH', 'patch']] as const) {
    route(method, `${base}/conversations/:conversationId`, (req) => {
      conversation(req);
      const updated = service.update(req.params.conversationId, parseUpdateConversation(jsonBody(req.body)!, mode), mode);
      return { status: 202, body: apiConversation(updated) };
    });
  }
  route('GET', `${base}/conversations/:conversationId/interactions`, (req) => list(req, conversation(req).interactions.map((entry) => ({ ...entry })), 'interactions'));
  route('POST', `${base}/conversations/:conversationId/post-agent-assignment`, (req) => {
    service.postAgentAssignment(req.params.conversationId, parsePostAgentAssignment(jsonBody(req.body)!));
    return { status: 201 };
  });
  route('POST', `${base}/conversations/:conversationId/typing`, (req) => {
    const authorType = parseSignalAuthor(jsonBody(req.body)!, ['bot', 'user']);
    service.recordSignal(req.params.conversationId, { kind: 'typing', authorType });
    return { status: 204 };
  });
  route('POST', `${base}/conversations/:conversationId/thinking`, (req) => {
    // The body is optional: defaults authorType=bot, maxThinkingTimeSeconds=60.
    const body = jsonBody(req.body, false) ?? {};
    const authorType = body.authorType === undefined ? 'bot' : parseSignalAuthor(body, ['bot']);
    const seconds = body.maxThinkingTimeSeconds ?? 60;
    if (!Number.isInteger(seconds) || (seconds as number) < 1 || (seconds as number) > 600) {
      throw badRequest('maxThinkingTimeSeconds must be an integer between 1 and 600', 'invalid_parameter');
    }
    service.recordSignal(req.params.conversationId, { kind: 'thinking', authorType, maxThinkingTimeSeconds: seconds as number });
    return { status: 204 };
  });
  route('POST', `${base}/conversations/:conversationId/read-receipt`, (req) => {
    const body = jsonBody(req.body)!;
    const authorType = parseSignalAuthor(body, ['bot', 'user']);
    if (!Number.isInteger(body.readAt)) throw badRequest('readAt must be an epoch time in milliseconds', 'invalid_parameter');
    service.recordSignal(req.params.conversationId, { kind: 'read-receipt', authorType, readAt: body.readAt as number });
    return { status: 204 };
  });

  // Participants
  route('GET', `${base}/conversations/:conversationId/participants`, (req) => list(req, conversation(req).participants.map(apiParticipant), 'participants'));
  route('PATCH', `${base}/conversations/:conversationId/participants/user`, (req) => {
    conversation(req);
    const body = jsonBody(req.body)!;
    if (body.removed !== true) throw validationFailed([{ field: 'removed', value: JSON.stringify(body.removed), code: 'invalid_value', message: 'Only removed=true is supported.' }]);
    service.userLeaves(req.params.conversationId, typeof body.displayMessage === 'string' ? body.displayMessage : undefined);
    return { status: 204 };
  });

  // Messages
  const message = (req: SimulatorRequest) => {
    const record = conversation(req);
    const found = record.messages.find((candidate) => candidate.id === req.params.messageId);
    return found ? { conversation: record, message: found } : fail(resourceNotFound('Message', req.params.messageId));
  };
  route('GET', `${base}/conversations/:conversationId/messages`, (req) => {
    const record = conversation(req);
    return list(req, record.messages.map((entry) => apiMessage(record, entry)), 'messages', 'createdAt:desc');
  });
  route('POST', `${base}/conversations/:conversationId/messages`, (req) => {
    conversation(req);
    service.postMessage(req.params.conversationId, parseMessageInput(jsonBody(req.body)!));
    return { status: 202 };
  });
  route('GET', `${base}/conversations/:conversationId/messages/:messageId`, (req) => {
    const found = message(req);
    return { status: 200, body: apiMessage(found.conversation, found.message) };
  });
  route('GET', `${base}/conversations/:conversationId/messages/:messageId/cards`, (req) => list(req, message(req).message.cards.map((card) => ({ ...card })), 'cards'));

  // Attachments
  const attachment = (req: SimulatorRequest) =>
    conversation(req).attachments.find((candidate) => candidate.id === req.params.attachmentId) ?? fail(resourceNotFound('Attachment', req.params.attachmentId));
  route('GET', `${base}/conversations/:conversationId/attachments`, (req) => list(req, conversation(req).attachments.map(apiAttachment), 'attachments', 'id:asc'));
  route('POST', `${base}/conversations/:conversationId/attachments`, async (req) => {
    conversation(req);
    if (!(req.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
      context.validateRequest(req);
      throw badRequest(`Content type '${req.headers['content-type'] ?? ''}' not supported; use multipart/form-data`, 'invalid_content_type');
    }
    const form = await readMultipart(req.raw);
    context.validateRequest(req, { ...form.fields, ...Object.fromEntries(form.files.map((file) => [file.field, file.filename])) });
    const file = form.files.find((candidate) => candidate.field === 'attachment');
    if (!file) throw validationFailed([{ field: 'attachment', code: 'required_field', message: 'May not be empty.' }]);
    const authorType = form.fields.authorType ?? 'user';
    if (authorType !== 'user' && authorType !== 'bot') throw badRequest(`Invalid authorType=${authorType}, has to be one of user, bot`);
    const created = service.addAttachment(req.params.conversationId, { filename: file.filename, mimeType: file.mimeType, content: file.content, authorType });
    return { status: 200, body: apiAttachment(created) };
  });
  route('GET', `${base}/conversations/:conversationId/attachments/:attachmentId`, (req) => ({ status: 200, body: apiAttachment(attachment(req)) }));
  route('GET', `${base}/conversations/:conversationId/attachments/:attachmentId/content`, (req) => {
    const found = attachment(req);
    return {
      status: 200,
      body: found.content,
      contentType: 'application/octet-stream',
      headers: { 'content-disposition': contentDisposition(found.filename) },
    };
  });

  // Adaptive-card callbacks (the 8x8 widget side of the document).
  for (const kind of ['submit', 'execute'] as const) {
    route('PUT', `/api/v1/tenant/:tenantId/conversations/:conversationId/cards/:cardId/action-${kind}`, (req) => {
      if (req.params.tenantId !== context.tenantId) throw tenantMismatch(context.customerId);
      const body = jsonBody(req.body, false) ?? {};
      service.cardAction(req.params.conversationId, req.params.cardId, kind, typeof body.name === 'string' ? body.name : undefined);
      return { status: 204 };
    });
  }
}

/** `attachment` with an ASCII fallback name and the RFC 5987 UTF-8 one. */
export function contentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

function fail(error: Error): never {
  throw error;
}
