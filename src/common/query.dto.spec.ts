import { isoDateTime } from './query.dto';

describe('isoDateTime', () => {
  it('reads dates and date-times with or without an offset', () => {
    expect(isoDateTime('2026-11-22')?.toISOString()).toBe('2026-11-22T00:00:00.000Z');
    expect(isoDateTime('2026-11-22T10:00:00Z')?.toISOString()).toBe('2026-11-22T10:00:00.000Z');
    expect(isoDateTime('2026-11-22T10:00:00.123+01:00')?.toISOString()).toBe('2026-11-22T09:00:00.123Z');
  });

  it('refuses what is not a calendar time, though Date.parse takes some of it', () => {
    for (const value of ['0', '-1', '1.5', '2026', '2026-02-30', '2026-02-30T10:00:00Z', '2026-13-01', '2026-11-22T25:00:00Z', '0000-01-01', '', 'now']) {
      expect([value, isoDateTime(value)]).toEqual([value, undefined]);
    }
  });
});
