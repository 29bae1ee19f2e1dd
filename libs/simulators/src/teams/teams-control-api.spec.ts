import { TeamsSimulator } from './teams-simulator';
import { APP_ID, APP_SECRET, BotEndpointDouble, botToken, connector, TENANT_ID } from './teams-simulator.spec-helpers';

describe('Teams simulator control API and console', () => {
  let teams: TeamsSimulator;
  let bot: BotEndpointDouble;

  beforeEach(async () => {
    bot = new BotEndpointDouble();
    teams = new TeamsSimulator();
    await teams.start();
  });
  afterEach(async () => {
    await teams.stop();
    await bot.stop();
  });

  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${teams.baseUrl}/control${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };

  it('registers a bot and a user, installs, lets the user talk and shows what the bot sent', async () => {
    expect((await control('POST', '/bots', { appId: APP_ID, secret: APP_SECRET, tenantId: TENANT_ID, messagingEndpoint: await bot.start() })).status).toBe(204);
    const user = (await control('POST', '/users', { name: 'Ana Lopez' })).body;
    expect(user).toMatchObject({ id: expect.stringMatching(/^29:/), tenantId: TENANT_ID });
    const pair = `/bots/${APP_ID}/users/${encodeURIComponent(user.id)}`;
    const installed = await control('POST', `${pair}/install`, { region: 'emea' });
    expect(installed.body).toEqual({ conversationId: expect.stringMatching(/^a:/), statuses: [200, 200] });
    expect((await control('POST', `${pair}/say`, { text: 'hello', html: true })).body).toEqual({ status: 200, activityId: expect.any(String) });
    expect((await control('POST', `${pair}/submit`, { value: { choice: 'yes' } })).body.status).toBe(200);
    expect((await control('POST', `${pair}/say`, { text: 'x', fault: 'nonsense' })).status).toBe(400);

    const token = await botToken(teams);
    await connector(teams, token, 'POST', `v3/conversations/${installed.body.conversationId}/activities`, { type: 'message', text: 'Hi Ana' }, 'emea');
    const conversation = (await control('GET', `${pair}/conversation`)).body;
    expect(conversation.transcript).toEqual([expect.objectContaining({ op: 'send', activity: expect.objectContaining({ text: 'Hi Ana' }) })]);
    expect((await control('GET', `/conversations/${encodeURIComponent(installed.body.conversationId)}/transcript`)).body).toEqual(conversation.transcript);

    const status = (await control('GET', '/status')).body;
    expect(status.bots).toEqual([expect.objectContaining({ appId: APP_ID })]);
    expect(status.bots[0].secret).toBeUndefined();
    expect(status.memberships).toEqual([expect.objectContaining({ installed: true, region: 'emea' })]);
    expect((await control('GET', '/requests')).body.inbound.map((delivery: { type: string }) => delivery.type)).toEqual(['conversationUpdate', 'installationUpdate', 'message', 'message']);
  });

  it('sets faults, blocks, rotates keys and answers 404 for unknown users', async () => {
    await control('POST', '/bots', { appId: APP_ID, secret: APP_SECRET, tenantId: TENANT_ID, messagingEndpoint: await bot.start() });
    const user = (await control('POST', '/users', { name: 'Ben' })).body;
    const pair = `/bots/${APP_ID}/users/${encodeURIComponent(user.id)}`;
    const { conversationId } = (await control('POST', `${pair}/install`)).body;
    await control('POST', `${pair}/block`, { shape: 'messageWritesBlocked' });
    const token = await botToken(teams);
    expect((await connector(teams, token, 'POST', `v3/conversations/${conversationId}/activities`, { type: 'message', text: 'x' })).body.errorCode).toBe(209);
    await control('POST', `${pair}/unblock`);
    expect((await control('POST', '/connector-faults', { status: 429, retryAfterSeconds: 2 })).status).toBe(204);
    expect((await connector(teams, token, 'POST', `v3/conversations/${conversationId}/activities`, { type: 'message', text: 'x' })).status).toBe(429);
    await control('POST', '/token-faults', { error: 'server_error' });
    await expect(botToken(teams)).rejects.toThrow(/500/);
    expect((await control('POST', '/keys/rotate', {})).body.kid).toEqual(expect.any(String));
    expect((await control('POST', `/bots/${APP_ID}/users/29:nobody/say`, { text: 'x' })).status).toBe(404);
  });

  it('serves the Teams user console from the simulator itself', async () => {
    const page = await fetch(`${teams.baseUrl}/console`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('/console/teams-console.js');
    expect((await fetch(`${teams.baseUrl}/console/teams-console.js`)).status).toBe(200);
    expect((await fetch(`${teams.baseUrl}/console/teams-console.css`)).status).toBe(200);
  });
});
