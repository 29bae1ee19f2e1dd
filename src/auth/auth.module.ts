import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AccountsRepository } from './accounts.repository';
import { ApiKeysService } from './api-keys.service';
import { AuthGuard } from './auth.guard';

/** Who calls: API keys authenticated into principals (authorities, domain scope), and the guard every route passes. */
@Module({
  providers: [AccountsRepository, ApiKeysService, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [AccountsRepository, ApiKeysService],
})
export class AuthModule {}
