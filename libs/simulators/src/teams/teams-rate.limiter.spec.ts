import { ManualClock } from '../clock/simulator-clock';
import { TeamsRateLimiter } from './teams-rate.limiter';
import { TeamsSimulator } from './teams-simulator';
import { APP_ID, APP_SECRET, botToken, connector, TENANT_ID } from './teams-simulator.spec-helpers';

describe('Teams rate limiter', () => {
  let clock: ManualClock;
  let limiter: TeamsRateLimiter;

  beforeEach(() => {
    clock = new ManualClock(0);
    limiter = new TeamsRateLimiter(clock);
    limiter.configure(true);
  });

  const burst = (count: number, conversation = 'a:1') => Array.from({ length: count }, () => limiter.take(APP_ID, TENANT_ID, conversation, 'write'));

  it('allows 7 sends per conversation in a second and asks the 8th to wait a second', () => {
    expect(burst(7)).toEqual(Array(7).fill(undefined));
    expect(limiter.take(APP_ID, TENANT_ID, 'a:1', 'write')).toBe(1);
    expect(limiter.take(APP_ID, TENANT_ID, 'a:2', 'write')).toBeUndefined();
  });

  it('allows 8 in two seconds, 60 in thirty seconds and 1800 in an hour', () => {
    burst(7);
    clock.advance(1000);
    expect(burst(2)).toEqual([undefined, 1]);
    let allowed = 8;
    for (let second = 2; second < 30; second += 2) {
      clock.advance(2000);
      allowed += burst(8).filter((wait) => wait === undefined).length;
    }
    expect(allowed).toBe(60);
    clock.advance(2000);
    expect(limiter.take(APP_ID, TENANT_ID, 'a:1', 'write')).toBeUndefined();

    limiter.configure(true);
    let hourly = 0;
    let refused: number | undefined;
    for (let step = 0; step < 3600 && refused === undefined; step++) {
      for (let i = 0; i < 2; i++) {
        const wait = limiter.take(APP_ID, TENANT_ID, 'a:3', 'write');
        if (wait === undefined) hourly++;
        else refused = wait;
      }
      clock.advance(1000);
    }
    expect(hourly).toBe(1800);
    expect(refused).toBeGreaterThan(30);
  });

  it('gives member reads twice the budget', () => {
    const reads = Array.from({ length: 15 }, () => limiter.take(APP_ID, TENANT_ID, 'a:1', 'read'));
    expect(reads.filter((wait) => wait === undefined)).toHaveLength(14);
  });

  it('caps requests per app per tenant per second across conversations', () => {
    const results = Array.from({ length: 51 }, (_, i) => limiter.take(APP_ID, TENANT_ID, `a:${i}`, 'write'));
    expect(results.slice(0, 50)).toEqual(Array(50).fill(undefined));
    expect(results[50]).toBe(1);
    expect(limiter.take(APP_ID, 'other-tenant', 'a:x', 'write')).toBeUndefined();
    limiter.configure(true, { perTenantRps: 3 });
    expect([0, 1, 2, 3].map((i) => limiter.take(APP_ID, TENANT_ID, `b:${i}`, 'write'))).toEqual([undefined, undefined, undefined, 1]);
  });

  it('lets everything through when off', () => {
    limiter.configure(false);
    expect(burst(100).every((wait) => wait === undefined)).toBe(true);
  });

  it('answers 429 Throttled with Retry-After from the Connector when on', async () => {
    const teams = new TeamsSimulator({ clock: new ManualClock(Date.now()) });
    await teams.start();
    try {
      teams.registerBot({ appId: APP_ID, secret: APP_SECRET, tenantId: TENANT_ID, messagingEndpoint: 'http://127.0.0.1:9/none' });
      const user = teams.addUser({ name: 'Ana' });
      const conversationId = teams.store.membership(APP_ID, user.id).conversationId;
      const membership = teams.store.findMembership(APP_ID, user.id)!;
      membership.installed = membership.everInstalled = true;
      const token = await botToken(teams);
      teams.setRateLimit(true, { perConversation: [[1000, 2]] });
      const statuses = [];
      let last;
      for (let i = 0; i < 3; i++) {
        last = await connector(teams, token, 'POST', `v3/conversations/${conversationId}/activities`, { type: 'message', text: String(i) });
        statuses.push(last.status);
      }
      expect(statuses).toEqual([201, 201, 429]);
      expect(last!.body.error.code).toBe('Throttled');
      expect(last!.headers.get('retry-after')).toBe('1');
    } finally {
      await teams.stop();
    }
  });
});
