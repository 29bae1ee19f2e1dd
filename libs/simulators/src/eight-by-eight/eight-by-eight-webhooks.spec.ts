import { JsonWebKey } from 'node:crypto';
import { readSignatureKid, signaturePayload, verifyEightByEightSignature } from './eight-by-eight-signature';
import { EightByEightHarness, startHarness } from './eight-by-eight-test.fixtures';
import { ReceivedWebhook } from './eight-by-eight-test.receiver';

async function fetchJwk(baseUrl: string, kid: string, path = `/chat-gateway/v1/jwk/${kid}/public`): Promise<{ status: number; jwk: JsonWebKey & { kid?: string } }> {
  const response = await fetch(`${baseUrl}${path}`);
  return { status: response.status, jwk: response.status === 200 ? ((await response.json()) as JsonWebKey) : {} };
}

describe('8x8 webhook delivery', () => {
  let h: EightByEightHarness;

  beforeAll(async () => {
    h = await startHarness({ validateRequests: false });
  });
  afterAll(() => h.stop());
  beforeEach(() => {
    h.simulator.reset();
    h.simulator.configure({ retryDelaysMs: [20, 40, 60], orderedDelivery: true, webhookTimeoutMs: 5000, eventFormat: 'chat-gateway-v1' });
    h.receiver.clear();
    h.receiver.respondWith(200);
  });

  describe('signature', () => {
    it('builds the signed payload in 8x8 key order with the CRC32 of the raw bytes', () => {
      const payload = signaturePayload(Buffer.from('hello'), { customerId: 'c', eventId: 'e', retry: 1, tenantId: 't', transmissionTime: 5 });
      expect(payload).toBe('{"checksum":907060870,"cid":"c","eid":"e","retry":1,"tid":"t","tt":5}');
    });

    it('signs every delivery with a detached RS256 JWS that the served JWK verifies', async () => {
      const { conversationId } = await h.startConversation();
      const event = h.receiver.received.find((received) => received.body.conversationId === conversationId)!;
      const signature = String(event.headers['x-8x8-signature']);
      const [encodedHeader, middle] = signature.split('.');
      expect(middle).toBe('');
      const kid = h.simulator.signingKeys.currentKid;
      expect(Buffer.from(encodedHeader, 'base64url').toString()).toBe(`{"b64":false,"crit":["b64"],"kid":"${kid}","alg":"RS256"}`);
      const { status, jwk } = await fetchJwk(h.baseUrl, kid);
      expect(status).toBe(200);
      expect(Object.keys(jwk)).toEqual(['kty', 'e', 'kid', 'n']);
      expect(verifyEightByEightSignature(event.headers, event.rawBody, jwk)).toEqual({ valid: true, kid });
      const legacy = await fetchJwk(h.baseUrl, kid, `/vcc/us/chat/v2/jwk/${kid}/public`);
      expect(legacy.jwk).toEqual(jwk);
    });

    it('fails verification when the body or a signed header is altered', async () => {
      const { conversationId } = await h.startConversation();
      const event = h.receiver.received.find((received) => received.body.conversationId === conversationId)!;
      const { jwk } = await fetchJwk(h.baseUrl, h.simulator.signingKeys.currentKid);
      const altered = Buffer.from(event.rawBody.toString().replace('CONVERSATION_UPDATE', 'CONVERSATION_UPDATF'));
      expect(verifyEightByEightSignature(event.headers, altered, jwk)).toMatchObject({ valid: false, reason: 'signature mismatch' });
      expect(verifyEightByEightSignature({ ...event.headers, 'x-8x8-retry': '3' }, event.rawBody, jwk).valid).toBe(false);
    });

    it('carries the tenant, customer, event id, retry and transmission time headers', async () => {
      const before = Date.now();
      const { conversationId } = await h.startConversation();
      const events = h.receiver.received.filter((received) => received.body.conversationId === conversationId);
      for (const event of events) {
        expect(event.headers).toMatchObject({ 'content-type': 'application/json', 'x-8x8-tenant-id': 'tenant01', 'x-8x8-customer-id': 'customer01', 'x-8x8-retry': '0' });
        expect(Number(event.headers['x-8x8-transmission-time'])).toBeGreaterThanOrEqual(before);
      }
      expect(new Set(events.map((event) => event.headers['x-8x8-event-id'])).size).toBe(events.length);
    });

    it('rotates the key on demand: later events carry the new kid, and both keys stay served', async () => {
      const first = h.simulator.signingKeys.currentKid;
      const rotated = await fetch(`${h.baseUrl}/sim/keys/rotate`, { method: 'POST' });
      const { kid } = (await rotated.json()) as { kid: string };
      expect(kid).not.toBe(first);
      const { conversationId } = await h.startConversation();
      const event = h.receiver.received.find((received) => received.body.conversationId === conversationId)!;
      expect(readSignatureKid(String(event.headers['x-8x8-signature']))).toBe(kid);
      const { jwk } = await fetchJwk(h.baseUrl, kid);
      expect(verifyEightByEightSignature(event.headers, event.rawBody, jwk).valid).toBe(true);
      expect((await fetchJwk(h.baseUrl, first)).status).toBe(200);
      expect((await fetchJwk(h.baseUrl, 'unknown-kid')).status).toBe(404);
    });
  });

  describe('retries', () => {
    it('retries with the same event id, a growing x-8x8-retry and a new transmission time, each signed', async () => {
      const { conversationId } = await h.startConversation();
      let failures = 2;
      h.receiver.respondWith(() => ({ status: failures-- > 0 ? 500 : 200 }));
      h.receiver.clear();
      h.simulator.acceptConversation(conversationId);
      await h.simulator.whenDeliveriesSettled();
      const joined = h.receiver.received.filter((received) => received.body.eventType === 'MEMBERS_CHANGED');
      expect(joined.map((received) => received.headers['x-8x8-retry'])).toEqual(['0', '1', '2']);
      expect(new Set(joined.map((received) => received.headers['x-8x8-event-id'])).size).toBe(1);
      const times = joined.map((received) => Number(received.headers['x-8x8-transmission-time']));
      expect(times[1]).toBeGreaterThan(times[0]);
      expect(times[2]).toBeGreaterThan(times[1]);
      const { jwk } = await fetchJwk(h.baseUrl, h.simulator.signingKeys.currentKid);
      expect(joined.every((received) => verifyEightByEightSignature(received.headers, received.rawBody, jwk).valid)).toBe(true);
      const [delivery] = h.simulator.deliveries({ conversationId, eventType: 'MEMBERS_CHANGED' });
      expect(delivery.outcome).toBe('delivered');
      expect(delivery.attempts.map((attempt) => attempt.status)).toEqual([500, 500, 200]);
    });

    it('gives up after the configured retries and goes on with the next event', async () => {
      const { conversationId } = await h.startConversation();
      h.receiver.respondWith((received) => ({ status: received.body.eventType === 'MEMBERS_CHANGED' ? 503 : 200 }));
      h.receiver.clear();
      h.simulator.acceptConversation(conversationId);
      await h.simulator.whenDeliveriesSettled();
      expect(h.receiver.received.map((received) => `${received.body.eventType}:${received.headers['x-8x8-retry']}`)).toEqual([
        'MEMBERS_CHANGED:0',
        'MEMBERS_CHANGED:1',
        'MEMBERS_CHANGED:2',
        'MEMBERS_CHANGED:3',
        'CONVERSATION_UPDATE:0',
      ]);
      expect(h.simulator.deliveries({ conversationId, eventType: 'MEMBERS_CHANGED' })[0].outcome).toBe('failed');
    });

    it('counts a receiver that does not answer in time as a failure and retries', async () => {
      h.simulator.configure({ webhookTimeoutMs: 80 });
      const { conversationId } = await h.startConversation();
      let slow = true;
      h.receiver.respondWith(() => {
        const answer = { status: 200, delayMs: slow ? 300 : 0 };
        slow = false;
        return answer;
      });
      h.receiver.clear();
      h.simulator.setAgentTyping(h.simulator.acceptConversation(conversationId).id as string, true);
      await h.simulator.whenDeliveriesSettled();
      const [joined] = h.simulator.deliveries({ conversationId, eventType: 'MEMBERS_CHANGED' });
      expect(joined.attempts[0].error).toMatch(/timeout/);
      expect(joined.attempts.map((attempt) => attempt.retry)).toEqual([0, 1]);
      expect(joined.outcome).toBe('delivered');
    });

    it('keeps a conversation in order while one of its events is retried', async () => {
      const { conversationId } = await h.startConversation();
      let first = true;
      h.receiver.respondWith(() => {
        const status = first ? 500 : 200;
        first = false;
        return { status };
      });
      h.receiver.clear();
      h.simulator.acceptConversation(conversationId);
      h.simulator.setAgentTyping(conversationId, true);
      h.simulator.sendAgentMessage(conversationId, { text: 'Hi' });
      await h.simulator.whenDeliveriesSettled();
      expect(h.receiver.received.map((received) => received.body.eventType)).toEqual(['MEMBERS_CHANGED', 'MEMBERS_CHANGED', 'CONVERSATION_UPDATE', 'ACTIVITY', 'MESSAGE']);
    });
  });

  describe('webhook faults', () => {
    it('delivers the next event twice with the same event id when the duplicate fault is armed', async () => {
      const { conversationId } = await h.startConversation();
      const armed = await fetch(`${h.baseUrl}/sim/faults/webhooks`, { method: 'POST', body: JSON.stringify({ kind: 'duplicate', count: 1 }) });
      expect(armed.status).toBe(201);
      h.receiver.clear();
      h.simulator.acceptConversation(conversationId);
      await h.simulator.whenDeliveriesSettled();
      const types = h.receiver.received.map((received) => received.body.eventType);
      expect(types).toEqual(['MEMBERS_CHANGED', 'MEMBERS_CHANGED', 'CONVERSATION_UPDATE']);
      expect(h.receiver.received[0].headers['x-8x8-event-id']).toBe(h.receiver.received[1].headers['x-8x8-event-id']);
      expect(h.receiver.received[0].rawBody.equals(h.receiver.received[1].rawBody)).toBe(true);
    });

    it('holds an event back and sends it after the next one when the out-of-order fault is armed', async () => {
      const { conversationId } = await h.startConversation();
      h.simulator.injectWebhookFault({ kind: 'out-of-order', count: 1 });
      h.receiver.clear();
      h.simulator.acceptConversation(conversationId);
      await h.simulator.whenDeliveriesSettled();
      expect(h.receiver.received.map((received) => received.body.eventType)).toEqual(['CONVERSATION_UPDATE', 'MEMBERS_CHANGED']);
      expect(h.simulator.listFaults().webhooks).toEqual({ duplicate: 0, outOfOrder: 0 });
    });
  });

  describe('legacy Chat API v2 events', () => {
    const flat = (received: ReceivedWebhook[]) => received.map((entry) => entry.body);

    it('sends the retired flat events when the simulator runs in legacy mode', async () => {
      const legacy = await startHarness({ validateRequests: false, legacyEvents: true, queues: [{ id: '123', name: 'Customer Support' }] });
      try {
        const { conversationId } = await legacy.startConversation();
        legacy.simulator.acceptConversation(conversationId, { agentId: 'cmalutan', agentName: 'Cosmin,Malutan' });
        legacy.simulator.setAgentTyping(conversationId, true);
        legacy.simulator.sendAgentMessage(conversationId, { text: 'Hello' });
        await legacy.request('POST', `/chat-gateway/v1/conversations/${conversationId}/messages`, { body: { authorType: 'user', text: 'Hi' } });
        legacy.simulator.transferConversation(conversationId, { queueId: '200' });
        await legacy.simulator.whenDeliveriesSettled();
        const bodies = flat(legacy.receiver.received);
        expect(bodies[0]).toEqual({ notificationVersion: 'v2.0', eventType: 'WEB_HOOK_VERIFY' });
        const common = { conversationId, timestamp: expect.any(Number) };
        expect(bodies.slice(1)).toEqual([
          { eventType: 'QUEUED', messageType: 'SYSTEM', ...common, queueId: '123', queueName: 'Customer Support' },
          { eventType: 'AGENT_JOINED', messageType: 'SYSTEM', ...common, agentId: 'cmalutan', agentName: 'Cosmin,Malutan' },
          { eventType: 'TEXT', messageType: 'AGENT', ...common, agentId: 'cmalutan', agentName: 'Cosmin,Malutan', message: 'Hello' },
          { eventType: 'TRANSFER', messageType: 'SYSTEM', ...common },
          { eventType: 'AGENT_LEFT', messageType: 'SYSTEM', ...common, agentId: 'cmalutan', agentName: 'Cosmin,Malutan' },
          { eventType: 'QUEUED', messageType: 'SYSTEM', ...common, queueId: '200', queueName: 'Queue 200' },
        ]);
      } finally {
        await legacy.stop();
      }
    });

    it('switches one webhook to legacy events through the control API', async () => {
      const { conversationId, webhookId } = await h.startConversation();
      const switched = await fetch(`${h.baseUrl}/sim/webhooks/${webhookId}/event-format`, { method: 'PUT', body: JSON.stringify({ format: 'legacy-v2' }) });
      expect(switched.status).toBe(200);
      h.receiver.clear();
      h.simulator.acceptConversation(conversationId, { agentId: 'a1', agentName: 'Ann' });
      await h.simulator.whenDeliveriesSettled();
      expect(flat(h.receiver.received)).toEqual([{ eventType: 'AGENT_JOINED', messageType: 'SYSTEM', conversationId, timestamp: expect.any(Number), agentId: 'a1', agentName: 'Ann' }]);
    });
  });
});
