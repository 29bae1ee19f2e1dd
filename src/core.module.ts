import { Global, Module } from '@nestjs/common';
import { OutboundHttpClient, Resolver } from '@app/gateway-sdk';
import { AppConfig } from './config/app-config';
import { AppLogger } from './common/app-logger';
import { SecretCipher } from './crypto/secret-cipher';
import { RedisConnection } from './queues/redis-connection';

/** What a test may give the service at its boundaries. */
export interface AppOptions {
  /** Resolves host names for every outbound request (the system's resolver by default). */
  resolve?: Resolver;
}

/**
 * Process-wide singletons: the validated config, the logger, the secret cipher, the shared Redis client and the
 * outbound HTTP client (the outbound policy's agents, shared by callbacks and gateways).
 */
@Global()
@Module({})
export class CoreModule {
  static register(config: AppConfig, logger: AppLogger, options: AppOptions = {}) {
    return {
      module: CoreModule,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: AppLogger, useValue: logger },
        { provide: SecretCipher, useValue: new SecretCipher(config.secretsKey) },
        { provide: OutboundHttpClient, useValue: new OutboundHttpClient({ allowPrivateNetworks: config.OUTBOUND_ALLOW_PRIVATE_NETWORKS, resolve: options.resolve }) },
        RedisConnection,
      ],
      exports: [AppConfig, AppLogger, SecretCipher, RedisConnection, OutboundHttpClient],
    };
  }
}
