import { GatewayError } from './gateway-error';
/**
 * Declarative description of one gateway setting. The registry turns these into the JSON Schema served by
 * `GET /v1/gateway-types` and validates operator input against it, so a gateway declares each field once.
 */
export interface SettingField {
  /** JSON type of the value. `string-map` is an object of string values (e.g. endpoint overrides). */
  type: 'string' | 'integer' | 'number' | 'boolean' | 'string-map';
  /** Label an operator sees (the element's name in the product documentation). */
  title: string;
  description?: string;
  /** Value used when the operator leaves the field out. */
  default?: string | number | boolean | Record<string, string>;
  /** Required when creating a gateway (after defaults are applied). */
  required?: boolean;
  /** Encrypted at rest, write-only, masked in every response and audit record, never logged. */
  secret?: boolean;
  enum?: readonly string[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  /** Shortest accepted text (a secret that must be long enough to derive keys from). */
  minLength?: number;
  /** `uri` values are checked against the outbound URL policy. */
  format?: 'uri' | 'email';
  /** A regular expression text values must match (JSON Schema `pattern`). */
  pattern?: string;
  /** Multi-line text (PEM blocks and similar). */
  multiline?: boolean;
}

/** The fields of one settings group, keyed by setting name (camelCase). */
export type SettingsGroupSchema = Record<string, SettingField>;

/** Settings groups mirror the tabs of the product documents: Basic, Configuration, Additional. */
export const SETTINGS_GROUPS = ['basic', 'configuration', 'additional'] as const;
export type SettingsGroup = (typeof SETTINGS_GROUPS)[number];

/** A gateway type's settings, per group. The common basic fields (name, domain, deployed, locale) are added by the service. */
export type SettingsSchema = Record<SettingsGroup, SettingsGroupSchema>;

/** Decrypted settings values as a gateway receives them. */
export type SettingsValues = Record<SettingsGroup, Record<string, unknown>>;

/**
 * The API-retry settings every escalation gateway carries, with the PureEngage gateway's documented defaults (5
 * attempts, 4200 ms, multiplier 2).
 */
export const API_RETRY_FIELDS: SettingsGroupSchema = {
  apiRetryMaxAttempts: {
    type: 'integer',
    title: 'Max Attempts (setting to 1 will disable retry attempts)',
    default: 5,
    minimum: 1,
    maximum: 50,
  },
  apiRetryInitialDelayMs: { type: 'integer', title: 'Back Off Initial Delay Milliseconds', default: 4200, minimum: 0, maximum: 600_000 },
  apiRetryMultiplier: {
    type: 'number',
    title: 'Back Off Multiplier (value of 2 yields 100% increase per backoff event)',
    default: 2,
    minimum: 1,
    maximum: 10,
  },
};

/**
 * Quiet hours of a channel type with the capability `proactive` (in its configuration group): notifications and pushed
 * conversations stored in the window wait until it ends (they are not dropped); the bot's answers in a conversation
 * do not wait. Both times empty: no quiet hours.
 */
export const QUIET_HOURS_FIELDS = {
  quietHoursStart: {
    type: 'string',
    title: 'Quiet Hours Start (HH:MM)',
    description: 'Local time from which proactive messages wait, e.g. 21:00. Empty: no quiet hours.',
    default: '',
    pattern: '^$|^([01][0-9]|2[0-3]):[0-5][0-9]$',
  },
  quietHoursEnd: {
    type: 'string',
    title: 'Quiet Hours End (HH:MM)',
    description: 'Local time at which waiting proactive messages go, e.g. 08:00 (the next day when earlier than the start).',
    default: '',
    pattern: '^$|^([01][0-9]|2[0-3]):[0-5][0-9]$',
  },
  quietHoursTimeZone: {
    type: 'string',
    title: 'Quiet Hours Time Zone',
    description: 'IANA time zone of the quiet hours, e.g. Europe/Madrid.',
    default: 'UTC',
    maxLength: 64,
  },
} satisfies SettingsGroupSchema;

/** Whether this runtime knows an IANA time zone (the quiet hours' `quietHoursTimeZone`). */
export function validTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
    return true;
  } catch {
    return false;
  }
}

/** How an escalation gateway names the agent to the bot platform ("Agent Override" in the product documentation). */
export const AGENT_OVERRIDE_VALUES = ['none', 'agent_name_only', 'lookup_agent_by_email'] as const;
export type AgentOverride = (typeof AGENT_OVERRIDE_VALUES)[number];

/**
 * Behaviour settings every escalation gateway declares (in the group its product document puts them). The service
 * reads them by these names, so the engine never switches on the gateway type.
 */
export const ESCALATION_BEHAVIOUR_FIELDS = {
  transferBackOnAgentClose: {
    type: 'boolean',
    title: 'Transfer Conversation Back When the Agent Closes the Conversation',
    description: 'On: control returns to the bot when the agent closes. Off: the conversation is closed.',
    default: false,
  },
  agentOverride: {
    type: 'string',
    title: 'Agent Override',
    description: 'Agent name shown to the bot platform: none, agent name only, or the name of the agent found by email.',
    enum: AGENT_OVERRIDE_VALUES,
    default: 'agent_name_only',
  },
  escalationTimeoutSeconds: {
    type: 'integer',
    title: 'Escalation Timeout (seconds)',
    description: 'How long the service keeps (re)trying to get an agent before the escalation times out.',
    default: 600,
    minimum: 1,
    maximum: 86_400,
  },
} satisfies SettingsGroupSchema;

/** A text setting as a gateway type reads it: trimmed, and undefined when missing, not text, or blank. */
export function settingText(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** The error a gateway type raises for settings it cannot work with (an operator's mistake, never retried). */
export function misconfiguredSetting(message: string): GatewayError {
  return new GatewayError('invalid_request', message);
}
