import { Module } from '@nestjs/common';
import { FakeChannelGateway } from './fake-channel.gateway';
import { FakeGateway } from './fake.gateway';

/** The scripted gateway types of tests and demos: the `fake` escalation platform and the `fake-channel` channel. */
@Module({ providers: [FakeGateway, FakeChannelGateway] })
export class FakeGatewayModule {}
