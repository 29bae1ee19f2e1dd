import { generateKeyPairSync } from 'node:crypto';
import { SETTINGS_GROUPS, SettingsValues } from '@app/gateway-sdk';
import { SettingsValidator } from '../../../../src/gateways/settings-validator';
import { MICROSOFT_TEAMS_SETTINGS, readTeamsSettings, serviceUrlProblem, teamsOutboundUrls } from './microsoft-teams.settings';

function withDefaults(overrides: Partial<Record<keyof SettingsValues, Record<string, unknown>>> = {}): SettingsValues {
  const values = {} as SettingsValues;
  for (const group of SETTINGS_GROUPS) {
    values[group] = {};
    for (const [name, field] of Object.entries(MICROSOFT_TEAMS_SETTINGS[group])) if (field.default !== undefined) values[group][name] = field.default;
    Object.assign(values[group], overrides[group] ?? {});
  }
  return values;
}

const APP = { appId: 'app-1', appTenantId: 'tenant-a', appPassword: 'pw' };

describe('microsoft-teams settings', () => {
  it('declares the three groups with their defaults, secrets write-only', () => {
    const defaults = withDefaults();
    expect(defaults.basic).toEqual({ authMethod: 'secret', appType: 'SingleTenant', allowedUserTenants: '' });
    expect(defaults.configuration).toMatchObject({
      openIdMetadataUrl: 'https://login.botframework.com/v1/.well-known/openidconfiguration',
      tokenEndpointTemplate: 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token',
      tokenScope: 'https://api.botframework.com/.default',
      allowedServiceUrlHosts: '*.trafficmanager.net, smba.infra.gcc.teams.microsoft.com, smba.infra.gov.teams.microsoft.us',
      extraTrustedIssuers: '',
      clockSkewSeconds: 300,
      keySetCacheHours: 24,
      keySetRefreshMinIntervalSeconds: 30,
      apiRetryMaxAttempts: 5,
    });
    expect(defaults.additional).toEqual({ requestTimeoutSeconds: 15, alertOnProactive: true, agentMessageFormat: '**{name}**: {text}' });
    const secrets = Object.entries(MICROSOFT_TEAMS_SETTINGS.basic).filter(([, field]) => field.secret).map(([name]) => name);
    expect(secrets).toEqual(['appPassword', 'certificatePrivateKeyPem', 'certificateThumbprint']);
  });

  it('passes the service\'s validation with an app id only, and refuses unknown enum values', () => {
    const validator = new SettingsValidator(MICROSOFT_TEAMS_SETTINGS);
    const values: Record<string, Record<string, unknown>> = { basic: { name: 'Teams', domain: 'd', appId: 'app-1', appTenantId: 't' } };
    expect(validator.validate(values)).toEqual([]);
    expect(values.configuration).toMatchObject({ clockSkewSeconds: 300 });
    const problems = validator.validate({ basic: { name: 'Teams', domain: 'd', appType: 'AnyTenant' } }).map((problem) => problem.field);
    expect(problems).toEqual(expect.arrayContaining(['settings.basic.appId', 'settings.basic.appType']));
  });

  it('takes the token from the app tenant for SingleTenant and from botframework.com for MultiTenant', () => {
    const single = readTeamsSettings(withDefaults({ basic: APP }));
    expect(single.tokenEndpoint).toBe('https://login.microsoftonline.com/tenant-a/oauth2/v2.0/token');
    expect(single.allowedUserTenants).toEqual(new Set(['tenant-a']));
    const multi = readTeamsSettings(withDefaults({ basic: { ...APP, appType: 'MultiTenant' } }));
    expect(multi.tokenEndpoint).toBe('https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token');
    expect(multi.allowedUserTenants).toBeNull();
    const listed = readTeamsSettings(withDefaults({ basic: { ...APP, appType: 'MultiTenant', allowedUserTenants: 't1, t2\nt3' } }));
    expect(listed.allowedUserTenants).toEqual(new Set(['t1', 't2', 't3']));
    expect(() => readTeamsSettings(withDefaults({ basic: { appId: 'a' } }))).toThrow(/App Tenant ID/);
    expect(() => readTeamsSettings(withDefaults({ basic: APP, configuration: { tokenEndpointTemplate: 'https://login.example.com/token' } }))).toThrow(/\{tenant\}/);
  });

  it('names the token endpoint and extra issuers\' metadata as outbound URLs', () => {
    expect(teamsOutboundUrls(withDefaults({ basic: APP, configuration: { extraTrustedIssuers: 'https://login.microsoftonline.com/tenant-a/v2.0 http://issuer.example' } }))).toEqual([
      { setting: 'configuration.tokenEndpointTemplate', url: 'https://login.microsoftonline.com/tenant-a/oauth2/v2.0/token' },
      { setting: 'configuration.extraTrustedIssuers', url: 'https://login.microsoftonline.com/tenant-a/v2.0/.well-known/openid-configuration' },
      { setting: 'configuration.extraTrustedIssuers', problem: 'issuer http://issuer.example is not an https URL' },
    ]);
    expect(teamsOutboundUrls(withDefaults({ configuration: { tokenEndpointTemplate: 'https://x/token' } }))).toEqual([
      { setting: 'configuration.tokenEndpointTemplate', problem: 'Token Endpoint Template must contain {tenant}' },
    ]);
  });

  it('reads the credential only when asked, and checks a certificate\'s thumbprint against the key', () => {
    const noPassword = readTeamsSettings(withDefaults({ basic: { appId: 'a', appTenantId: 't' } }));
    expect(() => noPassword.credential()).toThrow(/App Password/);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    const certificate = (basic: Record<string, unknown>) => readTeamsSettings(withDefaults({ basic: { appId: 'a', appTenantId: 't', authMethod: 'certificate', ...basic } })).credential();
    expect(() => certificate({ certificatePrivateKeyPem: pem })).toThrow(/Thumbprint is not set/);
    expect(() => certificate({ certificatePrivateKeyPem: pem, certificateThumbprint: 'xyz' })).toThrow(/40 hex digits/);
    const thumbprint = 'AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01';
    const credential = certificate({ certificatePrivateKeyPem: pem, certificateThumbprint: thumbprint });
    expect(credential).toMatchObject({ method: 'certificate' });
    expect(credential.method === 'certificate' && credential.thumbprintSha1.toString('hex')).toBe('abcdef0123456789abcdef0123456789abcdef01');
  });

  it('allows a service URL only on the allowed hosts, over https (http only to loopback)', () => {
    const hosts = ['*.trafficmanager.net', 'smba.infra.gcc.teams.microsoft.com', '127.0.0.1'];
    expect(serviceUrlProblem('https://smba.trafficmanager.net/emea/', hosts)).toBeNull();
    expect(serviceUrlProblem('https://smba.infra.gcc.teams.microsoft.com/gcc', hosts)).toBeNull();
    expect(serviceUrlProblem('http://127.0.0.1:4000/amer/', hosts)).toBeNull();
    expect(serviceUrlProblem('https://trafficmanager.net/', hosts)).toMatch(/not on Allowed/);
    expect(serviceUrlProblem('https://evil-trafficmanager.net/', hosts)).toMatch(/not on Allowed/);
    expect(serviceUrlProblem('https://smba.trafficmanager.net.evil.com/', hosts)).toMatch(/not on Allowed/);
    expect(serviceUrlProblem('http://smba.trafficmanager.net/emea/', hosts)).toMatch(/not https/);
    expect(serviceUrlProblem('not a url', hosts)).toMatch(/not a URL/);
  });
});
