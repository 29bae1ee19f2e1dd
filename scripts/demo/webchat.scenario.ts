import { randomBytes } from 'node:crypto';
import { GmsSimulator } from '@app/simulators/gms';
import { BotExpectations, quote, ScenarioContext } from './demo-scenario';
import { DemoBot, USER_MESSAGE } from './demo-bot';
import { DirectLineUser } from './direct-line.user';

export interface DemoWebchat {
  gatewayId: string;
  secret: string;
  pageUrl: string;
}

/** Creates the domain's `webchat` gateway, deployed, with its page on (anyone who opens it gets a token). */
export async function createWebchatGateway(context: ScenarioContext): Promise<DemoWebchat> {
  const secret = randomBytes(32).toString('base64url');
  const gateway = await context.api.createGateway('webchat', {
    basic: { name: 'Demo web chat', domain: context.domain, deployed: true, directLineSecret: secret, botName: 'Demo bot' },
    configuration: { hostedPage: true },
  });
  const pageUrl = `${context.serviceUrl}/webchat/${gateway.id}`;
  context.checklist.pass('Web', 'the webchat gateway was created and deployed');
  context.timeline.line('Web', 'admin', `gateway "Demo web chat" (webchat) ${gateway.id}: Direct Line at ${pageUrl}/v3/directline, page at ${pageUrl}`);
  return { gatewayId: gateway.id, secret, pageUrl };
}

/**
 * Web chat and the switchboard: Ada talks to the demo's bot over Direct Line (what Microsoft's Web Chat does in a
 * browser), asks for a person, the bot escalates her conversation to GMS, Grace types and answers from the agent's side
 * and Ada sees both on her stream, Ada's answer reaches Grace, Grace closes, and the bot has the conversation again.
 */
export async function runWebchatScenario(context: ScenarioContext, gms: GmsSimulator, webchat: DemoWebchat, bot: DemoBot): Promise<void> {
  const { timeline, checklist } = context;
  const line = (actor: string, text: string) => timeline.line('Web', actor, text);
  const user = new DirectLineUser(`${webchat.pageUrl}/v3/directline`, `dl_ada-${context.runId}`, 'Ada');
  await user.start(webchat.secret);
  line('user', `Ada opens web chat: Direct Line conversation ${user.conversationId}, stream open`);
  try {
    const hello = 'Hi there';
    await user.say(hello);
    line('user', quote(hello));
    const first = await checklist.expect('Web', 'the user message reached the bot as an event', () =>
      context.receiver.deliveries.find((d) => d.type === USER_MESSAGE && d.data.text === hello && d.data.user?.id === user.userId),
    );
    const conversationId = first.conversationId;
    const events = new BotExpectations(context, 'Web', conversationId);
    await events.next(USER_MESSAGE);
    const seen = (what: string, test: (text: string, from: string) => boolean) =>
      checklist.expect('Web', what, () => user.fromOthers().find((activity) => activity.type === 'message' && test(activity.text ?? '', activity.from?.name ?? '')));
    const answer = await seen("the bot's answer reached the user's stream", (text) => text.startsWith('You said "Hi there"'));
    line('user', `sees ${answer.from?.name ?? 'the bot'}: ${quote(answer.text ?? '')}`);

    const ask = 'Can I talk to an agent, please?';
    await user.say(ask);
    line('user', quote(ask));
    const chat = await checklist.expect('Web', 'the bot escalated the conversation to GMS, with what was said as history', () =>
      gms
        .listChats()
        .map((summary) => gms.getChat(summary.chatId)!)
        .find((candidate) => candidate.userData.Channel === 'webchat' && candidate.transcript.some((event) => String(event.text).includes(hello))),
    );
    line('GMS', `chat ${chat.chatId} waiting in queue ${chat.queue}; the agent reads the web chat so far`);
    await events.next('queued');

    gms.agentJoin(chat.chatId, { nickname: 'Grace' });
    line('agent', 'Grace accepts the chat');
    await events.next('agent_joined', { where: (d) => d.data.agent?.displayName === 'Grace' });
    gms.agentStartTyping(chat.chatId);
    line('agent', 'Grace is typing…');
    await checklist.expect('Web', "the agent's typing reached the user's stream", () => user.fromOthers().find((activity) => activity.type === 'typing'));
    const greeting = 'Hi Ada, Grace here. How can I help?';
    gms.agentSendMessage(chat.chatId, greeting);
    gms.agentStopTyping(chat.chatId);
    line('agent', `Grace: ${quote(greeting)}`);
    const fromGrace = await seen("the agent's message reached the user's stream, under the agent's name", (text, from) => text === greeting && from.includes('Grace'));
    line('user', `sees ${fromGrace.from?.name}: ${quote(greeting)}`);
    await events.next('agent_message', { step: 'the bot saw the agent message too', where: (d) => d.data.text === greeting });

    const reply = 'My card is lost.';
    await user.say(reply);
    line('user', quote(reply));
    await checklist.expect('Web', "the user's message reached the agent on GMS", () =>
      gms.getChat(chat.chatId)!.transcript.some((event) => event.from.type === 'Client' && event.type === 'Message' && event.text === reply),
    );
    await events.next(USER_MESSAGE, { step: 'the bot saw the user message while the agent had control', where: (d) => d.data.text === reply });

    gms.agentClose(chat.chatId);
    line('agent', 'Grace closes the chat');
    await events.next('ended', { step: 'ended (by the agent, control back to the bot) reached the bot', where: (d) => d.data.controlReturnedToBot === true });
    const back = await seen('the bot spoke to the user again', (text) => text.startsWith('The bot again'));
    line('user', `sees ${back.from?.name ?? 'the bot'}: ${quote(back.text ?? '')}`);
    await checklist.expect('Web', 'the bot has control of the conversation again', async () => (await context.api.conversation(conversationId)).control === 'bot');
    if (bot.problems.length > 0) throw checklist.fail('Web', 'the demo bot answered every event', bot.problems[0]);
  } finally {
    user.close();
  }
}
