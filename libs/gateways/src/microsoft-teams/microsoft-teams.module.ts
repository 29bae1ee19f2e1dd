import { Module } from '@nestjs/common';
import { MicrosoftTeamsGateway } from './microsoft-teams.gateway';

/** The `microsoft-teams` channel type (Bot Connector v3); the registry discovers its one @ChatGatewayPlugin provider. */
@Module({ providers: [MicrosoftTeamsGateway] })
export class MicrosoftTeamsGatewayModule {}
