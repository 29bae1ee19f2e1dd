/** NUL and UTF-16 surrogates without their pair: characters PostgreSQL refuses in `text` and `jsonb`. */
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `value` with every string in it (object keys too) made storable: each character PostgreSQL refuses becomes U+FFFD,
 * the replacement character. A platform text with one of them would otherwise make its conversation's events
 * unstorable, retried for ever behind it. Buffers, dates and other non-plain objects are kept as they are.
 */
export function storable<T>(value: T): T {
  if (typeof value === 'string') return value.replace(UNSTORABLE, '\uFFFD') as T;
  if (Array.isArray(value)) return value.map((item) => storable(item)) as T;
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[storable(key)] = storable(item);
    return out as T;
  }
  return value;
}
