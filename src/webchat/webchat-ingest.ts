import type { UserActivity } from '@app/gateway-sdk';

/**
 * Where the Direct Line server hands the user's activities: the channel core's intake (stores each once, creates
 * the channel conversation on the first, delivers them to the bot). Bound to the core's service in WebchatModule.
 */
export abstract class WebchatIngest {
  abstract receive(gatewayId: string, activities: UserActivity[]): Promise<Array<{ conversationId: string; duplicate: boolean }>>;
}
