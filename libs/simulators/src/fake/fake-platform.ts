import { Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { close, HttpError, listen, send, SimulatorRouter } from '../http/simulator-http';

/** A scripted failure the fake platform answers with instead of doing the operation. */
export interface FakeFault {
  operation: 'start' | 'message' | 'typing' | 'end' | 'transfer' | 'poll' | '*';
  kind: 'transient' | 'auth' | 'no_agents' | 'gone' | 'invalid';
  count: number;
}

/** One event of a fake session's transcript (`index` from 1). */
export interface FakePlatformEvent {
  index: number;
  type: string;
  data: Record<string, unknown>;
  at: number;
}

/** What the fake platform knows of one session. */
export interface FakeSession {
  id: string;
  escalationId: string;
  queue: string;
  request: Record<string, unknown>;
  received: { kind: string; body: Record<string, unknown>; at: number }[];
  events: FakePlatformEvent[];
  ended: boolean;
}

const FAULT_STATUS: Record<FakeFault['kind'], number> = { transient: 503, auth: 401, no_agents: 409, gone: 410, invalid: 400 };

/**
 * The platform behind the scripted `fake` gateway type: a tiny JSON-over-HTTP contact center that tests drive
 * (agent events, faults) and whose received messages they read. It runs in the test process while the service's
 * API and worker processes talk to it over HTTP, so restarts of those processes are testable.
 */
export class FakePlatform {
  readonly sessions = new Map<string, FakeSession>();
  private faults: FakeFault[] = [];
  /** Added to every session operation, so a test can catch the service mid-relay. */
  latencyMs = 0;
  /** Names each new session; a test replaces it to have the platform answer an odd id. */
  newSessionId: () => string = randomUUID;
  /** Session operations (polls included) received and not answered yet. */
  inFlight = 0;
  private holds: { operation: string; arrived: () => void; released: Promise<void> }[] = [];
  private server?: Server;
  baseUrl = '';

  async start(port = 0): Promise<string> {
    const router = new SimulatorRouter(4 * 1024 * 1024);
    const json = (body: Buffer) => (body.length ? (JSON.parse(body.toString('utf8')) as Record<string, unknown>) : {});
    router
      .on('POST', '/sessions', (req, res) => {
        this.consumeFault('start');
        const body = json(req.body);
        const session: FakeSession = {
          id: this.newSessionId(),
          escalationId: String(body.escalationId),
          queue: String(body.queue ?? 'default'),
          request: body,
          received: [],
          events: [],
          ended: false,
        };
        this.sessions.set(session.id, session);
        this.push(session.id, 'queued', { queueId: session.queue, queueName: session.queue, position: 1 });
        send(res, 200, { sessionId: session.id });
      })
      .on('POST', '/sessions/:id/:operation', async (req, res) => {
        this.inFlight++;
        res.once('close', () => this.inFlight--);
        await this.heldIfAsked(req.params.operation);
        if (this.latencyMs > 0 && req.params.operation !== 'poll') await new Promise((resolve) => setTimeout(resolve, this.latencyMs));
        const operation = req.params.operation as FakeFault['operation'];
        this.consumeFault(operation);
        const session = this.session(req.params.id);
        if (session.ended && operation !== 'poll') throw new HttpError(410, { message: 'session ended' });
        const body = json(req.body);
        if (operation === 'poll') {
          const after = Number(body.cursor ?? 0);
          send(res, 200, { events: session.events.filter((e) => e.index > after), cursor: session.events.length, ended: session.ended });
          return;
        }
        session.received.push({ kind: operation, body, at: Date.now() });
        if (operation === 'end') {
          session.ended = true;
          this.push(session.id, 'ended', { by: 'user' });
        } else if (operation === 'transfer') {
          session.queue = String(body.queue);
          this.push(session.id, 'queued', { queueId: session.queue, queueName: session.queue });
        }
        send(res, 200, { ok: true });
      })
      .on('GET', '/control/sessions', (_req, res) => send(res, 200, [...this.sessions.values()]))
      .on('POST', '/control/sessions/:id/events', (req, res) => {
        const body = json(req.body);
        send(res, 200, this.push(req.params.id, String(body.type), (body.data ?? {}) as Record<string, unknown>));
      })
      .on('POST', '/control/faults', (req, res) => {
        this.faults.push(json(req.body) as unknown as FakeFault);
        send(res, 204, undefined);
      })
      .on('GET', '/health', (_req, res) => send(res, 200, { ok: true }));
    this.server = router.createServer();
    this.baseUrl = await listen(this.server, port);
    return this.baseUrl;
  }

  async stop(): Promise<void> {
    if (this.server) await close(this.server);
  }

  /**
   * Holds the next request of `operation` (`message`, `typing`, ...) once it arrives, unanswered until `release()`: a
   * test catches the service in the middle of that call, for as long as it needs, whatever the machine's speed.
   */
  holdNext(operation: FakeFault['operation']): { arrived: Promise<void>; release: () => void } {
    let arrived!: () => void;
    let release!: () => void;
    const hasArrived = new Promise<void>((resolve) => (arrived = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.holds.push({ operation, arrived, released });
    return { arrived: hasArrived, release };
  }

  /** Appends an event to a session's transcript, as if an agent or the platform did something. */
  push(sessionId: string, type: string, data: Record<string, unknown> = {}): FakePlatformEvent {
    const session = this.session(sessionId);
    const event = { index: session.events.length + 1, type, data, at: Date.now() };
    session.events.push(event);
    if (type === 'ended') session.ended = true;
    return event;
  }

  addFault(fault: FakeFault): void {
    this.faults.push({ ...fault });
  }

  sessionFor(escalationId: string): FakeSession | undefined {
    return [...this.sessions.values()].find((s) => s.escalationId === escalationId);
  }

  private async heldIfAsked(operation: string): Promise<void> {
    const hold = this.holds.findIndex((candidate) => candidate.operation === operation);
    if (hold < 0) return;
    const [{ arrived, released }] = this.holds.splice(hold, 1);
    arrived();
    await released;
  }

  private session(id: string): FakeSession {
    const session = this.sessions.get(id);
    if (!session) throw new HttpError(404, { message: 'no such session' });
    return session;
  }

  private consumeFault(operation: FakeFault['operation']): void {
    const fault = this.faults.find((f) => f.count > 0 && (f.operation === operation || f.operation === '*'));
    if (!fault) return;
    fault.count -= 1;
    this.faults = this.faults.filter((f) => f.count > 0);
    throw new HttpError(FAULT_STATUS[fault.kind], { message: `scripted ${fault.kind} fault`, kind: fault.kind });
  }
}
