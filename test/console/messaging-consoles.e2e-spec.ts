import { Browser, Page } from 'playwright-core';
import { TwilioSimulator } from '@app/simulators/twilio';
import { WhatsAppSimulator } from '@app/simulators/whatsapp';
import { BotReceiver, Delivery, waitFor } from '../support/bot-receiver';
import { freePort, resetState, startTestApp, TestApp } from '../support/test-app';
import { SIGNING_SECRET } from '../escalations/fake-setup';
import { collectPageErrors, launchChromium, screenshot, waitForText } from './console-browser';

const BUSINESS_NUMBER = '+14155550100';

/**
 * The Twilio and WhatsApp simulators' user consoles (/console) in headless Chromium: a person plays the phone against
 * the service's `twilio-sms` and `whatsapp-cloud` gateways; every click is checked where it lands, at the bot.
 */
describe('phone consoles of the SMS and WhatsApp simulators', () => {
  const twilio = new TwilioSimulator();
  const whatsapp = new WhatsAppSimulator();
  const receiver = new BotReceiver(SIGNING_SECRET);
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[];
  let domain: string;

  beforeAll(async () => {
    await resetState();
    await Promise.all([twilio.start(), whatsapp.start(), receiver.start()]);
    const port = await freePort();
    t = await startTestApp({ PORT: String(port), PUBLIC_BASE_URL: `http://127.0.0.1:${port}` });
    browser = await launchChromium();
    domain = `consoles-${Date.now()}`;
    expect((await t.request('POST', '/v1/domains', { body: { name: domain, callbackUrl: receiver.url, signingSecret: SIGNING_SECRET } })).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await Promise.all([twilio.stop(), whatsapp.stop()]);
    await t?.close();
    await receiver.stop();
  }, 120_000);
  beforeEach(async () => {
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.setDefaultTimeout(10_000);
    pageErrors = collectPageErrors(page);
  }, 30_000);
  afterEach(async () => {
    await page?.close();
    expect(pageErrors).toEqual([]);
  });

  const at = (where: (d: Delivery) => boolean, what: string) => waitFor(what, () => receiver.deliveries.find(where), 15_000);

  it('SMS: a person texts the business, reads the bot\'s answer and sends STOP', async () => {
    const account = twilio.addAccount({});
    const gateway = await t.request('POST', '/v1/gateways', {
      body: { type: 'twilio-sms', settings: { basic: { name: 'sms', domain, deployed: true, accountSid: account.accountSid, authToken: account.authToken, sender: BUSINESS_NUMBER }, configuration: { apiBaseUrl: twilio.apiBaseUrl } } },
    });
    expect(gateway.status).toBe(201);
    twilio.addNumber(account.accountSid, { phoneNumber: BUSINESS_NUMBER, smsUrl: `${t.url}/v1/webhooks/${gateway.body.id}` });
    await page.goto(`${twilio.baseUrl}/console`);
    await waitFor('the business number in the list', async () => (await page.locator('#business option').count()) > 0);
    await page.fill('#phone', '+34600333001');
    await page.fill('#text', 'hello by sms');
    await page.press('#text', 'Enter');
    const said = await at((d) => d.type === 'user_message' && d.data.text === 'hello by sms', 'the SMS at the bot');
    expect(said.data.user.id).toBe('+34600333001');
    expect((await t.request('POST', `/v1/conversations/${said.conversationId}/messages`, { body: { text: 'Hi from the bot' } })).status).toBe(202);
    await waitForText(page.locator('#messages'), 'Hi from the bot');
    await page.click('#stop');
    await at((d) => d.conversationId === said.conversationId && d.type === 'user_reachability' && d.data.reason === 'opted_out', 'the STOP at the bot');
    await waitForText(page.locator('#state'), 'opted out');
    await screenshot(page, 'twilio-console');
  });

  it('WhatsApp: a person writes, gets a template with buttons and presses one', async () => {
    const business = whatsapp.addBusiness({ callbackUrl: `${t.url}/v1/webhooks/pending` });
    const gateway = await t.request('POST', '/v1/gateways', {
      body: {
        type: 'whatsapp-cloud',
        settings: {
          basic: { name: 'wa', domain, deployed: true, phoneNumberId: business.phoneNumberId, businessAccountId: business.wabaId, accessToken: business.accessToken, appSecret: business.appSecret, verifyToken: business.verifyToken },
          configuration: { graphBaseUrl: whatsapp.graphBaseUrl },
        },
      },
    });
    expect(gateway.status).toBe(201);
    whatsapp.setCallbackUrl(business.phoneNumberId, `${t.url}/v1/webhooks/${gateway.body.id}`);
    whatsapp.addTemplate(business.wabaId, { name: 'pickup_ready', language: 'en_US', category: 'UTILITY', body: 'Hi {{1}}, your laptop is ready.', quickReplies: ['Pick up now', 'Later'] });
    await page.goto(`${whatsapp.baseUrl}/console`);
    await waitFor('the business in the list', async () => (await page.locator('#business option').count()) > 0);
    await page.fill('#new-user', '34600444001');
    await page.fill('#new-name', 'Dee');
    await page.click('#add-user button');
    await waitForText(page.locator('#user'), '34600444001');
    await page.fill('#text', 'hola');
    await page.press('#text', 'Enter');
    const said = await at((d) => d.type === 'user_message' && d.data.text === 'hola', 'the WhatsApp message at the bot');
    expect(said.data.user).toMatchObject({ id: '34600444001', name: 'Dee' });
    const templated = await t.request('POST', `/v1/conversations/${said.conversationId}/messages`, {
      body: { template: { name: 'pickup_ready', language: 'en_US', parameters: ['Dee'], buttonPayloads: ['PICKUP_NOW', 'PICKUP_LATER'] } },
    });
    expect(templated.status).toBe(202);
    await waitForText(page.locator('#messages'), 'Hi Dee, your laptop is ready.');
    await page.getByRole('button', { name: 'Pick up now' }).click();
    const pressed = await at((d) => d.conversationId === said.conversationId && d.type === 'user_message' && d.data.value === 'PICKUP_NOW', 'the button press at the bot');
    expect(pressed.data.text).toBe('Pick up now');
    await screenshot(page, 'whatsapp-console');
    expect(receiver.undocumented).toEqual([]);
  });
});
