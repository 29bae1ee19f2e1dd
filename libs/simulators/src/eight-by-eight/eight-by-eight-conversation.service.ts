import { randomBytes } from 'node:crypto';
import { generalError, invalidParameter, resourceNotFound, resourceNotFoundCoded, validationFailed } from './eight-by-eight-problems';
import { eventAttachment } from './eight-by-eight-view.mapper';
import { WebhookTarget, EightByEightWebhookSender } from './eight-by-eight-webhook-sender';
import {
  AgentIdentity,
  AttachmentRecord,
  CardRecord,
  ChatGatewayEvent,
  ConversationPhase,
  ConversationRecord,
  ConversationUser,
  EightByEightEventFormat,
  IntegrationSignal,
  MessageRecord,
  ParticipantType,
  PostAgentAssignmentRecord,
  WebhookRecord,
} from './eight-by-eight.model';
import { EightByEightRepository } from './eight-by-eight.repository';

/** Behaviour settings of the conversation service (see the simulator options for their meaning). */
export interface ConversationServiceSettings {
  tenantId: string;
  eventFormat: EightByEightEventFormat;
  activationDelayMs: number;
  rejectUnknownQueues: boolean;
  reopenOn: 'user-message' | 'any-message' | 'never';
  autoAccept?: { agentId: string; agentName: string; afterMs: number };
  presignedUrlTtlMs: number;
}

/** A card as the API accepts it. */
export interface CardInput {
  contentType: string;
  content: unknown;
}

/** A message from the bot integration (SendConversationMessagePayload or the external-provider variant). */
export interface MessageInput {
  authorType: 'user' | 'bot';
  text?: string;
  externalProvider?: { name: string; externalMessageId: string };
  attachmentIds?: string[];
  cards?: CardInput[];
}

/** CreateTransactionRequest, already shape-checked. */
export interface CreateConversationInput {
  channelId: string;
  user: ConversationUser;
  assignment?: { type: 'queue' | 'script'; id?: string };
  history?: MessageInput[];
}

/** PUT/PATCH of a conversation, already shape-checked. */
export interface UpdateConversationInput {
  channelId?: string;
  user?: ConversationUser;
  assignment?: { type: 'queue' | 'script'; id?: string };
}

/** A message an agent sends. */
export interface AgentMessageInput {
  text?: string;
  cards?: CardInput[];
}

/** A file an agent sends (content in base64, as the control API carries it). */
export interface AgentFileInput {
  fileName: string;
  contentBase64: string;
  mimeType?: string;
  text?: string;
}

/** A file uploaded to a conversation. */
export interface AttachmentInput {
  filename: string;
  mimeType: string;
  content: Buffer;
  authorType: ParticipantType;
}

const ACTIVE_PHASES: ConversationPhase[] = ['created', 'queued', 'with-agent', 'script', 'with-bot'];

/**
 * The conversation lifecycle (8x8 Chat Gateway OpenAPI, 8x8 webhook events) and the events it emits; where 8x8 leaves
 * the order open, the choices are those listed in docs/simulators/8x8.md. API routes and the agent control both go
 * through here, so the event sequences live in one place. Every change emits its events synchronously, in order, into
 * the sender's per-conversation lane.
 */
