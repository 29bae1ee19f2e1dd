/**
 * Wire types of the Genesys GMS Chat API v2 (REST, polling variant) as the simulator speaks it.
 * The sources named in parentheses are listed in docs/simulators/gms.md, Sources.
 */

/** `from.type` of a transcript event (GMSLibrary, genesys-chat-apiv2-sdk). */
export type GmsParticipantType = 'Client' | 'Agent' | 'External' | 'Supervisor';

/** `type` of a transcript event (GMSLibrary). */
export type GmsEventType =
  | 'ParticipantJoined'
  | 'ParticipantLeft'
  | 'Message'
  | 'TypingStarted'
  | 'TypingStopped'
  | 'PushUrl'
  | 'NicknameUpdated'
  | 'CustomNotice'
  | 'Notice'
  | 'FileUploaded'
  | 'FileDeleted';

/** The `from` object of a transcript event. */
export interface GmsParticipantRef {
  nickname: string;
  participantId: number;
  type: GmsParticipantType;
}

/**
 * One item of `messages[]` (GMS Chat API v2, GMSLibrary). `index` is absent only on the file-limits notice, as in the
 * capture of genesys-chat-apiv2-sdk.
 */
export interface GmsTranscriptEvent {
  from: GmsParticipantRef;
  index?: number;
  type: GmsEventType;
  /** Epoch milliseconds. Chat Server has second resolution, so the value is a whole number of seconds. */
  utcTime: number;
  text?: string;
  messageType?: string;
  userData?: Record<string, string>;
}

/** An item of `errors[]` when `statusCode != 0`: Genesys does not document it; this is the shape GChat reads. */
export interface GmsApiError {
  code: number;
  message: string;
  advice?: string;
}

/** The response envelope every operation returns with HTTP 200 (GMS API Responses). */
export interface GmsEnvelope {
  statusCode: 0 | 1 | 2;
  alias?: string;
  userId?: string;
  secureKey?: string;
  chatId?: string;
  chatEnded: boolean;
  nextPosition?: number;
  messages?: GmsTranscriptEvent[];
  userData?: Record<string, string>;
  errors?: GmsApiError[];
}

/** Operations of the chat API (the 14 of GMSLibrary), by the names used for counters, faults and path overrides. */
export type GmsChatOperation =
  | 'requestChat'
  | 'send'
  | 'refresh'
  | 'startTyping'
  | 'stopTyping'
  | 'disconnect'
  | 'pushUrl'
  | 'updateNickname'
  | 'updateData'
  | 'customNotice'
  | 'fileLimits'
  | 'fileUpload'
  | 'fileDownload'
  | 'fileDelete';

/** Every operation the simulator counts and can inject faults into: the chat API plus the token endpoint. */
export type GmsSimulatedOperation = GmsChatOperation | 'token';

/** All chat operations except Request Chat, with their default path below `{serviceName}/{chatId}/` (GMSLibrary). */
export const GMS_DEFAULT_OPERATION_PATHS: Readonly<Record<Exclude<GmsChatOperation, 'requestChat'>, string>> = {
  refresh: 'refresh',
  send: 'send',
  startTyping: 'startTyping',
  stopTyping: 'stopTyping',
  disconnect: 'disconnect',
  pushUrl: 'pushUrl',
  updateNickname: 'updateNickname',
  updateData: 'updateData',
  customNotice: 'customNotice',
  fileLimits: 'file/limits',
  fileUpload: 'file',
  fileDownload: 'file/{fileId}/download',
  fileDelete: 'file/{fileId}/delete',
};

/**
 * The `errors[].code` values the simulator answers with. Genesys does not publish the API's codes, so these are
 * choices: 102 and 204 are borrowed from a partner widget ("cannot enter chat", "message too long"); 8201, 8209 and
 * 8210 are Chat Server log events of the same meaning (Genesys Community: Chat Server error codes); the 3xx file codes
 * are the simulator's own.
 */
export const GmsErrorCode = {
  invalidParameter: 102,
  chatNotFound: 103,
  messageTooLong: 204,
  fileLimitReached: 301,
  fileTypeNotAllowed: 302,
  fileNotFound: 303,
  fileNeedsAgent: 304,
  downloadLimitReached: 305,
  clientNotInSession: 8201,
  clientLoggedOut: 8209,
  badSecureKey: 8210,
  aliasMismatch: 8211,
  simulatedFault: 999,
} as const;
