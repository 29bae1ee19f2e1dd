export * from './teams-simulator';
export * from './teams-simulator.types';
export { TeamsControlError } from './teams-conversation.store';
export { BOT_FRAMEWORK_ISSUER } from './teams-key.service';
export { BOT_FRAMEWORK_AUDIENCE, BOT_FRAMEWORK_SCOPE } from './teams-token.issuer';
export { TEAMS_CONVERSATION_WINDOWS, TEAMS_TENANT_RPS } from './teams-rate.limiter';
