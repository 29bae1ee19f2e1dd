import type { ChannelUser, UserActivity } from '@app/gateway-sdk';
import type { OutboundStatus } from '../database/entities';

/**
 * The events a channel conversation's bot receives, named like the agent events (`agent_message`, snake case): the
 * delivery, replay and stream carry them as they carry those. `message_status` reports an outbound message's status
 * after `accepted` (which the POST's answer already said).
 */
export const CHANNEL_EVENT_TYPES = ['conversation_started', 'user_message', 'user_typing', 'user_joined', 'user_left', 'user_reachability', 'message_status'] as const;
export type ChannelEventType = (typeof CHANNEL_EVENT_TYPES)[number];

/** One event to store in a channel conversation, keyed so that storing it again stores nothing. */
export interface ChannelEventInput {
  type: ChannelEventType;
  key: string;
  occurredAt: Date;
  data: Record<string, unknown>;
}

const userOf = (user: ChannelUser) => ({ id: user.id, ...(user.name ? { name: user.name } : {}), ...(user.locale ? { locale: user.locale } : {}) });

/** The event a user activity becomes (receipts are not: they update an outbound message, see ChannelIngestService). */
export function eventOfActivity(activity: UserActivity): ChannelEventInput | null {
  const base = { key: `act:${activity.platformActivityId}`, occurredAt: activity.occurredAt };
  const user = userOf(activity.user);
  switch (activity.type) {
    case 'message': {
      const files = (activity.attachments ?? []).filter((a) => a.content === undefined);
      const cards = (activity.attachments ?? []).filter((a) => a.content !== undefined);
      return {
        ...base,
        type: 'user_message',
        data: {
          user,
          ...(activity.text !== undefined ? { text: activity.text } : {}),
          ...(files.length ? { attachments: files.map((f) => ({ contentType: f.contentType, name: f.name, size: f.size, url: f.url, fileId: f.fileId })) } : {}),
          ...(cards.length ? { cards: cards.map((c) => ({ contentType: c.contentType, content: c.content })) } : {}),
          ...(activity.value !== undefined ? { value: activity.value } : {}),
        },
      };
    }
    case 'typing':
      return { ...base, type: 'user_typing', data: { user } };
    case 'conversation_started':
      return { ...base, type: 'conversation_started', data: { user } };
    case 'user_joined':
      return { ...base, type: 'user_joined', data: { user } };
    case 'user_left':
      return { ...base, type: 'user_left', data: { user } };
    case 'reachability': {
      const reachable = activity.reachability?.reachable ?? true;
      return { ...base, type: 'user_reachability', data: { user, reachable, ...(reachable ? {} : { reason: activity.reachability?.reason ?? 'unknown' }) } };
    }
    case 'receipt':
      return null;
  }
}

/** An outbound message's status change, keyed per message and status (each is reported once). */
export function statusEvent(message: { id: string; seq: number; author: string; activity?: Record<string, unknown> }, status: Exclude<OutboundStatus, 'accepted'>, extra: { reason?: string | null; detail?: string | null } = {}): ChannelEventInput {
  return {
    type: 'message_status',
    key: `svc:status:${message.id}:${status}`,
    occurredAt: new Date(),
    data: {
      messageId: message.id,
      messageSeq: message.seq,
      author: message.author,
      // A notification's or pushed conversation's outcome: the caller of the proactive API waits for these.
      ...(message.activity?.proactive ? { proactive: true } : {}),
      status,
      ...(extra.reason ? { reason: extra.reason } : {}),
      ...(extra.detail ? { detail: extra.detail } : {}),
    },
  };
}

const ORDER: Record<OutboundStatus, number> = { accepted: 0, sent: 1, delivered: 2, read: 3, failed: 4 };

/** Whether a status moves a message on: statuses only go forward, and `failed` is final. */
export function advances(from: OutboundStatus, to: OutboundStatus): boolean {
  if (from === 'failed') return false;
  if (to === 'failed') return from !== 'read';
  return ORDER[to] > ORDER[from];
}

/**
 * Whether a send's failure says the user cannot be written to first any more (kept on the conversation until they
 * write again or the channel says they are back): not a closed service window (a template still goes), not a reason
 * the platform did not give.
 */
export function marksUnreachable(reason: string | null | undefined): reason is 'blocked' | 'not_installed' | 'opted_out' | 'invalid_recipient' {
  return reason === 'blocked' || reason === 'not_installed' || reason === 'opted_out' || reason === 'invalid_recipient';
}
