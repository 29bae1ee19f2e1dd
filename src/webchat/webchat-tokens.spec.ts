import { signToken, verifyToken } from './webchat-tokens';

const secret = 'a'.repeat(40);
const claims = { kind: 'token' as const, gatewayId: 'g1', conversationId: 'C1', user: { id: 'dl_x' }, expiresAt: 2_000 };

describe('web chat tokens', () => {
  it('verifies a token under its secret until it expires', () => {
    const token = signToken(claims, secret);
    expect(verifyToken(token, 'g1', [secret], 1_999_000)).toEqual({ ok: true, claims });
    expect(verifyToken(token, 'g1', [secret], 2_000_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('refuses a token of another gateway, another secret, or with an altered body', () => {
    const token = signToken(claims, secret);
    expect(verifyToken(token, 'g2', [secret], 0)).toEqual({ ok: false, reason: 'foreign' });
    expect(verifyToken(token, 'g1', ['b'.repeat(40)], 0)).toEqual({ ok: false, reason: 'foreign' });
    const [p, , mac] = token.split('.');
    const forged = `${p}.${Buffer.from(JSON.stringify({ k: 'token', g: 'g1', c: 'C2', e: 2000 })).toString('base64url')}.${mac}`;
    expect(verifyToken(forged, 'g1', [secret], 0)).toEqual({ ok: false, reason: 'foreign' });
    expect(verifyToken('not-a-token', 'g1', [secret], 0)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('keeps tokens of the previous secret valid while it is kept (rotation)', () => {
    const token = signToken(claims, 'old'.repeat(12));
    expect(verifyToken(token, 'g1', [secret, 'old'.repeat(12)], 0).ok).toBe(true);
  });
});
