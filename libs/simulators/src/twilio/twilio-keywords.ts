/**
 * Twilio's default opt-out handling on long codes and toll-free numbers
 * (https://help.twilio.com/articles/223134027): a message that is only one of these words, in any case, with
 * surrounding blanks or punctuation, changes the sender/recipient pair's subscription and gets an automatic reply.
 */
export const OPT_OUT_KEYWORDS = ['STOP', 'STOPALL', 'UNSUBSCRIBE', 'CANCEL', 'END', 'QUIT', 'REVOKE', 'OPTOUT'] as const;
export const OPT_IN_KEYWORDS = ['START', 'YES', 'UNSTOP'] as const;
export const HELP_KEYWORDS = ['HELP', 'INFO'] as const;

export type OptOutType = 'STOP' | 'START' | 'HELP';

/** Advanced Opt-Out's default replies. */
export const DEFAULT_REPLIES: Record<OptOutType, string> = {
  STOP: 'You have successfully been unsubscribed. You will not receive any more messages from this number. Reply START to resubscribe.',
  START: 'You have successfully been re-subscribed to messages from this number. Reply HELP for help. Reply STOP to unsubscribe. Msg&Data Rates May Apply.',
  HELP: 'Reply STOP to unsubscribe. Msg&Data Rates May Apply.',
};

/** Which keyword family a whole message is, if any ("STOP PLEASE" is none). */
export function keywordOf(body: string): OptOutType | undefined {
  const word = body.trim().replace(/^[\p{P}\s]+|[\p{P}\s]+$/gu, '').toUpperCase();
  if (!word || /\s/.test(word)) return undefined;
  if ((OPT_OUT_KEYWORDS as readonly string[]).includes(word)) return 'STOP';
  if ((OPT_IN_KEYWORDS as readonly string[]).includes(word)) return 'START';
  if ((HELP_KEYWORDS as readonly string[]).includes(word)) return 'HELP';
  return undefined;
}
