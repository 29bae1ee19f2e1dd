import { API_RETRY_FIELDS, ESCALATION_BEHAVIOUR_FIELDS } from '@app/gateway-sdk';
import { settingsWithDefaults } from './eight-by-eight-test.context';
import { EightByEightGateway } from './eight-by-eight.gateway';
import { EIGHT_BY_EIGHT_SETTINGS, jwkUrl, readEightByEightSettings } from './eight-by-eight.settings';

describe('8x8 settings', () => {
  const minimal = (values: Parameters<typeof settingsWithDefaults>[0] = {}) =>
    settingsWithDefaults({ basic: { apiKey: 'k', ...values.basic }, configuration: { defaultQueueId: '101', ...values.configuration }, additional: values.additional });

  it('applies the documented defaults and names the webhook and channel after the gateway', () => {
    expect(readEightByEightSettings(minimal(), 'gw-1')).toEqual({
      baseUrl: 'https://api.8x8.com',
      apiKey: 'k',
      tenantId: undefined,
      jwkUrlTemplate: '{baseUrl}/chat-gateway/v1/jwk/{kid}/public',
      metricsBaseUrl: 'https://api.8x8.com/analytics/cc/v5/realtime-metrics',
      metricsClientId: 'k',
      metricsClientSecret: undefined,
      channelId: undefined,
      defaultQueueId: '101',
      availabilityRefreshSeconds: 900,
      checkAgentAvailability: false,
      noAgentsBehaviour: 'reject',
      transferBackOnAgentClose: false,
      provisionOnDeploy: true,
      webhookName: 'chat-gateway gw-1',
      channelName: 'chat-gateway gw-1',
      maxWebhookAgeSeconds: 300,
    });
  });

  it('declares the shared escalation-behaviour and API-retry fields, and the credentials as secrets', () => {
    expect(EIGHT_BY_EIGHT_SETTINGS.configuration.transferBackOnAgentClose).toEqual(ESCALATION_BEHAVIOUR_FIELDS.transferBackOnAgentClose);
    expect(EIGHT_BY_EIGHT_SETTINGS.configuration.escalationTimeoutSeconds).toEqual(ESCALATION_BEHAVIOUR_FIELDS.escalationTimeoutSeconds);
    expect(EIGHT_BY_EIGHT_SETTINGS.additional.agentOverride).toEqual(ESCALATION_BEHAVIOUR_FIELDS.agentOverride);
    for (const name of Object.keys(API_RETRY_FIELDS)) expect(EIGHT_BY_EIGHT_SETTINGS.additional[name]).toEqual(API_RETRY_FIELDS[name]);
    const secrets = Object.values(EIGHT_BY_EIGHT_SETTINGS).flatMap((group) => Object.entries(group).filter(([, field]) => field.secret).map(([name]) => name));
    expect(secrets.sort()).toEqual(['apiKey', 'metricsClientSecret']);
  });

  it('refuses settings it cannot work with', () => {
    expect(() => readEightByEightSettings(minimal({ basic: { apiKey: ' ' } }), 'gw')).toThrow(expect.objectContaining({ code: 'auth_failed' }));
    expect(() => readEightByEightSettings(minimal({ configuration: { defaultQueueId: '' } }), 'gw')).toThrow(expect.objectContaining({ code: 'invalid_request', message: 'Default Queue ID is not set' }));
    expect(() => readEightByEightSettings(minimal({ basic: { jwkUrlTemplate: 'https://keys.example.com/current' } }), 'gw')).toThrow(expect.objectContaining({ message: 'The JWK URL must contain {kid}' }));
    expect(() => readEightByEightSettings(minimal({ basic: { jwkUrlTemplate: 'file:///etc/{kid}' } }), 'gw')).toThrow(expect.objectContaining({ message: 'The JWK URL must be an http(s) URL' }));
  });

  it('builds the key URL with the kid percent-encoded', () => {
    const settings = readEightByEightSettings(minimal({ basic: { baseUrl: 'https://api.8x8.com/' } }), 'gw');
    expect(jwkUrl(settings, 'EXaiWfZe20eSjklZ70074w')).toBe('https://api.8x8.com/chat-gateway/v1/jwk/EXaiWfZe20eSjklZ70074w/public');
    expect(jwkUrl(settings, 'a/b?c')).toBe('https://api.8x8.com/chat-gateway/v1/jwk/a%2Fb%3Fc/public');
  });
});

describe('8x8 gateway definition', () => {
  it('is a webhook-driven escalation type with the capabilities 8x8 offers', () => {
    const { definition } = new EightByEightGateway();
    expect(definition).toMatchObject({ type: '8x8-chat-gateway', kind: 'escalation', settings: EIGHT_BY_EIGHT_SETTINGS, inboundReorderWindowMs: 1000 });
    expect([...definition.capabilities].sort()).toEqual(['adaptive-cards', 'agent-availability', 'attachments', 'hand-back', 'queue-transfer', 'typing', 'webhooks']);
  });
});
