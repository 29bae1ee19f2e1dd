import { SettingsValidator } from '../../../../src/gateways/settings-validator';
import { GENESYS_PUREENGAGE_SETTINGS, pollingIntervalMs, readGmsSettings } from './genesys-pureengage.settings';
import { testSettings } from './genesys-pureengage.spec-helpers';

describe('genesys-pureengage settings', () => {
  it('declares every element of the product documentation with its default', () => {
    const defaults = testSettings();
    expect(defaults.basic).toEqual({
      contextPath: '/genesys/2/chat/',
      apiEndpointOverrides: {},
      basicAuthEnabled: false,
      microsoftAuthEnabled: false,
      microsoftTokenTimeoutSeconds: 15,
    });
    expect(defaults.configuration).toEqual({
      channel: 'genesyspureengage',
      availabilityRefreshSeconds: 900,
      agentsPerNode: 3,
      supportPresentContent: true,
      customerAgentInfo: false,
      transferBackOnAgentClose: false,
      escalationTimeoutSeconds: 600,
    });
    expect(defaults.additional).toEqual({
      clientPollingIntervalSeconds: 1,
      agentOverride: 'agent_name_only',
      apiRetryMaxAttempts: 5,
      apiRetryInitialDelayMs: 4200,
      apiRetryMultiplier: 2,
    });
    expect(Object.keys(GENESYS_PUREENGAGE_SETTINGS.basic)).toEqual([
      'serviceUrl',
      'contextPath',
      'serviceName',
      'apiEndpointOverrides',
      'basicAuthEnabled',
      'basicAuthUsername',
      'basicAuthPassword',
      'microsoftAuthEnabled',
      'microsoftAuthority',
      'microsoftClientId',
      'microsoftScope',
      'microsoftCertificatePem',
      'microsoftPrivateKeyPassword',
      'microsoftTokenTimeoutSeconds',
    ]);
    expect(GENESYS_PUREENGAGE_SETTINGS.configuration.escalationQueue).toBeDefined();
  });

  it('marks secrets and required fields', () => {
    const secrets = Object.entries(GENESYS_PUREENGAGE_SETTINGS.basic).filter(([, f]) => f.secret).map(([name]) => name);
    expect(secrets).toEqual(['basicAuthPassword', 'microsoftCertificatePem', 'microsoftPrivateKeyPassword']);
    expect(GENESYS_PUREENGAGE_SETTINGS.basic.microsoftCertificatePem.multiline).toBe(true);
    const required = Object.entries(GENESYS_PUREENGAGE_SETTINGS.basic).filter(([, f]) => f.required).map(([name]) => name);
    expect(required).toEqual(['serviceUrl', 'serviceName']);
  });

  it('passes the service\'s settings validation, which applies the defaults', () => {
    const validator = new SettingsValidator(GENESYS_PUREENGAGE_SETTINGS);
    const values: Record<string, Record<string, unknown>> = { basic: { name: 'GMS', domain: 'bank', serviceUrl: 'https://gms.example.com', serviceName: 'chat' } };
    expect(validator.validate(values)).toEqual([]);
    expect(values.configuration).toMatchObject({ channel: 'genesyspureengage', supportPresentContent: true });
    expect(validator.validate({ basic: { name: 'GMS', domain: 'bank', serviceUrl: 'not a url' } }).map((p) => p.field)).toEqual(
      expect.arrayContaining(['settings.basic.serviceUrl', 'settings.basic.serviceName']),
    );
  });

  it('builds the service URL from Service URL, Context Path and Service Name', () => {
    const read = (basic: Record<string, unknown>) => readGmsSettings(testSettings({ basic: { serviceUrl: 'https://gms.example.com:8443/', serviceName: 'customer support', ...basic } }));
    expect(read({}).serviceBaseUrl).toBe('https://gms.example.com:8443/genesys/2/chat/customer%20support');
    expect(read({ contextPath: 'proxy/gms/chat' }).serviceBaseUrl).toBe('https://gms.example.com:8443/proxy/gms/chat/customer%20support');
    expect(read({ contextPath: '/' }).serviceBaseUrl).toBe('https://gms.example.com:8443/customer%20support');
  });

  it('applies endpoint overrides for known operations only and refuses unsafe ones', () => {
    const read = (apiEndpointOverrides: unknown) => readGmsSettings(testSettings({ basic: { serviceUrl: 'https://gms', serviceName: 's', apiEndpointOverrides } }));
    expect(read({ startTyping: '/typingStart/', pushUrl: 'x', refresh: ' ' }).paths).toMatchObject({ startTyping: 'typingStart', stopTyping: 'stopTyping', refresh: 'refresh' });
    expect(() => read({ send: '../admin' })).toThrow(/not a plain path/);
    expect(() => read({ fileDownload: 'file/download' })).toThrow(/\{fileId\}/);
  });

  it('checks the auth modes; Microsoft wins over Basic when both are on', () => {
    const read = (basic: Record<string, unknown>) => readGmsSettings(testSettings({ basic: { serviceUrl: 'https://gms', serviceName: 's', ...basic } }));
    expect(read({ basicAuthEnabled: true, basicAuthUsername: 'u', basicAuthPassword: 'p' }).basicAuth).toEqual({ username: 'u', password: 'p' });
    expect(() => read({ basicAuthEnabled: true })).toThrow(/username/);
    expect(() => read({ microsoftAuthEnabled: true, microsoftAuthority: 'https://login.example.com/t' })).toThrow(/Client ID, Scope, Certificate/);
    const both = read({
      basicAuthEnabled: true,
      basicAuthUsername: 'u',
      microsoftAuthEnabled: true,
      microsoftAuthority: 'https://login.example.com/t/',
      microsoftClientId: 'c',
      microsoftScope: 'api://x/.default',
      microsoftCertificatePem: 'PEM',
    });
    expect(both.basicAuth).toBeUndefined();
    expect(both.microsoftAuth).toEqual({ authority: 'https://login.example.com/t', clientId: 'c', scope: 'api://x/.default', certificatePem: 'PEM', tokenTimeoutMs: 15_000 });
  });

  it('turns the Client Polling Interval into milliseconds', () => {
    expect(pollingIntervalMs(testSettings())).toBe(1000);
    expect(pollingIntervalMs(testSettings({ additional: { clientPollingIntervalSeconds: 0.5 } }))).toBe(500);
    expect(pollingIntervalMs(testSettings({ additional: { clientPollingIntervalSeconds: 'fast' } }))).toBe(1000);
  });
});
