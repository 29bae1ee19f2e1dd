import { HttpError, send, SimulatorRequest, SimulatorRouter } from '../http/simulator-http';
import { WhatsAppControlError } from './whatsapp-business.store';
import type { WhatsAppSimulator } from './whatsapp-simulator';
import { WHATSAPP_SIGNATURE_FAULTS, WhatsAppSignatureFault } from './whatsapp-simulator.types';

export const WHATSAPP_CONTROL_PATH = '/control';

/**
 * The JSON control API under `/control/`: the simulator's methods for tests in another process, the console page and
 * a person with curl. Never authenticated: it is a local test tool.
 */
export function registerWhatsAppControlRoutes(router: SimulatorRouter, whatsapp: WhatsAppSimulator): void {
  const on = (method: string, path: string, action: (req: SimulatorRequest, body: Record<string, any>) => unknown, status = 200) =>
    router.on(method, `${WHATSAPP_CONTROL_PATH}${path}`, async (req, res) => {
      try {
        const result = await action(req, parseJson(req));
        send(res, result === undefined ? 204 : status, result);
      } catch (error) {
        if (error instanceof HttpError) return send(res, error.status, error.body);
        throw error;
      }
    });
  const pair = (req: SimulatorRequest) => [req.params.phoneNumberId, req.params.waId] as const;

  on('GET', '/status', () => ({
    baseUrl: whatsapp.baseUrl,
    graphBaseUrl: whatsapp.graphBaseUrl,
    graphVersion: whatsapp.graphVersion,
    businesses: whatsapp.businesses().map(({ accessToken: _token, appSecret: _secret, ...business }) => business),
    users: whatsapp.users(),
    faults: whatsapp.pendingFaults(),
  }));
  on('POST', '/businesses', (_req, body) => whatsapp.addBusiness(body as never), 201);
  on('POST', '/businesses/:phoneNumberId/callback-url', (req, body) => whatsapp.setCallbackUrl(req.params.phoneNumberId, required(body, 'url')));
  on('POST', '/businesses/:phoneNumberId/verify', (req, body) => whatsapp.verifyCallback(req.params.phoneNumberId, { verifyToken: body.verifyToken }));
  on('POST', '/businesses/:phoneNumberId/expire-token', (req) => whatsapp.expireToken(req.params.phoneNumberId));
  on('POST', '/businesses/:phoneNumberId/renew-token', (req) => whatsapp.renewToken(req.params.phoneNumberId));
  on('GET', '/wabas/:wabaId/templates', (req) => whatsapp.templates(req.params.wabaId));
  on('POST', '/wabas/:wabaId/templates', (req, body) => whatsapp.addTemplate(req.params.wabaId, body as never), 201);
  on('POST', '/users/:waId', (req, body) => whatsapp.setUser(req.params.waId, body));

  on('POST', '/businesses/:phoneNumberId/users/:waId/say', (req, body) =>
    whatsapp.userSays(...pair(req), required(body, 'text'), { name: body.name, signatureFault: fault(body.signatureFault) }),
  );
  on('POST', '/businesses/:phoneNumberId/users/:waId/press', (req, body) => whatsapp.userPresses(...pair(req), required(body, 'payload'), body.title));
  on('POST', '/businesses/:phoneNumberId/users/:waId/choose', (req, body) => whatsapp.userChooses(...pair(req), required(body, 'id')));
  on('POST', '/businesses/:phoneNumberId/users/:waId/react', (req, body) => whatsapp.userReacts(...pair(req), required(body, 'messageId'), String(body.emoji ?? '')));
  on('POST', '/businesses/:phoneNumberId/users/:waId/read', (req) => whatsapp.userReads(...pair(req)));
  on('GET', '/businesses/:phoneNumberId/users/:waId/chat', (req) => ({
    windowOpen: whatsapp.windowOpen(...pair(req)),
    typing: whatsapp.typingShown(...pair(req)),
    sent: whatsapp.sentTo(...pair(req)),
    inbound: whatsapp.inboundFrom(...pair(req)),
  }));
  on('POST', '/businesses/:phoneNumberId/webhooks', (req, body) => whatsapp.postWebhook(req.params.phoneNumberId, body.body ?? {}, { signatureFault: fault(body.signatureFault) }));

  on('POST', '/faults', (_req, body) => whatsapp.addFault(body as never), 201);
  on('DELETE', '/faults', () => whatsapp.clearFaults());
  on('POST', '/throughput', (_req, body) => whatsapp.setThroughput(Number(required(body, 'perSecond'))));
  on('POST', '/pair-rate', (_req, body) => whatsapp.setPairRate(Number(required(body, 'burst')), body.intervalMs === undefined ? undefined : Number(body.intervalMs)));
  on('GET', '/requests', () => ({ graph: whatsapp.graphRequests, webhooks: whatsapp.webhookDeliveries }));
}

function parseJson(req: SimulatorRequest): Record<string, any> {
  if (req.body.length === 0) return {};
  try {
    return JSON.parse(req.body.toString('utf8')) as Record<string, any>;
  } catch {
    throw new WhatsAppControlError(400, 'The body must be JSON');
  }
}

function required(body: Record<string, any>, name: string): string {
  if (body[name] === undefined || body[name] === '') throw new WhatsAppControlError(400, `${name} is required`);
  return String(body[name]);
}

function fault(value: unknown): WhatsAppSignatureFault | undefined {
  if (value === undefined) return undefined;
  if (!WHATSAPP_SIGNATURE_FAULTS.includes(value as WhatsAppSignatureFault)) throw new WhatsAppControlError(400, `signatureFault must be one of ${WHATSAPP_SIGNATURE_FAULTS.join(', ')}`);
  return value as WhatsAppSignatureFault;
}
