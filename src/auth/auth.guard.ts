import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { DomainError } from '../common/domain-error';
import { requestContext } from '../common/request-context';
import { ApiKeysService } from './api-keys.service';
import { AUTHORITY_METADATA, PUBLIC_METADATA, UNSCOPED_METADATA } from './auth.decorators';

/**
 * Global guard: every route is either @Public or declares the authority it requires (fail closed otherwise); a route
 * marked @RequireUnscoped refuses keys scoped to domains. The scope itself is applied by the services.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly keys: ApiKeysService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_METADATA, targets)) return true;
    const request = context.switchToHttp().getRequest();
    const key = extractKey(request.headers);
    if (!key) throw new DomainError('unauthenticated', 'An API key is required (Authorization: Bearer <key> or X-API-Key)');
    const principal = await this.keys.authenticate(key);
    if (!principal) throw new DomainError('unauthenticated', 'The API key is not valid');
    request.principal = principal;
    const ctx = requestContext.get();
    if (ctx) ctx.actor = principal.accountName;
    const authority = this.reflector.getAllAndOverride<string>(AUTHORITY_METADATA, targets);
    if (!authority) throw new DomainError('forbidden', 'This route declares no authority');
    if (!principal.authorities.has(authority)) throw new DomainError('forbidden', `This route requires the authority '${authority}'`);
    if (principal.domainIds !== null && this.reflector.getAllAndOverride<boolean>(UNSCOPED_METADATA, targets)) {
      throw new DomainError('forbidden', 'This route concerns every domain; it needs a key that is not scoped to domains');
    }
    return true;
  }
}

export function extractKey(headers: Record<string, string | string[] | undefined>): string | undefined {
  const authorization = headers['authorization'];
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match) return match[1].trim();
  }
  const apiKey = headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.trim() ? apiKey.trim() : undefined;
}
