import { Module } from '@nestjs/common';
import { TwilioSmsGateway } from './twilio-sms.gateway';

/** The `twilio-sms` channel type (Twilio Programmable Messaging); the registry discovers its one @ChatGatewayPlugin provider. */
@Module({ providers: [TwilioSmsGateway] })
export class TwilioSmsGatewayModule {}
