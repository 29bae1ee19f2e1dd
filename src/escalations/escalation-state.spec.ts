import { canTransition, isFinal, sourcesOf } from './escalation-state';

describe('escalation state machine', () => {
  it('follows the happy path requested -> starting -> queued -> active -> ended', () => {
    expect(canTransition('requested', 'starting')).toBe(true);
    expect(canTransition('starting', 'queued')).toBe(true);
    expect(canTransition('queued', 'active')).toBe(true);
    expect(canTransition('active', 'ended')).toBe(true);
  });

  it('never leaves a final state', () => {
    for (const final of ['ended', 'failed', 'timed_out'] as const) {
      expect(isFinal(final)).toBe(true);
      expect(canTransition(final, 'queued')).toBe(false);
      expect(canTransition(final, 'requested')).toBe(false);
    }
  });

  it('does not time out once an agent joined, and never skips back to requested from active', () => {
    expect(canTransition('active', 'timed_out')).toBe(false);
    expect(canTransition('active', 'requested')).toBe(false);
  });

  it('records transfers as queued -> queued and active -> queued', () => {
    expect(sourcesOf('queued').sort()).toEqual(['active', 'queued', 'starting']);
  });
});
