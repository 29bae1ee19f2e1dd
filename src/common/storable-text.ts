import { createHash } from 'node:crypto';
import { UNSTORABLE_TEXT } from './unstorable-text';

/**
 * `value` with every string in it (object keys too) made storable: each character PostgreSQL refuses becomes U+FFFD,
 * the replacement character. A platform text with one of them would otherwise make its conversation's events
 * unstorable, retried for ever behind it. Buffers, dates and other non-plain objects are kept as they are.
 */
export function storable<T>(value: T): T {
  if (typeof value === 'string') return value.replace(UNSTORABLE_TEXT, '\uFFFD') as T;
  if (Array.isArray(value)) return value.map((item) => storable(item)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[storable(key)] = storable(item);
    return out as T;
  }
  return value;
}

/**
 * Longest platform key (a platform event id or transcript index, as a gateway names it) stored as it is. The events
 * table's unique index on (escalation, platform key) refuses a row over 2,704 bytes; 512 UTF-16 code units (a string's
 * length) are at most 1,536 bytes of UTF-8.
 */
export const MAX_STORED_KEY_LENGTH = 512;

/**
 * A platform key as it is stored and looked up: `storable`, and a longer key replaced by its SHA-256 digest, so that
 * the same platform event is still stored once while an overlong id (a platform's bug, or a hostile sender) cannot
 * make its conversation's events unstorable, retried for ever with every later event held behind them.
 */
export function storableKey(key: string): string {
  return storableKeyForms(key)[0];
}

/**
 * The forms a platform key may have been stored under: `storableKey`'s first, then, for a key it digests, the key
 * itself (`storable`): rows stored before keys were digested hold it as it is, up to the index's 2,704 bytes.
 */
export function storableKeyForms(key: string): [string] | [string, string] {
  const text = storable(key);
  return text.length <= MAX_STORED_KEY_LENGTH ? [text] : [`sha256:${createHash('sha256').update(text).digest('hex')}`, text];
}

/**
 * Longest platform conversation id stored, in UTF-8 bytes: it is a key of the escalations' and the pending deliveries'
 * indexes, whose rows PostgreSQL caps at 2,704 bytes (the gateway id and the row id take the rest).
 */
export const MAX_CONVERSATION_ID_BYTES = 2_000;

/**
 * Why a platform conversation id cannot be stored, or undefined when it can. Unlike an event id it is not replaced by a
 * digest: it must match, as it is, the id the platform names its deliveries and calls with.
 */
export function unstorableConversationId(id: string | null | undefined): string | undefined {
  if (id === null || id === undefined) return undefined;
  if (Buffer.byteLength(id) > MAX_CONVERSATION_ID_BYTES) return `the platform's conversation id is longer than ${MAX_CONVERSATION_ID_BYTES} bytes`;
  if (storable(id) !== id) return "the platform's conversation id has a NUL character or an unpaired UTF-16 surrogate";
  return undefined;
}
