import { Module } from '@nestjs/common';
import { GenesysPureEngageGateway } from './genesys-pureengage.gateway';

/** The `genesys-pureengage` gateway type (GMS Chat API v2); the registry discovers its one @ChatGatewayPlugin provider. */
@Module({ providers: [GenesysPureEngageGateway] })
export class GenesysPureEngageGatewayModule {}
