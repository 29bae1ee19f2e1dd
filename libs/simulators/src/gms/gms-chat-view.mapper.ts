import { GmsChatEndReason, GmsChatSession, GmsChatState, GmsParticipant, GmsStoredFile } from './gms-chat-session';
import { GmsTranscriptEvent } from './gms-protocol.types';

/** A chat as the control API lists it. */
export interface GmsChatSummary {
  chatId: string;
  serviceName: string;
  queue: string;
  state: GmsChatState;
  endReason?: GmsChatEndReason;
  nickname: string;
  firstName?: string;
  lastName?: string;
  emailAddress?: string;
  subject?: string;
  /** Agents in the chat now. */
  agents: GmsParticipant[];
  transcriptLength: number;
  createdAt: string;
  endedAt?: string;
  lastClientRequestAt: string;
}

/** File metadata without the content. */
export interface GmsFileView {
  fileId: string;
  name: string;
  mimeType: string;
  size: number;
  uploadedBy: GmsParticipant['type'];
  participantId: number;
  deleted: boolean;
  metadata: Record<string, string>;
}

/** One chat in full: what an agent console shows. Includes the client's credentials so a test can act as the client. */
export interface GmsChatDetail extends GmsChatSummary {
  userId: string;
  secureKey: string;
  alias: string;
  clientGone: boolean;
  userData: Record<string, string>;
  participants: GmsParticipant[];
  transcript: GmsTranscriptEvent[];
  files: GmsFileView[];
  fileUsage: { uploads: number; uploadedBytes: number; downloads: number };
}

export function toChatSummary(chat: GmsChatSession): GmsChatSummary {
  return {
    chatId: chat.chatId,
    serviceName: chat.serviceName,
    queue: chat.queue,
    state: chat.state,
    endReason: chat.endReason,
    nickname: chat.nickname,
    firstName: chat.firstName,
    lastName: chat.lastName,
    emailAddress: chat.emailAddress,
    subject: chat.subject,
    agents: chat.presentAgents.map((agent) => ({ ...agent })),
    transcriptLength: chat.transcript.length,
    createdAt: new Date(chat.createdAt).toISOString(),
    endedAt: chat.endedAt === undefined ? undefined : new Date(chat.endedAt).toISOString(),
    lastClientRequestAt: new Date(chat.lastClientRequestAt).toISOString(),
  };
}

export function toChatDetail(chat: GmsChatSession): GmsChatDetail {
  return {
    ...toChatSummary(chat),
    userId: chat.userId,
    secureKey: chat.secureKey,
    alias: chat.alias,
    clientGone: chat.clientGone,
    userData: { ...chat.userData },
    participants: chat.participants.map((participant) => ({ ...participant })),
    // Copies, so a caller cannot rewrite the transcript the client will read.
    transcript: chat.transcript.map((event) => structuredClone(event)),
    files: [...chat.files.values()].map(toFileView),
    fileUsage: { ...chat.fileUsage },
  };
}

export function toFileView(file: GmsStoredFile): GmsFileView {
  return {
    fileId: file.fileId,
    name: file.name,
    mimeType: file.mimeType,
    size: file.size,
    uploadedBy: file.uploadedBy.type,
    participantId: file.uploadedBy.participantId,
    deleted: file.deleted,
    metadata: { ...file.metadata },
  };
}
