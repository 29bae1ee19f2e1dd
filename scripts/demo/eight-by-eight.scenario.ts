import { EightByEightSimulator } from '@app/simulators/eight-by-eight';
import { BotExpectations, demoEscalation, pairs, quote, ScenarioContext } from './demo-scenario';

export const EIGHT_BY_EIGHT_DEMO_QUEUES = [
  { id: '101', name: 'Support', agents: { available: 2 } },
  { id: '102', name: 'Cards', agents: { available: 1 } },
  { id: '103', name: 'Card services', agents: { available: 1 } },
];

/** Creates the domain's 8x8-chat-gateway gateway, deployed: the service provisions its webhook and channel on 8x8. */
export async function createEightByEightGateway(context: ScenarioContext, sim: EightByEightSimulator): Promise<string> {
  const gateway = await context.api.createGateway('8x8-chat-gateway', {
    basic: {
      name: 'Demo 8x8',
      domain: context.domain,
      deployed: true,
      baseUrl: sim.baseUrl,
      apiKey: sim.apiKey,
      tenantId: sim.tenantId,
      metricsBaseUrl: `${sim.baseUrl}/analytics/cc/v5/realtime-metrics`,
    },
    configuration: { defaultQueueId: '101', transferBackOnAgentClose: true, escalationTimeoutSeconds: 3600 },
    additional: { apiRetryInitialDelayMs: 200, apiRetryMultiplier: 2, apiRetryMaxAttempts: 3 },
  });
  context.checklist.pass('8x8', 'the 8x8-chat-gateway gateway was created and deployed');
  const webhookUrl = `${context.serviceUrl}/v1/webhooks/${gateway.id}`;
  const provisioned = await context.checklist.expect('8x8', 'deploy provisioned a verified webhook and a ChatAPI channel on 8x8', () => {
    const webhook = [...sim.repository.webhooks.values()].find((candidate) => candidate.uri === webhookUrl);
    const channel = webhook && [...sim.repository.channels.values()].find((candidate) => candidate.webHookId === webhook.id);
    return webhook && channel ? { webhook, channel } : undefined;
  });
  context.timeline.line('8x8', 'admin', `gateway "Demo 8x8" (8x8-chat-gateway) ${gateway.id} deployed: 8x8 webhook ${provisioned.webhook.id} -> ${webhookUrl}, channel ${provisioned.channel.id} -> queue 101`);
  return gateway.id;
}

/**
 * The scripted escalation through 8x8: the bot hands Ada over with history and attributes, moves the waiting
 * conversation to another queue through our API, Grace accepts, types and replies, files go both ways, Grace transfers
 * to a third queue where Linus takes it and closes it, and 8x8 hands the conversation back to the bot.
 */
