import { ServerResponse } from 'node:http';
import { HttpError, send, SimulatorRequest, SimulatorRouter } from '../http/simulator-http';
import { GmsAgentFileInput, GmsControlError } from './gms-agent.operations';
import { GmsChatState } from './gms-chat-session';
import { GmsFaultSpec } from './gms-fault.injector';
import type { GmsSimulator } from './gms-simulator';

const STATES = new Set<GmsChatState>(['waiting', 'active', 'ended']);

/**
 * The JSON control API under `/sim/`: the same operations as the simulator's methods, for tests in another process, the
 * demo and a person with curl. It is never authenticated; it is a local test tool.
 */
export function registerGmsControlRoutes(router: SimulatorRouter, simulator: GmsSimulator): void {
  const on = (method: string, path: string, action: (req: SimulatorRequest, body: Record<string, any>) => unknown, status = 200) =>
    router.on(method, `/sim${path}`, (req, res) => respond(res, status, () => action(req, parseJson(req))));
  const chatId = (req: SimulatorRequest) => req.params.chatId;

  on('GET', '/status', () => ({ chats: simulator.store.size, queues: simulator.queues(), tokensIssued: simulator.tokensIssued, options: publicOptions(simulator) }));
  on('GET', '/chats', (req) => {
    const state = req.query.get('state') ?? undefined;
    if (state && !STATES.has(state as GmsChatState)) throw new GmsControlError(400, 'state must be waiting, active or ended');
    return simulator.listChats({
      state: state as GmsChatState | undefined,
      queue: req.query.get('queue') ?? undefined,
      serviceName: req.query.get('serviceName') ?? undefined,
    });
  });
  on('GET', '/chats/:chatId', (req) => simulator.getChat(chatId(req)) ?? notFound(`Chat ${chatId(req)} not found`));
  router.on('GET', '/sim/chats/:chatId/files/:fileId', (req, res) => {
    const found = simulator.fileContent(req.params.chatId, req.params.fileId);
    if (!found) return send(res, 404, { message: 'File not found' });
    send(res, 200, found.content, found.file.mimeType);
  });

  on('POST', '/chats/:chatId/agent/join', (req, body) => simulator.agentJoin(chatId(req), body));
  on('POST', '/chats/:chatId/agent/typing/start', (req, body) => simulator.agentStartTyping(chatId(req), body));
  on('POST', '/chats/:chatId/agent/typing/stop', (req, body) => simulator.agentStopTyping(chatId(req), body));
  on('POST', '/chats/:chatId/agent/message', (req, body) => ({ index: simulator.agentSendMessage(chatId(req), body as { text: string }) }));
  on('POST', '/chats/:chatId/agent/push-url', (req, body) => ({ index: simulator.agentPushUrl(chatId(req), body as { url: string }) }));
  on('POST', '/chats/:chatId/agent/file', (req, body) => simulator.agentSendFile(chatId(req), { ...(body as GmsAgentFileInput), content: undefined }));
  on('POST', '/chats/:chatId/agent/transfer', (req, body) => simulator.agentTransfer(chatId(req), body as { queue: string }));
  on('POST', '/chats/:chatId/agent/leave', (req, body) => simulator.agentLeave(chatId(req), body));
  on('POST', '/chats/:chatId/agent/close', (req, body) => simulator.agentClose(chatId(req), body));
  on('POST', '/chats/:chatId/system-message', (req, body) => ({ index: simulator.systemMessage(chatId(req), body as { text: string }) }));

  on('GET', '/queues', () => simulator.queues());
  on('POST', '/queues/:queue/accept', (req, body) => {
    const queue = req.params.queue === '*' ? undefined : req.params.queue;
    return simulator.agentAcceptNext(queue, body) ?? notFound(`No chat is waiting in ${queue ?? 'any queue'}`);
  });

  on('GET', '/faults', () => simulator.listFaults());
  on('POST', '/faults', (_req, body) => (Array.isArray(body) ? body.map((spec) => addFault(simulator, spec)) : addFault(simulator, body)), 201);
  on('DELETE', '/faults', () => simulator.clearFaults());
  on('DELETE', '/faults/:faultId', (req) => simulator.removeFault(req.params.faultId) || notFound('Fault not found'));

  on('GET', '/requests', () => simulator.requestLog());
  on('DELETE', '/requests', () => simulator.resetRequestLog());
  on('POST', '/requests/capture', (_req, body) => {
    if (typeof body.enabled !== 'boolean') throw new GmsControlError(400, 'enabled (boolean) is required');
    simulator.setRequestCapture(body.enabled);
    return { capturing: body.enabled };
  });

  on('GET', '/tokens', () => ({ issued: simulator.tokensIssued }));
  on('POST', '/tokens/expire', () => simulator.expireTokens());
  on('POST', '/sweep', () => simulator.sweep());
  on('POST', '/reset', () => simulator.reset());
}

function addFault(simulator: GmsSimulator, spec: unknown) {
  if (!spec || typeof spec !== 'object') throw new GmsControlError(400, 'a fault object is required');
  try {
    return simulator.injectFault(spec as GmsFaultSpec);
  } catch (error) {
    throw new GmsControlError(400, (error as Error).message);
  }
}

function respond(res: ServerResponse, status: number, action: () => unknown): void {
  try {
    const result = action();
    // Actions without a result answer 204, so a shell user sees success without a body to read.
    if (result === undefined || result === true) send(res, 204, undefined);
    else send(res, status, result);
  } catch (error) {
    if (error instanceof GmsControlError) throw new HttpError(error.status, { message: error.message });
    throw error;
  }
}

function parseJson(req: SimulatorRequest): Record<string, any> {
  if (req.body.length === 0) return {};
  try {
    const value: unknown = JSON.parse(req.body.toString('utf8'));
    if (value && typeof value === 'object') return value as Record<string, any>;
  } catch {
    // Falls through to the 400 below.
  }
  throw new HttpError(400, { message: 'The body must be a JSON object' });
}

function notFound(message: string): never {
  throw new GmsControlError(404, message);
}

function publicOptions(simulator: GmsSimulator): Record<string, unknown> {
  // The clock is an object of functions, not a setting.
  const { basicAuth, bearerAuth, tls, clock: _clock, ...rest } = simulator.options;
  return { ...rest, basicAuth: Boolean(basicAuth), bearerAuth: Boolean(bearerAuth), tls: Boolean(tls) };
}
