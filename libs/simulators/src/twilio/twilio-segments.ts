// GSM 03.38 default alphabet and its extension table (each extension character takes two septets: ESC + char).
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM_EXTENSION = new Set('^{}\\[~]|€\f');

/** How a body is encoded on the air: GSM-7 when every character is in the GSM alphabet, else UCS-2. */
export function smsEncoding(body: string): 'GSM-7' | 'UCS-2' {
  for (const char of body) if (!GSM_BASIC.has(char) && !GSM_EXTENSION.has(char)) return 'UCS-2';
  return 'GSM-7';
}

/**
 * Segments an SMS body takes (https://www.twilio.com/docs/glossary/what-sms-character-limit): one segment holds 160
 * GSM-7 septets or 70 UCS-2 code units; a concatenated message loses 7 septets / 3 code units per segment to its header
 * (153 / 67), and an extension character is not split across two segments.
 */
export function smsSegments(body: string): number {
  if (body === '') return 1;
  if (smsEncoding(body) === 'UCS-2') {
    const units = body.length;
    return units <= 70 ? 1 : Math.ceil(units / 67);
  }
  const widths = [...body].map((char) => (GSM_EXTENSION.has(char) ? 2 : 1));
  const total = widths.reduce((sum, width) => sum + width, 0);
  if (total <= 160) return 1;
  let segments = 1;
  let used = 0;
  for (const width of widths) {
    if (used + width > 153) {
      segments++;
      used = 0;
    }
    used += width;
  }
  return segments;
}
