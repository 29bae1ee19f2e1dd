import { SimulatorClock, systemClock } from '../clock/simulator-clock';
import { GMS_DEFAULT_OPERATION_PATHS, GmsChatOperation } from './gms-protocol.types';

/**
 * Chat Server's `client-file-transfer` limits (Genesys file transfer), reported by Get File Limits and enforced on
 * upload/download.
 */
export interface GmsFileLimits {
  uploadMaxFiles: number;
  uploadMaxFileSize: number;
  uploadMaxTotalSize: number;
  /** Extensions without dots; empty allows every type. */
  uploadFileTypes: string[];
  uploadNeedAgent: boolean;
  /** Downloads allowed per chat (the official client compares the chat-wide `used-download-attempts` with it). */
  downloadAttempts: number;
  /** Reported as is; the simulator frees an upload slot when a file is deleted whatever the value. */
  deleteFile: string;
}

/** Basic auth as GMS options set it (GMS Basic Authentication). Setting it turns Basic auth on for the chat API. */
export interface GmsBasicAuthOptions {
  username: string;
  password: string;
  /** GMS's default realm when none is configured. */
  realm?: string;
}

/**
 * Bearer mode for the gateway's "Microsoft Client Credentials" setting: an Entra-shaped token endpoint, and the chat
 * API accepting only tokens it issued.
 */
export interface GmsBearerAuthOptions {
  clientId: string;
  /** Accepted `client_secret`. Leave unset to accept only certificate assertions. */
  clientSecret?: string;
  /**
   * PEM certificate (or public key) of the client. When set, `client_assertion` signatures are verified with it, and
   * an `x5t`/`x5t#S256` header must match the certificate's thumbprint. When unset, assertions are checked for claims only.
   */
  clientCertificate?: string;
  /** When set, only this tenant path segment is served; otherwise any tenant is. */
  tenantId?: string;
  /** When set, the requested scope must equal it; otherwise any scope ending in `/.default` is accepted. */
  scope?: string;
  /** `expires_in` of issued tokens. Default 3599, as Entra. */
  tokenLifetimeSeconds?: number;
}

/** Everything `GmsSimulator` can be told. Every field is optional; the defaults follow GMS and Chat Server. */
export interface GmsSimulatorOptions {
  /** Path in front of `{serviceName}`. Default `/genesys/2/chat/`. */
  contextPath?: string;
  /** When non-empty, other service names get HTTP 404. Default: every name is served. */
  serviceNames?: string[];
  /**
   * Path after `{chatId}/` per operation, replacing the default (API Endpoint Overrides), e.g.
   * `{ startTyping: 'typing/start' }`. `{fileId}` marks the file id segment.
   */
  operationPaths?: Partial<Record<Exclude<GmsChatOperation, 'requestChat'>, string>>;
  /** Chat Server `flex-disconnect-timeout`: a client silent this long is removed. Default 45; 0 disables. Fractions allowed. */
  flexDisconnectSeconds?: number;
  /** `[inactivity-control] timeout-alert`. Default 255; 0 disables the alert. */
  timeoutAlertSeconds?: number;
  /** `[inactivity-control] timeout-close`, counted from the alert (or from the last activity when the alert is off). Default 45; 0 disables. */
  timeoutCloseSeconds?: number;
  inactivityAlertMessage?: string;
  inactivityCloseMessage?: string;
  /** Apply inactivity control to chats no agent has joined yet. Default false (see docs/simulators/gms.md). */
  inactivityWhileWaiting?: boolean;
  /** How often the single timer sweep runs. Default: a quarter of the shortest timeout, between 10 ms and 1 s. */
  sweepIntervalMs?: number;
  /** Ended chats are kept this long for reads and the control API, then forgotten. Default 600. */
  endedChatRetentionSeconds?: number;
  /** Give a chat a new alias every N responses (0 = never); a request carrying a stale alias is then refused. */
  rotateAliasEvery?: number;
  /** With `rotateAliasEvery`, also issue a new userId and secureKey at each rotation. */
  rotateCredentials?: boolean;
  fileLimits?: Partial<GmsFileLimits>;
  /** Longest `message` accepted by Send (0 = no limit). */
  maxMessageLength?: number;
  /** End the chat when its last agent leaves, instead of putting it back in the queue as waiting. Default false. */
  endChatWhenLastAgentLeaves?: boolean;
  /** Nickname of agents joined without one. */
  agentNickname?: string;
  /** Nickname of the `External` party that sends system messages and notices. */
  systemNickname?: string;
  basicAuth?: GmsBasicAuthOptions;
  bearerAuth?: GmsBearerAuthOptions;
  /** Serve HTTPS (MSAL refuses non-https authorities). PEM strings or buffers. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Record request bodies in the request log (counters are always kept). */
  captureRequests?: boolean;
  /** How many recorded requests to keep. Default 200. */
  captureLimit?: number;
  /** Interface to listen on. Default 127.0.0.1. */
  host?: string;
  /**
   * What the chat timers, timestamps and `latency` faults run on. Default the machine's clock; a test passes a
   * `ManualClock` and advances it instead of waiting (token lifetimes stay on the machine's clock, like the client's).
   */
  clock?: SimulatorClock;
}

