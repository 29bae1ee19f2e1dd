import { GmsSimulator } from '@app/simulators/gms';
import { BotExpectations, demoEscalation, pairs, quote, ScenarioContext } from './demo-scenario';

const SERVICE_NAME = 'customer-support';

/** Creates the domain's genesys-pureengage gateway, deployed, pointing at the GMS simulator. */
export async function createGmsGateway(context: ScenarioContext, gms: GmsSimulator): Promise<string> {
  const gateway = await context.api.createGateway('genesys-pureengage', {
    basic: { name: 'Demo GMS', domain: context.domain, deployed: true, serviceUrl: gms.baseUrl, serviceName: SERVICE_NAME },
    configuration: { transferBackOnAgentClose: true, customerAgentInfo: true, escalationTimeoutSeconds: 3600 },
    additional: { clientPollingIntervalSeconds: 0.25, apiRetryInitialDelayMs: 200, apiRetryMultiplier: 2, apiRetryMaxAttempts: 3 },
  });
  context.checklist.pass('GMS', 'the genesys-pureengage gateway was created and deployed');
  context.timeline.line('GMS', 'admin', `gateway "Demo GMS" (genesys-pureengage) ${gateway.id} deployed: ${gms.chatServiceUrl(SERVICE_NAME)}, polling every 250 ms`);
  return gateway.id;
}

/**
 * The scripted escalation through Genesys PureEngage: the bot hands Ada over with its history and attributes, she
 * writes while waiting, Grace joins, types and replies, files go both ways, Grace transfers the chat to another queue
 * where Linus takes it and closes it, and control returns to the bot.
 */
export async function runGmsScenario(context: ScenarioContext, gms: GmsSimulator, gatewayId: string): Promise<void> {
  const { api, timeline, checklist } = context;
  const line = (actor: string, text: string) => timeline.line('GMS', actor, text);
  const request = demoEscalation(context.domain, gatewayId, `demo-gms-${context.runId}`, 'cards', {
    intent: 'lost-card',
    history: ['I lost my card', 'I am sorry to hear that. Do you want me to block it?', 'I would rather talk to a person'],
  });

  const escalation = await api.escalate(request);
  checklist.pass('GMS', 'the escalation was accepted');
  line('bot', `escalates ${request.conversation.externalId} to queue cards: ${request.history.length} history entries, attributes ${pairs(request.attributes)}`);
  const bot = new BotExpectations(context, 'GMS', escalation.conversationId);

  const chat = await checklist.expect('GMS', 'the chat was requested on GMS with the attributes as userData', () =>
    gms
      .listChats()
      .map((summary) => gms.getChat(summary.chatId)!)
      .find((candidate) => candidate.userData.escalationId === escalation.id && Object.entries(request.attributes).every(([key, value]) => candidate.userData[key] === value)),
  );
  const chatId = chat.chatId;
  line('GMS', `chat ${chatId} waiting in queue ${chat.queue} for ${chat.nickname}; userData ${pairs(Object.fromEntries(Object.keys(request.attributes).map((key) => [key, chat.userData[key]])))}`);
  const clientEvents = () => gms.getChat(chatId)!.transcript.filter((event) => event.from.type === 'Client');
  const history = await checklist.expect('GMS', 'the bot history is in the transcript the agent reads', () =>
    clientEvents().find((event) => event.type === 'Message' && String(event.text).includes(`Virtual agent: ${request.history[1].text}`)),
  );
  line('GMS', `the agent reads the bot history first (${String(history.text).split('\n').length} lines, as the customer's first message)`);
  await bot.next('queued');

  const waitingText = 'Hello? Is anyone there?';
  await api.relay(escalation.id, { text: waitingText });
  line('user', quote(waitingText));
  await checklist.expect('GMS', 'the user message reached the waiting chat', () => clientEvents().some((event) => event.type === 'Message' && event.text === waitingText));

  gms.agentJoin(chatId, { nickname: 'Grace' });
  line('agent', 'Grace accepts the chat');
  await bot.next('agent_joined', { where: (d) => d.data.agent?.displayName === 'Grace' });

  gms.agentStartTyping(chatId);
  line('agent', 'Grace is typing…');
  await bot.next('agent_typing_started');
  const greeting = 'Hi Ada, I am Grace. I can block the card for you right away.';
  gms.agentSendMessage(chatId, greeting);
  gms.agentStopTyping(chatId);
  line('agent', `Grace: ${quote(greeting)}`);
  await bot.next('agent_message', { where: (d) => d.data.text === greeting });
  await bot.next('agent_typing_stopped');

  await api.typing(escalation.id, 'started');
  line('user', 'Ada is typing…');
  await checklist.expect('GMS', 'the user typing reached GMS', () => clientEvents().some((event) => event.type === 'TypingStarted'));
  const receipt = Buffer.from('Receipt #4711, card ending 1234');
  const reply = 'Yes please. Here is my last receipt.';
  await api.relay(escalation.id, { text: reply, attachments: [{ name: 'receipt.txt', mimeType: 'text/plain', contentBase64: receipt.toString('base64') }] });
  line('user', `${quote(reply)} + receipt.txt (${receipt.length} bytes)`);
  await checklist.expect('GMS', 'the user file reached GMS', () => {
    const upload = clientEvents().find((event) => event.type === 'FileUploaded' && event.userData?.['file-name'] === 'receipt.txt');
    return upload && gms.fileContent(chatId, String(upload.text))?.content.equals(receipt);
  });
  line('GMS', 'Grace sees receipt.txt in the chat');

  const form = Buffer.from('%PDF-1.4\n% card replacement form\n');
  gms.agentSendFile(chatId, { name: 'replacement-form.pdf', mimeType: 'application/pdf', content: form });
  line('agent', `Grace sends replacement-form.pdf (${form.length} bytes)`);
  const attachment = await bot.next('attachment', { where: (d) => d.data.attachment?.name === 'replacement-form.pdf' });
  await checklist.expect('GMS', 'the bot downloaded the agent file from the service, byte for byte', async () => (await api.download(attachment.data.attachment.url)).equals(form));

  gms.agentTransfer(chatId, { queue: 'card-services' });
  line('agent', 'Grace transfers the chat to queue card-services');
  await bot.next('agent_left', { where: (d) => d.data.agent?.displayName === 'Grace' });
  await bot.next('notice', { step: 'the transfer notice reached the bot', where: (d) => String(d.data.text).includes('card-services') });
  const next = gms.agentAcceptNext('card-services', { nickname: 'Linus' });
  if (!next) throw checklist.fail('GMS', 'Linus accepts the chat in card-services', 'the chat was not waiting in card-services');
  line('agent', 'Linus accepts the chat from queue card-services');
  await bot.next('agent_joined', { where: (d) => d.data.agent?.displayName === 'Linus' });
  const done = 'Linus here: your card is blocked and a new one is on its way.';
  gms.agentSendMessage(chatId, done);
  line('agent', `Linus: ${quote(done)}`);
  await bot.next('agent_message', { where: (d) => d.data.text === done });

  gms.agentClose(chatId);
  line('agent', 'Linus closes the chat');
  await bot.next('agent_left', { where: (d) => d.data.agent?.displayName === 'Linus' });
  await bot.next('ended', { step: 'ended (by the agent, control back to the bot) reached the bot', where: (d) => d.data.by === 'agent' && d.data.controlReturnedToBot === true });
  await checklist.expect('GMS', 'the bot has control of the conversation again', async () => (await api.conversation(escalation.conversationId)).control === 'bot');
  line('bot', 'has control again (transfer back on agent close is on)');
}
