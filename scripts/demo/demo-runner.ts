import { randomBytes } from 'node:crypto';
import { EightByEightSimulator } from '@app/simulators/eight-by-eight';
import { GmsSimulator } from '@app/simulators/gms';
import { TeamsSimulator } from '@app/simulators/teams';
import { WhatsAppSimulator } from '@app/simulators/whatsapp';
import { AdminApiClient } from './admin-api.client';
import { BotDelivery, BotPlatformReceiver, describeDelivery } from './bot-platform.receiver';
import { demoEscalation, ScenarioContext } from './demo-scenario';
import { DemoChecklist, DemoPlatform, DemoStepMissing, DemoTimeline } from './demo-timeline';
import { DemoOptions } from './demo-options';
import { createEightByEightGateway, EIGHT_BY_EIGHT_DEMO_QUEUES, runEightByEightScenario } from './eight-by-eight.scenario';
import { createGmsGateway, runGmsScenario } from './gms.scenario';
import { DemoBot } from './demo-bot';
import { createTeamsGateway, DemoTeams, runTeamsScenario } from './teams.scenario';
import { createWebchatGateway, DemoWebchat, runWebchatScenario } from './webchat.scenario';
import { createWhatsAppGateway, DemoWhatsApp, runWhatsAppScenario } from './whatsapp.scenario';
import { DemoServiceProcess, freePort, resetDemoState } from './service-process';

/** Everything the demo started, stopped in reverse order whatever happens. */
class DemoResources {
  private readonly stops: Array<{ name: string; stop: () => Promise<void> }> = [];
  service?: DemoServiceProcess;

  add(name: string, stop: () => Promise<void>): void {
    this.stops.push({ name, stop });
  }

  async stopAll(): Promise<void> {
    while (this.stops.length > 0) {
      const { name, stop } = this.stops.pop()!;
      await stop().catch((error: Error) => process.stderr.write(`demo: stopping ${name} failed: ${error.message}\n`));
    }
  }
}

/** Channel conversations told to the bot as Teams or WhatsApp ones (their ids are the service's own, like web chat's). */
const channelConversations = new Map<string, DemoPlatform>();
const CHANNEL_PLATFORMS: Record<string, DemoPlatform> = { 'microsoft-teams': 'Teams', 'whatsapp-cloud': 'WhatsApp' };
const platformOf = (delivery: BotDelivery): DemoPlatform => {
  const channel = CHANNEL_PLATFORMS[delivery.data?.channel];
  if (delivery.type === 'conversation_started' && channel) channelConversations.set(delivery.conversationId, channel);
  const known = channelConversations.get(delivery.conversationId);
  if (known) return known;
  const id = delivery.externalConversationId;
  return id.startsWith('demo-gms-') ? 'GMS' : id.startsWith('demo-8x8-') ? '8x8' : 'Web';
};

