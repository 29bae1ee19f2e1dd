import { WhatsAppSimulator } from '@app/simulators/whatsapp';
import { BotExpectations, quote, ScenarioContext } from './demo-scenario';
import { USER_MESSAGE } from './demo-bot';

export interface DemoWhatsApp {
  gatewayId: string;
  phoneNumberId: string;
}

/**
 * Creates the domain's `whatsapp-cloud` gateway at the WhatsApp simulator (its Graph API instead of Meta's), points the
 * business number's webhook at the service and lets the simulator verify it (the subscription handshake), and
 * registers the template the scenario pushes.
 */
export async function createWhatsAppGateway(context: ScenarioContext, whatsapp: WhatsAppSimulator): Promise<DemoWhatsApp> {
  const business = whatsapp.addBusiness({ callbackUrl: `${context.serviceUrl}/v1/webhooks/pending`, displayPhoneNumber: '15550783881' });
  const gateway = await context.api.createGateway('whatsapp-cloud', {
    basic: {
      name: 'Demo WhatsApp',
      domain: context.domain,
      deployed: true,
      phoneNumberId: business.phoneNumberId,
      businessAccountId: business.wabaId,
      accessToken: business.accessToken,
      appSecret: business.appSecret,
      verifyToken: business.verifyToken,
    },
    configuration: { graphBaseUrl: whatsapp.graphBaseUrl },
  });
  whatsapp.setCallbackUrl(business.phoneNumberId, `${context.serviceUrl}/v1/webhooks/${gateway.id}`);
  await context.checklist.expect('WhatsApp', "the service answered WhatsApp's webhook verification", async () => ((await whatsapp.verifyCallback(business.phoneNumberId)).ok ? true : undefined));
  whatsapp.addTemplate(business.wabaId, { name: 'pickup_ready', language: 'en_US', category: 'UTILITY', body: 'Hi {{1}}, your new laptop is ready. Book a pick-up slot?', quickReplies: ['Yes, book it', 'Later'] });
  context.timeline.line('WhatsApp', 'admin', `gateway "Demo WhatsApp" (whatsapp-cloud) ${gateway.id}: webhook verified; template pickup_ready (en_US, utility) registered`);
  return { gatewayId: gateway.id, phoneNumberId: business.phoneNumberId };
}

/**
 * A template pushed on WhatsApp: Ana has never written to the business, so only a template may open the conversation;
 * the bot pushes one (`POST /v1/conversations` with `template`), Ana presses its "Yes, book it" button, and the press
 * reaches the bot in the pushed conversation, which the bot answers free-form inside the window it opened.
 */
export async function runWhatsAppScenario(context: ScenarioContext, whatsapp: WhatsAppSimulator, demo: DemoWhatsApp): Promise<void> {
  const { timeline, checklist, api } = context;
  const line = (actor: string, text: string) => timeline.line('WhatsApp', actor, text);
  const ana = '34600123456';
  whatsapp.setUser(ana, { name: 'Ana Lopez' });
  const refused = await api.request('POST', '/v1/conversations', { gatewayId: demo.gatewayId, recipient: { userId: ana }, message: { text: 'Your laptop is ready' } });
  await checklist.expect('WhatsApp', 'free-form text to a user outside the 24-hour window is refused up front (422 template_required)', () =>
    refused.status === 422 && refused.body?.code === 'template_required' ? refused : undefined,
  );
  line('bot', `free-form text to +${ana} is refused: ${refused.status} ${refused.body?.code}`);
  const push = await api.expect<{ id: string; conversationId: string }>(
    202,
    'POST',
    '/v1/conversations',
    {
      gatewayId: demo.gatewayId,
      recipient: { userId: ana },
      message: { template: { name: 'pickup_ready', language: 'en_US', parameters: ['Ana'], buttonPayloads: ['PICKUP_YES', 'PICKUP_LATER'] } },
      context: { ticket: 'INC0012345' },
    },
    { 'idempotency-key': `demo-wa-push-${context.runId}` },
  );
  line('bot', `pushes the template pickup_ready to +${ana} (POST /v1/conversations)`);
  const events = new BotExpectations(context, 'WhatsApp', push.conversationId);
  await events.next('conversation_started', { step: 'the bot was told the pushed conversation started, with its context', where: (d) => d.data.origin === 'proactive' && d.data.context?.ticket === 'INC0012345' });
  await events.next('message_status', { step: 'the template was delivered', where: (d) => d.data.messageId === push.id && d.data.status === 'delivered' });
  const shown = await checklist.expect('WhatsApp', "the template is on Ana's phone with its buttons", () =>
    whatsapp.sentTo(demo.phoneNumberId, ana).find((m) => m.template?.name === 'pickup_ready' && m.template.buttons.length === 2),
  );
  line('user', `sees on WhatsApp: ${quote(shown.text ?? '')} [${shown.template!.buttons.map((b) => b.title).join('] [')}]`);

  await whatsapp.userPresses(demo.phoneNumberId, ana, 'PICKUP_YES', 'Yes, book it');
  line('user', 'presses "Yes, book it"');
  await events.next(USER_MESSAGE, { step: "Ana's button press reached the bot in the pushed conversation, with its payload", where: (d) => d.data.value === 'PICKUP_YES' });
  const answer = await checklist.expect('WhatsApp', "the bot's free-form answer (the window is open now) reached Ana's phone", () =>
    whatsapp.sentTo(demo.phoneNumberId, ana).find((m) => !m.template && String(m.text).startsWith('You said "Yes, book it"')),
  );
  line('user', `sees Demo bot: ${quote(answer.text ?? '')}`);
}
