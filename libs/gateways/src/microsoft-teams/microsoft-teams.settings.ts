import { createHash, createPrivateKey, KeyObject, X509Certificate } from 'node:crypto';
import {
  API_RETRY_FIELDS,
  QUIET_HOURS_FIELDS,
  GatewayError,
  misconfiguredSetting as misconfigured,
  OutboundUrl,
  settingText as text,
  SettingsSchema,
  SettingsValues,
} from '@app/gateway-sdk';

export const DEFAULT_OPENID_METADATA_URL = 'https://login.botframework.com/v1/.well-known/openidconfiguration';
export const DEFAULT_TOKEN_ENDPOINT_TEMPLATE = 'https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token';
export const DEFAULT_TOKEN_SCOPE = 'https://api.botframework.com/.default';
export const DEFAULT_SERVICE_URL_HOSTS = '*.trafficmanager.net, smba.infra.gcc.teams.microsoft.com, smba.infra.gov.teams.microsoft.us';
export const DEFAULT_AGENT_MESSAGE_FORMAT = '**{name}**: {text}';
/** The tenant that issues tokens for (legacy) multi-tenant bots. */
export const MULTI_TENANT_TOKEN_TENANT = 'botframework.com';

export const AUTH_METHODS = ['secret', 'certificate'] as const;
export const APP_TYPES = ['SingleTenant', 'MultiTenant'] as const;

const LIST_HINT = 'separated by commas, spaces or new lines';

/**
 * Settings of the `microsoft-teams` type, in the three groups of the product's gateway documents. What each one does
 * is in docs/gateways/microsoft-teams.md.
 */
