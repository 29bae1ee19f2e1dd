import { AttachmentRecord, ConversationRecord, MessageRecord, ParticipantRecord, QueueRecord, WebhookRecord, ChannelRecord } from './eight-by-eight.model';

/** WebHookV2Result. */
export function apiWebhook(webhook: WebhookRecord): Record<string, unknown> {
  return { id: webhook.id, name: webhook.name, uri: webhook.uri, version: webhook.version };
}

/** ChannelV2Result (plus the description the 8x8 UI has). */
export function apiChannel(channel: ChannelRecord): Record<string, unknown> {
  const { id, name, type, description, webHookId, routingOptions } = channel;
  return { id, name, type, ...(description === undefined ? {} : { description }), webHookId, routingOptions };
}

/** ConversationResult. */
export function apiConversation(conversation: ConversationRecord): Record<string, unknown> {
  const { id, channelId, assignment, user, state } = conversation;
  return { id, channelId, assignment: { ...assignment }, user, state };
}

/** ConversationParticipant. */
export function apiParticipant(participant: ParticipantRecord): Record<string, unknown> {
  return { id: participant.id, removed: participant.removed, type: participant.type, language: participant.language };
}

/** MessageResult: the author is the participant as it stands now. */
export function apiMessage(conversation: ConversationRecord, message: MessageRecord): Record<string, unknown> {
  const author = conversation.participants.find((participant) => participant.id === message.authorId && participant.type === message.authorType);
  return {
    id: message.id,
    text: message.text,
    createdAt: message.createdAt,
    author: author ? apiParticipant(author) : { id: message.authorId, removed: false, type: message.authorType, language: conversation.user.language ?? 'en' },
    ...(message.externalProvider ? { externalProvider: message.externalProvider } : {}),
    attachments: message.attachmentIds.map((id) => ({ id })),
    cards: message.cards.map((card) => ({ ...card })),
  };
}

/** AttachmentResult (the document's properties; its `required` list names `size`/`type`, which it never defines). */
export function apiAttachment(attachment: AttachmentRecord): Record<string, unknown> {
  return { id: attachment.id, filename: attachment.filename, sizeInBytes: attachment.sizeInBytes, createdAt: attachment.createdAt };
}

/** The attachment kinds of the MESSAGE event, from the MIME type. */
export function attachmentKind(mimeType: string): 'image' | 'video' | 'audio' | 'file' {
  const top = mimeType.split('/')[0];
  return top === 'image' || top === 'video' || top === 'audio' ? top : 'file';
}

/** An attachment as the MESSAGE event carries it. */
export function eventAttachment(attachment: AttachmentRecord, baseUrl: string): Record<string, unknown> {
  return {
    id: attachment.id,
    type: attachmentKind(attachment.mimeType),
    preSignedUrl: presignedUrl(attachment, baseUrl),
    fileName: attachment.filename,
  };
}

export function presignedUrl(attachment: AttachmentRecord, baseUrl: string): string {
  return `${baseUrl}/sim/files/${attachment.presignedToken}/${encodeURIComponent(attachment.filename)}`;
}

/** One line of the control API's conversation list. */
export interface ConversationSummary {
  id: string;
  state: string;
  phase: string;
  userName?: string;
  queueId?: string;
  agentId?: string;
  waitingMs?: number;
  messageCount: number;
  lastMessageAt?: string;
}

export function conversationSummary(conversation: ConversationRecord, now = Date.now()): ConversationSummary {
  const last = conversation.messages[conversation.messages.length - 1];
  return {
    id: conversation.id,
    state: conversation.state,
    phase: conversation.phase,
    userName: conversation.user.name,
    queueId: conversation.phase === 'queued' ? conversation.assignment.id : conversation.lastQueueId,
    agentId: conversation.agent?.id,
    waitingMs: conversation.phase === 'queued' && conversation.queuedAt !== undefined ? now - conversation.queuedAt : undefined,
    messageCount: conversation.messages.length,
    lastMessageAt: last?.createdAt,
  };
}

/** Everything an agent console shows about one conversation. */
export function conversationView(conversation: ConversationRecord, queues: Map<string, QueueRecord>, baseUrl: string): Record<string, unknown> {
  const message = (entry: MessageRecord) => ({
    id: entry.id,
    authorType: entry.authorType,
    authorId: entry.authorId,
    text: entry.text,
    createdAt: entry.createdAt,
    externalProvider: entry.externalProvider,
    attachments: entry.attachmentIds.map((id) => {
      const attachment = conversation.attachments.find((candidate) => candidate.id === id);
      return attachment ? { ...apiAttachment(attachment), mimeType: attachment.mimeType, preSignedUrl: presignedUrl(attachment, baseUrl) } : { id };
    }),
    cards: entry.cards,
  });
  const queueId = conversation.phase === 'queued' ? conversation.assignment.id : conversation.lastQueueId;
  return {
    ...conversationSummary(conversation),
    channelId: conversation.channelId,
    createdAt: conversation.createdAt,
    user: conversation.user,
    assignment: conversation.assignment,
    queue: { id: queueId, name: queues.get(queueId)?.name ?? `Queue ${queueId}` },
    agent: conversation.agent,
    lastAgent: conversation.lastAgent,
    participants: conversation.participants,
    interactions: conversation.interactions,
    history: conversation.messages.filter((entry) => entry.fromHistory).map(message),
    messages: conversation.messages.filter((entry) => !entry.fromHistory).map(message),
    attachments: conversation.attachments.map((attachment) => ({
      ...apiAttachment(attachment),
      mimeType: attachment.mimeType,
      authorType: attachment.authorType,
      preSignedUrl: presignedUrl(attachment, baseUrl),
    })),
    postAgentAssignment: conversation.postAgentAssignment,
    handedBack: conversation.handedBack,
    endedBy: conversation.endedBy,
    endedAt: conversation.endedAt,
    leaveMessage: conversation.leaveMessage,
    signals: conversation.signals,
  };
}
