import { EightByEightHarness, EXAMPLE_REQUESTS, startHarness } from './eight-by-eight-test.fixtures';

describe('8x8 Chat Gateway v1 API', () => {
  let h: EightByEightHarness;

  beforeAll(async () => {
    h = await startHarness({ validateRequests: false });
  });
  afterAll(() => h.stop());
  beforeEach(() => {
    h.simulator.reset();
    h.receiver.clear();
    h.receiver.respondWith(200);
  });

  describe('authentication', () => {
    it('rejects a missing or wrong x-api-key with the 401 problem of the document', async () => {
      for (const key of [undefined, 'wrong']) {
        const response = await h.request('GET', '/chat-gateway/v1/webhooks', { headers: { 'x-api-key': key } });
        expect(response.status).toBe(401);
        expect(response.headers.get('content-type')).toBe('application/problem+json');
        expect(response.json()).toEqual({ message: 'Access Denied', errors: [{ message: 'Access Denied', code: 'access_denied' }], referenceId: expect.any(String) });
      }
    });

    it('accepts the matching X-8x8-Tenant and answers 403 to another tenant', async () => {
      const matching = await h.request('GET', '/chat-gateway/v1/channels', { headers: { 'X-8x8-Tenant': 'tenant01' } });
      expect(matching.status).toBe(200);
      expect(matching.headers.get('content-type')).toBe('application/hal+json');
      const other = await h.request('GET', '/chat-gateway/v1/channels', { headers: { 'X-8x8-Tenant': 'tenant02' } });
      expect(other.status).toBe(403);
      expect(other.json()).toEqual({
        message: 'The tenant does not belong to customer.',
        errors: ["Header X-8x8-Tenant doesn't match tenant information for customerId=customer01"],
      });
    });
  });

  describe('webhooks', () => {
    it('creates a webhook once the receiver confirms WEB_HOOK_VERIFY', async () => {
      const created = await h.request('POST', '/chat-gateway/v1/webhooks', { body: EXAMPLE_REQUESTS.createWebhook(h.webhookUrl) });
      expect(created.status).toBe(200);
      const webhook = created.json();
      expect(webhook).toEqual({ id: expect.any(String), name: 'chat-gateway', uri: h.webhookUrl, version: 'Chat Gateway v1.0' });
      expect(h.receiver.received.map((received) => received.body)).toEqual([{ notificationVersion: 'Chat Gateway v1.0', eventType: 'WEB_HOOK_VERIFY' }]);
      expect(h.receiver.received[0].headers['x-8x8-signature']).toMatch(/^[\w-]+\.\.[\w-]+$/);
      expect((await h.request('GET', `/chat-gateway/v1/webhooks/${webhook.id}`)).json()).toEqual(webhook);
      expect((await h.request('GET', '/chat-gateway/v1/webhooks')).json()._embedded.webhooks).toEqual([webhook]);
    });

    it('refuses a webhook whose receiver does not answer 2xx', async () => {
      h.receiver.respondWith(500);
      const created = await h.request('POST', '/chat-gateway/v1/webhooks', { body: EXAMPLE_REQUESTS.createWebhook(h.webhookUrl) });
      expect(created.status).toBe(400);
      expect(created.json().errors[0].code).toBe('webhook_verification_failed');
      expect((await h.request('GET', '/chat-gateway/v1/webhooks')).json().page.totalElements).toBe(0);
    });

    it('takes notificationVersion in place of version, as the document requires it', async () => {
      const created = await h.request('POST', '/chat-gateway/v1/webhooks', { body: { name: 'n', uri: h.webhookUrl, notificationVersion: 'Chat Gateway v1.0' } });
      expect(created.status).toBe(200);
      expect(created.json().version).toBe('Chat Gateway v1.0');
    });

    it('names every invalid field of a webhook', async () => {
      const created = await h.request('POST', '/chat-gateway/v1/webhooks', { body: { name: '', uri: 'not a uri', version: 'v2.0' } });
      expect(created.status).toBe(400);
      expect(created.headers.get('content-type')).toBe('application/problem+json');
      expect(created.json().validations.map((violation: { field: string }) => violation.field)).toEqual(['name', 'uri', 'version']);
    });

    it('updates and deletes a webhook, then answers 404 for it', async () => {
      const { id } = (await h.request('POST', '/chat-gateway/v1/webhooks', { body: EXAMPLE_REQUESTS.createWebhook(h.webhookUrl) })).json();
      const updated = await h.request('PUT', `/chat-gateway/v1/webhooks/${id}`, { body: { ...EXAMPLE_REQUESTS.createWebhook(h.webhookUrl), name: 'renamed' } });
      expect(updated.json().name).toBe('renamed');
      expect((await h.request('DELETE', `/chat-gateway/v1/webhooks/${id}`)).status).toBe(204);
      const missing = await h.request('GET', `/chat-gateway/v1/webhooks/${id}`);
      expect(missing.status).toBe(404);
      expect(missing.json()).toEqual({ message: `Resource of type WebHook with id ${id} was not found.`, errors: [expect.any(String)] });
    });

    it('verifies a URI on demand: 204 on a 2xx answer, 400 otherwise', async () => {
      const ok = await h.request('POST', '/chat-gateway/v1/webhooks/verify', { body: { version: 'Chat Gateway v1.0', uri: h.webhookUrl } });
      expect(ok.status).toBe(204);
      expect(h.receiver.received[0].body).toEqual({ notificationVersion: 'Chat Gateway v1.0', eventType: 'WEB_HOOK_VERIFY' });
      h.receiver.respondWith(404);
      const failed = await h.request('POST', '/chat-gateway/v1/webhooks/verify', { body: { version: 'Chat Gateway v1.0', uri: h.webhookUrl } });
      expect(failed.status).toBe(400);
    });
  });

  describe('channels', () => {
    it('creates, reads, updates, lists and deletes a ChatAPI channel', async () => {
      const { webhookId, channelId } = await h.setupChannel('101');
      const channel = (await h.request('GET', `/chat-gateway/v1/channels/${channelId}`)).json();
      expect(channel).toEqual({ id: channelId, name: 'Bot escalations', type: 'ChatAPI', webHookId: webhookId, routingOptions: { type: 'queue', id: '101' } });
      const updated = await h.request('PUT', `/chat-gateway/v1/channels/${channelId}`, { body: { ...EXAMPLE_REQUESTS.createChannel(webhookId, '102'), name: 'Other' } });
      expect(updated.json()).toMatchObject({ name: 'Other', routingOptions: { id: '102' } });
      expect((await h.request('GET', '/chat-gateway/v1/channels')).json()._embedded.channels).toHaveLength(1);
      expect((await h.request('DELETE', `/chat-gateway/v1/channels/${channelId}`)).status).toBe(204);
      expect((await h.request('GET', `/chat-gateway/v1/channels/${channelId}`)).status).toBe(404);
    });

    it('rejects an unknown webhook and a non-ChatAPI type with the field names', async () => {
      const unknownWebhook = await h.request('POST', '/chat-gateway/v1/channels', { body: EXAMPLE_REQUESTS.createChannel('nope') });
      expect(unknownWebhook.status).toBe(400);
      expect(unknownWebhook.json().validations).toEqual([{ field: 'webHookId', value: 'nope', code: 'invalid_webhook', message: expect.any(String) }]);
      const sms = await h.request('POST', '/chat-gateway/v1/channels', { body: { ...EXAMPLE_REQUESTS.createChannel('nope'), type: 'SMS', routingOptions: undefined } });
      expect(sms.json().validations.map((violation: { field: string }) => violation.field)).toEqual(['type', 'routingOptions']);
    });

    it('refuses to delete a webhook a channel uses', async () => {
      const { webhookId } = await h.setupChannel();
      expect((await h.request('DELETE', `/chat-gateway/v1/webhooks/${webhookId}`)).status).toBe(400);
    });
  });

  describe('paging', () => {
    beforeEach(async () => {
      const { id } = (await h.request('POST', '/chat-gateway/v1/webhooks', { body: EXAMPLE_REQUESTS.createWebhook(h.webhookUrl) })).json();
      for (let index = 1; index <= 5; index++) {
        await h.request('POST', '/chat-gateway/v1/channels', { body: { ...EXAMPLE_REQUESTS.createChannel(id), name: `Channel ${index}` } });
      }
    });

    it('pages a list with size and page and reports the totals', async () => {
      const second = (await h.request('GET', '/chat-gateway/v1/channels?size=2&page=1&sort=name:asc')).json();
      expect(second._embedded.channels.map((channel: { name: string }) => channel.name)).toEqual(['Channel 3', 'Channel 4']);
      expect(second.page).toEqual({ size: 2, number: 1, totalElements: 5, totalPages: 3 });
      expect(Object.keys(second._links)).toEqual(['self', 'prev', 'next']);
      const last = (await h.request('GET', '/chat-gateway/v1/channels?size=2&page=2&sort=name:desc')).json();
      expect(last._embedded.channels.map((channel: { name: string }) => channel.name)).toEqual(['Channel 1']);
    });

    it('defaults to 20 per page and filters with FIQL', async () => {
      const all = (await h.request('GET', '/chat-gateway/v1/channels')).json();
      expect(all.page).toEqual({ size: 20, number: 0, totalElements: 5, totalPages: 1 });
      const filtered = (await h.request('GET', `/chat-gateway/v1/channels?filter=${encodeURIComponent('name==Channel 2,name==Channel 4')}`)).json();
      expect(filtered._embedded.channels.map((channel: { name: string }) => channel.name).sort()).toEqual(['Channel 2', 'Channel 4']);
    });

    it('rejects an invalid page size', async () => {
      const response = await h.request('GET', '/chat-gateway/v1/channels?size=0');
      expect(response.status).toBe(400);
      expect(response.json().errors[0].code).toBe('invalid_parameter');
    });
  });

  describe('conversations', () => {
    it('answers 202 with the id and creation time, then shows the conversation active in its queue', async () => {
      const { channelId } = await h.setupChannel();
      const created = await h.request('POST', '/chat-gateway/v1/conversations', { body: EXAMPLE_REQUESTS.createConversation(channelId) });
      expect(created.status).toBe(202);
      const { conversationId, createdAt } = created.json();
      expect(new Date(createdAt).toISOString()).toBe(createdAt);
      await h.simulator.whenDeliveriesSettled();
      const conversation = (await h.request('GET', `/chat-gateway/v1/conversations/${conversationId}`)).json();
      expect(conversation).toEqual({
        id: conversationId,
        channelId,
        assignment: { type: 'queue', id: '123' },
        user: EXAMPLE_REQUESTS.createConversation(channelId).user,
        state: 'active',
      });
      expect((await h.request('GET', '/chat-gateway/v1/conversations')).json()._embedded.conversations).toEqual([conversation]);
    });

    it('uses the channel queue when the conversation names none', async () => {
      const { channelId } = await h.setupChannel('777');
      const { conversationId } = (await h.request('POST', '/chat-gateway/v1/conversations', { body: { channelId, user: { name: 'A' } } })).json();
      expect((await h.request('GET', `/chat-gateway/v1/conversations/${conversationId}`)).json().assignment).toEqual({ type: 'queue', id: '777' });
    });

    it('lists the interactions of a conversation', async () => {
      const { conversationId } = await h.startConversation();
      const interactions = (await h.request('GET', `/chat-gateway/v1/conversations/${conversationId}/interactions`)).json()._embedded.interactions;
      expect(interactions).toEqual([{ id: expect.stringMatching(/^int-[0-9a-f]+-.+-chat-00-tenant01$/), startTime: expect.any(String) }]);
    });

    it('re-routes a waiting conversation with PATCH (202) and announces the new queue', async () => {
      const { conversationId } = await h.startConversation();
      h.receiver.clear();
      const patched = await h.request('PATCH', `/chat-gateway/v1/conversations/${conversationId}`, { body: { assignment: { type: 'queue', id: '456' } } });
      expect(patched.status).toBe(202);
      expect(patched.json().assignment).toEqual({ type: 'queue', id: '456' });
      await h.simulator.whenDeliveriesSettled();
      expect(h.receiver.events(conversationId).map((event) => event.eventType)).toEqual(['CONVERSATION_UPDATE', 'QUEUED']);
      expect(h.receiver.events(conversationId)[1].data).toEqual({ queueId: '456', queueName: 'Queue 456' });
    });

    it('replaces the user with PUT (202) and merges it with PATCH', async () => {
      const { conversationId, channelId } = await h.startConversation();
      const put = await h.request('PUT', `/chat-gateway/v1/conversations/${conversationId}`, { body: { channelId, user: { name: 'New Name' }, assignment: { type: 'queue', id: '123' } } });
      expect(put.status).toBe(202);
      expect(put.json().user).toEqual({ name: 'New Name', language: 'en' });
      const patched = await h.request('PATCH', `/chat-gateway/v1/conversations/${conversationId}`, { body: { user: { email: 'n@example.com' } } });
      expect(patched.json().user).toEqual({ name: 'New Name', language: 'en', email: 'n@example.com' });
    });

    it('refuses to re-route a conversation an agent has', async () => {
      const { conversationId } = await h.startConversation();
      h.simulator.acceptConversation(conversationId);
      const patched = await h.request('PATCH', `/chat-gateway/v1/conversations/${conversationId}`, { body: { assignment: { type: 'queue', id: '9' } } });
      expect(patched.status).toBe(409);
    });

    it('rejects a conversation on an unknown channel, and answers 404 for an unknown conversation', async () => {
      const created = await h.request('POST', '/chat-gateway/v1/conversations', { body: { channelId: 'nope', user: {} } });
      expect(created.status).toBe(400);
      expect(created.json().validations[0].field).toBe('channelId');
      const missing = await h.request('GET', '/chat-gateway/v1/conversations/nope');
      expect(missing.status).toBe(404);
      expect(missing.json().message).toBe('Resource of type Conversation with id nope was not found.');
    });

    it('rejects an unknown queue when the simulator only knows configured queues', async () => {
      const strict = await startHarness({ validateRequests: false, rejectUnknownQueues: true, queues: [{ id: '123', name: 'Support' }] });
      try {
        const { channelId } = await strict.setupChannel('123');
        const created = await strict.request('POST', '/chat-gateway/v1/conversations', { body: EXAMPLE_REQUESTS.createConversation(channelId, '112') });
        expect(created.status).toBe(400);
        expect(created.json()).toEqual({ message: 'Queue ID 112 is invalid.', errors: [{ code: 'invalid_queue', message: 'Queue ID 112 is invalid.' }] });
      } finally {
        await strict.stop();
      }
    });

    it('records a post-agent assignment with 201 and checks its limits', async () => {
      const { conversationId, webhookId } = await h.startConversation();
      const path = `/chat-gateway/v1/conversations/${conversationId}/post-agent-assignment`;
      expect((await h.request('POST', path, { body: EXAMPLE_REQUESTS.postAgentAssignment(webhookId) })).status).toBe(201);
      expect(h.simulator.getConversation(conversationId).postAgentAssignment).toMatchObject({ type: 'webhook', id: webhookId, configuration: { maxTotalMinutes: 300 } });
      const tooShort = await h.request('POST', path, { body: { type: 'webhook', id: webhookId, configuration: { maxTotalMinutes: 5 } } });
      expect(tooShort.status).toBe(400);
      expect(tooShort.json().errors[0].code).toBe('invalid_parameter');
      const missing = await h.request('POST', '/chat-gateway/v1/conversations/nope/post-agent-assignment', { body: EXAMPLE_REQUESTS.postAgentAssignment(webhookId) });
      expect(missing.status).toBe(404);
      expect(missing.json().errors[0].code).toBe('resource_not_found');
    });

    it('takes typing, thinking and read receipts with 204 and checks their author type', async () => {
      const { conversationId } = await h.startConversation();
      const base = `/chat-gateway/v1/conversations/${conversationId}`;
      expect((await h.request('POST', `${base}/typing`, { body: { authorType: 'user' } })).status).toBe(204);
      expect((await h.request('POST', `${base}/thinking`)).status).toBe(204);
      expect((await h.request('POST', `${base}/read-receipt`, { body: { authorType: 'user', readAt: Date.now() } })).status).toBe(204);
      const agentTyping = await h.request('POST', `${base}/typing`, { body: { authorType: 'agent' } });
      expect(agentTyping.status).toBe(400);
      expect(agentTyping.json().errors[0].code).toBe('invalid_parameter');
      expect((await h.request('POST', `${base}/read-receipt`, { body: { authorType: 'bot' } })).status).toBe(400);
      expect((await h.request('POST', `${base}/thinking`, { body: { maxThinkingTimeSeconds: 601 } })).status).toBe(400);
      const signals = h.simulator.getConversation(conversationId).signals as Array<{ kind: string }>;
      expect(signals.map((signal) => signal.kind)).toEqual(['typing', 'thinking', 'read-receipt']);
    });
  });

  describe('participants', () => {
    it('lists the user and the bot, then the agent once accepted', async () => {
      const { conversationId } = await h.startConversation();
      const path = `/chat-gateway/v1/conversations/${conversationId}/participants`;
      expect((await h.request('GET', path)).json()._embedded.participants).toEqual([
        { id: 'user', removed: false, type: 'user', language: 'en' },
        { id: 'bot', removed: false, type: 'bot', language: 'en' },
      ]);
      h.simulator.acceptConversation(conversationId, { agentId: 'agent-7', agentName: 'Ann' });
      expect((await h.request('GET', path)).json()._embedded.participants[2]).toEqual({ id: 'agent-7', removed: false, type: 'agent', language: 'en' });
    });

    it('lets the user leave with PATCH participants/user {removed:true} (204)', async () => {
      const { conversationId } = await h.startConversation();
      const left = await h.request('PATCH', `/chat-gateway/v1/conversations/${conversationId}/participants/user`, { body: { removed: true, displayMessage: 'Bye' } });
      expect(left.status).toBe(204);
      expect((await h.request('GET', `/chat-gateway/v1/conversations/${conversationId}`)).json().state).toBe('idle');
      const participants = (await h.request('GET', `/chat-gateway/v1/conversations/${conversationId}/participants`)).json()._embedded.participants;
      expect(participants[0]).toMatchObject({ type: 'user', removed: true });
      expect((await h.request('PATCH', `/chat-gateway/v1/conversations/${conversationId}/participants/user`, { body: { removed: false } })).status).toBe(400);
    });
  });

  describe('messages', () => {
    it('accepts a message with 202 and lists messages newest first, history included', async () => {
      const { conversationId } = await h.startConversation();
      const path = `/chat-gateway/v1/conversations/${conversationId}/messages`;
      const sent = await h.request('POST', path, { body: { authorType: 'user', text: 'first' } });
      expect(sent.status).toBe(202);
      expect(sent.body).toHaveLength(0);
      await h.request('POST', path, { body: { authorType: 'bot', text: 'second' } });
      const listed = (await h.request('GET', path)).json();
      expect(listed.page.totalElements).toBe(6);
      expect(listed._embedded.messages.slice(0, 2).map((message: { text: string }) => message.text)).toEqual(['second', 'first']);
      expect(listed._embedded.messages[0].author).toEqual({ id: 'bot', removed: false, type: 'bot', language: 'en' });
      const ascending = (await h.request('GET', `${path}?sort=createdAt:asc&size=1`)).json();
      expect(ascending._embedded.messages[0].text).toBe('Hello, can I get my balance please');
    });

    it('gets one message and its cards', async () => {
      const { conversationId } = await h.startConversation();
      const path = `/chat-gateway/v1/conversations/${conversationId}/messages`;
      await h.request('POST', path, { body: EXAMPLE_REQUESTS.messageWithCards });
      const [latest] = (await h.request('GET', `${path}?size=1`)).json()._embedded.messages;
      const message = (await h.request('GET', `${path}/${latest.id}`)).json();
      expect(message).toMatchObject({ id: latest.id, text: 'What would you like to do next?', author: { type: 'user' } });
      const cards = (await h.request('GET', `${path}/${latest.id}/cards`)).json()._embedded.cards;
      expect(cards.map((card: { contentType: string }) => card.contentType)).toEqual(['application/8x8.quick.replies', 'application/vnd.microsoft.card.adaptive']);
      expect(cards[0]).toMatchObject({ id: expect.any(String), actionSubmitted: false, actionExecuted: false });
      expect((await h.request('GET', `${path}/nope`)).status).toBe(404);
    });

    it('rejects a bad authorType with the BadRequestProblem of the document', async () => {
      const { conversationId } = await h.startConversation();
      const response = await h.request('POST', `/chat-gateway/v1/conversations/${conversationId}/messages`, { body: { authorType: 'ghfgh', text: 'x' } });
      expect(response.status).toBe(400);
      expect(response.json()).toEqual({
        message: 'Invalid authorType=ghfgh, has to be one of user, bot, agent',
        errors: { code: 'invalid_json_object', message: 'Invalid authorType=ghfgh, has to be one of user, bot, agent' },
        referenceId: expect.any(String),
      });
    });

    it('takes an external-provider message but not one with text as well', async () => {
      const { conversationId } = await h.startConversation();
      const path = `/chat-gateway/v1/conversations/${conversationId}/messages`;
      expect((await h.request('POST', path, { body: EXAMPLE_REQUESTS.messageWithExternalProvider })).status).toBe(202);
      const both = await h.request('POST', path, { body: { ...EXAMPLE_REQUESTS.messageWithExternalProvider, text: 'x' } });
      expect(both.status).toBe(400);
      expect(both.json().message).toBe('Both text and externalProvider cannot be provided at the same time');
      expect((await h.request('POST', path, { body: 'not json', headers: {} })).status).toBe(400);
    });
  });

  describe('attachments', () => {
    const upload = (conversationId: string, content: Buffer, fields: Record<string, string> = { authorType: 'user' }, name = 'statement.pdf') => {
      const form = new FormData();
      form.append('attachment', new Blob([content], { type: 'application/pdf' }), name);
      for (const [key, value] of Object.entries(fields)) form.append(key, value);
      return h.request('POST', `/chat-gateway/v1/conversations/${conversationId}/attachments`, { rawBody: form });
    };

    it('uploads a multipart file (200) and serves it back with Content-Disposition', async () => {
      const { conversationId } = await h.startConversation();
      const content = Buffer.from('%PDF-1.4 pretend');
      const uploaded = await upload(conversationId, content);
      expect(uploaded.status).toBe(200);
      const attachment = uploaded.json();
      expect(attachment).toEqual({ id: expect.any(String), filename: 'statement.pdf', sizeInBytes: content.length, createdAt: expect.any(String) });
      expect(attachment.id).toHaveLength(86);
      const base = `/chat-gateway/v1/conversations/${conversationId}/attachments`;
      expect((await h.request('GET', base)).json()._embedded.attachments).toEqual([attachment]);
      expect((await h.request('GET', `${base}/${attachment.id}`)).json()).toEqual(attachment);
      const download = await h.request('GET', `${base}/${attachment.id}/content`);
      expect(download.headers.get('content-type')).toBe('application/octet-stream');
      expect(download.headers.get('content-disposition')).toContain('filename="statement.pdf"');
      expect(download.body.equals(content)).toBe(true);
      expect((await h.request('GET', `${base}/nope/content`)).status).toBe(404);
    });

    it('requires the attachment part and a user or bot author', async () => {
      const { conversationId } = await h.startConversation();
      const form = new FormData();
      form.append('authorType', 'user');
      const noFile = await h.request('POST', `/chat-gateway/v1/conversations/${conversationId}/attachments`, { rawBody: form });
      expect(noFile.status).toBe(400);
      expect(noFile.json().validations[0].field).toBe('attachment');
      expect((await upload(conversationId, Buffer.from('x'), { authorType: 'agent' })).status).toBe(400);
      expect((await h.request('POST', `/chat-gateway/v1/conversations/${conversationId}/attachments`, { body: { attachment: 'x' } })).status).toBe(400);
    });

    it('sends an uploaded file in a message and refuses an unknown attachment id', async () => {
      const { conversationId } = await h.startConversation();
      const { id } = (await upload(conversationId, Buffer.from('hello'), { authorType: 'bot' }, 'hello.txt')).json();
      const path = `/chat-gateway/v1/conversations/${conversationId}/messages`;
      expect((await h.request('POST', path, { body: { authorType: 'bot', attachments: [{ id }] } })).status).toBe(202);
      const [latest] = (await h.request('GET', `${path}?size=1`)).json()._embedded.messages;
      expect(latest.attachments).toEqual([{ id }]);
      const unknown = await h.request('POST', path, { body: { authorType: 'bot', attachments: [{ id: 'nope' }] } });
      expect(unknown.status).toBe(400);
      expect(unknown.json().validations[0].value).toBe('nope');
    });
  });
});
