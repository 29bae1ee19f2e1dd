import { Module } from '@nestjs/common';
import { FakeGateway } from './fake.gateway';

@Module({ providers: [FakeGateway] })
export class FakeGatewayModule {}
