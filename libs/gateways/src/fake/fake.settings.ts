import { API_RETRY_FIELDS, ESCALATION_BEHAVIOUR_FIELDS, SettingsSchema } from '@app/gateway-sdk';

export const FAKE_SETTINGS: SettingsSchema = {
  basic: {
    platformUrl: { type: 'string', title: 'Fake Platform URL', format: 'uri', required: true },
    apiToken: { type: 'string', title: 'API Token', secret: true, description: 'Sent as a bearer token; exercises secret handling.' },
  },
  configuration: {
    escalationQueue: { type: 'string', title: 'Escalation Queue', default: 'default' },
    transferBackOnAgentClose: ESCALATION_BEHAVIOUR_FIELDS.transferBackOnAgentClose,
    escalationTimeoutSeconds: ESCALATION_BEHAVIOUR_FIELDS.escalationTimeoutSeconds,
  },
  additional: {
    pollIntervalMs: { type: 'integer', title: 'Polling Interval (ms)', default: 200, minimum: 0, maximum: 60_000 },
    agentOverride: ESCALATION_BEHAVIOUR_FIELDS.agentOverride,
    ...API_RETRY_FIELDS,
  },
};
