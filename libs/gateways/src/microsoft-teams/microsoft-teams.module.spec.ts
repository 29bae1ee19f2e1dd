import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { GatewayRegistry } from '../../../../src/gateways/gateway-registry';
import { MicrosoftTeamsGatewayModule } from './microsoft-teams.module';

describe('MicrosoftTeamsGatewayModule', () => {
  it('is discovered by the gateway registry as a channel type with write-only secrets', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [DiscoveryModule, MicrosoftTeamsGatewayModule], providers: [GatewayRegistry] }).compile();
    await moduleRef.init();
    const registered = moduleRef.get(GatewayRegistry).find('microsoft-teams');
    expect(registered?.gateway.definition).toMatchObject({ kind: 'channel', displayName: 'Microsoft Teams' });
    expect(registered?.validator.isSecret('basic', 'appPassword')).toBe(true);
    expect(registered?.validator.isSecret('basic', 'certificatePrivateKeyPem')).toBe(true);
    await moduleRef.close();
  });
});
