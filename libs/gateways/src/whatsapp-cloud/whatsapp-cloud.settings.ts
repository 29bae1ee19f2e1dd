import { API_RETRY_FIELDS, QUIET_HOURS_FIELDS, misconfiguredSetting as misconfigured, OutboundUrl, settingText as text, SettingsSchema, SettingsValues } from '@app/gateway-sdk';

export const DEFAULT_GRAPH_BASE_URL = 'https://graph.facebook.com';
export const DEFAULT_GRAPH_VERSION = 'v23.0';
/** WhatsApp shows the business's name on every message; an agent's name goes in the text, in WhatsApp's bold. */
export const DEFAULT_AGENT_MESSAGE_FORMAT = '*{name}*: {text}';

/**
 * Settings of the `whatsapp-cloud` type, in the three groups of the product's gateway documents. What each one does is
 * in docs/gateways/whatsapp-cloud.md.
 */
export const WHATSAPP_CLOUD_SETTINGS: SettingsSchema = {
  basic: {
    phoneNumberId: {
      type: 'string',
      title: 'Phone Number ID',
      description: 'Id of the business phone number in the Cloud API (WhatsApp Manager > API Setup); messages are sent from it and only its webhooks are taken.',
      required: true,
      maxLength: 40,
    },
    businessAccountId: {
      type: 'string',
      title: 'WhatsApp Business Account ID',
      description: 'The WABA that owns the number; its message templates are read from it.',
      required: true,
      maxLength: 40,
    },
    accessToken: {
      type: 'string',
      title: 'Access Token',
      description: 'A system user\'s access token with whatsapp_business_messaging and whatsapp_business_management.',
      required: true,
      secret: true,
      maxLength: 1000,
    },
    appSecret: {
      type: 'string',
      title: 'App Secret',
      description: 'The Meta app\'s secret: webhooks are signed with it (X-Hub-Signature-256).',
      required: true,
      secret: true,
      maxLength: 200,
    },
    verifyToken: {
      type: 'string',
      title: 'Verify Token',
      description: 'The token entered with the callback URL in the Meta app\'s webhook settings; Meta sends it back when it verifies the URL.',
      required: true,
      secret: true,
      maxLength: 200,
    },
  },
  configuration: {
    ...QUIET_HOURS_FIELDS,
    graphBaseUrl: { type: 'string', title: 'Graph API Base URL', description: 'Origin of the Graph API.', format: 'uri', default: DEFAULT_GRAPH_BASE_URL },
    graphVersion: { type: 'string', title: 'Graph API Version', description: 'Pinned Graph API version, e.g. v23.0.', default: DEFAULT_GRAPH_VERSION, maxLength: 10 },
    markInboundAsRead: {
      type: 'boolean',
      title: 'Mark Inbound Messages as Read',
      description: 'On: when the bot answers (or types), the user\'s latest message is marked read (blue ticks).',
      default: true,
    },
    ...API_RETRY_FIELDS,
  },
  additional: {
    requestTimeoutSeconds: { type: 'integer', title: 'Request Timeout (seconds)', description: 'Longest wait for one Graph API call.', default: 15, minimum: 1, maximum: 120 },
    agentMessageFormat: {
      type: 'string',
      title: 'Agent Message Format',
      description: 'How an agent\'s message is shown, since WhatsApp always shows the business\'s name: {name} is the agent\'s name, {text} the message. Empty: the text alone.',
      default: DEFAULT_AGENT_MESSAGE_FORMAT,
      maxLength: 200,
    },
  },
};

/** The settings the gateway works with, checked, with defaults applied. */
export interface WhatsAppSettings {
  phoneNumberId: string;
  businessAccountId: string;
  accessToken: string;
  appSecret: string;
  verifyToken: string;
  /** `{base}/{version}`, no trailing slash. */
  graphUrl: string;
  markInboundAsRead: boolean;
  requestTimeoutMs: number;
  agentMessageFormat: string;
}

export function readWhatsAppSettings(values: SettingsValues): WhatsAppSettings {
  const basic = values.basic ?? {};
  const configuration = values.configuration ?? {};
  const additional = values.additional ?? {};
  const required = (name: string, title: string) => {
    const value = text(basic[name]);
    if (!value) throw misconfigured(`${title} is not set`);
    return value;
  };
  const phoneNumberId = required('phoneNumberId', 'Phone Number ID');
  const businessAccountId = required('businessAccountId', 'WhatsApp Business Account ID');
  if (!/^\d+$/.test(phoneNumberId)) throw misconfigured('Phone Number ID must be digits');
  if (!/^\d+$/.test(businessAccountId)) throw misconfigured('WhatsApp Business Account ID must be digits');
  const timeout = Number(additional.requestTimeoutSeconds ?? 15);
  return {
    phoneNumberId,
    businessAccountId,
    accessToken: required('accessToken', 'Access Token'),
    appSecret: required('appSecret', 'App Secret'),
    verifyToken: required('verifyToken', 'Verify Token'),
    graphUrl: graphUrl(configuration),
    markInboundAsRead: configuration.markInboundAsRead !== false,
    requestTimeoutMs: (Number.isInteger(timeout) && timeout >= 1 ? timeout : 15) * 1000,
    agentMessageFormat: typeof additional.agentMessageFormat === 'string' ? additional.agentMessageFormat : DEFAULT_AGENT_MESSAGE_FORMAT,
  };
}

function graphUrl(configuration: Record<string, unknown>): string {
  const base = (text(configuration.graphBaseUrl) ?? DEFAULT_GRAPH_BASE_URL).replace(/\/+$/, '');
  const version = text(configuration.graphVersion) ?? DEFAULT_GRAPH_VERSION;
  if (!/^v\d+\.\d+$/.test(version)) throw misconfigured(`Graph API Version must look like v23.0, not ${version}`);
  let url: URL;
  try {
    url = new URL(`${base}/${version}`);
  } catch {
    throw misconfigured(`Graph API Base URL is not a URL: ${base}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw misconfigured('Graph API Base URL must be an http(s) URL');
  return url.toString().replace(/\/+$/, '');
}

/** The Graph endpoints these settings make the gateway call: messages of the number and the WABA's templates. */
export function whatsAppOutboundUrls(values: SettingsValues): OutboundUrl[] {
  const basic = values.basic ?? {};
  try {
    const graph = graphUrl(values.configuration ?? {});
    return [
      { setting: 'basic.phoneNumberId', url: `${graph}/${encodeURIComponent(text(basic.phoneNumberId) ?? 'phone-number-id')}/messages` },
      { setting: 'basic.businessAccountId', url: `${graph}/${encodeURIComponent(text(basic.businessAccountId) ?? 'waba-id')}/message_templates` },
    ];
  } catch (error) {
    return [{ setting: 'configuration.graphVersion', problem: (error as Error).message }];
  }
}
