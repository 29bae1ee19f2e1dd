import { Module } from '@nestjs/common';
import { WhatsAppCloudGateway } from './whatsapp-cloud.gateway';

/** The `whatsapp-cloud` channel type (Meta's Cloud API); the registry discovers its one @ChatGatewayPlugin provider. */
@Module({ providers: [WhatsAppCloudGateway] })
export class WhatsAppCloudGatewayModule {}
