import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { GatewayRegistry } from '../../../../src/gateways/gateway-registry';
import { WhatsAppCloudGatewayModule } from './whatsapp-cloud.module';

describe('WhatsAppCloudGatewayModule', () => {
  it('is discovered by the gateway registry as a channel type with a 24-hour window and write-only secrets', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [DiscoveryModule, WhatsAppCloudGatewayModule], providers: [GatewayRegistry] }).compile();
    await moduleRef.init();
    const registered = moduleRef.get(GatewayRegistry).find('whatsapp-cloud');
    expect(registered?.gateway.definition).toMatchObject({ kind: 'channel', serviceWindowHours: 24 });
    for (const name of ['accessToken', 'appSecret', 'verifyToken']) expect(registered?.validator.isSecret('basic', name)).toBe(true);
    await moduleRef.close();
  });
});
