import { Browser, Page } from 'playwright-core';
import { GmsSimulator } from '@app/simulators/gms';
import { BotReceiver, Delivery, waitFor } from '../support/bot-receiver';
import { resetState, startTestApp, TestApp } from '../support/test-app';
import { SIGNING_SECRET } from '../escalations/fake-setup';
import { collectPageErrors, launchChromium, screenshot, waitForText } from '../console/console-browser';

/**
 * The web chat page (`/webchat/{gatewayId}`) in headless Chromium: Microsoft's Web Chat widget, served by the service
 * from node_modules, talks Direct Line 3.0 to the service. The test plays the bot (its receiver gets the events and it
 * answers through the bot API) and, in a second page, the agent in the GMS simulator's console.
 */
describe('web chat page in a browser, handed to an agent and back', () => {
  let t: TestApp;
  let browser: Browser;
  const gms = new GmsSimulator({ timeoutAlertSeconds: 0, timeoutCloseSeconds: 0 });
  const receiver = new BotReceiver(SIGNING_SECRET);
  const pages: Page[] = [];
  const pageErrors: string[][] = [];

  beforeAll(async () => {
    await resetState();
    await gms.start();
    await receiver.start();
    t = await startTestApp({ POLL_TICK_MS: '100' });
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await gms.stop();
    await receiver.stop();
  });

  const open = async (url: string): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
    page.setDefaultTimeout(10_000);
    pageErrors.push(collectPageErrors(page));
    pages.push(page);
    await page.goto(url);
    return page;
  };

  /** The first event of `type` for the conversation (any, when null) matching `where`, after `after` of them. */
  const event = (type: string, where: (d: Delivery) => boolean, conversationId: string | null = null) =>
    waitFor(`a ${type} event at the bot`, () => receiver.deliveries.find((d) => d.type === type && (conversationId === null || d.conversationId === conversationId) && where(d)), 15_000);

  it('a user talks to the bot, asks for an agent, sees the agent type and answer on GMS, and has the bot again after the close', async () => {
    const domain = `web-${Date.now()}`;
    expect((await t.request('POST', '/v1/domains', { body: { name: domain, callbackUrl: receiver.url, signingSecret: SIGNING_SECRET } })).status).toBe(201);
    const agentGateway = await t.request('POST', '/v1/gateways', {
      body: {
        type: 'genesys-pureengage',
        settings: {
          basic: { name: 'gms', domain, deployed: true, serviceUrl: gms.baseUrl, serviceName: 'customer-support' },
          configuration: { transferBackOnAgentClose: true, escalationTimeoutSeconds: 300 },
          additional: { clientPollingIntervalSeconds: 0.25, apiRetryInitialDelayMs: 100, apiRetryMultiplier: 2, apiRetryMaxAttempts: 3 },
        },
      },
    });
    expect(agentGateway.status).toBe(201);
    const chatGateway = await t.request('POST', '/v1/gateways', {
      body: {
        type: 'webchat',
        settings: { basic: { name: 'site', domain, deployed: true, directLineSecret: 'a-direct-line-secret-of-at-least-32-chars', botName: 'Help bot' }, configuration: { hostedPage: true } },
      },
    });
    expect(chatGateway.status).toBe(201);

    // The user opens the page and writes: the bot receives the message as an event of a new channel conversation.
    const user = await open(`${t.url}/webchat/${chatGateway.body.id}?name=Ada`);
    const sendBox = user.locator('[data-id="webchat-sendbox-input"]');
    const transcript = user.locator('.webchat__basic-transcript');
    await sendBox.fill('Hello bot');
    await sendBox.press('Enter');
    const first = await event('user_message', (d) => d.data.text === 'Hello bot');
    const conversationId = first.conversationId;
    expect(first.escalationId).toBeNull();

    // The bot answers through the bot API; the widget shows it.
    const answer = await t.request('POST', `/v1/conversations/${conversationId}/messages`, { body: { text: 'Hello, I am the bot. How can I help?' } });
    expect(answer.status).toBe(202);
    await waitForText(transcript, 'Hello, I am the bot. How can I help?');

    // The user asks for a person; the bot escalates this conversation to GMS.
    await sendBox.fill('I want to talk to an agent');
    await sendBox.press('Enter');
    await event('user_message', (d) => d.data.text === 'I want to talk to an agent', conversationId);
    const escalation = await t.request('POST', '/v1/escalations', {
      body: { domain, gatewayId: agentGateway.body.id, conversation: { id: conversationId }, user: { name: 'Ada' }, queue: 'cards', history: [] },
      headers: { 'idempotency-key': `web-${conversationId}` },
    });
    expect(escalation.status).toBe(202);
    expect(escalation.body.conversationId).toBe(conversationId);
    await screenshot(user, 'webchat-1-bot');

    // The agent accepts in the GMS console, types and answers: the widget shows the typing and the message.
    const agent = await open(`${gms.baseUrl}/console`);
    await agent.getByLabel('Agent name').fill('Grace');
    await agent.getByLabel('Agent name').press('Tab');
    await agent.getByRole('button', { name: /Accept chat from .* in cards/ }).click();
    await event('agent_joined', (d) => d.data.agent?.displayName === 'Grace', conversationId);
    await agent.getByLabel('Message').fill('Hello, this is Grace.');
    await event('agent_typing_started', () => true, conversationId);
    await user.locator('.webchat__typing-indicator').first().waitFor({ state: 'visible' });
    await agent.getByRole('button', { name: 'Send', exact: true }).click();
    await waitForText(transcript, 'Hello, this is Grace.');
    await screenshot(user, 'webchat-2-agent');

    // The user's answer reaches the agent on GMS (and the bot, which sees everything).
    await sendBox.fill('My card is lost');
    await sendBox.press('Enter');
    const chat = () => gms.listChats().map((summary) => gms.getChat(summary.chatId)!).find((c) => c.userData.escalationId === escalation.body.id);
    await waitFor('the user message on GMS', () => chat()?.transcript.some((e) => e.from.type === 'Client' && e.text === 'My card is lost'), 15_000);
    await event('user_message', (d) => d.data.text === 'My card is lost', conversationId);
    // While the agent has control the bot's own answers are refused.
    expect((await t.request('POST', `/v1/conversations/${conversationId}/messages`, { body: { text: 'bot interrupting' } })).status).toBe(409);

    // The agent closes; control returns to the bot, which speaks again.
    await agent.getByRole('button', { name: 'Close chat' }).click();
    await event('ended', (d) => d.data.controlReturnedToBot === true, conversationId);
    expect((await t.request('GET', `/v1/conversations/${conversationId}`)).body.control).toBe('bot');
    expect((await t.request('POST', `/v1/conversations/${conversationId}/messages`, { body: { text: 'The bot again. Anything else?' } })).status).toBe(202);
    await waitForText(transcript, 'The bot again. Anything else?');
    await screenshot(user, 'webchat-3-back');
    expect(pageErrors.flat()).toEqual([]);
  }, 120_000);
});
