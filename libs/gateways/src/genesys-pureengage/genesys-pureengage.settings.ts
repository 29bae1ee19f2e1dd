import {
  API_RETRY_FIELDS,
  ESCALATION_BEHAVIOUR_FIELDS,
  GatewayError,
  misconfiguredSetting as misconfigured,
  settingText as text,
  SettingsSchema,
  SettingsValues,
} from '@app/gateway-sdk';
import { GMS_DEFAULT_PATHS, GmsOperation } from './gms.types';

/**
 * Settings of the `genesys-pureengage` type: the Basic, Configuration and Additional tabs of the PureEngage
 * gateway's product documentation, with its defaults. What each one does here is in docs/gateways/genesys-pureengage.md.
 */
export const GENESYS_PUREENGAGE_SETTINGS: SettingsSchema = {
  basic: {
    serviceUrl: {
      type: 'string',
      title: 'Service URL',
      description: 'Base URL of the GMS node (or of the proxy in front of it), e.g. https://gms.example.com:8443.',
      format: 'uri',
      required: true,
    },
    contextPath: { type: 'string', title: 'Context Path', description: 'Path between the Service URL and the service name.', default: '/genesys/2/chat/', maxLength: 300 },
    serviceName: { type: 'string', title: 'Service Name', description: 'Chat service name configured in GMS.', required: true, maxLength: 200 },
    apiEndpointOverrides: {
      type: 'string-map',
      title: 'API Endpoint Overrides',
      description:
        'Last path segment(s) per operation, replacing the GMS default: refresh, send, startTyping, stopTyping, disconnect, ' +
        'fileUpload, fileDownload (must contain {fileId}). Example: {"startTyping": "typingStart"}.',
      default: {},
    },
    basicAuthEnabled: { type: 'boolean', title: 'Basic Auth Enabled', default: false },
    basicAuthUsername: { type: 'string', title: 'Username', description: 'GMS Basic auth user (Basic Auth Enabled).', maxLength: 200 },
    basicAuthPassword: { type: 'string', title: 'Password', description: 'GMS Basic auth password (Basic Auth Enabled).', secret: true, maxLength: 500 },
    microsoftAuthEnabled: {
      type: 'boolean',
      title: 'Microsoft Client Credentials Auth Enabled',
      description: 'Send an Entra ID (MSAL client-credentials, certificate) bearer token, for GMS behind a Microsoft-protected proxy.',
      default: false,
    },
    microsoftAuthority: {
      type: 'string',
      title: 'Authority',
      description: 'Token authority, e.g. https://login.microsoftonline.com/{tenant-id}. Must be https.',
      format: 'uri',
    },
    microsoftClientId: { type: 'string', title: 'Client ID', description: 'Application (client) id registered in Entra ID.', maxLength: 200 },
    microsoftScope: {
      type: 'string',
      title: 'Scope',
      description: 'Scope of the proxy application, e.g. api://gms-proxy/.default ("/.default" is added when missing).',
      maxLength: 500,
    },
    microsoftCertificatePem: {
      type: 'string',
      title: 'Certificate Chain and Private Key (PEM Format)',
      description: 'The certificate chain (leaf first) and the RSA private key, PEM blocks pasted together.',
      secret: true,
      multiline: true,
    },
    microsoftPrivateKeyPassword: {
      type: 'string',
      title: 'Encrypted Private Key Password (if key is encrypted)',
      secret: true,
      maxLength: 500,
    },
    microsoftTokenTimeoutSeconds: {
      type: 'integer',
      title: 'Obtain Access Token Timeout (seconds)',
      description: 'Longest wait for an access token; past it the call fails as transient and is retried.',
      default: 15,
      minimum: 1,
      maximum: 300,
    },
  },
  configuration: {
    channel: { type: 'string', title: 'Channel', description: 'Channel name attached to every chat as userData[channel].', default: 'genesyspureengage', maxLength: 100 },
    availabilityRefreshSeconds: {
      type: 'integer',
      title: 'Availability Refresh Seconds',
      description: 'Kept for parity with the product; GMS Chat API v2 has no availability query, so it has no effect.',
      default: 900,
      minimum: 0,
      maximum: 86_400,
    },
    escalationQueue: {
      type: 'string',
      title: 'Escalation Queue',
      description: 'Queue sent as userData[queue] when the escalation names none.',
      maxLength: 200,
    },
    agentsPerNode: {
      type: 'integer',
      title: 'Agents per Node',
      description: 'Kept for parity with the product; it has no effect in this implementation.',
      default: 3,
      minimum: 1,
      maximum: 1000,
    },
    supportPresentContent: {
      type: 'boolean',
      title: 'Support Present Content',
      description: 'On: user files are uploaded to the chat and cards rendered as text. Off: both are replaced by a short placeholder line.',
      default: true,
    },
    customerAgentInfo: {
      type: 'boolean',
      title: 'Customer Agent Info',
      description: 'On: every agent event (message, typing, URL, file) names the agent. Off: only agent joined/left do.',
      default: false,
    },
    transferBackOnAgentClose: {
      ...ESCALATION_BEHAVIOUR_FIELDS.transferBackOnAgentClose,
      title: 'Transfer Conversation Back to Amelia When the Agent Closes the Conversation',
    },
    escalationTimeoutSeconds: ESCALATION_BEHAVIOUR_FIELDS.escalationTimeoutSeconds,
  },
  additional: {
    clientPollingIntervalSeconds: {
      type: 'number',
      title: 'Client Polling Interval (in Seconds)',
      description: 'Interval between two Refresh calls of one chat.',
      default: 1,
      minimum: 0.1,
      maximum: 300,
    },
    agentOverride: ESCALATION_BEHAVIOUR_FIELDS.agentOverride,
    ...API_RETRY_FIELDS,
  },
};

