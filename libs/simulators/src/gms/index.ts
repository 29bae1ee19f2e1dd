export * from './gms-simulator';
export * from './gms-simulator.options';
export * from './gms-protocol.types';
export { ManualClock, systemClock } from '../clock/simulator-clock';
export type { SimulatorClock } from '../clock/simulator-clock';
export { GmsControlError } from './gms-agent.operations';
export type {
  GmsAgentFileInput,
  GmsAgentJoinInput,
  GmsAgentMessageInput,
  GmsAgentPushUrlInput,
  GmsAgentSelector,
  GmsAgentTransferInput,
  GmsAgentTypingInput,
  GmsSystemMessageInput,
} from './gms-agent.operations';
export type { GmsChatEndReason, GmsChatSession, GmsChatState, GmsParticipant, GmsStoredFile } from './gms-chat-session';
export type { GmsChatDetail, GmsChatSummary, GmsFileView } from './gms-chat-view.mapper';
export { GmsChatStore } from './gms-chat.store';
export type { GmsChatFilter, GmsStoreEventName } from './gms-chat.store';
export type { GmsFault, GmsFaultKind, GmsFaultSpec } from './gms-fault.injector';
export type { GmsRecordedRequest, GmsRequestLogSnapshot } from './gms-request.recorder';
export { GMS_DEFAULT_REALM } from './gms-auth.guard';