/** The options with every default applied. */
export interface ResolvedGmsSimulatorOptions
  extends Required<Omit<GmsSimulatorOptions, 'basicAuth' | 'bearerAuth' | 'tls' | 'operationPaths' | 'fileLimits'>> {
  operationPaths: Record<Exclude<GmsChatOperation, 'requestChat'>, string>;
  fileLimits: GmsFileLimits;
  basicAuth?: GmsBasicAuthOptions;
  bearerAuth?: GmsBearerAuthOptions;
  tls?: { key: string | Buffer; cert: string | Buffer };
}

/** Texts of Chat Server's `message-alert` and `message-close` defaults (Chat Server inactivity). */
export const GMS_INACTIVITY_ALERT_MESSAGE = 'Chat session will be closed soon due to inactivity of chat participants.';
export const GMS_INACTIVITY_CLOSE_MESSAGE = 'Chat session closed due to inactivity of chat participants.';

/**
 * Chat Server's defaults for the three limits Genesys documents (Genesys file transfer); the others are the
 * simulator's own, generous choices.
 */
export const GMS_DEFAULT_FILE_LIMITS: GmsFileLimits = {
  uploadMaxFiles: 3,
  uploadMaxFileSize: 2_097_152,
  uploadMaxTotalSize: 5_242_880,
  uploadFileTypes: ['jpeg', 'jpg', 'png', 'gif', 'pdf', 'txt', 'zip'],
  uploadNeedAgent: false,
  downloadAttempts: 10,
  deleteFile: 'odd',
};

export function resolveGmsOptions(options: GmsSimulatorOptions = {}): ResolvedGmsSimulatorOptions {
  const operationPaths = { ...GMS_DEFAULT_OPERATION_PATHS };
  for (const [operation, path] of Object.entries(options.operationPaths ?? {})) {
    if (!(operation in operationPaths)) throw new Error(`Unknown GMS operation "${operation}" in operationPaths`);
    if (path) operationPaths[operation as keyof typeof operationPaths] = path.replace(/^\/+|\/+$/g, '');
  }
  const seen = new Map<string, string>();
  for (const [operation, path] of Object.entries(operationPaths)) {
    // Two operations on one path would make the second unreachable, which a test would only notice much later.
    const shape = path.replace(/\{fileId\}/g, '*');
    if (seen.has(shape)) throw new Error(`GMS operations ${seen.get(shape)} and ${operation} share the path "${path}"`);
    seen.set(shape, operation);
  }
  const flexDisconnectSeconds = options.flexDisconnectSeconds ?? 45;
  const timeoutAlertSeconds = options.timeoutAlertSeconds ?? 255;
  const timeoutCloseSeconds = options.timeoutCloseSeconds ?? 45;
  const shortest = Math.min(
    ...[flexDisconnectSeconds, timeoutAlertSeconds, timeoutCloseSeconds].filter((seconds) => seconds > 0),
    4,
  );
  return {
    contextPath: normalizeContextPath(options.contextPath ?? '/genesys/2/chat/'),
    serviceNames: options.serviceNames ?? [],
    operationPaths,
    flexDisconnectSeconds,
    timeoutAlertSeconds,
    timeoutCloseSeconds,
    inactivityAlertMessage: options.inactivityAlertMessage ?? GMS_INACTIVITY_ALERT_MESSAGE,
    inactivityCloseMessage: options.inactivityCloseMessage ?? GMS_INACTIVITY_CLOSE_MESSAGE,
    inactivityWhileWaiting: options.inactivityWhileWaiting ?? false,
    sweepIntervalMs: options.sweepIntervalMs ?? Math.min(1000, Math.max(10, Math.floor((shortest * 1000) / 4))),
    endedChatRetentionSeconds: options.endedChatRetentionSeconds ?? 600,
    rotateAliasEvery: options.rotateAliasEvery ?? 0,
    rotateCredentials: options.rotateCredentials ?? false,
    fileLimits: { ...GMS_DEFAULT_FILE_LIMITS, ...options.fileLimits },
    maxMessageLength: options.maxMessageLength ?? 0,
    endChatWhenLastAgentLeaves: options.endChatWhenLastAgentLeaves ?? false,
    agentNickname: options.agentNickname ?? 'Agent',
    systemNickname: options.systemNickname ?? 'system',
    basicAuth: options.basicAuth,
    bearerAuth: options.bearerAuth,
    tls: options.tls,
    captureRequests: options.captureRequests ?? false,
    captureLimit: options.captureLimit ?? 200,
    host: options.host ?? '127.0.0.1',
    clock: options.clock ?? systemClock,
  };
}

function normalizeContextPath(path: string): string {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  return trimmed === '' ? '/' : `/${trimmed}/`;
}
