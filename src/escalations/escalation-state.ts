import { EscalationState } from '../database/entities';

/** Legal transitions; anything else is refused by the database update itself (see EscalationsRepository.transition). */
export const TRANSITIONS: Record<EscalationState, readonly EscalationState[]> = {
  requested: ['starting', 'failed', 'timed_out', 'ended'],
  // Back to `requested` is the retrigger of the PureEngage gateway's product documentation: the escalation starts over.
  starting: ['requested', 'queued', 'active', 'failed', 'timed_out', 'ended'],
  // queued -> queued records a queue change (transfer while waiting).
  queued: ['queued', 'requested', 'active', 'failed', 'timed_out', 'ended'],
  // active -> queued: the agent transferred the conversation to another queue.
  active: ['queued', 'active', 'ended', 'failed'],
  ended: [],
  failed: [],
  timed_out: [],
};

export function canTransition(from: EscalationState, to: EscalationState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** States from which `to` may be entered. */
export function sourcesOf(to: EscalationState): EscalationState[] {
  return (Object.keys(TRANSITIONS) as EscalationState[]).filter((from) => TRANSITIONS[from].includes(to));
}

export function isFinal(state: EscalationState): boolean {
  return TRANSITIONS[state].length === 0;
}
