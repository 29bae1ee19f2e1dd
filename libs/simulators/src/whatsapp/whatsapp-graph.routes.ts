import { SimulatorClock } from '../clock/simulator-clock';
import { HttpError, send, SimulatorRequest, SimulatorRouter } from '../http/simulator-http';
import { WhatsAppBusinessStore } from './whatsapp-business.store';
import { graphError } from './whatsapp-graph-error';
import { WhatsAppRateLimiter } from './whatsapp-rate.limiter';
import { WhatsAppBusiness, WhatsAppFault, WhatsAppGraphRequestRecord, WhatsAppSentRecord } from './whatsapp-simulator.types';

const MAX_TEXT = 4096;
const MAX_BUTTONS = 3;
const MAX_BUTTON_TITLE = 20;
const MAX_ROWS = 10;
const MAX_ROW_TITLE = 24;
const MEDIA_TYPES = new Set(['image', 'video', 'audio', 'document', 'sticker']);
/** Media URLs from `GET /{media-id}` work this long (Meta's are short-lived: minutes). */
export const MEDIA_URL_LIFETIME_MS = 5 * 60_000;
export const MEDIA_DOWNLOAD_PATH = '/whatsapp-media';

export interface WhatsAppGraphDependencies {
  store: WhatsAppBusinessStore;
  limiter: WhatsAppRateLimiter;
  clock: SimulatorClock;
  faults: Array<WhatsAppFault & { remaining: number }>;
  requests: WhatsAppGraphRequestRecord[];
  graphVersion: () => string;
  baseUrl: () => string;
  /** An accepted message: the simulator sends its status webhooks. */
  accepted: (record: WhatsAppSentRecord) => void;
}

/**
 * The Graph API of the Cloud API: `POST /{version}/{phone-number-id}/messages` (messages, mark read, typing),
 * `GET /{version}/{phone-number-id}`, `GET /{version}/{media-id}` then the media URL, and
 * `GET /{version}/{waba-id}/message_templates`. Bearer token of the business on every call; the Graph error envelope.
 */
export function registerWhatsAppGraphRoutes(router: SimulatorRouter, deps: WhatsAppGraphDependencies): void {
  const { store } = deps;
  const on = (method: string, path: string, handler: (req: SimulatorRequest) => unknown) =>
    router.on(method, path, async (req, res) => {
      const record: WhatsAppGraphRequestRecord = { method, path: req.path, status: 200, at: deps.clock.now() };
      deps.requests.push(record);
      try {
        if (req.params.version !== deps.graphVersion()) throw graphError(100, `Unsupported version ${req.params.version}; this simulator serves ${deps.graphVersion()}`);
        send(res, 200, await handler(req));
      } catch (error) {
        if (error instanceof HttpError) {
          record.status = error.status;
          record.code = (error.body as { error?: { code?: number } })?.error?.code;
        }
        throw error;
      }
    });

  const authorize = (req: SimulatorRequest): WhatsAppBusiness => {
    const header = String(req.headers.authorization ?? '');
    const token = /^Bearer (.+)$/i.exec(header)?.[1]?.trim() ?? '';
    if (!token) throw graphError(190, 'An active access token must be used to query information about the current user.', 401);
    if (store.expiredTokens.has(token)) throw graphError(190, 'Error validating access token: Session has expired.', 401);
    const business = store.businessByToken(token);
    if (!business) throw graphError(190, 'Invalid OAuth access token - Cannot parse access token', 401);
    return business;
  };
  const fault = (phoneNumberId: string | undefined) => {
    const found = deps.faults.find((candidate) => !candidate.phoneNumberId || candidate.phoneNumberId === phoneNumberId);
    if (!found) return;
    if (--found.remaining <= 0) deps.faults.splice(deps.faults.indexOf(found), 1);
    throw graphError(found.code, undefined, found.status);
  };
  const missing = (id: string) => graphError(100, `Unsupported request - Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`);

  // Before the Graph routes: `/{version}/{id}` would take the download path too.
  router.on('GET', `${MEDIA_DOWNLOAD_PATH}/:mediaId`, (req, res) => {
    const media = store.media.get(req.params.mediaId);
    const business = (() => {
      try {
        return authorize(req);
      } catch {
        return undefined;
      }
    })();
    if (!business) return send(res, 401, 'Unauthorized', 'text/plain');
    if (!media || media.phoneNumberId !== business.phoneNumberId) return send(res, 404, 'Not found', 'text/plain');
    if (!(Number(req.query.get('expires')) > deps.clock.now())) return send(res, 404, 'URL expired', 'text/plain');
    send(res, 200, media.content, media.mimeType);
  });

  on('POST', '/:version/:phoneNumberId/messages', (req) => {
    const business = authorize(req);
    if (business.phoneNumberId !== req.params.phoneNumberId) throw missing(req.params.phoneNumberId);
    fault(business.phoneNumberId);
    return sendMessage(deps, business, parseBody(req));
  });

  on('GET', '/:version/:wabaId/message_templates', (req) => {
    const business = authorize(req);
    if (business.wabaId !== req.params.wabaId) throw missing(req.params.wabaId);
    fault(business.phoneNumberId);
    const all = store.templates.get(business.wabaId) ?? [];
    const limit = Math.min(Math.max(Number(req.query.get('limit') ?? 25) || 25, 1), 100);
    const after = req.query.get('after');
    const start = after ? Number(Buffer.from(after, 'base64url').toString('utf8')) || 0 : 0;
    const page = all.slice(start, start + limit);
    const nextStart = start + page.length;
    const cursor = (n: number) => Buffer.from(String(n), 'utf8').toString('base64url');
    const next = new URL(`${deps.baseUrl()}/${req.params.version}/${business.wabaId}/message_templates`);
    next.searchParams.set('limit', String(limit));
    next.searchParams.set('after', cursor(nextStart));
    return {
      data: page.map((template) => ({
        name: template.name,
        language: template.language,
        category: template.category,
        status: template.status,
        id: template.id,
        components: [
          { type: 'BODY', text: template.body },
          ...(template.quickReplies.length ? [{ type: 'BUTTONS', buttons: template.quickReplies.map((text) => ({ type: 'QUICK_REPLY', text })) }] : []),
        ],
      })),
      paging: { cursors: { before: cursor(start), after: cursor(nextStart) }, ...(nextStart < all.length ? { next: next.toString() } : {}) },
    };
  });

  on('GET', '/:version/:id', (req) => {
    const business = authorize(req);
    const { id } = req.params;
    if (id === business.phoneNumberId) {
      fault(business.phoneNumberId);
      return { verified_name: business.verifiedName, display_phone_number: business.displayPhoneNumber, id, quality_rating: 'GREEN', code_verification_status: 'VERIFIED' };
    }
    const media = store.media.get(id);
    if (!media || media.phoneNumberId !== business.phoneNumberId) throw missing(id);
    const expires = deps.clock.now() + MEDIA_URL_LIFETIME_MS;
    return {
      messaging_product: 'whatsapp',
      url: `${deps.baseUrl()}${MEDIA_DOWNLOAD_PATH}/${id}?expires=${expires}`,
      mime_type: media.mimeType,
      sha256: media.sha256,
      file_size: media.content.length,
      id,
    };
  });

}