export class EightByEightConversationService {
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly repository: EightByEightRepository,
    private readonly sender: EightByEightWebhookSender,
    readonly settings: ConversationServiceSettings,
    private readonly baseUrl: () => string,
  ) {}

  /** True while an activation or auto-accept timer is pending (tests wait for it before checking deliveries). */
  get hasPendingWork(): boolean {
    return this.timers.size > 0;
  }

  get(id: string, notFound = resourceNotFound): ConversationRecord {
    const conversation = this.repository.conversations.get(id);
    if (!conversation) throw notFound('Conversation', id);
    return conversation;
  }

  create(input: CreateConversationInput): ConversationRecord {
    const channel = this.repository.channels.get(input.channelId);
    if (!channel) throw validationFailed([{ field: 'channelId', value: input.channelId, code: 'invalid_channel', message: `Channel ${input.channelId} does not exist.` }]);
    const assignmentType = input.assignment?.type ?? 'queue';
    const assignmentId = input.assignment?.id ?? channel.routingOptions.id;
    if (assignmentType === 'queue') this.assertQueue(assignmentId);
    const now = new Date().toISOString();
    const language = input.user.language ?? 'en';
    const conversation: ConversationRecord = {
      id: this.repository.newId(),
      channelId: channel.id,
      webhookIdAtCreation: channel.webHookId,
      createdAt: now,
      state: 'created',
      phase: 'created',
      user: { ...input.user, language },
      assignment: { type: assignmentType, id: assignmentId },
      lastQueueId: assignmentType === 'queue' ? assignmentId : channel.routingOptions.id,
      participants: [
        { id: 'user', type: 'user', removed: false, language },
        { id: 'bot', type: 'bot', removed: false, language },
      ],
      messages: [],
      attachments: [],
      interactions: [],
      signals: [],
    };
    for (const entry of input.history ?? []) conversation.messages.push(this.newMessage(conversation, entry, true));
    this.repository.conversations.set(conversation.id, conversation);
    this.emit(conversation, 'CONVERSATION_UPDATE', this.conversationUpdate(conversation));
    // "The state is CREATED and the first webhook event is sent with CREATED state. [ACTIVE follows] after the
    // interaction is also created": the interaction comes a little later, as on the real platform.
    this.later(this.settings.activationDelayMs, () => {
      // The user may have left already (PATCH participants/user during `created`).
      if (conversation.phase === 'created') this.activate(conversation);
    });
    return conversation;
  }

  update(id: string, input: UpdateConversationInput, mode: 'put' | 'patch'): ConversationRecord {
    const conversation = this.get(id);
    if (input.channelId !== undefined && !this.repository.channels.has(input.channelId)) {
      throw validationFailed([{ field: 'channelId', value: input.channelId, code: 'invalid_channel', message: `Channel ${input.channelId} does not exist.` }]);
    }
    const assignment = input.assignment && { type: input.assignment.type, id: input.assignment.id ?? conversation.lastQueueId };
    const assignmentChanges = assignment !== undefined && (assignment.type !== conversation.assignment.type || assignment.id !== conversation.assignment.id);
    if (assignmentChanges) {
      // Only a waiting conversation can be re-routed; once an agent has it, the agent transfers.
      if (!['created', 'queued', 'script'].includes(conversation.phase)) {
        throw generalError(409, 'invalid_conversation_state', `Conversation ${id} is ${conversation.phase}; its assignment can only change while it waits.`);
      }
      if (assignment.type === 'queue') this.assertQueue(assignment.id);
    }
    if (input.channelId !== undefined) conversation.channelId = input.channelId;
    if (input.user !== undefined) {
      conversation.user = mode === 'put' ? { ...input.user } : { ...conversation.user, ...input.user };
      conversation.user.language ??= 'en';
    }
    if (assignmentChanges) {
      conversation.assignment = assignment;
      if (assignment.type === 'queue') conversation.lastQueueId = assignment.id;
    }
    if (input.user !== undefined || assignmentChanges) this.emit(conversation, 'CONVERSATION_UPDATE', this.conversationUpdate(conversation));
    if (assignmentChanges && conversation.phase !== 'created') this.enterAssignment(conversation);
    return conversation;
  }

  /** PATCH participants/user {removed:true}: the user ends the current interaction. */
  userLeaves(id: string, displayMessage?: string): void {
    const conversation = this.get(id);
    const user = conversation.participants.find((participant) => participant.type === 'user');
    if (!user || user.removed || conversation.phase === 'ended') return;
    user.removed = true;
    conversation.leaveMessage = displayMessage;
    this.emit(conversation, 'MEMBERS_CHANGED', { memberType: 'user', change: 'left', id: user.id });
    this.end(conversation, 'user');
  }

  postMessage(id: string, input: MessageInput): MessageRecord {
    const conversation = this.get(id);
    const reopen =
      conversation.phase === 'ended' &&
      (this.settings.reopenOn === 'any-message' || (this.settings.reopenOn === 'user-message' && input.authorType === 'user'));
    const message = this.newMessage(conversation, input, false);
    if (reopen) {
      // Legacy docs: a message after the agent left queues a new interaction in the last queue. Assumed the same here.
      conversation.participants.filter((participant) => participant.type === 'user').forEach((participant) => (participant.removed = false));
      conversation.endedBy = undefined;
      conversation.endedAt = undefined;
      conversation.handedBack = undefined;
      conversation.assignment = { type: 'queue', id: conversation.lastQueueId };
      this.activate(conversation);
    }
    conversation.messages.push(message);
    this.emit(conversation, 'MESSAGE', this.messageData(conversation, message, true));
    return message;
  }

  addAttachment(id: string, input: AttachmentInput): AttachmentRecord {
    const conversation = this.get(id);
    const attachment: AttachmentRecord = {
      id: this.repository.newId(64),
      filename: input.filename,
      sizeInBytes: input.content.length,
      createdAt: new Date().toISOString(),
      mimeType: input.mimeType,
      authorType: input.authorType,
      content: input.content,
      presignedToken: this.repository.newId(24),
    };
    conversation.attachments.push(attachment);
    this.repository.presignedLinks.set(attachment.presignedToken, {
      conversationId: conversation.id,
      attachmentId: attachment.id,
      expiresAt: Date.now() + this.settings.presignedUrlTtlMs,
    });
    return attachment;
  }

  /** Typing, thinking and read receipts from the bot integration: the agent would see them; no webhook event. */
  recordSignal(id: string, signal: Omit<IntegrationSignal, 'at'>): void {
    const conversation = this.get(id, resourceNotFoundCoded);
    conversation.signals.push({ ...signal, at: new Date().toISOString() });
    if (conversation.signals.length > 50) conversation.signals.shift();
  }

  postAgentAssignment(id: string, input: Omit<PostAgentAssignmentRecord, 'createdAt'>): void {
    const conversation = this.get(id, resourceNotFoundCoded);
    if (!this.repository.webhooks.has(input.id)) throw invalidParameter(`Invalid parameter exception: webhook ${input.id} does not exist for conversation ${id} and tenant ${this.settings.tenantId}.`);
    conversation.postAgentAssignment = { ...input, createdAt: new Date().toISOString() };
  }

  /** The card-action callbacks: flag the card and tell the integration through an ACTIVITY. */
  cardAction(id: string, cardId: string, kind: 'submit' | 'execute', name?: string): void {
    const conversation = this.get(id, resourceNotFoundCoded);
    const card = conversation.messages.flatMap((message) => message.cards).find((candidate) => candidate.id === cardId);
    if (!card) throw resourceNotFoundCoded('Card', cardId);
    if (kind === 'submit') card.actionSubmitted = true;
    else card.actionExecuted = true;
    this.activity(id, 'adaptiveCard/action', { type: kind === 'submit' ? 'Action.Submit' : 'Action.Execute', data: name === undefined ? {} : { name } });
  }

  accept(id: string, agent: AgentIdentity): ConversationRecord {
    const conversation = this.inPhase(id, ['queued'], 'accept');
    const existing = conversation.participants.find((participant) => participant.type === 'agent' && participant.id === agent.id);
    if (existing) existing.removed = false;
    else conversation.participants.push({ id: agent.id, type: 'agent', removed: false, language: conversation.user.language ?? 'en', name: agent.name });
    conversation.agent = agent;
    conversation.lastAgent = agent;
    conversation.phase = 'with-agent';
    conversation.queuedAt = undefined;
    conversation.assignment = { type: 'agent', id: agent.id };
    this.emit(conversation, 'MEMBERS_CHANGED', { memberType: 'agent', change: 'joined', id: agent.id }, agent.name);
    this.emit(conversation, 'CONVERSATION_UPDATE', this.conversationUpdate(conversation));
    return conversation;
  }

  agentTyping(id: string, typing: boolean): void {
    const conversation = this.inPhase(id, ['with-agent'], 'type');
    // An empty users list is how 8x8 says "stopped typing".
    this.activity(id, 'typing', { users: typing ? [{ type: 'agent', id: conversation.agent!.id }] : [] });
  }

  agentMessage(id: string, input: AgentMessageInput, attachments: AttachmentRecord[] = []): MessageRecord {
    const conversation = this.inPhase(id, ['with-agent'], 'send a message');
    const agent = conversation.agent!;
    const message: MessageRecord = {
      id: this.repository.newId(),
      text: input.text ?? '',
      createdAt: new Date().toISOString(),
      authorId: agent.id,
      authorType: 'agent',
      attachmentIds: attachments.map((attachment) => attachment.id),
      cards: this.newCards(input.cards),
      fromHistory: false,
    };
    conversation.messages.push(message);
    this.emit(conversation, 'MESSAGE', this.messageData(conversation, message, false), agent.name);
    return message;
  }

  agentFile(id: string, input: AgentFileInput): MessageRecord {
    this.inPhase(id, ['with-agent'], 'send a file');
    const attachment = this.addAttachment(id, {
      filename: input.fileName,
      mimeType: input.mimeType ?? 'application/octet-stream',
      content: Buffer.from(input.contentBase64, 'base64'),
      authorType: 'agent',
    });
    return this.agentMessage(id, { text: input.text }, [attachment]);
  }

  /**
   * TRANSFER, agent left, the assignment back to a queue, QUEUED: the left is not the end (8x8 webhook events). 8x8
   * does not document the last two steps; they are the simulator's choice.
   */
  transfer(id: string, queueId: string, queueName?: string): ConversationRecord {
    const conversation = this.inPhase(id, ['with-agent'], 'transfer');
    this.assertQueue(queueId);
    if (queueName !== undefined) this.repository.setQueue(queueId, { name: queueName });
    const agent = conversation.agent!;
    this.emit(conversation, 'TRANSFER', undefined);
    this.removeAgent(conversation);
    this.emit(conversation, 'MEMBERS_CHANGED', { memberType: 'agent', change: 'left', id: agent.id }, agent.name);
    conversation.assignment = { type: 'queue', id: queueId };
    conversation.lastQueueId = queueId;
    this.emit(conversation, 'CONVERSATION_UPDATE', this.conversationUpdate(conversation));
    this.enterAssignment(conversation);
    return conversation;
  }

  /**
   * The agent leaves (or closes a waiting conversation). Without a post-agent assignment the conversation goes
   * idle; with one it is handed back to the bot on that webhook and stays active.
   */
  agentLeave(id: string): ConversationRecord {
    const conversation = this.inPhase(id, ACTIVE_PHASES, 'leave');
    const agent = conversation.agent;
    if (agent) {
      this.removeAgent(conversation);
      this.emit(conversation, 'MEMBERS_CHANGED', { memberType: 'agent', change: 'left', id: agent.id }, agent.name);
    }
    const handBack = conversation.postAgentAssignment;
    if (agent && handBack && this.repository.webhooks.has(handBack.id)) {
      this.closeInteraction(conversation);
      conversation.phase = 'with-bot';
      conversation.assignment = { type: 'webhook', id: handBack.id };
      conversation.handedBack = { webhookId: handBack.id, at: new Date().toISOString() };
      this.emit(conversation, 'CONVERSATION_UPDATE', this.conversationUpdate(conversation));
      return conversation;
    }
    this.end(conversation, 'agent');
    return conversation;
  }

  /** Any ACTIVITY (typing, adaptiveCard/action, quickReply/action...), for the control API. */
  activity(id: string, name: string, value: unknown): void {
    this.emit(this.get(id), 'ACTIVITY', { name, value });
  }

  stop(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  private activate(conversation: ConversationRecord): void {
    const now = new Date();
    conversation.interactions.push({
      id: `int-${now.getTime().toString(16)}-${randomBytes(19).toString('base64url')}-chat-00-${this.settings.tenantId}`,
      startTime: now.toISOString(),
    });
    conversation.state = 'active';
    this.emit(conversation, 'CONVERSATION_UPDATE', this.conversationUpdate(conversation));
    this.enterAssignment(conversation);
  }

  private enterAssignment(conversation: ConversationRecord): void {
    if (conversation.assignment.type !== 'queue') {
      conversation.phase = 'script';
      return;
    }
    const queue = this.repository.queue(conversation.assignment.id);
    conversation.phase = 'queued';
    conversation.queuedAt = Date.now();
    this.emit(conversation, 'QUEUED', { queueId: queue.id, queueName: queue.name });
    const autoAccept = this.settings.autoAccept;
    if (autoAccept) {
      this.later(autoAccept.afterMs, () => {
        if (conversation.phase === 'queued') this.accept(conversation.id, { id: autoAccept.agentId, name: autoAccept.agentName });
      });
    }
  }

  private end(conversation: ConversationRecord, by: 'agent' | 'user'): void {
    this.removeAgent(conversation);
    this.closeInteraction(conversation);
    conversation.phase = 'ended';
    conversation.state = 'idle';
    conversation.queuedAt = undefined;
    conversation.endedBy = by;
    conversation.endedAt = new Date().toISOString();
    this.emit(conversation, 'CONVERSATION_UPDATE', this.conversationUpdate(conversation));
  }

  private removeAgent(conversation: ConversationRecord): void {
    const agent = conversation.agent;
    if (!agent) return;
    const participant = conversation.participants.find((candidate) => candidate.type === 'agent' && candidate.id === agent.id);
    if (participant) participant.removed = true;
    conversation.agent = undefined;
  }

  private closeInteraction(conversation: ConversationRecord): void {
    const current = conversation.interactions[conversation.interactions.length - 1];
    if (current && !current.endTime) current.endTime = new Date().toISOString();
  }

  private inPhase(id: string, phases: ConversationPhase[], action: string): ConversationRecord {
    const conversation = this.get(id);
    if (!phases.includes(conversation.phase)) {
      throw generalError(409, 'invalid_conversation_state', `Cannot ${action}: conversation ${id} is ${conversation.phase}.`);
    }
    return conversation;
  }

  /** 400 invalid_queue for an unknown queue, when the simulator only accepts known queues. */
  assertQueue(queueId: string): void {
    if (this.settings.rejectUnknownQueues && !this.repository.queues.has(queueId)) {
      throw generalError(400, 'invalid_queue', `Queue ID ${queueId} is invalid.`);
    }
  }

  private newMessage(conversation: ConversationRecord, input: MessageInput, fromHistory: boolean): MessageRecord {
    const unknown = (input.attachmentIds ?? []).filter((attachmentId) => !conversation.attachments.some((attachment) => attachment.id === attachmentId));
    if (unknown.length > 0) {
      throw validationFailed(unknown.map((attachmentId) => ({ field: 'attachments.id', value: attachmentId, code: 'invalid_attachment', message: `Attachment ${attachmentId} does not exist in this conversation.` })));
    }
    return {
      id: this.repository.newId(),
      text: input.text ?? '',
      createdAt: new Date().toISOString(),
      authorId: input.authorType,
      authorType: input.authorType,
      externalProvider: input.externalProvider,
      attachmentIds: input.attachmentIds ?? [],
      cards: this.newCards(input.cards),
      fromHistory,
    };
  }

  private newCards(cards: CardInput[] = []): CardRecord[] {
    return cards.map((card) => ({ id: this.repository.newId(), contentType: card.contentType, content: card.content, actionSubmitted: false, actionExecuted: false }));
  }

  private conversationUpdate(conversation: ConversationRecord): Record<string, unknown> {
    const channel = this.repository.channels.get(conversation.channelId);
    return { state: conversation.state, assignment: { ...conversation.assignment }, user: conversation.user, channel: channel?.type ?? 'ChatAPI' };
  }

  private messageData(conversation: ConversationRecord, message: MessageRecord, isEcho: boolean): Record<string, unknown> {
    const attachments = message.attachmentIds
      .map((attachmentId) => conversation.attachments.find((attachment) => attachment.id === attachmentId))
      .filter((attachment): attachment is AttachmentRecord => attachment !== undefined);
    return {
      isEcho,
      sender: { id: message.authorId, type: message.authorType },
      text: message.text,
      attachments: attachments.map((attachment) => eventAttachment(attachment, this.baseUrl())),
      cards: message.cards.map((card) => ({ contentType: card.contentType, content: card.content })),
    };
  }

  private emit(conversation: ConversationRecord, eventType: ChatGatewayEvent['eventType'], data: Record<string, unknown> | undefined, agentName?: string): void {
    const envelope: ChatGatewayEvent = { eventType, conversationId: conversation.id, timestamp: Date.now(), ...(data === undefined ? {} : { data }) };
    this.sender.enqueue(conversation.id, { envelope, agentName }, this.targets(conversation));
  }

  /** The channel's webhook; after a hand-back, the post-agent-assignment webhook (and the channel's if asked). */
  private targets(conversation: ConversationRecord): WebhookTarget[] {
    const channelWebhook = this.repository.webhooks.get(this.repository.channels.get(conversation.channelId)?.webHookId ?? conversation.webhookIdAtCreation);
    const webhooks: WebhookRecord[] = [];
    if (conversation.handedBack) {
      const handBackWebhook = this.repository.webhooks.get(conversation.handedBack.webhookId);
      if (handBackWebhook) webhooks.push(handBackWebhook);
      const notifyChannel = conversation.postAgentAssignment?.configuration?.notifyChannelWebhookIfExists === 'true';
      if (notifyChannel && channelWebhook && channelWebhook.id !== handBackWebhook?.id) webhooks.push(channelWebhook);
    } else if (channelWebhook) {
      webhooks.push(channelWebhook);
    }
    return webhooks.map((webhook) => ({ webhook, format: webhook.eventFormat ?? this.settings.eventFormat }));
  }

  private later(ms: number, action: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      action();
    }, ms);
    this.timers.add(timer);
  }
}
