import { validTimeZone } from '@app/gateway-sdk';

/** A gateway's quiet hours, as its settings give them (QUIET_HOURS_FIELDS). */
export interface QuietHours {
  /** Minutes after local midnight. */
  start: number;
  end: number;
  timeZone: string;
}

const HH_MM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;
const DAY = 24 * 60;

/** The quiet hours of these settings values (any group), or null when there are none or they cannot be read. */
export function quietHoursOf(settings: Record<string, Record<string, unknown>>): QuietHours | null {
  const values = Object.assign({}, ...Object.values(settings)) as Record<string, unknown>;
  const start = HH_MM.exec(String(values.quietHoursStart ?? ''));
  const end = HH_MM.exec(String(values.quietHoursEnd ?? ''));
  if (!start || !end) return null;
  const timeZone = String(values.quietHoursTimeZone || 'UTC');
  if (!validTimeZone(timeZone)) return null;
  const quiet = { start: Number(start[1]) * 60 + Number(start[2]), end: Number(end[1]) * 60 + Number(end[2]), timeZone };
  return quiet.start === quiet.end ? null : quiet;
}


/**
 * When a proactive message stored at `now` may go: null when `now` is outside the quiet hours, else the instant they
 * end (local time `end` in their time zone, found again after a daylight-saving change inside the window).
 */
export function quietUntil(quiet: QuietHours | null, now: Date): Date | null {
  if (!quiet) return null;
  const local = localMinutes(now, quiet.timeZone);
  const inside = quiet.start < quiet.end ? local >= quiet.start && local < quiet.end : local >= quiet.start || local < quiet.end;
  if (!inside) return null;
  // First guess: as many minutes as the wall clock shows to the end; then corrected by what the wall clock says at the
  // guess (a daylight-saving change in the night moves it by the shift).
  let at = now.getTime() - (now.getTime() % 60_000) + ((quiet.end - local + DAY) % DAY) * 60_000;
  for (let i = 0; i < 3; i++) {
    let off = quiet.end - localMinutes(new Date(at), quiet.timeZone);
    if (off > DAY / 2) off -= DAY;
    if (off < -DAY / 2) off += DAY;
    if (off === 0) break;
    at += off * 60_000;
  }
  return new Date(at);
}

function localMinutes(at: Date, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(at);
  const hour = Number(parts.find((p) => p.type === 'hour')?.value ?? 0);
  const minute = Number(parts.find((p) => p.type === 'minute')?.value ?? 0);
  return hour * 60 + minute;
}
