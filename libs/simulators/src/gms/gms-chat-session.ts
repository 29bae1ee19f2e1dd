import { GmsEventType, GmsParticipantRef, GmsParticipantType, GmsTranscriptEvent } from './gms-protocol.types';

/** Where a chat stands from the contact center's side: in a queue, with an agent, or over. */
export type GmsChatState = 'waiting' | 'active' | 'ended';

/** Why a chat ended. */
export type GmsChatEndReason = 'client-disconnected' | 'flex-disconnect' | 'agent-closed' | 'inactivity' | 'last-agent-left';

/** A party of the chat, present or gone. */
export interface GmsParticipant extends GmsParticipantRef {
  present: boolean;
  joinedAt: number;
  leftAt?: number;
}

/** A file of the chat, uploaded by the client or sent by an agent. */
export interface GmsStoredFile {
  fileId: string;
  name: string;
  mimeType: string;
  size: number;
  content: Buffer;
  uploadedBy: GmsParticipantRef;
  /** The `userData` of the FileUploaded event. */
  metadata: Record<string, string>;
  deleted: boolean;
}

/** What the client gave on Request Chat. */
export interface GmsChatRequest {
  chatId: string;
  userId: string;
  secureKey: string;
  alias: string;
  serviceName: string;
  queue: string;
  nickname?: string;
  firstName?: string;
  lastName?: string;
  emailAddress?: string;
  subject?: string;
  userData: Record<string, string>;
}

export type GmsEventListener = (chat: GmsChatSession, event: GmsTranscriptEvent) => void;

/** Event types that do not count as activity for inactivity control (Chat Server counts joins, leaves, messages, notices). */
const NOT_ACTIVITY = new Set<GmsEventType>(['TypingStarted', 'TypingStopped']);

/** Chat Server stamps events with whole seconds; every captured `utcTime` ends in 000. */
export function gmsUtcTime(now = Date.now()): number {
  return now - (now % 1000);
}

/**
 * One chat session: identity, attached data, participants, the transcript (index = array position + 1) and files.
 * The transcript array holds events already in wire shape so a refresh only slices and serialises.
 */
export class GmsChatSession {
  readonly chatId: string;
  readonly serviceName: string;
  readonly createdAt: number;
  userId: string;
  secureKey: string;
  alias: string;
  queue: string;
  nickname: string;
  firstName?: string;
  lastName?: string;
  emailAddress?: string;
  subject?: string;
  readonly userData: Record<string, string>;
  state: GmsChatState = 'waiting';
  endReason?: GmsChatEndReason;
  endedAt?: number;
  /** The client left (Disconnect) or was removed (flex-disconnect): its later calls are refused. */
  clientGone = false;
  readonly transcript: GmsTranscriptEvent[] = [];
  readonly participants: GmsParticipant[] = [];
  readonly files = new Map<string, GmsStoredFile>();
  readonly fileUsage = { uploads: 0, uploadedBytes: 0, downloads: 0 };
  /** Timestamps in ms for the sweep. */
  lastClientRequestAt: number;
  lastActivityAt: number;
  inactivityAlertedAt?: number;
  /** Responses sent to the client, for alias rotation. */
  responseCount = 0;
  private nextParticipantId = 1;
  /**
   * External (system) parties are numbered apart, from 1000, so that agents are always 2, 3, ... in join order whatever
   * notices came first. Genesys does not document how GMS numbers External parties; this numbering is a choice.
   */
  private nextExternalId = 1000;

  constructor(
    request: GmsChatRequest,
    private readonly listener?: GmsEventListener,
    /** The simulator's clock (a test may move it by hand). */
    readonly now: () => number = () => Date.now(),
  ) {
    this.createdAt = this.lastClientRequestAt = this.lastActivityAt = now();
    this.chatId = request.chatId;
    this.userId = request.userId;
    this.secureKey = request.secureKey;
    this.alias = request.alias;
    this.serviceName = request.serviceName;
    this.queue = request.queue;
    this.firstName = request.firstName;
    this.lastName = request.lastName;
    this.emailAddress = request.emailAddress;
    this.subject = request.subject;
    this.userData = request.userData;
    this.nickname = request.nickname || `${request.firstName ?? ''} ${request.lastName ?? ''}`.trim();
    const client = this.addParticipant('Client', this.nickname);
    this.append(client, 'ParticipantJoined');
  }

  get client(): GmsParticipant {
    return this.participants[0];
  }

  get nextPosition(): number {
    return this.transcript.length + 1;
  }

  get presentAgents(): GmsParticipant[] {
    return this.participants.filter((participant) => participant.present && participant.type === 'Agent');
  }

  get isEnded(): boolean {
    return this.state === 'ended';
  }

  /** transcriptPosition as GMSLibrary describes it: 0 = no events, 1 = all, n = from index n (missing is read as 1). */
  eventsFrom(position: number): GmsTranscriptEvent[] {
    if (position <= 0 || position > this.transcript.length) return [];
    return position === 1 ? this.transcript : this.transcript.slice(position - 1);
  }

  addParticipant(type: GmsParticipantType, nickname: string): GmsParticipant {
    const participantId = type === 'External' ? this.nextExternalId++ : this.nextParticipantId++;
    const participant: GmsParticipant = { nickname, participantId, type, present: true, joinedAt: this.now() };
    this.participants.push(participant);
    return participant;
  }

  findParticipant(participantId: number): GmsParticipant | undefined {
    return this.participants.find((participant) => participant.participantId === participantId);
  }

  /** The `External` party that system messages come from, created on first use. */
  systemParty(nickname: string): GmsParticipant {
    const existing = this.participants.find((participant) => participant.type === 'External' && participant.nickname === nickname);
    return existing ?? this.addParticipant('External', nickname);
  }

  append(
    from: GmsParticipantRef,
    type: GmsEventType,
    extra: { text?: string; messageType?: string; userData?: Record<string, string> } = {},
    countsAsActivity = !NOT_ACTIVITY.has(type),
  ): GmsTranscriptEvent {
    const now = this.now();
    const event: GmsTranscriptEvent = {
      // A copy, so that a later nickname change does not rewrite history.
      from: { nickname: from.nickname, participantId: from.participantId, type: from.type },
      index: this.transcript.length + 1,
      type,
      utcTime: gmsUtcTime(now),
    };
    if (extra.text !== undefined) event.text = extra.text;
    if (extra.messageType !== undefined && extra.messageType !== '') event.messageType = extra.messageType;
    if (extra.userData !== undefined) event.userData = extra.userData;
    this.transcript.push(event);
    if (countsAsActivity) {
      this.lastActivityAt = now;
      this.inactivityAlertedAt = undefined;
    }
    this.listener?.(this, event);
    return event;
  }

  leave(participant: GmsParticipant): GmsTranscriptEvent {
    participant.present = false;
    participant.leftAt = this.now();
    return this.append(participant, 'ParticipantLeft');
  }

  end(reason: GmsChatEndReason): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.endReason = reason;
    this.endedAt = this.now();
  }
}
