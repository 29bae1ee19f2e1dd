import { EscalationLifecycle } from '../../src/escalations/escalation-lifecycle.service';
import { EscalationsRepository } from '../../src/escalations/escalations.repository';
import { waitFor } from '../support/bot-receiver';
import { TestApp } from '../support/test-app';
import { escalationBody, fakeGateway, fakeSuite } from './fake-setup';

/**
 * A platform session that ends while a relayed message is on its way, through the fake gateway with the service's
 * poller off for it: what the service learns then comes from the relay's own look at the platform, nothing else.
 */
describe('a platform session that ended under a relay', () => {
  const suite = fakeSuite({ POLL_TICK_MS: '100' });
  const { platform, receiver } = suite;
  let t: TestApp;
  beforeAll(() => (t = suite.t));

  const types = (conversationId: string) => receiver.of(conversationId).map((d) => d.type);

  /** An active escalation of a gateway nobody polls: the agent's join is pushed to the webhook route. */
  const activeEscalation = async (transferBack: boolean, externalId: string) => {
    const { domain, gatewayId } = await fakeGateway(t, platform, receiver, { transferBack, pollIntervalMs: 0 });
    const res = await t.request('POST', '/v1/escalations', { body: escalationBody(domain, gatewayId, externalId), headers: { 'idempotency-key': externalId } });
    expect(res.status).toBe(202);
    const escalation = res.body as { id: string; conversationId: string };
    const session = await waitFor('platform session', () => platform.sessionFor(escalation.id));
    await waitFor('queued', async () => (await t.request('GET', `/v1/escalations/${escalation.id}`)).body.state === 'queued');
    const joined = platform.push(session.id, 'agent_joined', { agent: { id: 'a-9', name: 'Hedy' } });
    const pushed = await t.request('POST', `/v1/webhooks/${gatewayId}`, { key: null, body: { eventId: `join-${session.id}`, sessionId: session.id, event: joined } });
    expect(pushed.status).toBeLessThan(300);
    await waitFor('agent joined at the bot', () => types(escalation.conversationId).includes('agent_joined'));
    return escalation;
  };

  it.each([
    { transferBack: true, controlReturnedToBot: true, conversationClosed: false },
    { transferBack: false, controlReturnedToBot: false, conversationClosed: true },
  ])(
    'ends as an agent close under the transfer back setting when a relay finds the session gone and the platform tells nothing more (transfer back $transferBack)',
    async ({ transferBack, controlReturnedToBot, conversationClosed }) => {
      const escalation = await activeEscalation(transferBack, `conv-gone-${transferBack}`);
      // The send finds the session gone, and so does the look at the platform that follows it.
      platform.addFault({ operation: 'message', kind: 'gone', count: 1 });
      platform.addFault({ operation: 'poll', kind: 'gone', count: 1 });
      expect((await t.request('POST', `/v1/escalations/${escalation.id}/messages`, { body: { text: 'hello?' } })).status).toBe(202);

      await waitFor('ended at the bot', () => types(escalation.conversationId).includes('ended'));
      expect(types(escalation.conversationId)).toEqual(['queued', 'agent_joined', 'agent_left', 'ended']);
      const [, , left, ended] = receiver.of(escalation.conversationId);
      expect(left.data.agent).toEqual({ id: 'a-9', displayName: 'Hedy' });
      expect(ended.data).toEqual({ by: 'agent', reason: expect.stringContaining('without saying how'), controlReturnedToBot, conversationClosed });
      const detail = (await t.request('GET', `/v1/escalations/${escalation.id}`)).body;
      expect(detail).toMatchObject({ state: 'ended', control: 'bot' });
      expect(detail.relay).toEqual([expect.objectContaining({ status: 'failed', lastError: expect.stringContaining('the platform session had ended') })]);
      const conversation = (await t.request('GET', `/v1/conversations/${escalation.conversationId}`)).body;
      expect(conversation.closedAt === null).toBe(!conversationClosed);
    },
    20_000,
  );

  it('records a lost session once when two reports of it come together (the poller and a relay, say)', async () => {
    const escalation = await activeEscalation(true, 'conv-gone-twice');
    const runner = t.app.get(EscalationLifecycle);
    const row = await t.app.get(EscalationsRepository).get(escalation.id);
    await Promise.all([runner.sessionGone(row), runner.sessionGone(row)]);
    await waitFor('ended at the bot', () => types(escalation.conversationId).includes('ended'));
    const stored = (await t.request('GET', `/v1/conversations/${escalation.conversationId}/events`)).body;
    expect(stored.map((e: { type: string }) => e.type)).toEqual(['queued', 'agent_joined', 'agent_left', 'ended']);
  }, 20_000);

  it('delivered every event as the OpenAPI document describes it (DeliveredEvent, closed to undocumented fields)', () => {
    expect(receiver.undocumented).toEqual([]);
  });
});
