import {
  API_RETRY_FIELDS,
  ESCALATION_BEHAVIOUR_FIELDS,
  GatewayError,
  misconfiguredSetting as misconfigured,
  OutboundUrl,
  settingText as text,
  SettingsSchema,
  SettingsValues,
} from '@app/gateway-sdk';

/** What startEscalation does when the availability check finds nobody. */
export const NO_AGENTS_BEHAVIOURS = ['reject', 'queue'] as const;
export type NoAgentsBehaviour = (typeof NO_AGENTS_BEHAVIOURS)[number];

/**
 * Settings of the `8x8-chat-gateway` type. What each one does is in docs/gateways/8x8-chat-gateway.md; names with
 * `{gatewayId}` are filled in per gateway so that two gateways on one 8x8 account never share a webhook or channel.
 */
export const EIGHT_BY_EIGHT_SETTINGS: SettingsSchema = {
  basic: {
    baseUrl: {
      type: 'string',
      title: 'Base URL',
      description: '8x8 API host; the Chat Gateway lives under /chat-gateway/v1. The API has no region segment.',
      format: 'uri',
      default: 'https://api.8x8.com',
    },
    apiKey: {
      type: 'string',
      title: 'API Key',
      description: 'Key of an 8x8 Admin Console app with the "Chat Gateway" API product, sent as x-api-key.',
      secret: true,
      required: true,
      maxLength: 500,
    },
    tenantId: {
      type: 'string',
      title: 'Tenant ID',
      description:
        'Contact Center tenant. Sent as X-8x8-Tenant (mandatory when the customer has several tenants) and, when set, ' +
        'every webhook must carry it in x-8x8-tenant-id.',
      maxLength: 200,
    },
    jwkUrlTemplate: {
      type: 'string',
      title: 'Signature Key (JWK) URL',
      description: 'Where the public key of a webhook signature is fetched; {baseUrl} and {kid} are filled in.',
      default: '{baseUrl}/chat-gateway/v1/jwk/{kid}/public',
      maxLength: 500,
    },
    metricsBaseUrl: {
      type: 'string',
      title: 'Real-time Metrics Base URL',
      description:
        'Real-time metrics API of your region (…/eu/…, …/au/…, …/ca/… outside the US). Its token endpoint is ' +
        '/oauth/v2/token on the same host. Used only by the agent availability check.',
      format: 'uri',
      default: 'https://api.8x8.com/analytics/cc/v5/realtime-metrics',
    },
    metricsClientId: {
      type: 'string',
      title: 'Real-time Metrics Client ID',
      description: 'OAuth client id (key) of an app with the real-time metrics product; the API Key when empty.',
      maxLength: 500,
    },
    metricsClientSecret: {
      type: 'string',
      title: 'Real-time Metrics Client Secret',
      description: 'OAuth client secret of that app. Required for the agent availability check.',
      secret: true,
      maxLength: 500,
    },
  },
  configuration: {
    channelId: {
      type: 'string',
      title: 'Channel ID',
      description: 'Existing ChatAPI channel to create conversations on. Empty: the gateway provisions one on deploy.',
      maxLength: 200,
    },
    defaultQueueId: {
      type: 'string',
      title: 'Default Queue ID',
      description: 'Queue an escalation goes to when it names none; also the provisioned channel\'s routing queue.',
      required: true,
      maxLength: 200,
    },
    availabilityRefreshSeconds: {
      type: 'integer',
      title: 'Availability Refresh Seconds',
      description: 'How long one queue\'s availability answer is reused before the metrics API is asked again (0: every time).',
      default: 900,
      minimum: 0,
      maximum: 86_400,
    },
    checkAgentAvailability: {
      type: 'boolean',
      title: 'Check Agent Availability Before Escalating',
      description: 'Ask the real-time metrics API whether an agent is available (availableIdle) before creating the conversation.',
      default: false,
    },
    noAgentsBehaviour: {
      type: 'string',
      title: 'When No Agent Is Available',
      description: 'reject: answer no_agents_available and create nothing. queue: queue the conversation anyway (a notice event says so).',
      enum: NO_AGENTS_BEHAVIOURS,
      default: 'reject',
    },
    transferBackOnAgentClose: ESCALATION_BEHAVIOUR_FIELDS.transferBackOnAgentClose,
    escalationTimeoutSeconds: ESCALATION_BEHAVIOUR_FIELDS.escalationTimeoutSeconds,
    provisionOnDeploy: {
      type: 'boolean',
      title: 'Provision Webhook and Channel on Deploy',
      description: 'On: deploy creates (or reuses) the webhook pointing at this service and, without a Channel ID, the channel.',
      default: true,
    },
    webhookName: { type: 'string', title: 'Webhook Name', default: 'chat-gateway {gatewayId}', maxLength: 200 },
    channelName: { type: 'string', title: 'Channel Name', default: 'chat-gateway {gatewayId}', maxLength: 200 },
  },
  additional: {
    agentOverride: ESCALATION_BEHAVIOUR_FIELDS.agentOverride,
    ...API_RETRY_FIELDS,
    maxWebhookAgeSeconds: {
      type: 'integer',
      title: 'Max Webhook Age (seconds)',
      description: 'A webhook whose x-8x8-transmission-time is older than this is refused as stale (replay protection).',
      default: 300,
      minimum: 10,
      maximum: 86_400,
    },
  },
};