export const MICROSOFT_TEAMS_SETTINGS: SettingsSchema = {
  basic: {
    appId: {
      type: 'string',
      title: 'Microsoft App ID',
      description: 'Application (client) id of the bot\'s Entra ID app registration; inbound tokens must name it as audience.',
      required: true,
      maxLength: 100,
    },
    authMethod: {
      type: 'string',
      title: 'Authentication Method',
      description: 'How the bot proves itself to Entra ID for its Bot Connector token: a client secret or a certificate.',
      enum: AUTH_METHODS,
      default: 'secret',
    },
    appPassword: {
      type: 'string',
      title: 'Microsoft App Password',
      description: 'Client secret of the app registration (Authentication Method: secret).',
      secret: true,
      maxLength: 1000,
    },
    certificatePrivateKeyPem: {
      type: 'string',
      title: 'Certificate Private Key (PEM Format)',
      description:
        'The certificate\'s RSA private key, PEM (Authentication Method: certificate). The certificate itself may be pasted after it; its thumbprint is then derived.',
      secret: true,
      multiline: true,
    },
    certificateThumbprint: {
      type: 'string',
      title: 'Certificate Thumbprint',
      description: 'SHA-1 thumbprint of the certificate uploaded to the app registration, hex (colons or spaces allowed).',
      secret: true,
      maxLength: 100,
    },
    appTenantId: {
      type: 'string',
      title: 'App Tenant ID',
      description: 'Entra ID tenant of the app registration. Required for SingleTenant; for SingleTenant its tokens come from this tenant.',
      maxLength: 100,
    },
    appType: {
      type: 'string',
      title: 'App Type',
      description: 'SingleTenant: the bot token comes from the App Tenant ID. MultiTenant (legacy registrations): from botframework.com.',
      enum: APP_TYPES,
      default: 'SingleTenant',
    },
    allowedUserTenants: {
      type: 'string',
      title: 'Allowed User Tenants',
      description: `Tenant ids whose users may talk to the bot, ${LIST_HINT}. Empty: only the App Tenant ID for SingleTenant, any tenant for MultiTenant. Activities from other tenants are dropped.`,
      default: '',
      maxLength: 8000,
    },
  },
  configuration: {
    ...QUIET_HOURS_FIELDS,
    openIdMetadataUrl: {
      type: 'string',
      title: 'OpenID Metadata URL',
      description: 'Bot Connector OpenID metadata; its jwks_uri holds the keys that sign inbound requests.',
      format: 'uri',
      default: DEFAULT_OPENID_METADATA_URL,
    },
    tokenEndpointTemplate: {
      type: 'string',
      title: 'Token Endpoint Template',
      description: 'Entra ID token endpoint; {tenant} becomes the App Tenant ID (SingleTenant) or botframework.com (MultiTenant).',
      default: DEFAULT_TOKEN_ENDPOINT_TEMPLATE,
      maxLength: 2000,
    },
    tokenScope: { type: 'string', title: 'Token Scope', description: 'Scope of the bot\'s Bot Connector token.', default: DEFAULT_TOKEN_SCOPE, maxLength: 500 },
    allowedServiceUrlHosts: {
      type: 'string',
      title: 'Allowed Service URL Hosts',
      description: `Hosts the bot token may be sent to, ${LIST_HINT}; "*.example.net" matches any subdomain. A service URL elsewhere is refused, inbound and outbound.`,
      default: DEFAULT_SERVICE_URL_HOSTS,
      maxLength: 4000,
    },
    extraTrustedIssuers: {
      type: 'string',
      title: 'Extra Trusted Issuers',
      description:
        `Token issuers accepted besides https://api.botframework.com, ${LIST_HINT} (e.g. https://login.microsoftonline.com/{tenant-id}/v2.0). ` +
        'Their keys come from {issuer}/.well-known/openid-configuration. Empty: Bot Connector only.',
      default: '',
      maxLength: 4000,
    },
    clockSkewSeconds: {
      type: 'integer',
      title: 'Clock Skew (seconds)',
      description: 'Tolerance on the nbf and exp of inbound tokens.',
      default: 300,
      minimum: 0,
      maximum: 900,
    },
    keySetCacheHours: {
      type: 'integer',
      title: 'Signing Key Cache (hours)',
      description: 'How long fetched signing keys are used before they are fetched again.',
      default: 24,
      minimum: 1,
      maximum: 168,
    },
    keySetRefreshMinIntervalSeconds: {
      type: 'integer',
      title: 'Unknown Key Refresh Interval (seconds)',
      description:
        'A request signed with a key id not in the cache makes the keys be fetched again, at most once per this interval: a rotation is picked up at once, ' +
        'while forged key ids cannot make the service fetch keys on every request.',
      default: 30,
      minimum: 1,
      maximum: 3600,
    },
    ...API_RETRY_FIELDS,
  },
  additional: {
    requestTimeoutSeconds: {
      type: 'integer',
      title: 'Request Timeout (seconds)',
      description: 'Longest wait for one call to Entra ID, the key service or the Bot Connector.',
      default: 15,
      minimum: 1,
      maximum: 120,
    },
    alertOnProactive: {
      type: 'boolean',
      title: 'Alert on Proactive Messages',
      description: 'On: messages the service sends first raise a Teams activity-feed notification (channelData.notification.alert).',
      default: true,
    },
    agentMessageFormat: {
      type: 'string',
      title: 'Agent Message Format',
      description:
        'How an agent\'s message is shown, since Teams always shows the bot\'s name: {name} is the agent\'s name, {text} the message (Markdown). Empty: the text alone.',
      default: DEFAULT_AGENT_MESSAGE_FORMAT,
      maxLength: 200,
    },
  },
};

/** How the bot gets its own token. */
export type BotCredential =
  | { method: 'secret'; secret: string }
  | { method: 'certificate'; privateKey: KeyObject; thumbprintSha1: Buffer };

/** The settings the gateway works with, checked, with defaults applied. */
export interface TeamsSettings {
  appId: string;
  appType: (typeof APP_TYPES)[number];
  appTenantId?: string;
  credential: () => BotCredential;
  /** Tenants whose activities are taken; null: any. */
  allowedUserTenants: Set<string> | null;
  openIdMetadataUrl: string;
  /** The token endpoint for the bot's token tenant. */
  tokenEndpoint: string;
  tokenTenant: string;
  tokenScope: string;
  serviceUrlHosts: string[];
  extraTrustedIssuers: string[];
  clockSkewSeconds: number;
  keySetCacheMs: number;
  keySetRefreshMinIntervalMs: number;
  requestTimeoutMs: number;
  alertOnProactive: boolean;
  agentMessageFormat: string;
}

