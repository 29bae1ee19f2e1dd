import { Injectable } from '@nestjs/common';
import {
  ChatGateway,
  ChatGatewayPlugin,
  ConnectionCheck,
  EscalationContext,
  EscalationRequest,
  GatewayContext,
  GatewayDefinition,
  GatewayError,
  OutboundHttp,
  OutboundMessage,
  PlatformEvent,
  PlatformSession,
  PlatformUpdate,
  SettingsValues,
  StartResult,
  toGatewayError,
} from '@app/gateway-sdk';
import { EntraTokenClient } from './entra-token.client';
import { GENESYS_PUREENGAGE_SETTINGS, GmsSettings, pollingIntervalMs, readGmsSettings } from './genesys-pureengage.settings';
import { GmsClient } from './gms.client';
import { GmsTransport, outboundTransport } from './gms-http.client';
import {
  attachmentLine,
  endedEvent,
  GmsMappedItem,
  historyMessages,
  mapTranscript,
  messageText,
  nextCursor,
  refusedEndedEvent,
  requestChatFields,
} from './gms.mapper';
import { GmsSession } from './gms.types';

/**
 * Genesys PureEngage through the GMS Chat API v2, REST polling variant, as the PureEngage gateway's product
 * documentation uses it; the public protocol sources are listed in docs/gateways/genesys-pureengage.md.
 * The contract only: HTTP is in GmsClient, translation in gms.mapper. See docs/gateways/genesys-pureengage.md.
 */
@ChatGatewayPlugin()
@Injectable()
export class GenesysPureEngageGateway implements ChatGateway {
  readonly definition: GatewayDefinition = {
    type: 'genesys-pureengage',
    kind: 'escalation',
    displayName: 'Genesys PureEngage',
    description: 'Hands conversations to Genesys PureEngage agents through the Genesys Mobile Services (GMS) Chat API v2, polling for agent events.',
    // GMS Chat API v2 has no operation for a customer-initiated queue transfer or an availability query, hence no such
    // capabilities.
    capabilities: ['typing', 'attachments', 'push-url', 'polling'],
    settings: GENESYS_PUREENGAGE_SETTINGS,
  };
  private readonly entra = new EntraTokenClient();

  async checkConnection(ctx: GatewayContext): Promise<ConnectionCheck> {
    let settings: GmsSettings;
    try {
      settings = settingsOf(ctx);
    } catch (error) {
      return { ok: false, detail: `settings: ${(error as Error).message}` };
    }
    return new GmsClient(settings, ctx, transportOf(ctx.http), this.entra).probe();
  }

  pollIntervalMs(settings: SettingsValues): number {
    return pollingIntervalMs(settings);
  }

  async startEscalation(ctx: EscalationContext, request: EscalationRequest): Promise<StartResult> {
    const settings = settingsOf(ctx);
    const client = new GmsClient(settings, ctx, transportOf(ctx.http), this.entra);
    const created = await client.requestChat(requestChatFields(request, settings, ctx.logger));
    const transcript = mapTranscript(created.messages, this.mapOptions(ctx, settings));
    const events = await this.resolveFiles(ctx, client, transcript.items);
    // The cursor stays at Request Chat's nextPosition: our history lines come back in the first Refresh (and are
    // skipped as ours), and anything routing wrote meanwhile is not jumped over.
    const cursor = String(nextCursor(created, transcript, 1));
    await this.deliverHistory(ctx, client, request, settings);
    if (created.chatEnded) events.push(endedEvent(transcript));
    return { session: toPlatformSession(client.session!), cursor, events };
  }

  async sendMessage(ctx: EscalationContext, message: OutboundMessage): Promise<PlatformUpdate> {
    const settings = settingsOf(ctx);
    const client = this.sessionClient(ctx, settings);
    const text = messageText(message, settings.supportPresentContent);
    if (text) await client.call('send', [['message', text], ['transcriptPosition', '0']]);
    if (settings.supportPresentContent) {
      for (const ref of message.attachments ?? []) {
        let content: Buffer;
        try {
          content = await ctx.readAttachment(ref);
        } catch (error) {
          throw toGatewayError(error);
        }
        try {
          await client.upload({ name: ref.name, mimeType: ref.mimeType, content, userData: { 'file-description': ref.name, messageId: message.id } });
        } catch (error) {
          // GMS refused this file (type, size, count limits): tell the agent in words instead of losing it.
          if (!(error instanceof GatewayError) || error.code !== 'invalid_request') throw error;
          ctx.logger.warn('GMS refused a file upload; sending a text line instead', { name: ref.name, reason: error.message });
          await client.call('send', [['message', attachmentLine(ref, 'refused by Genesys')], ['transcriptPosition', '0']]);
        }
      }
    }
    return this.update(ctx, client);
  }

  async sendTyping(ctx: EscalationContext, typing: boolean): Promise<PlatformUpdate> {
    const client = this.sessionClient(ctx, settingsOf(ctx));
    await client.call(typing ? 'startTyping' : 'stopTyping', [['transcriptPosition', '0']]);
    return this.update(ctx, client);
  }

  async endEscalation(ctx: EscalationContext): Promise<PlatformUpdate> {
    if (!ctx.session) return { events: [] };
    const client = this.sessionClient(ctx, settingsOf(ctx));
    try {
      await client.call('disconnect', [['transcriptPosition', '0']]);
    } catch (error) {
      // Already over (agent closed, flex-disconnect, unknown chat): the user's goal, being out, is met.
      if (!(error instanceof GatewayError) || error.code !== 'session_gone') throw error;
      ctx.logger.info('GMS chat was already over when the user left', { reason: error.message });
    }
    return this.update(ctx, client);
  }

