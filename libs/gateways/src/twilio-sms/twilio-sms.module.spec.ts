import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import { GatewayRegistry } from '../../../../src/gateways/gateway-registry';
import { TwilioSmsGatewayModule } from './twilio-sms.module';

describe('TwilioSmsGatewayModule', () => {
  it('is discovered by the gateway registry as a channel type with write-only secrets', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [DiscoveryModule, TwilioSmsGatewayModule], providers: [GatewayRegistry] }).compile();
    await moduleRef.init();
    const registered = moduleRef.get(GatewayRegistry).find('twilio-sms');
    expect(registered?.gateway.definition).toMatchObject({ kind: 'channel', displayName: 'Twilio SMS', capabilities: ['attachments', 'delivery-receipts', 'proactive', 'webhooks'] });
    expect(registered?.validator.isSecret('basic', 'authToken')).toBe(true);
    expect(registered?.validator.isSecret('basic', 'secondaryAuthToken')).toBe(true);
    await moduleRef.close();
  });
});
