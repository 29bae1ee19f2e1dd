import { createHash, randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { SimulatorClock } from '../clock/simulator-clock';
import { TeamsBotRegistration, TeamsMembership, TeamsTranscriptEntry, TeamsTranscriptOp, TeamsUser, TeamsUserInput } from './teams-simulator.types';

/** A personal (1:1) conversation between one bot and one user. */
export interface TeamsConversation {
  id: string;
  appId: string;
  userId: string;
  tenantId: string;
  transcript: TeamsTranscriptEntry[];
  /** Activity ids the Connector knows in this conversation (the bot's and the user's), and whether deleted. */
  activities: Map<string, { deleted: boolean }>;
}

export class TeamsControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Who exists and who is connected to whom: bots, users, their 1:1 conversations with install and block state, the
 * tenants whose admin disabled a bot, and the transcript of what each bot did. Emits `transcript` (conversation id,
 * entry) for waiters and the console.
 */
export class TeamsConversationStore {
  readonly bots = new Map<string, TeamsBotRegistration>();
  readonly users = new Map<string, TeamsUser>();
  readonly events = new EventEmitter();
  private readonly memberships = new Map<string, TeamsMembership>();
  private readonly conversations = new Map<string, TeamsConversation>();
  private readonly disabled = new Set<string>();
  private nextActivityId: number;

  constructor(private readonly clock: SimulatorClock) {
    this.nextActivityId = Math.max(clock.now(), 1_700_000_000_000);
    this.events.setMaxListeners(0);
  }

  registerBot(bot: TeamsBotRegistration): void {
    if (!bot.appId || !bot.tenantId || !bot.messagingEndpoint) throw new TeamsControlError(400, 'appId, tenantId and messagingEndpoint are required');
    this.bots.set(bot.appId, { ...bot });
  }

  bot(appId: string): TeamsBotRegistration {
    const bot = this.bots.get(appId);
    if (!bot) throw new TeamsControlError(404, `Bot ${appId} is not registered`);
    return bot;
  }

  addUser(input: TeamsUserInput, defaultTenant: string | undefined): TeamsUser {
    if (!input.name) throw new TeamsControlError(400, 'name is required');
    const tenantId = input.tenantId ?? defaultTenant;
    if (!tenantId) throw new TeamsControlError(400, 'tenantId is required when no bot is registered');
    const user: TeamsUser = {
      id: input.id ?? `29:1${randomUUID().replace(/-/g, '')}${randomUUID().replace(/-/g, '').slice(0, 12)}`,
      aadObjectId: input.aadObjectId ?? randomUUID(),
      name: input.name,
      tenantId,
    };
    this.users.set(user.id, user);
    return user;
  }

  user(userId: string): TeamsUser {
    const user = this.users.get(userId);
    if (!user) throw new TeamsControlError(404, `User ${userId} does not exist`);
    return user;
  }

  /** The (bot, user) pair's state, created on first use with its stable 1:1 conversation id. */
  membership(appId: string, userId: string, region = 'amer'): TeamsMembership {
    const key = `${appId}|${userId}`;
    let membership = this.memberships.get(key);
    if (!membership) {
      const user = this.user(userId);
      const id = `a:1${createHash('sha256').update(key).digest('base64url').slice(0, 40)}`;
      membership = { appId, userId, conversationId: id, region, installed: false, everInstalled: false };
      this.memberships.set(key, membership);
      this.conversations.set(id, { id, appId, userId, tenantId: user.tenantId, transcript: [], activities: new Map() });
    }
    return membership;
  }

  findMembership(appId: string, userId: string): TeamsMembership | undefined {
    return this.memberships.get(`${appId}|${userId}`);
  }

  membershipOf(conversation: TeamsConversation): TeamsMembership {
    return this.memberships.get(`${conversation.appId}|${conversation.userId}`)!;
  }

  listMemberships(): TeamsMembership[] {
    return [...this.memberships.values()];
  }

  conversation(conversationId: string): TeamsConversation | undefined {
    return this.conversations.get(conversationId);
  }

  setDisabled(appId: string, tenantId: string, on: boolean): void {
    if (on) this.disabled.add(`${appId}|${tenantId}`);
    else this.disabled.delete(`${appId}|${tenantId}`);
  }

  isDisabled(appId: string, tenantId: string): boolean {
    return this.disabled.has(`${appId}|${tenantId}`);
  }

  /** Numeric-string ids, increasing, as Teams uses for messages. */
  newActivityId(): string {
    return String(this.nextActivityId++);
  }

  record(conversation: TeamsConversation, op: TeamsTranscriptOp, activityId: string, activity: Record<string, unknown>): TeamsTranscriptEntry {
    const entry: TeamsTranscriptEntry = { op, activityId, activity, at: this.clock.now() };
    conversation.transcript.push(entry);
    this.events.emit('transcript', conversation.id, entry);
    return entry;
  }
}
