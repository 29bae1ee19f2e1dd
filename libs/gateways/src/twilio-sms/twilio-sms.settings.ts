import { API_RETRY_FIELDS, QUIET_HOURS_FIELDS, misconfiguredSetting as misconfigured, OutboundUrl, settingText as text, SettingsSchema, SettingsValues } from '@app/gateway-sdk';

export const DEFAULT_API_BASE_URL = 'https://api.twilio.com';
export const DEFAULT_AGENT_MESSAGE_FORMAT = '{name}: {text}';
export const API_VERSION = '2010-04-01';
/** Twilio refuses bodies over 1600 characters (https://www.twilio.com/docs/messaging/api/message-resource). */
export const MAX_BODY_CHARS = 1600;

const E164 = /^\+[1-9]\d{6,14}$/;
const SERVICE_SID = /^MG[0-9a-fA-F]{32}$/;

/** Settings of the `twilio-sms` type, in the three groups. What each one does is in docs/gateways/twilio-sms.md. */
export const TWILIO_SMS_SETTINGS: SettingsSchema = {
  basic: {
    accountSid: {
      type: 'string',
      title: 'Account SID',
      description: 'The Twilio account (AC followed by 32 hex digits): Basic-auth user of the REST API.',
      required: true,
      maxLength: 34,
    },
    authToken: {
      type: 'string',
      title: 'Auth Token',
      description: 'The account\'s Auth Token: Basic-auth password of the REST API and the key of the X-Twilio-Signature on webhooks.',
      secret: true,
      required: true,
      maxLength: 100,
    },
    secondaryAuthToken: {
      type: 'string',
      title: 'Secondary Auth Token',
      description: 'During an Auth Token rotation: webhooks signed with this token are accepted too. Empty: none.',
      secret: true,
      maxLength: 100,
    },
    sender: {
      type: 'string',
      title: 'Sender',
      description: 'The Twilio phone number messages come from (E.164, +14155550100), or a Messaging Service SID (MG...).',
      required: true,
      maxLength: 34,
    },
  },
  configuration: {
    ...QUIET_HOURS_FIELDS,
    apiBaseUrl: {
      type: 'string',
      title: 'API Base URL',
      description: 'Where Twilio\'s REST API is; /2010-04-01/Accounts/... is appended.',
      format: 'uri',
      default: DEFAULT_API_BASE_URL,
    },
    webhookUrl: {
      type: 'string',
      title: 'Public Webhook URL',
      description:
        'The URL exactly as configured in Twilio for the number (or Messaging Service), with its query string: what Twilio signs. Empty: the URL the request arrived at, as the service sees it publicly; status callbacks then go to the service\'s webhook URL.',
      default: '',
      maxLength: 2000,
    },
    statusCallbacks: {
      type: 'boolean',
      title: 'Delivery Status Callbacks',
      description: 'On: each message asks Twilio for status callbacks to the webhook URL, which become delivery receipts and failures.',
      default: true,
    },
    ...API_RETRY_FIELDS,
  },
  additional: {
    requestTimeoutSeconds: {
      type: 'integer',
      title: 'Request Timeout (seconds)',
      description: 'Longest wait for one call to the Twilio REST API.',
      default: 15,
      minimum: 1,
      maximum: 120,
    },
    agentMessageFormat: {
      type: 'string',
      title: 'Agent Message Format',
      description: 'How an agent\'s message is written, since an SMS always comes from the business number: {name} is the agent\'s name, {text} the message. Empty: the text alone.',
      default: DEFAULT_AGENT_MESSAGE_FORMAT,
      maxLength: 200,
    },
    maxSegments: {
      type: 'integer',
      title: 'Max Segments per Message',
      description: 'A longer text is sent as several messages, split between words, each at most this many segments (and 1600 characters).',
      default: 10,
      minimum: 1,
      maximum: 24,
    },
  },
};

/** The settings the gateway works with, checked, with defaults applied. */
export interface TwilioSmsSettings {
  accountSid: string;
  authTokens: string[];
  sender: string;
  senderIsService: boolean;
  apiBaseUrl: string;
  webhookUrl?: string;
  statusCallbacks: boolean;
  requestTimeoutMs: number;
  agentMessageFormat: string;
  maxSegments: number;
}

export function readTwilioSmsSettings(values: SettingsValues): TwilioSmsSettings {
  const basic = values.basic ?? {};
  const configuration = values.configuration ?? {};
  const additional = values.additional ?? {};
  const accountSid = text(basic.accountSid);
  if (!accountSid || !/^AC[0-9a-fA-F]{32}$/.test(accountSid)) throw misconfigured('Account SID must be AC followed by 32 hex digits');
  const authToken = typeof basic.authToken === 'string' && basic.authToken !== '' ? basic.authToken : undefined;
  if (!authToken) throw misconfigured('Auth Token is not set');
  const secondary = typeof basic.secondaryAuthToken === 'string' && basic.secondaryAuthToken !== '' ? basic.secondaryAuthToken : undefined;
  const sender = text(basic.sender);
  if (!sender || !(E164.test(sender) || SERVICE_SID.test(sender))) throw misconfigured('Sender must be an E.164 phone number or a Messaging Service SID (MG...)');
  const webhookUrl = text(configuration.webhookUrl);
  if (webhookUrl && !/^https?:\/\/[^/?#]+/i.test(webhookUrl)) throw misconfigured('Public Webhook URL must be an absolute http(s) URL');
  return {
    accountSid,
    authTokens: secondary ? [authToken, secondary] : [authToken],
    sender,
    senderIsService: SERVICE_SID.test(sender),
    apiBaseUrl: apiBase(configuration.apiBaseUrl),
    webhookUrl,
    statusCallbacks: configuration.statusCallbacks !== false,
    requestTimeoutMs: integer(additional.requestTimeoutSeconds, 15, 1) * 1000,
    agentMessageFormat: typeof additional.agentMessageFormat === 'string' ? additional.agentMessageFormat : DEFAULT_AGENT_MESSAGE_FORMAT,
    maxSegments: integer(additional.maxSegments, 10, 1),
  };
}

/** The REST URLs these settings make the gateway call: the account and its Messages. */
export function twilioSmsOutboundUrls(values: SettingsValues): OutboundUrl[] {
  const accountSid = text(values.basic?.accountSid) ?? 'AC';
  try {
    const base = `${apiBase(values.configuration?.apiBaseUrl)}/${API_VERSION}/Accounts/${encodeURIComponent(accountSid)}`;
    return [
      { setting: 'configuration.apiBaseUrl', url: `${base}.json` },
      { setting: 'configuration.apiBaseUrl', url: `${base}/Messages.json` },
    ];
  } catch (error) {
    return [{ setting: 'configuration.apiBaseUrl', problem: (error as Error).message }];
  }
}

export function isE164(value: string): boolean {
  return E164.test(value);
}

function apiBase(value: unknown): string {
  const base = text(value) ?? DEFAULT_API_BASE_URL;
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw misconfigured(`API Base URL is not a URL: ${base}`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw misconfigured('API Base URL must be an http(s) URL');
  return base.replace(/\/+$/, '');
}

function integer(value: unknown, fallback: number, minimum: number): number {
  const number = Number(value ?? fallback);
  return Number.isInteger(number) && number >= minimum ? number : fallback;
}
