import { Browser, Page } from 'playwright-core';
import { TeamsSimulator } from '@app/simulators/teams';
import { BotReceiver, Delivery, waitFor } from '../support/bot-receiver';
import { resetState, startTestApp, TestApp } from '../support/test-app';
import { SIGNING_SECRET } from '../escalations/fake-setup';
import { collectPageErrors, launchChromium, screenshot, waitForText } from './console-browser';

const APP_ID = '00000000-0000-4000-8000-0000000c0a50';
const SECRET = 'teams-console-secret';
const TENANT = '00000000-0000-4000-8000-0000000c0a51';

/**
 * The Teams simulator's user console (/console) in headless Chromium, a person playing the Teams user against the
 * service's `microsoft-teams` gateway: every click is checked where it lands, at the bot's callback.
 */
describe('Teams user console', () => {
  const teams = new TeamsSimulator();
  const receiver = new BotReceiver(SIGNING_SECRET);
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];
  let gatewayId: string;

  beforeAll(async () => {
    await resetState();
    await teams.start();
    await receiver.start();
    t = await startTestApp();
    browser = await launchChromium();
    const domain = `teams-console-${Date.now()}`;
    expect((await t.request('POST', '/v1/domains', { body: { name: domain, callbackUrl: receiver.url, signingSecret: SIGNING_SECRET } })).status).toBe(201);
    const gateway = await t.request('POST', '/v1/gateways', {
      body: {
        type: 'microsoft-teams',
        settings: {
          basic: { name: 'teams', domain, deployed: true, appId: APP_ID, appPassword: SECRET, appTenantId: TENANT },
          configuration: { openIdMetadataUrl: teams.openIdMetadataUrl, tokenEndpointTemplate: teams.tokenEndpointTemplate, allowedServiceUrlHosts: '127.0.0.1' },
        },
      },
    });
    expect(gateway.status).toBe(201);
    gatewayId = gateway.body.id;
    teams.registerBot({ appId: APP_ID, name: 'Help bot', secret: SECRET, tenantId: TENANT, messagingEndpoint: `${t.url}/v1/webhooks/${gatewayId}` });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(10_000);
    pageErrors = collectPageErrors(page);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await teams.stop();
    await receiver.stop();
  });

  const at = (where: (d: Delivery) => boolean, what: string) => waitFor(what, () => receiver.deliveries.find(where), 15_000);

  it('adds a user, installs the app, writes, presses a card button and a suggested action, and uninstalls', async () => {
    await page.goto(`${teams.baseUrl}/console`);
    await waitFor('the bot in the list', async () => (await page.locator('#bot option').count()) > 0);
    await page.fill('#new-user', 'Ana Lopez');
    await page.click('#add-user button');
    await waitForText(page.locator('#user'), 'Ana Lopez');
    await page.click('#install');
    await waitForText(page.locator('#state'), 'Installed');
    const started = await at((d) => d.type === 'conversation_started' && d.data.channel === 'microsoft-teams', 'conversation_started');
    const id = started.conversationId;
    expect(started.data.user.name).toBe('Ana Lopez');

    await page.fill('#text', 'hello bot');
    await page.press('#text', 'Enter');
    await at((d) => d.conversationId === id && d.type === 'user_message' && d.data.text === 'hello bot', 'the typed message at the bot');

    const card = { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'Reset your password?' }], actions: [{ type: 'Action.Submit', title: 'Reset it', data: { choice: 'reset' } }] };
    expect((await t.request('POST', `/v1/conversations/${id}/messages`, { body: { text: 'I can help.', cards: [{ contentType: 'application/vnd.microsoft.card.adaptive', content: card }] } })).status).toBe(202);
    await waitForText(page.locator('#messages'), 'Reset your password?');
    await page.getByRole('button', { name: 'Reset it' }).click();
    const submitted = await at((d) => d.conversationId === id && d.type === 'user_message' && d.data.value !== undefined, 'the card submit at the bot');
    expect(submitted.data.value).toEqual({ choice: 'reset' });

    const push = await t.request('POST', '/v1/conversations', {
      body: { gatewayId, recipient: { userId: started.data.user.id }, message: { text: 'Book a pick-up slot?', quickReplies: [{ title: 'Yes, book it', value: 'PICKUP_YES' }] } },
    });
    expect(push.status).toBe(202);
    await waitForText(page.locator('#messages'), 'Book a pick-up slot?');
    await page.getByRole('button', { name: 'Yes, book it' }).click();
    await at((d) => d.conversationId === id && d.type === 'user_message' && d.data.text === 'PICKUP_YES', 'the suggested action at the bot');
    await screenshot(page, 'teams-console');

    await page.click('#uninstall');
    await at((d) => d.conversationId === id && d.type === 'user_reachability' && d.data.reachable === false, 'the uninstall at the bot');
    expect(pageErrors).toEqual([]);
    expect(receiver.undocumented).toEqual([]);
  });
});
