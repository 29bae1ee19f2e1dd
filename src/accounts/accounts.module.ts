import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { DomainsModule } from '../domains/domains.module';
import { AccountsController } from './accounts.controller';
import { AccountsService } from './accounts.service';

/** The admin API of service accounts, their roles, keys and domain scopes. */
@Module({ imports: [AuthModule, DomainsModule], controllers: [AccountsController], providers: [AccountsService] })
export class AccountsModule {}
