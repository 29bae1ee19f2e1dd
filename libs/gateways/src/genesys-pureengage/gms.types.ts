/**
 * Wire shapes of the Genesys GMS Chat API v2 (REST polling variant) as the gateway reads them. The sources named in
 * parentheses are listed in docs/gateways/genesys-pureengage.md, Sources. Everything read from the wire is `unknown`
 * until the mapper has checked it, so these types describe what a well-formed answer looks like, not what the gateway
 * trusts.
 */

/** Form fields in order; `userData[key]` names are written as such, percent-encoded on the wire as GMSLibrary does. */
export type GmsFields = Array<[string, string]>;

/**
 * Agent files larger than this are not fetched. Chat Server's default upload limit is 2 MiB (Genesys file transfer, in
 * docs/simulators/gms.md, Sources).
 */
export const MAX_DOWNLOAD_BYTES = 25 * 1024 * 1024;

/** `from` of a transcript event (GMS Chat API v2; the party types as GMSLibrary knows them). */
export interface GmsParticipantRef {
  nickname: string;
  participantId: number;
  /** `Client` (the customer, i.e. this gateway), `Agent`, `External` (routing, bots, notices), `Supervisor`. */
  type: string;
}

/** One item of `messages[]` (GMS Chat API v2, GMSLibrary). */
export interface GmsTranscriptItem {
  from: GmsParticipantRef;
  /** Position in the transcript, from 1. Absent only on the file-limits notice. */
  index?: number;
  type: string;
  /** Epoch milliseconds. */
  utcTime?: number;
  text?: string;
  messageType?: string;
  userData?: Record<string, string>;
}

/** An item of `errors[]` when `statusCode != 0`. Genesys does not document its shape; public clients read this one. */
export interface GmsApiError {
  code?: number;
  message?: string;
  advice?: string;
}

/** The envelope every operation answers with HTTP 200 (GMS API Responses). */
export interface GmsEnvelope {
  /** 0 success, 1 transient error (retry), 2 permanent error (check `chatEnded`). */
  statusCode: number;
  alias?: string;
  userId?: string;
  secureKey?: string;
  chatId?: string;
  chatEnded?: boolean;
  nextPosition?: number;
  /** Unchecked transcript items: the mapper validates each one on its own. */
  messages?: unknown;
  userData?: Record<string, string>;
  errors?: GmsApiError[];
}

/** The identifiers of one GMS chat, kept by the service as the escalation's platform session (GMS API Responses). */
export interface GmsSession {
  chatId: string;
  userId: string;
  secureKey: string;
  alias: string;
}

/**
 * Operations below `{serviceName}/{chatId}/` that the gateway calls (GMS Chat API v2, GMSLibrary), by the names used
 * for endpoint overrides.
 */
export type GmsOperation = 'refresh' | 'send' | 'startTyping' | 'stopTyping' | 'disconnect' | 'fileUpload' | 'fileDownload';

/** Default path of each operation after `{chatId}/`; `{fileId}` marks the file id (the paths GMSLibrary uses). */
export const GMS_DEFAULT_PATHS: Readonly<Record<GmsOperation, string>> = {
  refresh: 'refresh',
  send: 'send',
  startTyping: 'startTyping',
  stopTyping: 'stopTyping',
  disconnect: 'disconnect',
  fileUpload: 'file',
  fileDownload: 'file/{fileId}/download',
};

/**
 * `errors[].code` values with a known meaning. Genesys publishes no list of them; 8201, 8209 and 8210 are
 * Chat Server log events from a Genesys support answer (see docs/simulators/gms.md, Sources), and the others are the
 * codes the simulator answers with for the same conditions.
 */
export const GMS_ERROR = {
  chatNotFound: 103,
  clientNotInSession: 8201,
  clientLoggedOut: 8209,
  badSecureKey: 8210,
  staleAlias: 8211,
} as const;