/** The settings the gateway works with, checked, with defaults applied and templates resolved. */
export interface EightByEightSettings {
  baseUrl: string;
  apiKey: string;
  tenantId?: string;
  jwkUrlTemplate: string;
  metricsBaseUrl: string;
  metricsClientId: string;
  metricsClientSecret?: string;
  channelId?: string;
  defaultQueueId: string;
  availabilityRefreshSeconds: number;
  checkAgentAvailability: boolean;
  noAgentsBehaviour: NoAgentsBehaviour;
  transferBackOnAgentClose: boolean;
  provisionOnDeploy: boolean;
  webhookName: string;
  channelName: string;
  maxWebhookAgeSeconds: number;
}

/** Reads and checks the settings. Missing credentials are `auth_failed`; other unusable values `invalid_request`. */
export function readEightByEightSettings(values: SettingsValues, gatewayId: string): EightByEightSettings {
  const basic = values.basic ?? {};
  const configuration = values.configuration ?? {};
  const additional = values.additional ?? {};
  const baseUrl = (text(basic.baseUrl) ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  if (!/^https?:\/\//i.test(baseUrl)) throw misconfigured('Base URL must be an http(s) URL');
  const apiKey = text(basic.apiKey);
  if (!apiKey) throw new GatewayError('auth_failed', 'The 8x8 API Key is not set');
  const defaultQueueId = text(configuration.defaultQueueId);
  if (!defaultQueueId) throw misconfigured('Default Queue ID is not set');
  const metricsBaseUrl = (text(basic.metricsBaseUrl) ?? DEFAULT_METRICS_BASE_URL).replace(/\/+$/, '');
  if (!/^https?:\/\//i.test(metricsBaseUrl)) throw misconfigured('Real-time Metrics Base URL must be an http(s) URL');
  const jwkUrlTemplate = text(basic.jwkUrlTemplate) ?? DEFAULT_JWK_URL_TEMPLATE;
  const jwkProblem = jwkTemplateProblem(jwkUrlTemplate, baseUrl);
  if (jwkProblem) throw misconfigured(`The JWK URL ${jwkProblem}`);
  const named = (value: unknown, fallback: string) => (text(value) ?? fallback).replaceAll('{gatewayId}', gatewayId).slice(0, 255);
  return {
    baseUrl,
    apiKey,
    tenantId: text(basic.tenantId),
    jwkUrlTemplate,
    metricsBaseUrl,
    metricsClientId: text(basic.metricsClientId) ?? apiKey,
    metricsClientSecret: text(basic.metricsClientSecret),
    channelId: text(configuration.channelId),
    defaultQueueId,
    availabilityRefreshSeconds: integer(configuration.availabilityRefreshSeconds, 900, 0),
    checkAgentAvailability: configuration.checkAgentAvailability === true,
    noAgentsBehaviour: configuration.noAgentsBehaviour === 'queue' ? 'queue' : 'reject',
    transferBackOnAgentClose: configuration.transferBackOnAgentClose === true,
    provisionOnDeploy: configuration.provisionOnDeploy !== false,
    webhookName: named(configuration.webhookName, 'chat-gateway {gatewayId}'),
    channelName: named(configuration.channelName, 'chat-gateway {gatewayId}'),
    maxWebhookAgeSeconds: integer(additional.maxWebhookAgeSeconds, 300, 1),
  };
}

/** The JWK URL for one key id; the kid is percent-encoded so a hostile header cannot steer the request elsewhere. */
export function jwkUrl(settings: Pick<EightByEightSettings, 'jwkUrlTemplate' | 'baseUrl'>, kid: string): string {
  return settings.jwkUrlTemplate.replaceAll('{baseUrl}', settings.baseUrl).replaceAll('{kid}', encodeURIComponent(kid));
}

const DEFAULT_BASE_URL = 'https://api.8x8.com';
const DEFAULT_METRICS_BASE_URL = 'https://api.8x8.com/analytics/cc/v5/realtime-metrics';
const DEFAULT_JWK_URL_TEMPLATE = '{baseUrl}/chat-gateway/v1/jwk/{kid}/public';
/** Stands for a webhook's key id where the JWK URL is checked before any webhook arrived. */
export const SAMPLE_KID = 'sample-kid';

/**
 * Why a JWK URL template cannot be used, or undefined. The kid comes from the webhook, before its signature is
 * checked: in the host it would let anyone who can post a webhook choose where the service connects.
 */
function jwkTemplateProblem(template: string, baseUrl: string): string | undefined {
  if (!template.includes('{kid}')) return 'must contain {kid}';
  const origin = (kid: string) => {
    try {
      return new URL(jwkUrl({ jwkUrlTemplate: template, baseUrl }, kid)).origin;
    } catch {
      return undefined;
    }
  };
  const sample = origin(SAMPLE_KID);
  if (!sample || !/^https?:/i.test(sample)) return 'must be an http(s) URL';
  if (origin('another-kid') !== sample) return 'must keep {kid} after the host';
  return undefined;
}

/**
 * What the settings make the gateway request beyond the URL settings themselves (`ChatGateway.outboundUrls`): the JWK
 * URL, unless it is on the Base URL's origin, which is checked as that setting. The metrics token endpoint is on the
 * metrics URL's origin.
 */
export function eightByEightOutboundUrls(values: SettingsValues): OutboundUrl[] {
  const basic = values.basic ?? {};
  const baseUrl = (text(basic.baseUrl) ?? DEFAULT_BASE_URL).replace(/\/+$/, '');
  const template = text(basic.jwkUrlTemplate) ?? DEFAULT_JWK_URL_TEMPLATE;
  const problem = jwkTemplateProblem(template, baseUrl);
  if (problem) return [{ setting: 'basic.jwkUrlTemplate', problem }];
  const url = jwkUrl({ jwkUrlTemplate: template, baseUrl }, SAMPLE_KID);
  return sameOrigin(url, baseUrl) ? [] : [{ setting: 'basic.jwkUrlTemplate', url }];
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

/** The real-time metrics API's token endpoint: /oauth/v2/token on the metrics host. */
export function metricsTokenUrl(metricsBaseUrl: string): string {
  return new URL('/oauth/v2/token', metricsBaseUrl).toString();
}

function integer(value: unknown, fallback: number, minimum: number): number {
  const number = Number(value ?? fallback);
  return Number.isInteger(number) && number >= minimum ? number : fallback;
}
