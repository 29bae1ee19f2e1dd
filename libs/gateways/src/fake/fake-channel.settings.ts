import { API_RETRY_FIELDS, QUIET_HOURS_FIELDS, SettingsSchema } from '@app/gateway-sdk';

export const FAKE_CHANNEL_SETTINGS: SettingsSchema = {
  basic: {
    platformUrl: { type: 'string', title: 'Fake Channel Platform URL', format: 'uri', required: true },
    webhookSecret: { type: 'string', title: 'Webhook Secret', secret: true, required: true, description: "Signs the platform's webhooks (HMAC-SHA256)." },
  },
  configuration: {
    addressable: {
      type: 'boolean',
      title: 'Users Reachable by Id',
      description: 'Yes: a proactive message may go to a user the service never heard from (as SMS to a number); their id must start with "+".',
      default: false,
    },
    ...QUIET_HOURS_FIELDS,
  },
  additional: { ...API_RETRY_FIELDS },
};
