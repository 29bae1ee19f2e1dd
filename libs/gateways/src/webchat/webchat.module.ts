import { Module } from '@nestjs/common';
import { WebchatGateway } from './webchat.gateway';

@Module({ providers: [WebchatGateway], exports: [WebchatGateway] })
export class WebchatGatewayModule {}
