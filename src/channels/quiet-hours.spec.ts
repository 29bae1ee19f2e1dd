import { quietHoursOf, quietUntil } from './quiet-hours';

const madrid = quietHoursOf({ configuration: { quietHoursStart: '21:00', quietHoursEnd: '08:00', quietHoursTimeZone: 'Europe/Madrid' } });

describe('quiet hours', () => {
  it('are none unless both times are set and the time zone is known', () => {
    expect(quietHoursOf({ configuration: { quietHoursStart: '', quietHoursEnd: '08:00' } })).toBeNull();
    expect(quietHoursOf({ configuration: { quietHoursStart: '21:00', quietHoursEnd: '08:00', quietHoursTimeZone: 'Mars/Olympus' } })).toBeNull();
    expect(madrid).toEqual({ start: 21 * 60, end: 8 * 60, timeZone: 'Europe/Madrid' });
  });

  it('let a message go at once outside the window, and hold one inside it until the local end', () => {
    // 12:00 local (CET, UTC+1).
    expect(quietUntil(madrid, new Date('2026-01-15T11:00:00Z'))).toBeNull();
    // 23:10 local: until 08:00 local the next day, 07:00 UTC.
    expect(quietUntil(madrid, new Date('2026-01-15T22:10:00Z'))?.toISOString()).toBe('2026-01-16T07:00:00.000Z');
    // 06:30 local, after midnight, still inside.
    expect(quietUntil(madrid, new Date('2026-01-16T05:30:00Z'))?.toISOString()).toBe('2026-01-16T07:00:00.000Z');
    // The end itself is outside.
    expect(quietUntil(madrid, new Date('2026-01-16T07:00:00Z'))).toBeNull();
  });

  it('end at the local time across the daylight-saving changes of the night', () => {
    // Spring: 2026-03-29 02:00 CET -> 03:00 CEST. 22:30 local the evening before; 08:00 CEST is 06:00 UTC.
    expect(quietUntil(madrid, new Date('2026-03-28T21:30:00Z'))?.toISOString()).toBe('2026-03-29T06:00:00.000Z');
    // Autumn: 2026-10-25 03:00 CEST -> 02:00 CET. 22:30 local the evening before; 08:00 CET is 07:00 UTC.
    expect(quietUntil(madrid, new Date('2026-10-24T20:30:00Z'))?.toISOString()).toBe('2026-10-25T07:00:00.000Z');
  });

  it('work within one day too', () => {
    const lunch = quietHoursOf({ additional: { quietHoursStart: '13:00', quietHoursEnd: '14:30', quietHoursTimeZone: 'UTC' } });
    expect(quietUntil(lunch, new Date('2026-05-01T13:45:00Z'))?.toISOString()).toBe('2026-05-01T14:30:00.000Z');
    expect(quietUntil(lunch, new Date('2026-05-01T12:59:00Z'))).toBeNull();
  });
});
