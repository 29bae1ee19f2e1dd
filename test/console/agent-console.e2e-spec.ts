import { Browser, Page } from 'playwright-core';
import { EightByEightHarness, startHarness } from '@app/simulators/eight-by-eight/eight-by-eight-test.fixtures';
import { GmsSimulator } from '@app/simulators/gms';
import { TestGmsClient } from '@app/simulators/gms/gms-simulator.spec-helpers';
import { waitFor } from '../support/bot-receiver';
import { collectPageErrors, launchChromium, screenshot, waitForText } from './console-browser';

/**
 * A person playing the agent in the simulators' web console (/console), driven in headless Chromium: every UI action
 * is checked on the simulator's own state, which is what the gateway under test would see.
 */
describe('agent console', () => {
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];

  // Chromium's first start and first page on a busy 2-core machine (a full test run) have each taken over jest's 5 s
  // default for a hook.
  beforeAll(async () => {
    browser = await launchChromium();
  }, 30_000);
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    // The console shows a change within one 500 ms poll; a locator still missing after 5 s is a failure.
    page.setDefaultTimeout(5_000);
    pageErrors = collectPageErrors(page);
  }, 30_000);
  afterEach(async () => {
    await page?.close();
    expect(pageErrors).toEqual([]);
  });

  const fileBytes = Buffer.from('%PDF-1.4 card block form');

  describe('on the GMS simulator', () => {
    // No timers: the test plays the customer by hand and does not keep polling.
    const gms = new GmsSimulator({ flexDisconnectSeconds: 0, timeoutAlertSeconds: 0, timeoutCloseSeconds: 0 });
    let base: string;

    beforeAll(async () => {
      base = await gms.start();
    });
    afterAll(async () => {
      await gms.stop();
    });

    it('lets a person accept a waiting chat, read history and userData, type, send text and a file, transfer and close', async () => {
      // The customer side exactly as the genesys-pureengage gateway does it: Request Chat with userData, then the
      // bot history as the customer's first message.
      const client = new TestGmsClient(gms.chatServiceUrl('customer-support'));
      const requested = await client.requestChat({
        nickname: 'Ada Lovelace',
        firstName: 'Ada',
        lastName: 'Lovelace',
        emailAddress: 'ada@example.com',
        subject: 'Lost card',
        'userData[queue]': 'cards',
        'userData[Intent]': 'lost-card',
        'userData[CustomerTier]': 'gold',
      });
      expect(requested.body.statusCode).toBe(0);
      const chatId = client.chatId;
      await client.call('send', {
        message: 'Conversation with the virtual agent before the transfer (2 entries, times UTC):\n[10:00:00] Customer: I lost my card\n[10:00:04] Virtual agent: I can connect you to a person.',
      });
      const chat = () => gms.getChat(chatId)!;
      const agentEvents = (type: string) => chat().transcript.filter((e) => e.from.type === 'Agent' && e.type === type);

      await page.goto(`${base}/console`);
      await page.getByLabel('Agent name').fill('Grace');
      await page.getByLabel('Agent name').press('Tab');
      const accept = page.getByRole('button', { name: 'Accept chat from Ada Lovelace in cards' });
      await accept.waitFor();
      await waitForText(page.getByRole('region', { name: 'cards (1)' }), 'Ada Lovelace');
      await screenshot(page, 'gms-1-waiting');

      await accept.click();
      await waitFor('Grace in the chat on GMS', () => chat().agents.some((agent) => agent.nickname === 'Grace'));
      expect(chat().state).toBe('active');
      const transcript = page.getByRole('log', { name: 'Transcript' });
      await waitForText(transcript, 'Virtual agent: I can connect you to a person.');
      await waitForText(transcript, 'Grace joined');
      const attributes = page.getByRole('table', { name: 'Attributes (userData)' });
      await attributes.getByRole('row', { name: 'Intent lost-card' }).waitFor();
      await attributes.getByRole('row', { name: 'CustomerTier gold' }).waitFor();
      await waitForText(page.getByRole('complementary', { name: 'Customer and attributes' }), 'ada@example.com');
      await waitForText(page.locator('#chat-state'), 'With Grace');

      // The customer writes and types: the console shows it on its next poll.
      await client.call('send', { message: 'Is anyone there?' });
      await waitForText(transcript, 'Is anyone there?');
      await client.call('startTyping');
      await waitForText(page.locator('#customer-typing'), 'Ada Lovelace is typing…');
      await client.call('stopTyping');
      await waitFor('the typing indicator gone', async () => (await page.locator('#customer-typing').innerText()) === '');

      const message = page.getByLabel('Message');
      await message.fill('Hello Ada, I am Grace. I will block the card now.');
      await waitFor('TypingStarted from the agent', () => agentEvents('TypingStarted').length === 1);
      expect(agentEvents('TypingStopped')).toHaveLength(0);
      await page.getByRole('button', { name: 'Send', exact: true }).click();
      await waitFor('the agent message on GMS', () => agentEvents('Message').length === 1);
      expect(agentEvents('Message')[0]).toMatchObject({ text: 'Hello Ada, I am Grace. I will block the card now.', from: { nickname: 'Grace' } });
      expect(agentEvents('TypingStopped')).toHaveLength(1);
      expect(agentEvents('TypingStopped')[0].index!).toBeLessThan(agentEvents('Message')[0].index!);
      expect(await message.inputValue()).toBe('');
      await waitForText(transcript, 'I will block the card now.');
      await screenshot(page, 'gms-2-conversation');

      await page.getByLabel('File to send').setInputFiles({ name: 'block-form.pdf', mimeType: 'application/pdf', buffer: fileBytes });
      await page.getByRole('button', { name: 'Send file' }).click();
      await waitFor('the agent file on GMS', () => agentEvents('FileUploaded').length === 1);
      const fileId = String(agentEvents('FileUploaded')[0].text);
      expect(gms.fileContent(chatId, fileId)).toMatchObject({ file: { name: 'block-form.pdf', mimeType: 'application/pdf', uploadedBy: 'Agent' }, content: fileBytes });
      // The customer can download what the agent sent, and so can the person from the console's link.
      const link = page.getByRole('link', { name: 'block-form.pdf' });
      await link.waitFor();
      const download = await fetch(new URL((await link.getAttribute('href'))!, base));
      expect(Buffer.from(await download.arrayBuffer())).toEqual(fileBytes);

      await page.getByRole('button', { name: 'Transfer' }).click();
      await waitForText(page.getByRole('alert'), 'Name the queue to transfer to.');
      expect(chat().state).toBe('active');
      await page.getByLabel('Transfer to queue').fill('billing');
      await page.getByRole('button', { name: 'Transfer' }).click();
      await waitFor('the chat waiting in billing', () => chat().state === 'waiting' && chat().queue === 'billing');
      expect(agentEvents('ParticipantLeft')).toHaveLength(1);
      expect(chat().agents).toEqual([]);
      await waitForText(page.locator('#chat-state'), 'Waiting in queue billing');
      expect(await message.isDisabled()).toBe(true);
      await page.getByRole('button', { name: 'Accept chat from Ada Lovelace in billing' }).waitFor();
      await screenshot(page, 'gms-3-transferred');

      // The next agent in billing takes it (this console again) and closes it.
      await page.getByRole('button', { name: 'Accept this chat' }).click();
      await waitFor('the agent back in the chat', () => chat().state === 'active' && agentEvents('ParticipantJoined').length === 2);
      await page.getByRole('button', { name: 'Close chat' }).click();
      await waitFor('the chat ended on GMS', () => chat().state === 'ended');
      expect(chat().endReason).toBe('agent-closed');
      expect(agentEvents('ParticipantLeft')).toHaveLength(2);
      await waitForText(page.locator('#chat-state'), 'Ended');
      expect(await page.getByRole('button', { name: 'Close chat' }).isDisabled()).toBe(true);
      // What the customer reads: the agent's join, message, file, the transfer notice and the end.
      const refresh = await client.refresh();
      expect(refresh.body.chatEnded).toBe(true);
      await screenshot(page, 'gms-4-closed');
    }, 60_000);
  });

  describe('on the 8x8 simulator', () => {
    let harness: EightByEightHarness;

    beforeAll(async () => {
      harness = await startHarness({ queues: [{ id: '101', name: 'Support' }, { id: '102', name: 'Billing' }] });
    });
    afterAll(async () => {
      await harness?.stop();
    });

    it('lets a person accept a queued conversation, read history and additionalProperties, type, send text and a file, transfer and close', async () => {
      const sim = harness.simulator;
      // As the 8x8-chat-gateway gateway does it: webhook, channel, then the conversation with attributes and history.
      const { channelId } = await harness.setupChannel('101');
      const created = await harness.request('POST', '/chat-gateway/v1/conversations', {
        body: {
          channelId,
          assignment: { type: 'queue', id: '101' },
          user: {
            name: 'James Jones',
            userId: 'bot-conv-8812',
            email: 'james@example.com',
            caseId: 'esc-42',
            language: 'en',
            additionalProperties: [
              { key: 'Intent', value: 'balance' },
              { key: 'Authenticated', value: 'yes' },
            ],
          },
          history: {
            messages: [
              { authorType: 'user', text: 'What is my balance?' },
              { authorType: 'bot', text: 'Let me get you an agent for that.' },
            ],
          },
        },
      });
      expect(created.status).toBe(202);
      const id = created.json().conversationId as string;
      await sim.whenDeliveriesSettled();
      const conversation = () => sim.getConversation(id) as Record<string, any>;
      const events = () => harness.receiver.events(id);
      const eventsOf = (type: string) => events().filter((event) => event.eventType === type) as Array<Record<string, any>>;
      const settled = () => sim.whenDeliveriesSettled();
      expect(conversation().phase).toBe('queued');

      await page.goto(`${harness.baseUrl}/console`);
      await page.getByLabel('Agent name').fill('Grace Hopper');
      await page.getByLabel('Agent name').press('Tab');
      const accept = page.getByRole('button', { name: 'Accept chat from James Jones in Support (101)' });
      await accept.waitFor();
      await screenshot(page, '8x8-1-waiting');

      await accept.click();
      await waitFor('the agent on the conversation', () => conversation().phase === 'with-agent');
      expect(conversation().agent).toEqual({ id: 'grace-hopper', name: 'Grace Hopper' });
      await settled();
      expect(eventsOf('MEMBERS_CHANGED').map((e) => e.data)).toEqual([{ memberType: 'agent', change: 'joined', id: 'grace-hopper' }]);

      const transcript = page.getByRole('log', { name: 'Transcript' });
      await waitForText(transcript, 'Bot conversation before the hand-over'.toUpperCase());
      await waitForText(transcript, 'Let me get you an agent for that.');
      const attributes = page.getByRole('table', { name: 'Attributes (additionalProperties)' });
      await attributes.getByRole('row', { name: 'Intent balance' }).waitFor();
      await attributes.getByRole('row', { name: 'Authenticated yes' }).waitFor();
      await waitForText(page.getByRole('complementary', { name: 'Customer and attributes' }), 'esc-42');

      // The customer (through the integration) types and writes: both show up on the next poll.
      expect((await harness.request('POST', `/chat-gateway/v1/conversations/${id}/typing`, { body: { authorType: 'user' } })).status).toBe(204);
      await waitForText(page.locator('#customer-typing'), 'James Jones is typing…');
      expect((await harness.request('POST', `/chat-gateway/v1/conversations/${id}/messages`, { body: { authorType: 'user', text: 'Hello?' } })).status).toBe(202);
      await waitForText(transcript, 'Hello?');
      await waitFor('the typing indicator gone once the message came', async () => (await page.locator('#customer-typing').innerText()) === '');

      const message = page.getByLabel('Message');
      await message.fill('Hi James, Grace here.');
      await waitFor('typing ACTIVITY for the agent', () => eventsOf('ACTIVITY').length === 1);
      expect(eventsOf('ACTIVITY')[0].data).toEqual({ name: 'typing', value: { users: [{ type: 'agent', id: 'grace-hopper' }] } });
      await message.press('Enter');
      await waitFor('the agent MESSAGE', () => eventsOf('MESSAGE').some((e) => e.data.sender.type === 'agent'));
      await settled();
      const agentMessages = () => eventsOf('MESSAGE').filter((e) => e.data.sender.type === 'agent');
      expect(agentMessages()[0].data).toMatchObject({ isEcho: false, text: 'Hi James, Grace here.', sender: { id: 'grace-hopper', type: 'agent' } });
      expect(eventsOf('ACTIVITY').map((e) => e.data.value.users)).toEqual([[{ type: 'agent', id: 'grace-hopper' }], []]);
      await waitForText(transcript, 'Hi James, Grace here.');
      await screenshot(page, '8x8-2-conversation');

      await page.getByLabel('File to send').setInputFiles({ name: 'statement.pdf', mimeType: 'application/pdf', buffer: fileBytes });
      await page.getByRole('button', { name: 'Send file' }).click();
      await waitFor('the agent file', () => agentMessages().length === 2);
      const [attachment] = agentMessages()[1].data.attachments;
      expect(attachment).toMatchObject({ type: 'file', fileName: 'statement.pdf' });
      expect(Buffer.from(await (await fetch(attachment.preSignedUrl)).arrayBuffer())).toEqual(fileBytes);
      await page.getByRole('link', { name: 'statement.pdf' }).waitFor();

      await page.getByLabel('Transfer to queue').fill('102');
      await page.getByRole('button', { name: 'Transfer' }).click();
      await waitFor('the conversation queued in 102', () => conversation().phase === 'queued' && conversation().queue.id === '102');
      await settled();
      expect(eventsOf('TRANSFER')).toHaveLength(1);
      expect(eventsOf('QUEUED').map((e) => e.data.queueId)).toEqual(['101', '102']);
      await waitForText(page.locator('#chat-state'), 'Waiting in Billing (102)');
      expect(await message.isDisabled()).toBe(true);
      await page.getByRole('button', { name: 'Accept chat from James Jones in Billing (102)' }).waitFor();
      await screenshot(page, '8x8-3-transferred');

      await page.getByRole('button', { name: 'Accept this chat' }).click();
      await waitFor('the agent back', () => conversation().phase === 'with-agent');
      await page.getByRole('button', { name: 'Close chat' }).click();
      await waitFor('the conversation ended', () => conversation().phase === 'ended');
      await settled();
      expect(conversation().endedBy).toBe('agent');
      expect(eventsOf('MEMBERS_CHANGED').map((e) => e.data.change)).toEqual(['joined', 'left', 'joined', 'left']);
      expect(eventsOf('CONVERSATION_UPDATE').at(-1)!.data).toMatchObject({ state: 'idle' });
      await waitForText(page.locator('#chat-state'), 'Ended by the agent');
      await screenshot(page, '8x8-4-closed');
      expect(sim.oasViolations()).toEqual([]);
    }, 60_000);
  });
});
