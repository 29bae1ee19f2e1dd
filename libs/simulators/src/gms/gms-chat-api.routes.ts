import { ServerResponse } from 'node:http';
import { HttpError, send, SimulatorRequest, SimulatorRouter } from '../http/simulator-http';
import { GmsAuthGuard } from './gms-auth.guard';
import { GmsClientOperations } from './gms-client.operations';
import { GmsFaultInjector, GmsFaultMatch } from './gms-fault.injector';
import { GmsForm, parseGmsForm } from './gms-form.parser';
import { GmsChatOperation, GmsEnvelope, GmsErrorCode, GmsSimulatedOperation } from './gms-protocol.types';
import { GmsRequestRecorder } from './gms-request.recorder';
import { ResolvedGmsSimulatorOptions } from './gms-simulator.options';

/** Collaborators of the HTTP layer. */
export interface GmsHttpDependencies {
  options: ResolvedGmsSimulatorOptions;
  operations: GmsClientOperations;
  faults: GmsFaultInjector;
  recorder: GmsRequestRecorder;
  auth: GmsAuthGuard;
}

/**
 * Applies the faults a request picked up. Returns true when the fault answered (or dropped) the request. Faults act
 * before authentication and validation, like a failing proxy or GMS node, and never touch the chat.
 */
export async function applyFaults(
  match: GmsFaultMatch,
  req: SimulatorRequest,
  res: ServerResponse,
  recorder: GmsRequestRecorder,
  chatId?: string,
): Promise<boolean> {
  if (match.latency) {
    recorder.countFault(match.latency.kind);
    await match.released;
  }
  const fault = match.failure;
  if (!fault) return false;
  recorder.countFault(fault.kind);
  switch (fault.kind) {
    case 'drop':
      req.raw.socket.destroy();
      return true;
    case 'http-error':
      send(res, fault.httpStatus ?? 503, { message: `Simulated HTTP ${fault.httpStatus ?? 503}` });
      return true;
    default: {
      const statusCode = fault.kind === 'status-code-1' ? 1 : 2;
      const envelope: GmsEnvelope = {
        statusCode,
        chatEnded: statusCode === 2 && fault.chatEnded === true,
        errors: fault.errors ?? [{ code: GmsErrorCode.simulatedFault, message: `Simulated statusCode ${statusCode}` }],
      };
      if (chatId) envelope.chatId = chatId;
      send(res, 200, envelope);
      return true;
    }
  }
}

/**
 * The chat API (GMS Chat API v2, with GMSLibrary's paths) under the context path, each operation on its (possibly
 * overridden) path.
 */
export class GmsChatApiRoutes {
  private readonly serviceNames: Set<string>;

  constructor(private readonly deps: GmsHttpDependencies) {
    this.serviceNames = new Set(deps.options.serviceNames);
  }

  register(router: SimulatorRouter): void {
    const base = `${this.deps.options.contextPath}:serviceName`;
    // Refresh first: it is most of the traffic, and the router tries routes in order.
    for (const [operation, path] of Object.entries(this.deps.options.operationPaths)) {
      const routePath = `${base}/:chatId/${path.replace(/\{fileId\}/g, ':fileId')}`;
      router.on('POST', routePath, (req, res) => this.handle(operation as Exclude<GmsChatOperation, 'requestChat'>, req, res));
    }
    router.on('POST', base, (req, res) => this.handle('requestChat', req, res));
  }

  private async handle(operation: GmsChatOperation, req: SimulatorRequest, res: ServerResponse): Promise<void> {
    const { serviceName, chatId, fileId } = req.params;
    const { recorder, faults, operations } = this.deps;
    recorder.count(operation);
    const match = faults.take(operation, chatId);
    if (match && (await applyFaults(match, req, res, recorder, chatId))) return;
    this.deps.auth.check(req.headers);
    if (this.serviceNames.size > 0 && !this.serviceNames.has(serviceName)) {
      throw new HttpError(404, { message: `No chat service named "${serviceName}"` });
    }
    const form = await parseGmsForm(req);
    if (recorder.capturing) this.record(operation, req, form);
    if (operation === 'requestChat') {
      send(res, 200, operations.requestChat(serviceName, form));
      return;
    }
    const result = operations.run(operation, chatId, form, fileId);
    if (result.envelope) {
      send(res, 200, result.envelope);
      return;
    }
    const { file } = result;
    // Genesys does not document Content-Disposition here; a client must not depend on it, but a browser saves the name.
    send(res, 200, file.content, file.mimeType, {
      'content-disposition': `attachment; filename="${file.name.replace(/[^\x20-\x7e]|"/g, '_')}"; filename*=UTF-8''${encodeURIComponent(file.name)}`,
    });
  }

  private record(operation: GmsSimulatedOperation, req: SimulatorRequest, form: GmsForm): void {
    this.deps.recorder.record({
      at: this.deps.options.clock.now(),
      operation,
      path: req.path,
      serviceName: req.params.serviceName,
      chatId: req.params.chatId,
      fileId: req.params.fileId,
      headers: { ...req.headers },
      fields: form.fields,
      userData: form.userData,
      files: form.files.map((file) => ({ field: file.field, filename: file.filename, mimeType: file.mimeType, size: file.content.length })),
    });
  }
}
