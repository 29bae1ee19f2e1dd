import { storeFile } from './gms-client.operations';
import { GmsChatSession, GmsParticipant, GmsStoredFile } from './gms-chat-session';
import { GmsChatStore } from './gms-chat.store';
import { ResolvedGmsSimulatorOptions } from './gms-simulator.options';

/** A refused control action; `status` is the HTTP status the control API answers with. */
export class GmsControlError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
  }
}

/** Picks one of the chat's present agents; the most recent one when not given. */
export interface GmsAgentSelector {
  participantId?: number;
}

/** Body of an agent join. */
export interface GmsAgentJoinInput {
  nickname?: string;
}

/** Body of an agent message. */
export interface GmsAgentMessageInput extends GmsAgentSelector {
  text: string;
  messageType?: string;
}

/** Body of agent typing; `text` is what the agent has typed so far. */
export interface GmsAgentTypingInput extends GmsAgentSelector {
  text?: string;
}

/** Body of an agent URL push. */
export interface GmsAgentPushUrlInput extends GmsAgentSelector {
  url: string;
}

/** Body of an agent file; `content` is a Buffer in process, `contentBase64` over the control API. */
export interface GmsAgentFileInput extends GmsAgentSelector {
  name: string;
  mimeType?: string;
  content?: Buffer;
  contentBase64?: string;
  description?: string;
}

/** Body of a transfer to another queue. */
export interface GmsAgentTransferInput extends GmsAgentSelector {
  queue: string;
  /** Text of the system Notice; a default names the queue. */
  notice?: string;
}

/** Body of a system message: `External` gives a Message from the External party, `Notice` a Notice event. */
export interface GmsSystemMessageInput {
  text: string;
  type?: 'External' | 'Notice';
  nickname?: string;
}

/**
 * What agents and the routing strategy do to a chat: the other side of the conversation, driven by tests, the control
 * API, or a person. Every action appends the transcript events a GMS client would see.
 */
export class GmsAgentOperations {
  constructor(
    private readonly store: GmsChatStore,
    private readonly options: ResolvedGmsSimulatorOptions,
  ) {}

  join(chatId: string, input: GmsAgentJoinInput = {}): GmsParticipant {
    const chat = this.live(chatId);
    const agent = chat.addParticipant('Agent', input.nickname || this.options.agentNickname);
    chat.state = 'active';
    chat.append(agent, 'ParticipantJoined');
    return { ...agent };
  }

  /** Joins the longest-waiting chat of a queue (any queue when not given), as routing would offer it to an agent. */
  acceptNext(queue: string | undefined, input: GmsAgentJoinInput = {}): { chatId: string; agent: GmsParticipant } | undefined {
    const waiting = this.store.list({ state: 'waiting', queue }).sort((a, b) => a.createdAt - b.createdAt)[0];
    return waiting ? { chatId: waiting.chatId, agent: this.join(waiting.chatId, input) } : undefined;
  }

  startTyping(chatId: string, input: GmsAgentTypingInput = {}): void {
    const chat = this.live(chatId);
    chat.append(this.agent(chat, input), 'TypingStarted', { text: input.text || undefined });
  }

  stopTyping(chatId: string, input: GmsAgentTypingInput = {}): void {
    const chat = this.live(chatId);
    chat.append(this.agent(chat, input), 'TypingStopped', { text: input.text || undefined });
  }

  sendMessage(chatId: string, input: GmsAgentMessageInput): number {
    if (!input?.text) throw new GmsControlError(400, 'text is required');
    const chat = this.live(chatId);
    return chat.append(this.agent(chat, input), 'Message', { text: input.text, messageType: input.messageType }).index!;
  }

  pushUrl(chatId: string, input: GmsAgentPushUrlInput): number {
    if (!input?.url) throw new GmsControlError(400, 'url is required');
    const chat = this.live(chatId);
    return chat.append(this.agent(chat, input), 'PushUrl', { text: input.url }).index!;
  }

  sendFile(chatId: string, input: GmsAgentFileInput): GmsStoredFile {
    if (!input?.name) throw new GmsControlError(400, 'name is required');
    const content = input.content ?? (input.contentBase64 !== undefined ? Buffer.from(input.contentBase64, 'base64') : undefined);
    if (!content) throw new GmsControlError(400, 'content (or contentBase64) is required');
    const chat = this.live(chatId);
    return storeFile(chat, this.agent(chat, input), input.name, input.mimeType ?? 'application/octet-stream', content, input.description);
  }

  /** The agent leaves, a system Notice tells the client, and the chat waits in the new queue for the next agent. */
  transfer(chatId: string, input: GmsAgentTransferInput): void {
    if (!input?.queue) throw new GmsControlError(400, 'queue is required');
    const chat = this.live(chatId);
    chat.leave(this.agent(chat, input));
    chat.append(chat.systemParty(this.options.systemNickname), 'Notice', {
      text: input.notice ?? `The chat has been transferred to ${input.queue}. Please wait for the next agent.`,
    });
    chat.queue = input.queue;
    if (chat.presentAgents.length === 0) chat.state = 'waiting';
  }

  /** The agent leaves; with no agent left the chat waits again, or ends when `endChatWhenLastAgentLeaves` is set. */
  leave(chatId: string, input: GmsAgentSelector = {}): void {
    const chat = this.live(chatId);
    chat.leave(this.agent(chat, input));
    if (chat.presentAgents.length > 0) return;
    if (this.options.endChatWhenLastAgentLeaves) this.store.end(chat, 'last-agent-left');
    else chat.state = 'waiting';
  }

  /** The agent closes the chat: every agent leaves (the closing one first) and the session ends. */
  close(chatId: string, input: GmsAgentSelector = {}): void {
    const chat = this.live(chatId);
    const agents = chat.presentAgents;
    if (agents.length > 0) {
      const closing = this.agent(chat, input);
      chat.leave(closing);
      for (const other of agents) if (other !== closing) chat.leave(other);
    }
    this.store.end(chat, 'agent-closed');
  }

  systemMessage(chatId: string, input: GmsSystemMessageInput): number {
    if (!input?.text) throw new GmsControlError(400, 'text is required');
    if (input.type && input.type !== 'External' && input.type !== 'Notice') throw new GmsControlError(400, 'type must be External or Notice');
    const chat = this.live(chatId);
    const party = chat.systemParty(input.nickname || this.options.systemNickname);
    return chat.append(party, input.type === 'Notice' ? 'Notice' : 'Message', { text: input.text }).index!;
  }

  private live(chatId: string): GmsChatSession {
    const chat = this.store.get(chatId);
    if (!chat) throw new GmsControlError(404, `Chat ${chatId} not found`);
    if (chat.isEnded) throw new GmsControlError(409, `Chat ${chatId} has ended`);
    return chat;
  }

  private agent(chat: GmsChatSession, selector: GmsAgentSelector): GmsParticipant {
    const agents = chat.presentAgents;
    const agent = selector.participantId !== undefined ? agents.find((a) => a.participantId === Number(selector.participantId)) : agents[agents.length - 1];
    if (!agent) {
      throw new GmsControlError(409, selector.participantId !== undefined ? `Agent ${selector.participantId} is not in chat ${chat.chatId}` : `No agent is in chat ${chat.chatId}`);
    }
    return agent;
  }
}