/**
 * Runs the demo and resolves with the exit code: 0 only when every expected step was observed. With `keep`, it
 * resolves only after Ctrl+C (SIGINT/SIGTERM), having left everything running until then.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const timeline = new DemoTimeline();
  const deadline = timeline.startedAt + options.timeoutSeconds * 1000;
  const checklist = new DemoChecklist(timeline, deadline);
  const resources = new DemoResources();
  const runId = Date.now().toString(36);
  // The run's own database and prefix unless the options name them: two demos at once never share state.
  const ownState = `${runId}_${randomBytes(3).toString('hex')}`;
  const database = options.database ?? `chat_gateway_demo_${ownState}`;
  const redisPrefix = options.redisPrefix ?? `{cgdemo_${ownState}}`;
  const apiKey = `demo-${randomBytes(16).toString('hex')}`;
  const signingSecret = `whsec_${randomBytes(32).toString('base64')}`;

  // Whatever ends this process, the service must not outlive it.
  const onExit = () => resources.service?.killNow();
  process.on('exit', onExit);
  let interrupted: (() => void) | undefined;
  const interruption = new Promise<void>((resolve) => (interrupted = resolve));
  const onSignal = () => interrupted?.();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // A hung step cannot keep the demo past its bound: the checks stop at the deadline, this stops the rest.
  const watchdog = setTimeout(() => {
    timeline.text(`\ndemo: still running ${options.timeoutSeconds + 20} s after start; stopping everything.`);
    resources.service?.killNow();
    process.exit(1);
  }, options.timeoutSeconds * 1000 + 20_000);
  watchdog.unref();

  timeline.heading('chat-gateway demo');
  timeline.text(`${'time'.padStart(9)}  at   who     what`);
  let context: ScenarioContext | undefined;
  let gmsGatewayId: string | undefined;
  let eightByEightGatewayId: string | undefined;
  let webchat: DemoWebchat | undefined;
  let teamsGateway: DemoTeams | undefined;
  let whatsappGateway: DemoWhatsApp | undefined;
  let bot: DemoBot | undefined;
  const gms = new GmsSimulator({ timeoutAlertSeconds: 0, timeoutCloseSeconds: 0 });
  const eightByEight = new EightByEightSimulator({ queues: EIGHT_BY_EIGHT_DEMO_QUEUES });
  const teams = new TeamsSimulator();
  const whatsapp = new WhatsAppSimulator();
  const receiver = new BotPlatformReceiver(signingSecret);

  try {
    context = await setUp();
  } catch (error) {
    if (!(error instanceof DemoStepMissing)) checklist.fail('', 'the set-up', (error as Error).message);
  }

  if (context) {
    timeline.heading('Genesys PureEngage through the GMS Chat API v2 simulator');
    await runScenario('GMS', async (ctx) => {
      gmsGatewayId = await createGmsGateway(ctx, gms);
      await runGmsScenario(ctx, gms, gmsGatewayId);
    });
    timeline.heading('8x8 Contact Center through the 8x8 Chat Gateway simulator');
    await runScenario('8x8', async (ctx) => {
      eightByEightGatewayId = await createEightByEightGateway(ctx, eightByEight);
      await runEightByEightScenario(ctx, eightByEight, eightByEightGatewayId);
    });
    timeline.heading('Web chat over Direct Line 3.0, handed to GMS and back');
    await runScenario('Web', async (ctx) => {
      webchat = await createWebchatGateway(ctx);
      await runWebchatScenario(ctx, gms, webchat, bot!);
    });
    timeline.heading('Microsoft Teams through the Bot Framework simulator: a pushed conversation and a notification');
    await runScenario('Teams', async (ctx) => {
      teamsGateway = await createTeamsGateway(ctx, teams);
      await runTeamsScenario(ctx, teams, teamsGateway);
    });
    timeline.heading('WhatsApp through the Cloud API simulator: a template pushed and answered');
    await runScenario('WhatsApp', async (ctx) => {
      whatsappGateway = await createWhatsAppGateway(ctx, whatsapp);
      await runWhatsAppScenario(ctx, whatsapp, whatsappGateway);
    });
    if (receiver.refused.length > 0) checklist.fail('', 'every delivery to the bot carried a valid signature', `${receiver.refused.length} refused: ${receiver.refused[0]}`);
  }
  clearTimeout(watchdog);
  const code = summarize();

  if (options.keep && context) {
    await keepRunning(context);
    await interruption;
    timeline.text('\ndemo: stopping.');
  }
  await resources.stopAll();
  if (options.database === undefined || options.redisPrefix === undefined) {
    await resetDemoState(options.postgresUrl, options.database === undefined ? database : undefined, options.redisUrl, options.redisPrefix === undefined ? redisPrefix : undefined).catch(
      (error: unknown) => timeline.text(`demo: could not remove its database or Redis keys: ${(error as Error).message}`),
    );
  }
  process.off('exit', onExit);
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return code;

  async function setUp(): Promise<ScenarioContext> {
    try {
      await resetDemoState(options.postgresUrl, database, options.redisUrl, redisPrefix);
    } catch (error) {
      throw checklist.fail('', 'PostgreSQL and Redis are reachable', `${(error as Error).message} (expected at ${options.postgresUrl} and ${options.redisUrl})`);
    }
    await gms.start();
    resources.add('the GMS simulator', () => gms.stop());
    await eightByEight.start();
    resources.add('the 8x8 simulator', () => eightByEight.stop());
    await teams.start();
    resources.add('the Teams simulator', () => teams.stop());
    await whatsapp.start();
    resources.add('the WhatsApp simulator', () => whatsapp.stop());
    await receiver.start();
    resources.add('the bot receiver', () => receiver.stop());
    receiver.onDelivery = (delivery) => timeline.line(platformOf(delivery), '-> bot', describeDelivery(delivery));
    timeline.line('', 'setup', `GMS simulator ${gms.baseUrl}, 8x8 simulator ${eightByEight.baseUrl}, Teams simulator ${teams.baseUrl}, WhatsApp simulator ${whatsapp.baseUrl}, bot receiver ${receiver.url}`);

    const port = options.port || (await freePort());
    const service = new DemoServiceProcess({
      databaseUrl: `${options.postgresUrl}/${database}`,
      redisUrl: options.redisUrl,
      redisPrefix,
      port,
      apiKey,
      secretsKey: randomBytes(32).toString('base64'),
    });
    if (options.verbose) service.onOutput = (text) => process.stdout.write(text.replace(/^/gm, '          service | '));
    resources.service = service;
    resources.add('the service', () => service.stop());
    try {
      await service.start(Math.max(1_000, Math.min(60_000, checklist.timeLeftMs)));
    } catch (error) {
      throw checklist.fail('', 'the service started', (error as Error).message);
    }
    checklist.pass('', 'the service started');
    timeline.line('', 'setup', `service (API + worker) ready at ${service.url}, pid ${service.pid}, database ${database}, Redis prefix ${redisPrefix}`);

    const api = new AdminApiClient(service.url, apiKey);
    const domain = `demo-${runId}`;
    await api.createDomain(domain, receiver.url, signingSecret);
    checklist.pass('', 'the domain was created');
    timeline.line('', 'admin', `domain ${domain} created; events go to the bot receiver, signed with the domain's secret`);
    // The demo's bot answers web chat users and hands them to GMS when they ask for a person.
    bot = new DemoBot(api, domain, () => gmsGatewayId);
    bot.onSay = (conversation, text) => timeline.line(channelConversations.get(conversation) ?? 'Web', 'bot', `answers "${text}"`);
    bot.onEscalate = (_conversation, escalationId) => timeline.line('Web', 'bot', `escalates the conversation to GMS (queue cards): escalation ${escalationId}`);
    const printDelivery = receiver.onDelivery;
    receiver.onDelivery = (delivery) => {
      printDelivery?.(delivery);
      bot?.handle(delivery);
    };
    return { api, receiver, timeline, checklist, domain, runId, serviceUrl: service.url };
  }

  async function runScenario(platform: DemoPlatform, scenario: (ctx: ScenarioContext) => Promise<void>): Promise<void> {
    try {
      await scenario(context!);
    } catch (error) {
      const missing = error instanceof DemoStepMissing ? error : checklist.fail(platform, 'the scripted escalation ran to its end', (error as Error).message);
      timeline.line(platform, 'MISSING', `${missing.step}: ${missing.detail}`);
    }
  }

  function summarize(): number {
    const seconds = (timeline.elapsedMs() / 1000).toFixed(1);
    const count = (platform: DemoPlatform) => checklist.observed.filter((step) => step.platform === platform).length;
    timeline.heading('Result');
    timeline.text(
      `Steps observed: ${checklist.observed.length} (set-up ${count('')}, GMS ${count('GMS')}, 8x8 ${count('8x8')}, web chat ${count('Web')}, Teams ${count('Teams')}, WhatsApp ${count('WhatsApp')}); events received by the bot: ${receiver.deliveries.length}.`,
    );
    const violations = eightByEight.oasViolations();
    if (violations.length > 0) timeline.text(`Note: the 8x8 simulator recorded ${violations.length} request(s) outside 8x8's OpenAPI document, e.g. ${violations[0].method} ${violations[0].path}: ${violations[0].message}`);
    if (checklist.missing.length === 0) {
      timeline.text(`PASS: all ${checklist.observed.length} steps observed, every event verified at the bot receiver, in ${seconds} s.`);
      return 0;
    }
    timeline.text(`FAIL after ${seconds} s. Missing:`);
    for (const missing of checklist.missing) timeline.text(`  - ${missing.platform || 'set-up'}: ${missing.step} (${missing.detail.split('\n')[0]})`);
    const log = resources.service?.output();
    if (log) timeline.text(`\nLast lines of the service log:\n${log.split('\n').slice(-30).join('\n')}`);
    return 1;
  }

  /** --keep: a customer waits on each platform for the person at the consoles; everything runs until Ctrl+C. */
  async function keepRunning(ctx: ScenarioContext): Promise<void> {
    const waiting: string[] = [];
    for (const [platform, gatewayId, queue] of [
      ['gms', gmsGatewayId, 'cards'],
      ['8x8', eightByEightGatewayId, '101'],
    ] as const) {
      if (!gatewayId) continue;
      const request = demoEscalation(ctx.domain, gatewayId, `demo-${platform}-${runId}-live`, queue, {
        intent: 'talk-to-a-person',
        history: ['Can I talk to a person?', 'Of course. Anything I should pass on?', 'It is about my card'],
      });
      const escalation = await ctx.api.escalate(request).catch((error: Error) => {
        timeline.text(`demo: could not start the waiting ${platform} escalation: ${error.message}`);
        return undefined;
      });
      if (escalation) waiting.push(`  ${platform === 'gms' ? 'GMS' : '8x8'} escalation ${escalation.id} (queue ${queue}, conversation ${escalation.conversationId})`);
    }
    const base = ctx.serviceUrl;
    const example = waiting.length > 0 ? waiting[0].trim().split(' ')[2] : '<escalation id>';
    timeline.heading('Still running (--keep); Ctrl+C stops everything');
    if (webchat) timeline.text(`Web chat page        ${webchat.pageUrl}   (the demo bot answers; ask it for an agent, then accept in the GMS console)`);
    timeline.text(`Agent console, GMS   ${gms.baseUrl}/console`);
    timeline.text(`Agent console, 8x8   ${eightByEight.baseUrl}/console`);
    if (teamsGateway) timeline.text(`Teams user console   ${teams.baseUrl}/console   (install the app as a user and talk to the demo bot)`);
    if (whatsappGateway) timeline.text(`WhatsApp user console ${whatsapp.baseUrl}/console   (write to the business as a user and talk to the demo bot)`);
    timeline.text(`Swagger UI           ${base}/docs`);
    timeline.text(`API key              ${apiKey}   (Authorization: Bearer <key>)`);
    timeline.text(`Queue dashboard      ${base}/queues   (browser login: any user name, the API key as password)`);
    timeline.text(`Bot receiver         ${receiver.url}   (each event it receives is printed below)`);
    timeline.text(`Domain               ${ctx.domain}; gateways GMS ${gmsGatewayId ?? '-'}, 8x8 ${eightByEightGatewayId ?? '-'}, web chat ${webchat?.gatewayId ?? '-'}`);
    timeline.text('\nA customer is waiting on each platform: accept the chat in the console and talk to them.');
    for (const entry of waiting) timeline.text(entry);
    timeline.text('\nSpeak as the user (the bot platform relaying what the user types):');
    timeline.text(`  curl -s -X POST ${base}/v1/escalations/${example}/messages -H 'authorization: Bearer ${apiKey}' -H 'content-type: application/json' -d '{"text":"Hello from the user"}'`);
    timeline.text('');
  }
}
