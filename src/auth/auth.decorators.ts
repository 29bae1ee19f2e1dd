import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { Authority } from './authorities';

export const AUTHORITY_METADATA = 'auth:authority';
export const PUBLIC_METADATA = 'auth:public';

/** The authority a route requires; the global guard enforces it and refuses routes that declare none. */
export const RequireAuthority = (authority: Authority) =>
  applyDecorators(SetMetadata(AUTHORITY_METADATA, authority), ApiExtension('x-required-authority', authority));

/** A route anyone may call (health, metrics, platform webhooks verified by their own signatures). */
export const Public = () => applyDecorators(SetMetadata(PUBLIC_METADATA, true), ApiExtension('x-public', true));

/** The caller authenticated by the guard. */
export interface Principal {
  accountId: string;
  accountName: string;
  keyId: string;
  authorities: ReadonlySet<string>;
}

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest().principal;
});
