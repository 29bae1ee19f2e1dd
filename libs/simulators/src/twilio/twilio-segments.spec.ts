import { smsEncoding, smsSegments } from './twilio-segments';

describe('SMS segments', () => {
  it('counts GSM-7 bodies at 160 septets in one segment and 153 per segment beyond', () => {
    expect(smsEncoding('Hello @ £5')).toBe('GSM-7');
    expect(smsSegments('a'.repeat(160))).toBe(1);
    expect(smsSegments('a'.repeat(161))).toBe(2);
    expect(smsSegments('a'.repeat(306))).toBe(2);
    expect(smsSegments('a'.repeat(307))).toBe(3);
  });

  it('counts extension characters as two septets and does not split them', () => {
    expect(smsSegments('€'.repeat(80))).toBe(1);
    expect(smsSegments('€'.repeat(81))).toBe(2);
    expect(smsSegments(`${'a'.repeat(152)}€${'a'.repeat(152)}`)).toBe(3);
  });

  it('falls back to UCS-2 for any other character: 70 code units, 67 per segment beyond', () => {
    expect(smsEncoding('Olá 😀')).toBe('UCS-2');
    expect(smsSegments('ü'.repeat(160))).toBe(1);
    expect(smsSegments(`ç${'a'.repeat(69)}`)).toBe(1);
    expect(smsSegments(`ą${'a'.repeat(70)}`)).toBe(2);
    expect(smsSegments(`ą${'a'.repeat(134)}`)).toBe(3);
  });
});
