import { API_RETRY_FIELDS, SettingsSchema } from '@app/gateway-sdk';

export const FAKE_CHANNEL_SETTINGS: SettingsSchema = {
  basic: {
    platformUrl: { type: 'string', title: 'Fake Channel Platform URL', format: 'uri', required: true },
    webhookSecret: { type: 'string', title: 'Webhook Secret', secret: true, required: true, description: "Signs the platform's webhooks (HMAC-SHA256)." },
  },
  configuration: {},
  additional: { ...API_RETRY_FIELDS },
};