/** Reads and checks the settings; an unusable value is the operator's to fix, so it is never retried. */
export function readTeamsSettings(values: SettingsValues): TeamsSettings {
  const basic = values.basic ?? {};
  const configuration = values.configuration ?? {};
  const additional = values.additional ?? {};
  const appId = text(basic.appId);
  if (!appId) throw misconfigured('Microsoft App ID is not set');
  const appType = basic.appType === 'MultiTenant' ? 'MultiTenant' : 'SingleTenant';
  const appTenantId = text(basic.appTenantId);
  if (appType === 'SingleTenant' && !appTenantId) throw misconfigured('App Tenant ID is required for a SingleTenant app');
  const tokenTenant = appType === 'SingleTenant' ? appTenantId! : MULTI_TENANT_TOKEN_TENANT;
  const template = text(configuration.tokenEndpointTemplate) ?? DEFAULT_TOKEN_ENDPOINT_TEMPLATE;
  const listed = list(basic.allowedUserTenants);
  let credential: BotCredential | undefined;
  return {
    appId,
    appType,
    appTenantId,
    // Read when a token is needed: inbound validation works (and fails clearly) without the bot's credential.
    credential: () => (credential ??= readCredential(basic)),
    allowedUserTenants: listed.length > 0 ? new Set(listed) : appType === 'SingleTenant' ? new Set([appTenantId!]) : null,
    openIdMetadataUrl: text(configuration.openIdMetadataUrl) ?? DEFAULT_OPENID_METADATA_URL,
    tokenEndpoint: tokenEndpoint(template, tokenTenant),
    tokenTenant,
    tokenScope: text(configuration.tokenScope) ?? DEFAULT_TOKEN_SCOPE,
    serviceUrlHosts: list(configuration.allowedServiceUrlHosts ?? DEFAULT_SERVICE_URL_HOSTS).map((host) => host.toLowerCase()),
    extraTrustedIssuers: list(configuration.extraTrustedIssuers),
    clockSkewSeconds: integer(configuration.clockSkewSeconds, 300, 0),
    keySetCacheMs: integer(configuration.keySetCacheHours, 24, 1) * 3600_000,
    keySetRefreshMinIntervalMs: integer(configuration.keySetRefreshMinIntervalSeconds, 30, 1) * 1000,
    requestTimeoutMs: integer(additional.requestTimeoutSeconds, 15, 1) * 1000,
    alertOnProactive: additional.alertOnProactive !== false,
    agentMessageFormat: typeof additional.agentMessageFormat === 'string' ? additional.agentMessageFormat : DEFAULT_AGENT_MESSAGE_FORMAT,
  };
}

/** The URLs the settings make the gateway request beyond the `format: 'uri'` ones: the token endpoint, and each extra issuer's metadata. */
export function teamsOutboundUrls(values: SettingsValues): OutboundUrl[] {
  const basic = values.basic ?? {};
  const configuration = values.configuration ?? {};
  const template = text(configuration.tokenEndpointTemplate) ?? DEFAULT_TOKEN_ENDPOINT_TEMPLATE;
  const urls: OutboundUrl[] = [];
  const tenant = basic.appType === 'MultiTenant' ? MULTI_TENANT_TOKEN_TENANT : (text(basic.appTenantId) ?? 'tenant');
  try {
    urls.push({ setting: 'configuration.tokenEndpointTemplate', url: tokenEndpoint(template, tenant) });
  } catch (error) {
    urls.push({ setting: 'configuration.tokenEndpointTemplate', problem: (error as Error).message });
  }
  for (const issuer of list(configuration.extraTrustedIssuers)) {
    try {
      urls.push({ setting: 'configuration.extraTrustedIssuers', url: issuerMetadataUrl(issuer) });
    } catch (error) {
      urls.push({ setting: 'configuration.extraTrustedIssuers', problem: (error as Error).message });
    }
  }
  return urls;
}

/** OpenID discovery for an extra trusted issuer (OpenID Connect Discovery 1.0 §4). */
export function issuerMetadataUrl(issuer: string): string {
  const url = new URL(`${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`);
  if (url.protocol !== 'https:') throw misconfigured(`issuer ${issuer} is not an https URL`);
  return url.toString();
}

