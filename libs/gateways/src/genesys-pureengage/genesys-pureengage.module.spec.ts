import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { GatewayRegistry } from '../../../../src/gateways/gateway-registry';
import { GenesysPureEngageGatewayModule } from './genesys-pureengage.module';

describe('GenesysPureEngageGatewayModule', () => {
  it('is discovered by the gateway registry, without any HTTP provider configured', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [DiscoveryModule, GenesysPureEngageGatewayModule], providers: [GatewayRegistry] }).compile();
    await moduleRef.init();
    const registered = moduleRef.get(GatewayRegistry).find('genesys-pureengage');
    expect(registered?.gateway.definition.displayName).toBe('Genesys PureEngage');
    expect(registered?.validator.isSecret('basic', 'basicAuthPassword')).toBe(true);
    await moduleRef.close();
  });
});