function parseBody(req: SimulatorRequest): Record<string, any> {
  try {
    const body = JSON.parse(req.body.toString('utf8'));
    if (body && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, any>;
  } catch {
    // answered below
  }
  throw graphError(100, 'The request body must be a JSON object.');
}

function invalid(details: string): HttpError {
  return graphError(131009, details);
}

function sendMessage(deps: WhatsAppGraphDependencies, business: WhatsAppBusiness, body: Record<string, any>): unknown {
  const { store } = deps;
  if (body.messaging_product !== 'whatsapp') throw graphError(100, 'The parameter messaging_product is required and must be "whatsapp".');
  if (body.status === 'read') return markRead(deps, business, body);
  const input = typeof body.to === 'string' ? body.to : '';
  const to = input.replace(/[\s+\-()]/g, '');
  if (!/^\d{6,15}$/.test(to)) throw graphError(100, `Invalid parameter: to "${input}" is not a phone number.`);
  const type = typeof body.type === 'string' ? body.type : 'text';
  const record: WhatsAppSentRecord = { id: store.messageId(), phoneNumberId: business.phoneNumberId, to, type, request: body, status: 'accepted', at: deps.clock.now() };
  if (typeof body.biz_opaque_callback_data === 'string') record.callbackData = body.biz_opaque_callback_data;
  if (type === 'text') {
    const text = body.text?.body;
    if (typeof text !== 'string' || text === '') throw graphError(131008, 'text.body is required.');
    if (text.length > MAX_TEXT) throw invalid(`text.body is longer than ${MAX_TEXT} characters.`);
    record.text = text;
  } else if (MEDIA_TYPES.has(type)) {
    const media = body[type];
    if (!media || (typeof media.link !== 'string' && typeof media.id !== 'string')) throw graphError(131008, `${type}.link or ${type}.id is required.`);
    if (typeof media.caption === 'string') record.text = media.caption;
  } else if (type === 'interactive') {
    Object.assign(record, interactive(body.interactive));
  } else if (type === 'template') {
    Object.assign(record, template(deps, business, body.template));
  } else if (type !== 'location' && type !== 'contacts' && type !== 'reaction') {
    throw graphError(100, `Invalid parameter: type "${type}" is not supported.`);
  }
  const limited = deps.limiter.take(business.phoneNumberId, to);
  if (limited) throw graphError(limited);
  store.recordSent(record);
  deps.accepted(record);
  return { messaging_product: 'whatsapp', contacts: [{ input, wa_id: to }], messages: [{ id: record.id, message_status: 'accepted' }] };
}

function interactive(value: any): Partial<WhatsAppSentRecord> {
  const text = value?.body?.text;
  if (typeof text !== 'string' || text === '') throw graphError(131008, 'interactive.body.text is required.');
  if (value.type === 'button') {
    const buttons: any[] = Array.isArray(value.action?.buttons) ? value.action.buttons : [];
    if (buttons.length < 1 || buttons.length > MAX_BUTTONS) throw invalid(`interactive.action.buttons must have 1 to ${MAX_BUTTONS} buttons.`);
    const choices = buttons.map((button) => ({ id: String(button?.reply?.id ?? ''), title: String(button?.reply?.title ?? '') }));
    for (const choice of choices) {
      if (!choice.id || choice.id.length > 256) throw invalid('Each button needs a reply.id of at most 256 characters.');
      if (!choice.title || choice.title.length > MAX_BUTTON_TITLE) throw invalid(`Button title "${choice.title}" must have 1 to ${MAX_BUTTON_TITLE} characters.`);
    }
    return { text, choices };
  }
  if (value.type === 'list') {
    const sections: any[] = Array.isArray(value.action?.sections) ? value.action.sections : [];
    if (typeof value.action?.button !== 'string' || !value.action.button) throw graphError(131008, 'interactive.action.button is required for a list.');
    const rows = sections.flatMap((section) => (Array.isArray(section?.rows) ? section.rows : []));
    if (rows.length < 1 || rows.length > MAX_ROWS) throw invalid(`A list must have 1 to ${MAX_ROWS} rows.`);
    const choices = rows.map((row) => ({ id: String(row?.id ?? ''), title: String(row?.title ?? '') }));
    for (const choice of choices) {
      if (!choice.id || !choice.title || choice.title.length > MAX_ROW_TITLE) throw invalid(`Each row needs an id and a title of 1 to ${MAX_ROW_TITLE} characters.`);
    }
    return { text, choices };
  }
  throw graphError(100, `Invalid parameter: interactive.type "${value?.type}" is not supported.`);
}

function template(deps: WhatsAppGraphDependencies, business: WhatsAppBusiness, value: any): Partial<WhatsAppSentRecord> {
  const name = value?.name;
  const language = value?.language?.code;
  if (typeof name !== 'string' || typeof language !== 'string') throw graphError(131008, 'template.name and template.language.code are required.');
  const found = (deps.store.templates.get(business.wabaId) ?? []).find((candidate) => candidate.name === name && candidate.language === language);
  if (!found || found.status === 'PENDING' || found.status === 'REJECTED') throw graphError(132001, `template name (${name}) does not exist in ${language}`);
  if (found.status === 'PAUSED') throw graphError(132015);
  if (found.status === 'DISABLED') throw graphError(132016);
  const components: any[] = Array.isArray(value.components) ? value.components : [];
  const bodyParameters: any[] = components.filter((component) => component?.type === 'body').flatMap((component) => (Array.isArray(component.parameters) ? component.parameters : []));
  if (bodyParameters.length !== found.parameterCount) {
    throw graphError(132000, `body: number of localizable_params (${bodyParameters.length}) does not match the expected number of params (${found.parameterCount})`);
  }
  const parameters = bodyParameters.map((parameter) => String(parameter?.text ?? ''));
  const payloads = new Map<number, string>();
  for (const component of components.filter((candidate) => candidate?.type === 'button')) {
    const index = Number(component.index);
    if (component.sub_type !== 'quick_reply' || !Number.isInteger(index) || index < 0 || index >= found.quickReplies.length) {
      throw graphError(132000, `button at index ${component.index} does not match a quick-reply button of the template`);
    }
    const payload = component.parameters?.[0]?.payload;
    if (typeof payload === 'string') payloads.set(index, payload);
  }
  // A quick reply sent without a payload answers with its own text, as WhatsApp does.
  const buttons = found.quickReplies.map((title, index) => ({ title, payload: payloads.get(index) ?? title }));
  const text = found.body.replace(/\{\{(\d+)\}\}/g, (all, n: string) => parameters[Number(n) - 1] ?? all);
  return { text, template: { name, language, category: found.category, parameters, buttons } };
}

function markRead(deps: WhatsAppGraphDependencies, business: WhatsAppBusiness, body: Record<string, any>): unknown {
  const message = deps.store.inbound.find((record) => record.id === body.message_id && record.phoneNumberId === business.phoneNumberId);
  if (!message) throw graphError(100, `Invalid parameter: message_id ${String(body.message_id)} is not a message this number received.`);
  // Marks this message and the ones before it read, as WhatsApp's blue ticks do.
  for (const earlier of deps.store.inboundFrom(business.phoneNumberId, message.from)) if (earlier.at <= message.at) earlier.read = true;
  if (body.typing_indicator !== undefined) {
    if (body.typing_indicator?.type !== 'text') throw invalid('typing_indicator.type must be "text".');
    message.typingAt = deps.clock.now();
  }
  deps.store.events.emit('inbound', message);
  return { success: true };
}
