import { createSigningKey, sharedSigningKey, TeamsSigningKey, toJwk } from './teams-jwt';

export const BOT_FRAMEWORK_ISSUER = 'https://api.botframework.com';

/**
 * The Bot Framework key service: the keys the Connector signs activities with, published as a JWK set. Besides the
 * current key (endorsed for `msteams`) it publishes a key endorsed for another channel only, and holds a key it never
 * publishes, so that a bot's validation can be shown to refuse both.
 */
export class TeamsKeyService {
  private current: TeamsSigningKey = createSigningKey(['msteams']);
  private retired: TeamsSigningKey[] = [];
  /** Published, but endorsed for `webchat` only: a Teams activity signed with it must be refused. */
  readonly unendorsed: TeamsSigningKey = sharedSigningKey('unendorsed', ['webchat']);
  /** Never published: a token signed with it has a `kid` the bot cannot find. */
  readonly unpublished: TeamsSigningKey = sharedSigningKey('unpublished', ['msteams']);

  get signing(): TeamsSigningKey {
    return this.current;
  }

  /** A new key with a new `kid` signs from now on; the old one stays published when `keepOld` (the usual overlap). */
  rotate(keepOld = true): string {
    if (keepOld) this.retired.unshift(this.current);
    this.current = createSigningKey(['msteams']);
    return this.current.kid;
  }

  jwks(): { keys: Record<string, unknown>[] } {
    return { keys: [this.current, ...this.retired, this.unendorsed].map(toJwk) };
  }

  openIdMetadata(baseUrl: string): Record<string, unknown> {
    return {
      issuer: BOT_FRAMEWORK_ISSUER,
      authorization_endpoint: `${baseUrl}/v1/.well-known/authorize`,
      jwks_uri: `${baseUrl}/v1/.well-known/keys`,
      id_token_signing_alg_values_supported: ['RS256'],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
    };
  }
}