  async poll(ctx: EscalationContext, cursor: string | null): Promise<PlatformUpdate> {
    const settings = settingsOf(ctx);
    const client = this.sessionClient(ctx, settings);
    const position = readCursor(ctx, cursor);
    const envelope = await client.call('refresh', [['transcriptPosition', String(position)]], { endedIsAnswer: true });
    if (envelope.statusCode !== 0) {
      // GMS refuses us because the chat is over for us: flex-disconnect removed the customer, or the chat is gone.
      return { ...this.update(ctx, client), cursor: String(position), events: [refusedEndedEvent(envelope)] };
    }
    const transcript = mapTranscript(envelope.messages, this.mapOptions(ctx, settings));
    const events = await this.resolveFiles(ctx, client, transcript.items);
    if (envelope.chatEnded === true) events.push(endedEvent(transcript));
    return { ...this.update(ctx, client), cursor: String(nextCursor(envelope, transcript, position)), events };
  }

  /** Sends the bot history as the chat's first client messages; a failure here must not cost the created chat. */
  private async deliverHistory(ctx: EscalationContext, client: GmsClient, request: EscalationRequest, settings: GmsSettings): Promise<void> {
    const texts = historyMessages(request.history, settings.supportPresentContent);
    let sent = 0;
    try {
      for (const text of texts) {
        await client.call('send', [['message', text], ['transcriptPosition', '0']]);
        sent++;
      }
    } catch (error) {
      // Failing the start would make the service request a second chat while this one waits in the queue.
      ctx.logger.warn('could not deliver the whole bot history to GMS; the chat goes on without it', {
        sent,
        total: texts.length,
        reason: (error as Error).message,
      });
    }
  }

  /** Downloads agent files in transcript order; a file GMS refuses becomes a notice so the user learns of it. */
  private async resolveFiles(ctx: EscalationContext, client: GmsClient, items: GmsMappedItem[]): Promise<PlatformEvent[]> {
    const events: PlatformEvent[] = [];
    for (const item of items) {
      if (item.kind === 'event') {
        events.push(item.event);
        continue;
      }
      const { file } = item;
      const result = await client.download(file.fileId);
      if ('content' in result) {
        const attachment = { name: file.name, mimeType: result.mimeType, size: result.content.length, content: result.content };
        events.push({ type: 'attachment', key: file.key, occurredAt: file.occurredAt, data: { ...(file.agent ? { agent: file.agent } : {}), attachment } });
      } else {
        const reason = 'tooLarge' in result ? 'it is too large' : result.refused;
        ctx.logger.warn('agent file not relayed', { index: file.index, reason });
        events.push({ type: 'notice', key: file.key, occurredAt: file.occurredAt, data: { text: `The agent sent the file "${file.name}", which could not be relayed.` } });
      }
    }
    return events;
  }

  private sessionClient(ctx: EscalationContext, settings: GmsSettings): GmsClient {
    return new GmsClient(settings, ctx, transportOf(ctx.http), this.entra, readSession(ctx.session));
  }

  private mapOptions(ctx: EscalationContext, settings: GmsSettings) {
    return { customerAgentInfo: settings.customerAgentInfo, logger: ctx.logger };
  }

  /** Empty events, plus the session when GMS rotated any of its identifiers. */
  private update(ctx: EscalationContext, client: GmsClient): PlatformUpdate {
    const now = client.session;
    const before = ctx.session;
    const changed = now && (['chatId', 'userId', 'secureKey', 'alias'] as const).some((field) => before?.[field] !== now[field]);
    return changed ? { session: toPlatformSession(now), events: [] } : { events: [] };
  }
}

// The service hands every call the same outbound HTTP: one transport over it.
const transports = new WeakMap<OutboundHttp, GmsTransport>();

function transportOf(http: OutboundHttp): GmsTransport {
  let transport = transports.get(http);
  if (!transport) {
    transport = outboundTransport(http);
    transports.set(http, transport);
  }
  return transport;
}

// The service hands the same settings object to every poll of a gateway until they change: read them once per object.
const readSettings = new WeakMap<SettingsValues, GmsSettings>();

function settingsOf(ctx: GatewayContext): GmsSettings {
  let settings = readSettings.get(ctx.settings);
  if (!settings) {
    settings = readGmsSettings(ctx.settings);
    readSettings.set(ctx.settings, settings);
  }
  return settings;
}

function readSession(session: PlatformSession | null): GmsSession {
  const value = (field: string) => (typeof session?.[field] === 'string' ? (session[field] as string) : '');
  if (!value('chatId') || !value('secureKey')) throw new GatewayError('session_gone', 'No GMS chat session is stored for this escalation');
  return { chatId: value('chatId'), userId: value('userId'), secureKey: value('secureKey'), alias: value('alias') };
}

function toPlatformSession(session: GmsSession): PlatformSession {
  return { chatId: session.chatId, userId: session.userId, secureKey: session.secureKey, alias: session.alias };
}

function readCursor(ctx: EscalationContext, cursor: string | null): number {
  if (cursor === null || cursor === '') return 1;
  const position = Number(cursor);
  if (Number.isInteger(position) && position >= 1) return position;
  // Reading from the start is safe: the service dedupes by transcript index.
  ctx.logger.warn('unreadable GMS cursor; reading the transcript from the start', { cursor: cursor.slice(0, 32) });
  return 1;
}
