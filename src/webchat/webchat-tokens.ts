import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * What a web chat token grants. `conversation`: the Direct Line conversation it is bound to; `user`: the user id
 * the server forces on activities sent with it (`dl_...`), when minted for a user; `kind`: `token` for the Direct
 * Line API, `stream` for one WebSocket handshake (with the watermark the stream replays from).
 */
export interface TokenClaims {
  kind: 'token' | 'stream';
  gatewayId: string;
  conversationId: string;
  user?: { id: string; name?: string };
  /** Stream tokens: the stream sends what follows this watermark. */
  watermark?: number;
  /** Seconds since the epoch. */
  expiresAt: number;
}

export type TokenCheck = { ok: true; claims: TokenClaims } | { ok: false; reason: 'malformed' | 'expired' | 'foreign' };

const PREFIX = 'cgwc1';

/**
 * The signing key of one gateway: derived from its Direct Line secret, so the key is never stored apart from the
 * secret and rotating the secret ends its tokens (unless the previous secret is kept, see `verifyToken`).
 */
function signingKey(secret: string): Buffer {
  return createHmac('sha256', secret).update('chat-gateway webchat token v1').digest();
}

/**
 * Our token format: `cgwc1.<claims>.<mac>`, base64url JSON claims and HMAC-SHA256 of `cgwc1.<claims>` under the
 * gateway's key. Opaque to clients (DirectLineJS only peeks into JWTs; this is not one).
 */
export function signToken(claims: TokenClaims, secret: string): string {
  const body = Buffer.from(
    JSON.stringify({ k: claims.kind, g: claims.gatewayId, c: claims.conversationId, u: claims.user, w: claims.watermark, e: claims.expiresAt }),
  ).toString('base64url');
  const signed = `${PREFIX}.${body}`;
  return `${signed}.${createHmac('sha256', signingKey(secret)).update(signed).digest('base64url')}`;
}

/** The gateway a token claims to be for (unverified: only to find the secrets to verify it with). */
export function looksLikeToken(value: string): boolean {
  return value.startsWith(`${PREFIX}.`);
}

/** Checks a token's signature under any of the gateway's secrets, its gateway and its expiry at `nowMs`. */
export function verifyToken(token: string, gatewayId: string, secrets: string[], nowMs: number): TokenCheck {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX) return { ok: false, reason: 'malformed' };
  const signed = `${parts[0]}.${parts[1]}`;
  const given = Buffer.from(parts[2], 'base64url');
  const signedHere = secrets.some((secret) => {
    const expected = createHmac('sha256', signingKey(secret)).update(signed).digest();
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!signedHere) return { ok: false, reason: 'foreign' };
  let raw: { k?: unknown; g?: unknown; c?: unknown; u?: { id: string; name?: string }; w?: unknown; e?: unknown };
  try {
    raw = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if ((raw.k !== 'token' && raw.k !== 'stream') || typeof raw.c !== 'string' || typeof raw.e !== 'number') return { ok: false, reason: 'malformed' };
  if (raw.g !== gatewayId) return { ok: false, reason: 'foreign' };
  if (raw.e * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return {
    ok: true,
    claims: {
      kind: raw.k,
      gatewayId: raw.g,
      conversationId: raw.c,
      ...(raw.u ? { user: raw.u } : {}),
      ...(typeof raw.w === 'number' ? { watermark: raw.w } : {}),
      expiresAt: raw.e,
    },
  };
}
