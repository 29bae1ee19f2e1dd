import { Global, Module } from '@nestjs/common';
import { AppConfig } from './config/app-config';
import { AppLogger } from './common/app-logger';
import { SecretCipher } from './crypto/secret-cipher';
import { RedisConnection } from './queues/redis-connection';

/** Process-wide singletons: the validated config, the logger, the secret cipher and the shared Redis client. */
@Global()
@Module({})
export class CoreModule {
  static register(config: AppConfig, logger: AppLogger) {
    return {
      module: CoreModule,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: AppLogger, useValue: logger },
        { provide: SecretCipher, useValue: new SecretCipher(config.secretsKey) },
        RedisConnection,
      ],
      exports: [AppConfig, AppLogger, SecretCipher, RedisConnection],
    };
  }
}
