import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { DomainError } from '../common/domain-error';
import { AppConfig } from '../config/app-config';

/** Where a file link leads: `GET /v1/files/{escalationId}/{attachmentId}?expires=&signature=`. */
export const FILE_LINK_PATH = 'v1/files';

/**
 * Links to an escalation's file that need no API key, for a channel's user (a browser, a Teams client): absolute,
 * signed (HMAC-SHA256 with a key of their own, derived from SECRETS_KEY, so a link's key opens nothing else), scoped
 * to one file and expiring. The signature covers the escalation, the file and the expiry: changing any refuses it.
 */
@Injectable()
export class FileLinks {
  private readonly key: Buffer;

  constructor(private readonly config: AppConfig) {
    this.key = Buffer.from(hkdfSync('sha256', config.secretsKey, Buffer.alloc(0), 'chat-gateway file links v1', 32));
  }

  /** The link to a file, valid until `expiresAt` (by default FILE_LINK_TTL_SECONDS from now). */
  url(escalationId: string, attachmentId: string, expiresAt = new Date(Date.now() + this.config.FILE_LINK_TTL_SECONDS * 1000)): string {
    const expires = Math.floor(expiresAt.getTime() / 1000);
    return `${this.config.publicBaseUrl}/${FILE_LINK_PATH}/${escalationId}/${attachmentId}?expires=${expires}&signature=${this.sign(escalationId, attachmentId, expires)}`;
  }

  /**
   * Checks a link's parameters: 400 naming a missing or malformed one, 403 for a signature that does not match,
   * 410 for a link past its expiry. The signature is never repeated in an error.
   */
  verify(escalationId: string, attachmentId: string, expires: unknown, signature: unknown, now = Date.now()): void {
    if (typeof expires !== 'string' || !/^\d{1,12}$/.test(expires)) throw DomainError.validation([{ field: 'expires', message: 'must be the link’s expiry (seconds since 1970)' }]);
    if (typeof signature !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(signature)) throw DomainError.validation([{ field: 'signature', message: 'must be the link’s signature' }]);
    const expected = Buffer.from(this.sign(escalationId, attachmentId, Number(expires)));
    if (!timingSafeEqual(expected, Buffer.from(signature))) {
      throw new DomainError('link_invalid', 'This file link is not valid: it was changed or was not made by this service', { field: 'signature' });
    }
    if (Number(expires) * 1000 <= now) throw new DomainError('link_expired', 'This file link has expired; ask for the file again', { field: 'expires' });
  }

  private sign(escalationId: string, attachmentId: string, expires: number): string {
    return createHmac('sha256', this.key).update(`${escalationId}\n${attachmentId}\n${expires}`).digest('base64url');
  }
}
