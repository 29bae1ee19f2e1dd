import { randomBytes } from 'node:crypto';
import { HttpError } from '../http/simulator-http';
import { WhatsAppStatusError } from './whatsapp-simulator.types';

/** Titles and details of the codes the simulator answers, after copies of Meta's error code list. */
export const WHATSAPP_ERRORS: Record<number, { title: string; details: string; status: number }> = {
  1: { title: 'API Unknown', details: 'Invalid request or possible server error.', status: 500 },
  100: { title: 'Invalid parameter', details: 'The request included one or more unsupported or misspelled parameters.', status: 400 },
  190: { title: 'Access token has expired', details: 'Error validating access token: Session has expired.', status: 401 },
  130429: { title: 'Rate limit hit', details: 'Cloud API message throughput has been reached.', status: 429 },
  131000: { title: 'Something went wrong', details: 'Message failed to send due to an unknown error.', status: 500 },
  131008: { title: 'Required parameter is missing', details: 'The request is missing a required parameter.', status: 400 },
  131009: { title: 'Parameter value is not valid', details: 'One or more parameter values are invalid.', status: 400 },
  131016: { title: 'Service unavailable', details: 'A service is temporarily unavailable.', status: 503 },
  131026: {
    title: 'Message undeliverable',
    details: 'Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number; the recipient has not accepted the terms of service; the recipient uses an old WhatsApp version.',
    status: 400,
  },
  131047: {
    title: 'Re-engagement message',
    details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.',
    status: 400,
  },
  131049: {
    title: 'Meta chose not to deliver.',
    details: 'This message was not delivered to maintain healthy ecosystem engagement.',
    status: 400,
  },
  131050: { title: 'User has stopped marketing messages', details: 'Unable to deliver the marketing message because the user stopped marketing messages from this business.', status: 400 },
  131056: {
    title: '(Business Account, Consumer Account) pair rate limit hit',
    details: 'Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.',
    status: 400,
  },
  132000: { title: 'Number of parameters does not match the expected number of params', details: 'The number of variable parameter values does not match the number of variables in the template.', status: 400 },
  132001: { title: 'Template name does not exist in the translation', details: 'The template does not exist in the specified language or has not been approved.', status: 400 },
  132015: { title: 'Template is Paused', details: 'The template is paused due to low quality, so it cannot be sent in a template message.', status: 400 },
  132016: { title: 'Template is Disabled', details: 'The template has been paused too many times due to low quality and is now permanently disabled.', status: 400 },
};

function describe(code: number, details?: string): { title: string; details: string; status: number } {
  const known = WHATSAPP_ERRORS[code] ?? { title: 'Error', details: `Error ${code}`, status: 400 };
  return { ...known, details: details ?? known.details };
}

/** The Graph error envelope `{error:{message,type,code,error_data,fbtrace_id}}` as an HTTP error. */
export function graphError(code: number, details?: string, status?: number): HttpError {
  const known = describe(code, details);
  return new HttpError(status ?? known.status, {
    error: {
      message: `(#${code}) ${known.title}`,
      type: 'OAuthException',
      code,
      error_data: { messaging_product: 'whatsapp', details: known.details },
      fbtrace_id: randomBytes(9).toString('base64url'),
    },
  });
}

/** The `errors[]` item of a failed status webhook. */
export function statusError(code: number, details?: string): WhatsAppStatusError {
  const known = describe(code, details);
  return { code, title: known.title, message: known.title, error_data: { details: known.details } };
}
