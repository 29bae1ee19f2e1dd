/** Field names whose values never reach a log line or a response. */
const SECRET_KEY_PATTERN = /(pass(word)?|secret|token|api[-_]?key|authorization|private[-_]?key|secure[-_]?key|signing|credential|cookie|pem)/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key);
}

export const MASK = '********';

/** Deep copy with values under secret-looking keys (and listed extra keys) replaced by a mask. */
export function redact(value: unknown, extraKeys: ReadonlySet<string> = new Set(), depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value)) return `<${value.length} bytes>`;
  if (value instanceof Date) return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, extraKeys, depth + 1));
  if (value instanceof Error) return { name: value.name, message: value.message };
  const out: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
    out[key] = isSecretKey(key) || extraKeys.has(key) ? (inner == null ? inner : MASK) : redact(inner, extraKeys, depth + 1);
  }
  return out;
}
