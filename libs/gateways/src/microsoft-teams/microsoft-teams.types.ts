/** The parts of a Bot Framework Activity (Bot Connector v3) that the Teams gateway reads or writes. */

export interface ChannelAccount {
  id: string;
  name?: string;
  aadObjectId?: string;
  role?: string;
}

export interface ConversationAccount {
  id: string;
  conversationType?: string;
  tenantId?: string;
  isGroup?: boolean;
  name?: string;
}

export interface BotAttachment {
  contentType: string;
  contentUrl?: string;
  content?: unknown;
  name?: string;
  thumbnailUrl?: string;
}

export interface BotEntity {
  type: string;
  mentioned?: ChannelAccount;
  text?: string;
  locale?: string;
  [key: string]: unknown;
}

export interface CardAction {
  type: 'imBack' | 'messageBack' | 'openUrl' | 'invoke' | 'signin';
  title: string;
  value?: unknown;
}

export interface BotActivity {
  type: string;
  id?: string;
  name?: string;
  action?: string;
  timestamp?: string;
  serviceUrl?: string;
  channelId?: string;
  from?: ChannelAccount;
  conversation?: ConversationAccount;
  recipient?: ChannelAccount;
  textFormat?: 'markdown' | 'plain' | 'xml';
  text?: string;
  attachments?: BotAttachment[];
  entities?: BotEntity[];
  channelData?: {
    tenant?: { id?: string };
    eventType?: string;
    notification?: { alert?: boolean };
    [key: string]: unknown;
  };
  locale?: string;
  value?: unknown;
  membersAdded?: ChannelAccount[];
  membersRemoved?: ChannelAccount[];
  suggestedActions?: { to?: string[]; actions: CardAction[] };
}

/**
 * What the gateway keeps about a Teams conversation to write to it later (a conversation reference), carried on every
 * user activity; the service keeps the latest with the conversation and hands it back on `send`.
 */
export interface TeamsReference {
  serviceUrl: string;
  tenantId?: string;
  conversationId: string;
  conversationType?: string;
  /** The user's Teams id (`29:...`, unique per bot). */
  userId?: string;
  aadObjectId?: string;
  /** The bot's Teams id (`28:<appId>`). */
  botId?: string;
  botName?: string;
  channelId?: string;
}
