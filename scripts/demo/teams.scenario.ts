import { randomBytes, randomUUID } from 'node:crypto';
import { TeamsSimulator } from '@app/simulators/teams';
import { BotExpectations, quote, ScenarioContext } from './demo-scenario';
import { USER_MESSAGE } from './demo-bot';

export const TEAMS_DEMO_APP_ID = '00000000-0000-4000-8000-0000000de770';
export const TEAMS_DEMO_TENANT = '00000000-0000-4000-8000-00000000c0de';

export interface DemoTeams {
  gatewayId: string;
}

/**
 * Creates the domain's `microsoft-teams` gateway at the Teams simulator (its OpenID metadata, token endpoint and
 * Connector instead of Microsoft's) and registers the bot there, with the gateway's webhook as its messaging endpoint.
 */
export async function createTeamsGateway(context: ScenarioContext, teams: TeamsSimulator): Promise<DemoTeams> {
  const secret = randomBytes(24).toString('base64url');
  const gateway = await context.api.createGateway('microsoft-teams', {
    basic: { name: 'Demo Teams app', domain: context.domain, deployed: true, appId: TEAMS_DEMO_APP_ID, appPassword: secret, appTenantId: TEAMS_DEMO_TENANT, appType: 'SingleTenant' },
    configuration: { openIdMetadataUrl: teams.openIdMetadataUrl, tokenEndpointTemplate: teams.tokenEndpointTemplate, allowedServiceUrlHosts: new URL(teams.baseUrl).hostname },
  });
  teams.registerBot({ appId: TEAMS_DEMO_APP_ID, name: 'Demo bot', secret, tenantId: TEAMS_DEMO_TENANT, messagingEndpoint: `${context.serviceUrl}/v1/webhooks/${gateway.id}` });
  context.checklist.pass('Teams', 'the microsoft-teams gateway was created and the bot registered at the Teams simulator');
  context.timeline.line('Teams', 'admin', `gateway "Demo Teams app" (microsoft-teams) ${gateway.id}: messaging endpoint ${context.serviceUrl}/v1/webhooks/${gateway.id}`);
  return { gatewayId: gateway.id };
}

/**
 * A pushed conversation on Teams: Ana installs the app (the service learns how to reach her), the bot pushes a
 * conversation to her (`POST /v1/conversations`) with buttons and its own context, her answer reaches the bot in that
 * conversation and the bot answers; a notification follows; once she uninstalls, the next notification is refused up
 * front with 422 `not_installed`.
 */
export async function runTeamsScenario(context: ScenarioContext, teams: TeamsSimulator, demo: DemoTeams): Promise<void> {
  const { timeline, checklist, api } = context;
  const line = (actor: string, text: string) => timeline.line('Teams', actor, text);
  const ana = teams.addUser({ name: 'Ana Lopez', tenantId: TEAMS_DEMO_TENANT });
  const { conversationId: teamsConversation } = await teams.install(TEAMS_DEMO_APP_ID, ana.id);
  line('user', `Ana installs the app in Teams (personal chat ${teamsConversation})`);
  const started = await checklist.expect('Teams', 'the install reached the bot as a new conversation, its user reachable', () =>
    context.receiver.deliveries.find((d) => d.type === 'conversation_started' && d.data.platformConversationId === teamsConversation),
  );
  const conversationId = started.conversationId;
  const events = new BotExpectations(context, 'Teams', conversationId);
  await events.next('user_reachability', { where: (d) => d.data.reachable === true });

  const opening = 'Your new laptop is ready. Do you want to book a pick-up slot?';
  const push = await api.expect<{ id: string; conversationId: string }>(
    202,
    'POST',
    '/v1/conversations',
    { gatewayId: demo.gatewayId, recipient: { userId: ana.aadObjectId }, message: { text: opening, quickReplies: [{ title: 'Yes, book it', value: 'Yes, book it' }, { title: 'Later', value: 'Later' }] }, context: { ticket: 'INC0012345' } },
    { 'idempotency-key': `demo-push-${context.runId}` },
  );
  line('bot', `pushes a conversation to Ana (POST /v1/conversations): ${quote(opening)} with two buttons`);
  await events.next('conversation_started', { step: 'the bot was told the pushed conversation started, with its context', where: (d) => d.data.origin === 'proactive' && d.data.context?.ticket === 'INC0012345' });
  await events.next('message_status', { step: "the opening message was sent to Teams (status 'sent', proactive)", where: (d) => d.data.messageId === push.id && d.data.status === 'sent' && d.data.proactive === true });
  const shown = await checklist.expect('Teams', 'the opening message is in Ana\'s Teams chat with its buttons and an activity-feed alert', () =>
    teams.transcript(teamsConversation).find((e) => e.op === 'send' && e.activity.text === opening && (e.activity.suggestedActions as { actions?: unknown[] } | undefined)?.actions?.length === 2 && (e.activity.channelData as { notification?: { alert?: boolean } } | undefined)?.notification?.alert === true),
  );
  line('user', `sees in Teams: ${quote(String(shown.activity.text))} [Yes, book it] [Later]`);

  await teams.say(TEAMS_DEMO_APP_ID, ana.id, 'Yes, book it');
  line('user', 'presses "Yes, book it"');
  await events.next(USER_MESSAGE, { step: "Ana's answer reached the bot in the pushed conversation", where: (d) => d.data.text === 'Yes, book it' });
  const answer = await checklist.expect('Teams', "the bot's answer reached Ana's Teams chat", () =>
    teams.transcript(teamsConversation).find((e) => e.op === 'send' && String(e.activity.text).startsWith('You said "Yes, book it"')),
  );
  line('user', `sees Demo bot: ${quote(String(answer.activity.text))}`);

  const reminder = 'Reminder: your pick-up is tomorrow at 10:00, desk 4.';
  const notification = await api.expect<{ id: string }>(202, 'POST', '/v1/notifications', { gatewayId: demo.gatewayId, recipient: { userId: ana.aadObjectId }, message: { text: reminder } }, { 'idempotency-key': `demo-notify-${context.runId}` });
  line('bot', `notifies Ana (POST /v1/notifications): ${quote(reminder)}`);
  await events.next('message_status', { step: 'the notification was sent to Teams', where: (d) => d.data.messageId === notification.id && d.data.status === 'sent' });

  await teams.uninstall(TEAMS_DEMO_APP_ID, ana.id);
  line('user', 'Ana uninstalls the app');
  await events.next('user_reachability', { step: 'the uninstall reached the bot: Ana is no longer reachable', where: (d) => d.data.reachable === false && d.data.reason === 'not_installed' });
  const refused = await api.request('POST', '/v1/notifications', { gatewayId: demo.gatewayId, recipient: { userId: ana.aadObjectId }, message: { text: 'Are you still there?' } }, { 'idempotency-key': randomUUID() });
  await checklist.expect('Teams', 'a notification to a user who uninstalled is refused up front (422 not_installed)', () => (refused.status === 422 && refused.body?.code === 'not_installed' ? refused : undefined));
  line('bot', `the next notification is refused: ${refused.status} ${refused.body?.code}`);
}