/** Entra client-credentials settings, present only when the mode is enabled. */
export interface MicrosoftAuthSettings {
  authority: string;
  clientId: string;
  scope: string;
  certificatePem: string;
  privateKeyPassword?: string;
  tokenTimeoutMs: number;
}

/** The settings the gateway works with, checked and with defaults applied. */
export interface GmsSettings {
  /** `{serviceUrl}{contextPath}{serviceName}`: where Request Chat goes; operations go below it. */
  serviceBaseUrl: string;
  serviceName: string;
  paths: Record<GmsOperation, string>;
  basicAuth?: { username: string; password: string };
  microsoftAuth?: MicrosoftAuthSettings;
  channel: string;
  escalationQueue?: string;
  supportPresentContent: boolean;
  customerAgentInfo: boolean;
}

const OPERATIONS = Object.keys(GMS_DEFAULT_PATHS) as GmsOperation[];

/** Reads and checks the settings; a missing or unusable value is the operator's to fix, so it is not retryable. */
export function readGmsSettings(values: SettingsValues): GmsSettings {
  const basic = values.basic ?? {};
  const configuration = values.configuration ?? {};
  const serviceUrl = text(basic.serviceUrl);
  const serviceName = text(basic.serviceName);
  if (!serviceUrl || !/^https?:\/\//i.test(serviceUrl)) throw misconfigured('Service URL must be an http(s) URL');
  if (!serviceName) throw misconfigured('Service Name is not set');
  const contextPath = `/${(text(basic.contextPath) ?? '/genesys/2/chat/').replace(/^\/+|\/+$/g, '')}/`.replace(/^\/\/$/, '/');
  const settings: GmsSettings = {
    serviceBaseUrl: `${serviceUrl.replace(/\/+$/, '')}${contextPath}${encodeURIComponent(serviceName)}`,
    serviceName,
    paths: endpointPaths(basic.apiEndpointOverrides),
    channel: text(configuration.channel) ?? 'genesyspureengage',
    escalationQueue: text(configuration.escalationQueue),
    supportPresentContent: configuration.supportPresentContent !== false,
    customerAgentInfo: configuration.customerAgentInfo === true,
  };
  if (basic.microsoftAuthEnabled === true) {
    settings.microsoftAuth = microsoftAuth(basic);
  } else if (basic.basicAuthEnabled === true) {
    const username = text(basic.basicAuthUsername);
    if (!username) throw new GatewayError('auth_failed', 'Basic Auth Enabled but no username is set');
    settings.basicAuth = { username, password: typeof basic.basicAuthPassword === 'string' ? basic.basicAuthPassword : '' };
  }
  return settings;
}

/** Client Polling Interval in ms; a broken value falls back to the product's default of 1 s rather than hammering GMS. */
export function pollingIntervalMs(values: SettingsValues): number {
  const seconds = Number(values.additional?.clientPollingIntervalSeconds ?? 1);
  return Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : 1000;
}

function endpointPaths(overrides: unknown): Record<GmsOperation, string> {
  const paths = { ...GMS_DEFAULT_PATHS };
  if (!overrides || typeof overrides !== 'object') return paths;
  for (const [operation, value] of Object.entries(overrides as Record<string, unknown>)) {
    // Overrides for operations this gateway never calls (pushUrl, customNotice...) are harmless: ignore them.
    if (!OPERATIONS.includes(operation as GmsOperation)) continue;
    const path = text(value)?.replace(/^\/+|\/+$/g, '');
    if (!path) continue;
    if (/(^|\/)\.\.?(\/|$)|[?#\\]/.test(path)) throw misconfigured(`API Endpoint Override for ${operation} is not a plain path: "${path}"`);
    if (operation === 'fileDownload' && !path.includes('{fileId}')) throw misconfigured('API Endpoint Override for fileDownload must contain {fileId}');
    paths[operation as GmsOperation] = path;
  }
  return paths;
}

function microsoftAuth(basic: Record<string, unknown>): MicrosoftAuthSettings {
  const authority = text(basic.microsoftAuthority);
  const clientId = text(basic.microsoftClientId);
  const scope = text(basic.microsoftScope);
  const certificatePem = text(basic.microsoftCertificatePem);
  const missing = [!authority && 'Authority', !clientId && 'Client ID', !scope && 'Scope', !certificatePem && 'Certificate Chain and Private Key'].filter(Boolean);
  if (missing.length > 0) throw new GatewayError('auth_failed', `Microsoft Client Credentials Auth Enabled but not set: ${missing.join(', ')}`);
  if (!/^https:\/\//i.test(authority!)) throw new GatewayError('auth_failed', 'The Microsoft authority must be an https URL');
  const timeoutSeconds = Number(basic.microsoftTokenTimeoutSeconds ?? 15);
  return {
    authority: authority!.replace(/\/+$/, ''),
    clientId: clientId!,
    // The client-credentials grant only accepts `<resource>/.default`; operators often paste the bare resource.
    scope: scope!.endsWith('/.default') ? scope! : `${scope!.replace(/\/+$/, '')}/.default`,
    certificatePem: certificatePem!,
    privateKeyPassword: text(basic.microsoftPrivateKeyPassword),
    tokenTimeoutMs: (Number.isFinite(timeoutSeconds) && timeoutSeconds > 0 ? timeoutSeconds : 15) * 1000,
  };
}
