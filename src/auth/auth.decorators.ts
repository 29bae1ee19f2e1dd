import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { Authority } from './authorities';
import { DomainScope } from './domain-scope';

export const AUTHORITY_METADATA = 'auth:authority';
export const PUBLIC_METADATA = 'auth:public';
export const UNSCOPED_METADATA = 'auth:unscoped';

/** The authority a route requires; the global guard enforces it and refuses routes that declare none. */
export const RequireAuthority = (authority: Authority) =>
  applyDecorators(SetMetadata(AUTHORITY_METADATA, authority), ApiExtension('x-required-authority', authority));

/** A route anyone may call (health, metrics, platform webhooks verified by their own signatures). */
export const Public = () => applyDecorators(SetMetadata(PUBLIC_METADATA, true), ApiExtension('x-public', true));

/**
 * A route that concerns every domain at once (creating a tenant, the metrics' series of every domain): a key scoped
 * to domains is refused with 403, whatever its authorities.
 */
export const RequireUnscoped = () => applyDecorators(SetMetadata(UNSCOPED_METADATA, true), ApiExtension('x-unscoped-only', true));

/** The caller authenticated by the guard. */
export interface Principal {
  accountId: string;
  accountName: string;
  keyId: string;
  authorities: ReadonlySet<string>;
  /** The domains the key sees and acts on (its own narrowing of its account's); null: every domain. */
  domainIds: DomainScope;
}

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest().principal;
});

/** The caller's domain scope, for the services that read and change domains' data. */
export const CurrentScope = createParamDecorator((_: unknown, ctx: ExecutionContext): DomainScope => {
  return (ctx.switchToHttp().getRequest().principal as Principal).domainIds;
});
