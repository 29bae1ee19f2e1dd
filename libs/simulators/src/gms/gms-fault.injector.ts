import { SimulatorClock, systemClock } from '../clock/simulator-clock';
import { GmsApiError, GmsSimulatedOperation } from './gms-protocol.types';

/**
 * What an injected fault does:
 * `http-error` answers with an HTTP status (default 503); `status-code-1` and `status-code-2` answer HTTP 200 with that
 * envelope statusCode and `errors[]`; `latency` delays the request and then serves it normally; `hold` delays it until the
 * fault is removed (or all faults cleared) and then serves it, as of then; `drop` destroys the socket without answering.
 */
export type GmsFaultKind = 'http-error' | 'status-code-1' | 'status-code-2' | 'latency' | 'hold' | 'drop';

/** A fault to inject. */
export interface GmsFaultSpec {
  kind: GmsFaultKind;
  /** Operation it applies to; `any` (the default) matches every chat API request and the token endpoint. */
  operation?: GmsSimulatedOperation | 'any';
  /** Restrict to one chat. */
  chatId?: string;
  /** How many requests it affects. Default 1; 0 or less means until cleared. */
  count?: number;
  /** For `http-error`. Default 503. */
  httpStatus?: number;
  /** For `status-code-1`/`status-code-2`. Default: one error with code 999. */
  errors?: GmsApiError[];
  /** For `status-code-2`: the `chatEnded` flag to report (the chat itself is not touched). Default false. */
  chatEnded?: boolean;
  /** For `latency`. Default 1000. */
  latencyMs?: number;
}

/** A queued fault and how much of it is left. */
export interface GmsFault extends GmsFaultSpec {
  id: string;
  operation: GmsSimulatedOperation | 'any';
  /** Requests still to affect; Infinity when the fault lasts until cleared. */
  remaining: number;
  applied: number;
}

/** The faults a request picked up: at most one delay (`latency` or `hold`) and one failure. */
export interface GmsFaultMatch {
  latency?: GmsFault;
  failure?: GmsFault;
  /** With a delay: settles when it is over (a `latency`'s time passed on the clock, a `hold` removed). */
  released?: Promise<void>;
}

const KINDS = new Set<GmsFaultKind>(['http-error', 'status-code-1', 'status-code-2', 'latency', 'hold', 'drop']);
const DELAYS = new Set<GmsFaultKind>(['latency', 'hold']);

/**
 * The fault queue. Latency faults are matched apart from failures so that "slow and then failing" can be staged; each
 * request consumes at most one of each, first queued first.
 */
export class GmsFaultInjector {
  private faults: GmsFault[] = [];
  private nextId = 1;
  /** Each `hold` fault's gate, kept after its count is used up so that the requests it holds wait for its removal. */
  private readonly gates = new Map<string, { released: Promise<void>; release: () => void }>();
  /** Aborted by `endLatencies`: a stopped simulator leaves no latency timer behind. */
  private latencies = new AbortController();

  constructor(private readonly clock: SimulatorClock = systemClock) {}

  add(spec: GmsFaultSpec): GmsFault {
    if (!KINDS.has(spec.kind)) throw new Error(`Unknown fault kind "${String(spec.kind)}"`);
    const count = spec.count ?? 1;
    const fault: GmsFault = {
      ...spec,
      id: `fault-${this.nextId++}`,
      operation: spec.operation ?? 'any',
      remaining: count > 0 ? count : Infinity,
      applied: 0,
    };
    this.faults.push(fault);
    if (fault.kind === 'hold') {
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      this.gates.set(fault.id, { released, release });
    }
    return fault;
  }

  /** Called on every request: returns quickly when nothing is queued, which is the benchmark's case. */
  take(operation: GmsSimulatedOperation, chatId?: string): GmsFaultMatch | undefined {
    if (this.faults.length === 0) return undefined;
    let match: GmsFaultMatch | undefined;
    for (const fault of this.faults) {
      if (fault.operation !== 'any' && fault.operation !== operation) continue;
      if (fault.chatId !== undefined && fault.chatId !== chatId) continue;
      const slot = DELAYS.has(fault.kind) ? 'latency' : 'failure';
      if (match?.[slot]) continue;
      match = { ...match, [slot]: fault };
      if (fault.kind === 'hold') match.released = this.gates.get(fault.id)?.released;
      if (fault.kind === 'latency') match.released = this.clock.wait(fault.latencyMs ?? 1000, this.latencies.signal);
      fault.remaining--;
      fault.applied++;
    }
    if (match) this.faults = this.faults.filter((fault) => fault.remaining > 0);
    return match;
  }

  list(): GmsFault[] {
    return this.faults.map((fault) => ({ ...fault }));
  }

  /** Removes a fault; a `hold` lets the requests it holds go on, even once its count is used up. */
  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((fault) => fault.id !== id);
    const gate = this.gates.get(id);
    gate?.release();
    this.gates.delete(id);
    return this.faults.length !== before || gate !== undefined;
  }

  clear(): void {
    this.faults = [];
    for (const gate of this.gates.values()) gate.release();
    this.gates.clear();
  }

  /** Ends every `latency` wait at once (the simulator stops): their requests go on and answer closed sockets. */
  endLatencies(): void {
    this.latencies.abort();
    this.latencies = new AbortController();
  }
}