function tokenEndpoint(template: string, tenant: string): string {
  if (!template.includes('{tenant}')) throw misconfigured('Token Endpoint Template must contain {tenant}');
  let url: URL;
  try {
    url = new URL(template.replace('{tenant}', encodeURIComponent(tenant)));
  } catch {
    throw misconfigured(`Token Endpoint Template is not a URL: ${template}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw misconfigured('Token Endpoint Template must be an http(s) URL');
  return url.toString();
}

function readCredential(basic: Record<string, unknown>): BotCredential {
  if (basic.authMethod !== 'certificate') {
    const secret = typeof basic.appPassword === 'string' && basic.appPassword !== '' ? basic.appPassword : undefined;
    if (!secret) throw new GatewayError('auth_failed', 'Microsoft App Password is not set');
    return { method: 'secret', secret };
  }
  const pem = text(basic.certificatePrivateKeyPem);
  if (!pem) throw new GatewayError('auth_failed', 'Certificate Private Key is not set');
  const keyBlock = pem.match(/-----BEGIN ((?:RSA )?PRIVATE KEY)-----[\s\S]+?-----END \1-----/);
  if (!keyBlock) throw new GatewayError('auth_failed', 'Certificate Private Key holds no unencrypted PEM private key');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: keyBlock[0], format: 'pem' });
  } catch (error) {
    throw new GatewayError('auth_failed', 'Certificate Private Key cannot be read', { cause: error });
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw new GatewayError('auth_failed', 'Certificate Private Key is not an RSA key');
  const certificate = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0];
  let thumbprint: Buffer | undefined;
  if (certificate) {
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(certificate);
    } catch (error) {
      throw new GatewayError('auth_failed', 'The certificate pasted with the private key cannot be read', { cause: error });
    }
    if (!leaf.checkPrivateKey(privateKey)) throw new GatewayError('auth_failed', 'The private key does not belong to the certificate pasted with it');
    thumbprint = createHash('sha1').update(leaf.raw).digest();
  }
  const configured = text(basic.certificateThumbprint)?.replace(/[\s:]/g, '');
  if (configured !== undefined) {
    if (!/^[0-9a-fA-F]{40}$/.test(configured)) throw new GatewayError('auth_failed', 'Certificate Thumbprint is not a hex SHA-1 thumbprint (40 hex digits)');
    const given = Buffer.from(configured, 'hex');
    if (thumbprint && !thumbprint.equals(given)) throw new GatewayError('auth_failed', 'Certificate Thumbprint does not match the certificate pasted with the private key');
    thumbprint = given;
  }
  if (!thumbprint) throw new GatewayError('auth_failed', 'Certificate Thumbprint is not set (nor a certificate pasted with the private key)');
  return { method: 'certificate', privateKey, thumbprintSha1: thumbprint };
}

/** A list setting: items separated by commas or white space, blanks dropped. */
export function list(value: unknown): string[] {
  if (typeof value !== 'string') return [];
  return value
    .split(/[\s,]+/)
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function integer(value: unknown, fallback: number, minimum: number): number {
  const number = Number(value ?? fallback);
  return Number.isInteger(number) && number >= minimum ? number : fallback;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * Why the bot token must not go to this service URL, or null: its host must be on the allow-list ("*.x" matches any
 * subdomain of x), and it must be https (plain http only to a loopback host, as a local simulator is). A forged
 * serviceUrl would otherwise receive the bot's token.
 */
export function serviceUrlProblem(serviceUrl: string, allowedHosts: string[]): string | null {
  let url: URL;
  try {
    url = new URL(serviceUrl);
  } catch {
    return `service URL ${JSON.stringify(serviceUrl.slice(0, 200))} is not a URL`;
  }
  const host = url.hostname.toLowerCase();
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOSTS.has(host))) return `service URL ${url.origin} is not https`;
  if (url.username || url.password) return 'service URL carries credentials';
  const allowed = allowedHosts.some((pattern) => (pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1 : host === pattern));
  return allowed ? null : `service URL host ${host} is not on Allowed Service URL Hosts`;
}

/** The service URL with exactly one trailing slash, so `v3/...` appends to its path. */
export function normalizedServiceUrl(serviceUrl: string): string {
  return `${serviceUrl.replace(/\/+$/, '')}/`;
}
