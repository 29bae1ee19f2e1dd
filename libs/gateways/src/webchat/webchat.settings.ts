import { SettingsSchema } from '@app/gateway-sdk';

/** Direct Line's documented limits, used as defaults so that clients written for Azure meet the same ones here. */
export const DIRECT_LINE_TOKEN_SECONDS = 3600;
export const DIRECT_LINE_MAX_ATTACHMENT_BYTES = 4 * 1024 * 1024;
export const DIRECT_LINE_MAX_ACTIVITY_CHARS = 256 * 1024;

/**
 * Settings of a `webchat` gateway. The secret signs this gateway's tokens (a key derived from it), so rotating it
 * ends every token minted with it; `previousSecret` keeps the old one valid while sites move to the new one.
 */
export const WEBCHAT_SETTINGS: SettingsSchema = {
  basic: {
    directLineSecret: {
      type: 'string',
      title: 'Direct Line Secret',
      description: 'Master key of this web chat (server-to-server only): mints tokens with POST tokens/generate. At least 32 characters.',
      secret: true,
      required: true,
      minLength: 32,
      maxLength: 512,
    },
    previousSecret: {
      type: 'string',
      title: 'Previous Direct Line Secret',
      description: 'While set, the old secret and the tokens it signed stay valid (rotation). Remove it once sites use the new secret.',
      secret: true,
      minLength: 32,
      maxLength: 512,
    },
    botId: { type: 'string', title: 'Bot ID', description: 'The `from.id` of the bot\'s activities.', default: 'bot', maxLength: 200 },
    botName: { type: 'string', title: 'Bot Name', description: 'The `from.name` of the bot\'s activities.', default: 'Bot', maxLength: 200 },
  },
  configuration: {
    allowedOrigins: {
      type: 'string',
      title: 'Allowed Origins',
      description:
        'Web sites that may call this web chat from a browser (CORS), exact origins separated by commas or spaces, e.g. `https://www.example.com`. Empty: none except this service\'s own page.',
      default: '',
      maxLength: 4000,
    },
    hostedPage: {
      type: 'boolean',
      title: 'Hosted Page',
      description: 'On: /webchat/{gatewayId} serves a chat page that mints a token for anyone who opens it. Off: 404.',
      default: false,
    },
  },
  additional: {
    tokenLifetimeSeconds: {
      type: 'integer',
      title: 'Token Lifetime (seconds)',
      description: 'expires_in of the tokens minted or refreshed (Direct Line: 3600).',
      default: DIRECT_LINE_TOKEN_SECONDS,
      minimum: 60,
      maximum: 86_400,
    },
    maxAttachmentBytes: {
      type: 'integer',
      title: 'Max Attachment Size (bytes)',
      description: 'Largest uploaded file (Direct Line: 4 MB).',
      default: DIRECT_LINE_MAX_ATTACHMENT_BYTES,
      minimum: 1024,
      maximum: 50 * 1024 * 1024,
    },
    maxActivityChars: {
      type: 'integer',
      title: 'Max Activity Size (characters)',
      description: 'Largest activity a client may post, serialized (Direct Line: 256K).',
      default: DIRECT_LINE_MAX_ACTIVITY_CHARS,
      minimum: 1024,
      maximum: 1024 * 1024,
    },
  },
};