export async function runEightByEightScenario(context: ScenarioContext, sim: EightByEightSimulator, gatewayId: string): Promise<void> {
  const { api, timeline, checklist } = context;
  const line = (actor: string, text: string) => timeline.line('8x8', actor, text);
  const request = demoEscalation(context.domain, gatewayId, `demo-8x8-${context.runId}`, '101', {
    intent: 'card-replacement',
    history: ['My card was swallowed by an ATM', 'I can order a replacement. Shall I?', 'I need to talk to someone about it'],
  });

  const escalation = await api.escalate(request);
  checklist.pass('8x8', 'the escalation was accepted');
  line('bot', `escalates ${request.conversation.externalId} to queue 101: ${request.history.length} history entries, attributes ${pairs(request.attributes)}`);
  const bot = new BotExpectations(context, '8x8', escalation.conversationId);

  const conversationId = await checklist.expect('8x8', 'the conversation was created on 8x8 with the attributes as additionalProperties and the history', () => {
    const record = [...sim.repository.conversations.values()].find((candidate) => candidate.user.caseId === escalation.id);
    if (!record) return undefined;
    const properties = record.user.additionalProperties ?? [];
    const allThere = Object.entries(request.attributes).every(([key, value]) => properties.some((p) => p.key === key && p.value === value));
    return allThere && record.messages.filter((message) => message.fromHistory).length === request.history.length ? record.id : undefined;
  });
  const view = () => sim.getConversation(conversationId) as Record<string, any>;
  line('8x8', `conversation ${conversationId} for ${view().user.name}; additionalProperties ${pairs(view().user.additionalProperties)}; ${view().history.length} history messages`);
  await bot.next('queued', { step: 'queued (101) reached the bot', where: (d) => d.data.queueId === '101' });

  await api.transfer(escalation.id, '102');
  line('bot', 'moves the waiting conversation to queue 102 (POST /v1/escalations/{id}/transfer)');
  await bot.next('queued', { step: 'queued (102) after the API transfer reached the bot', where: (d) => d.data.queueId === '102' });
  await checklist.expect('8x8', 'the conversation waits in queue 102 on 8x8', () => view().phase === 'queued' && view().queue.id === '102');

  const waitingText = 'Hello? Is anyone there?';
  await api.relay(escalation.id, { text: waitingText });
  line('user', quote(waitingText));
  await checklist.expect('8x8', 'the user message reached 8x8', () => view().messages.some((m: any) => m.authorType === 'user' && m.text === waitingText));

  sim.acceptConversation(conversationId, { agentId: 'agent-grace', agentName: 'Grace' });
  line('agent', 'Grace (agent-grace) accepts the conversation in queue 102');
  await bot.next('agent_joined', { where: (d) => d.data.agent?.id === 'agent-grace' });

  sim.setAgentTyping(conversationId, true);
  line('agent', 'Grace is typing…');
  await bot.next('agent_typing_started');
  const greeting = 'Hi Ada, Grace here. I will order the replacement card.';
  sim.sendAgentMessage(conversationId, { text: greeting });
  line('agent', `Grace: ${quote(greeting)}`);
  await bot.next('agent_message', { where: (d) => d.data.text === greeting });
  sim.setAgentTyping(conversationId, false);
  await bot.next('agent_typing_stopped');

  await api.typing(escalation.id, 'started');
  line('user', 'Ada is typing…');
  await checklist.expect('8x8', 'the user typing reached 8x8', () => view().signals.some((signal: any) => signal.kind === 'typing' && signal.authorType === 'user'));
  const photo = Buffer.from('PNG? no: a text stand-in for the photo of the ATM');
  const reply = 'Thank you. This is the ATM that kept it.';
  await api.relay(escalation.id, { text: reply, attachments: [{ name: 'atm.txt', mimeType: 'text/plain', contentBase64: photo.toString('base64') }] });
  line('user', `${quote(reply)} + atm.txt (${photo.length} bytes)`);
  await checklist.expect('8x8', 'the user file reached 8x8', () => sim.repository.conversations.get(conversationId)!.attachments.find((a) => a.authorType === 'user' && a.filename === 'atm.txt' && a.content.equals(photo)));
  line('8x8', 'Grace sees atm.txt in the conversation');

  const form = Buffer.from('%PDF-1.4\n% replacement card confirmation\n');
  sim.sendAgentFile(conversationId, { fileName: 'confirmation.pdf', mimeType: 'application/pdf', contentBase64: form.toString('base64') });
  line('agent', `Grace sends confirmation.pdf (${form.length} bytes)`);
  const attachment = await bot.next('attachment', { where: (d) => d.data.attachment?.name === 'confirmation.pdf' });
  await checklist.expect('8x8', 'the bot downloaded the agent file from the service, byte for byte', async () => (await api.download(attachment.data.attachment.url)).equals(form));

  sim.transferConversation(conversationId, { queueId: '103' });
  line('agent', 'Grace transfers the conversation to queue 103');
  await bot.next('transferred');
  await bot.next('agent_left', { where: (d) => d.data.agent?.id === 'agent-grace' });
  await bot.next('queued', { step: 'queued (103) after the agent transfer reached the bot', where: (d) => d.data.queueId === '103' });
  sim.acceptConversation(conversationId, { agentId: 'agent-linus', agentName: 'Linus' });
  line('agent', 'Linus (agent-linus) accepts the conversation in queue 103');
  await bot.next('agent_joined', { where: (d) => d.data.agent?.id === 'agent-linus' });
  const done = 'Linus here: the new card ships today.';
  sim.sendAgentMessage(conversationId, { text: done });
  line('agent', `Linus: ${quote(done)}`);
  await bot.next('agent_message', { where: (d) => d.data.text === done });

  sim.leaveConversation(conversationId);
  line('agent', 'Linus closes the conversation');
  await bot.next('agent_left', { where: (d) => d.data.agent?.id === 'agent-linus' });
  await bot.next('ended', { step: 'ended (by the agent, handed back to the bot) reached the bot', where: (d) => d.data.by === 'agent' && d.data.controlReturnedToBot === true });
  await checklist.expect('8x8', '8x8 handed the conversation back to the bot (post-agent assignment)', () => view().phase === 'with-bot' && view().handedBack);
  await checklist.expect('8x8', 'the bot has control of the conversation again', async () => (await api.conversation(escalation.conversationId)).control === 'bot');
  line('bot', 'has control again (8x8 handed the conversation back to our webhook)');
}
