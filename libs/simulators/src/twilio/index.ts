export * from './twilio-simulator';
export * from './twilio-simulator.types';
export { TwilioControlError } from './twilio-messaging.store';
export { twilioSignature, withDefaultPort, withoutPort } from './twilio-signature';
export { smsSegments, smsEncoding } from './twilio-segments';
export { keywordOf, OPT_OUT_KEYWORDS, OPT_IN_KEYWORDS, HELP_KEYWORDS, DEFAULT_REPLIES } from './twilio-keywords';
