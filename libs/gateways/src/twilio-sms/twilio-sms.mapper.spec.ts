import { GatewayError } from '@app/gateway-sdk';
import { keywordOf, outboundText, parseForm, reasonOfErrorCode, segmentsOf, splitText } from './twilio-sms.mapper';
import { readTwilioSmsSettings } from './twilio-sms.settings';
import { withDefaults } from './twilio-sms-test.context';
import { twilioError } from './twilio-error.mapper';
import { signedUrlCandidates } from './twilio-signature.verifier';

const settings = readTwilioSmsSettings(withDefaults({ basic: { accountSid: `AC${'a'.repeat(32)}`, authToken: 't', sender: '+14155550100' } }));
const form = (fields: Record<string, string>) => parseForm(Buffer.from(new URLSearchParams(fields).toString()));

describe('twilio-sms mapper, errors and settings', () => {
  it('recognizes the keyword families by OptOutType or by the whole message', () => {
    expect(keywordOf(form({ Body: 'whatever', OptOutType: 'STOP' }))).toBe('STOP');
    expect(keywordOf(form({ Body: ' Unsubscribe. ' }))).toBe('STOP');
    expect(keywordOf(form({ Body: 'yes' }))).toBe('START');
    expect(keywordOf(form({ Body: 'Info' }))).toBe('HELP');
    expect(keywordOf(form({ Body: 'stop it' }))).toBeUndefined();
  });

  it('maps status ErrorCodes to unreachable reasons', () => {
    expect([21610, 30004, 30003, 30005, 30006, 21211, 21614, 30008, 30007].map((code) => reasonOfErrorCode(code).reason)).toEqual([
      'opted_out',
      'blocked',
      'unknown',
      'invalid_recipient',
      'invalid_recipient',
      'invalid_recipient',
      'invalid_recipient',
      'unknown',
      'unknown',
    ]);
  });

  it('maps REST refusals to gateway errors', () => {
    const of = (status: number, code?: number, retryAfter?: string) => twilioError({ status, body: JSON.stringify({ code, message: 'm', status }), retryAfter });
    expect(of(400, 21610)).toMatchObject({ code: 'unreachable', unreachableReason: 'opted_out' });
    expect(of(429, 20429, '2')).toMatchObject({ code: 'rate_limited', retryAfterMs: 2000 });
    expect(of(400, 21611).code).toBe('rate_limited');
    expect(of(502).code).toBe('transient');
    expect(of(401, 20003).code).toBe('auth_failed');
    expect(of(400, 21408).code).toBe('invalid_request');
    expect(twilioError({ status: 503, body: '<html>' })).toBeInstanceOf(GatewayError);
  });

  it('formats agent messages and splits long texts between words within the segment limit', () => {
    expect(outboundText({ type: 'message', author: 'agent', authorName: 'Ana', text: 'hi' }, settings)).toBe('Ana: hi');
    expect(outboundText({ type: 'message', author: 'bot', authorName: 'Bot', text: 'hi' }, settings)).toBe('hi');
    const parts = splitText('ą'.repeat(50) + ' ' + 'b'.repeat(50), 1);
    expect(parts).toEqual(['ą'.repeat(50), 'b'.repeat(50)]);
    expect(splitText('x'.repeat(2000), 24).map((part) => part.length)).toEqual([1600, 400]);
    expect(segmentsOf('a'.repeat(161))).toBe(2);
  });

  it('tries the URL as given, without its port and with the default port', () => {
    expect(signedUrlCandidates('https://h.example/p?q=1')).toEqual(['https://h.example/p?q=1', 'https://h.example:443/p?q=1']);
    expect(signedUrlCandidates('http://h.example:80/p')).toEqual(['http://h.example:80/p', 'http://h.example/p']);
  });

  it('refuses unusable settings', () => {
    expect(() => readTwilioSmsSettings(withDefaults({ basic: { accountSid: 'x', authToken: 't', sender: '+14155550100' } }))).toThrow(/Account SID/);
    expect(() => readTwilioSmsSettings(withDefaults({ basic: { accountSid: `AC${'a'.repeat(32)}`, sender: '+14155550100' } }))).toThrow(/Auth Token/);
    expect(readTwilioSmsSettings(withDefaults({ basic: { accountSid: `AC${'a'.repeat(32)}`, authToken: 't', sender: `MG${'b'.repeat(32)}` } })).senderIsService).toBe(true);
  });
});
