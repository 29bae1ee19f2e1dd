import { SimulatorClock } from '../clock/simulator-clock';
import { TeamsRateLimits, TeamsRateWindows } from './teams-simulator.types';

/** Microsoft's per-bot per-conversation table for sends and creates. */
export const TEAMS_CONVERSATION_WINDOWS: TeamsRateWindows = [
  [1_000, 7],
  [2_000, 8],
  [30_000, 60],
  [3_600_000, 1800],
];
/** Member and conversation reads get twice the budget. */
export const TEAMS_READ_WINDOWS: TeamsRateWindows = TEAMS_CONVERSATION_WINDOWS.map(([ms, limit]) => [ms, limit * 2]);
export const TEAMS_TENANT_RPS = 50;

export type TeamsRateKind = 'write' | 'read';

/**
 * Sliding-window counters: per (app, conversation) with the table above and per (app, tenant) at a requests-per-second
 * cap. A refused request does not count, as a client that honours Retry-After would otherwise never get through.
 */
export class TeamsRateLimiter {
  enabled = false;
  private conversationWindows = TEAMS_CONVERSATION_WINDOWS;
  private tenantRps = TEAMS_TENANT_RPS;
  private readonly history = new Map<string, number[]>();

  constructor(private readonly clock: SimulatorClock) {}

  configure(on: boolean, limits: TeamsRateLimits = {}): void {
    this.enabled = on;
    this.conversationWindows = limits.perConversation ?? TEAMS_CONVERSATION_WINDOWS;
    this.tenantRps = limits.perTenantRps ?? TEAMS_TENANT_RPS;
    this.history.clear();
  }

  /** Undefined when allowed (and counted); else the seconds the caller should wait. */
  take(appId: string, tenantId: string, conversationId: string | undefined, kind: TeamsRateKind): number | undefined {
    if (!this.enabled) return undefined;
    const now = this.clock.now();
    const checks: Array<[string, TeamsRateWindows]> = [[`tenant|${appId}|${tenantId}`, [[1_000, this.tenantRps]]]];
    if (conversationId) {
      const windows = kind === 'read' ? this.conversationWindows.map(([ms, limit]): [number, number] => [ms, limit * 2]) : this.conversationWindows;
      checks.push([`conversation|${kind}|${appId}|${conversationId}`, windows]);
    }
    let waitMs = 0;
    for (const [key, windows] of checks) {
      const times = this.prune(key, now, windows);
      for (const [ms, limit] of windows) {
        const inWindow = times.filter((at) => at > now - ms);
        if (inWindow.length >= limit) waitMs = Math.max(waitMs, inWindow[inWindow.length - limit] + ms - now);
      }
    }
    if (waitMs > 0) return Math.max(1, Math.ceil(waitMs / 1000));
    for (const [key] of checks) this.history.get(key)!.push(now);
    return undefined;
  }

  private prune(key: string, now: number, windows: TeamsRateWindows): number[] {
    const longest = Math.max(...windows.map(([ms]) => ms));
    const times = (this.history.get(key) ?? []).filter((at) => at > now - longest);
    this.history.set(key, times);
    return times;
  }
}
