import { Module } from '@nestjs/common';
import { EightByEightGateway } from './eight-by-eight.gateway';

/** The `8x8-chat-gateway` gateway type; the registry discovers its provider through `@ChatGatewayPlugin`. */
@Module({ providers: [EightByEightGateway], exports: [EightByEightGateway] })
export class EightByEightGatewayModule {}
