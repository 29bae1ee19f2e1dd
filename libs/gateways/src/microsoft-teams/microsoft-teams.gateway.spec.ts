import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { GatewayError, OutboundActivity } from '@app/gateway-sdk';
import { InboundFault, TeamsUser } from '@app/simulators/teams';
import { TeamsTestEnvironment } from './microsoft-teams-test.context';

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a GatewayError');
}

const text = (value: string): OutboundActivity => ({ type: 'message', author: 'bot', text: value });

describe('microsoft-teams gateway against the Teams simulator (secret)', () => {
  let env: TeamsTestEnvironment;
  let ana: TeamsUser;
  let conversationId: string;

  beforeAll(async () => {
    env = await new TeamsTestEnvironment().start();
    ana = env.simulator.addUser({ name: 'Ana Lopez' });
    ({ conversationId } = await env.simulator.install(env.appId, ana.id));
  });
  afterAll(() => env.stop());
  beforeEach(() => {
    env.simulator.clearConnectorFaults();
    env.configure({});
  });

  it('turns the personal install into reachability and a join, and keeps the conversation reference', () => {
    const ours = env.activities.filter((activity) => activity.platformConversationId === conversationId);
    expect(ours.map((activity) => [activity.type, activity.reachability?.reachable])).toEqual([
      ['reachability', true],
      ['user_joined', undefined],
      ['reachability', true],
    ]);
    expect(env.references.get(conversationId)).toEqual({
      serviceUrl: env.simulator.serviceUrl(),
      tenantId: 'tenant-a',
      conversationId,
      conversationType: 'personal',
      userId: ana.id,
      aadObjectId: ana.aadObjectId,
      botId: `28:${env.appId}`,
      botName: 'Help Bot',
      channelId: 'msteams',
    });
  });

  it('takes a message (html duplicate dropped), a card submit and a read receipt', async () => {
    const said = await env.simulator.say(env.appId, ana.id, 'I need to reset my password', { html: true });
    expect(said.status).toBe(200);
    await env.simulator.submitCard(env.appId, ana.id, { choice: 'approve' });
    await env.simulator.readReceipt(env.appId, ana.id, '1700000000123');
    const [message, submit, receipt] = env.activities.slice(-3);
    expect(message).toMatchObject({ type: 'message', platformActivityId: said.activityId, text: 'I need to reset my password', user: { id: ana.aadObjectId, name: 'Ana Lopez' } });
    expect(message.attachments).toBeUndefined();
    expect(submit).toMatchObject({ type: 'message', text: '', value: { choice: 'approve' } });
    expect(receipt).toMatchObject({ type: 'receipt', receipt: { platformMessageId: '1700000000123', status: 'read' } });
    expect(env.messages('debug')).toContain('Teams inbound token accepted');
    expect(env.log.find((line) => line.message === 'Teams inbound token accepted')?.fields).toMatchObject({ issuer: 'https://api.botframework.com' });
  });

  it('answers 200 to reactions, edits and unknown types and relays nothing', async () => {
    const before = env.activities.length;
    for (const type of ['messageReaction', 'messageUpdate', 'somethingNew']) {
      expect((await env.simulator.postActivity(env.appId, env.simulator.activityFor(env.appId, ana.id, type))).status).toBe(200);
    }
    expect(env.activities.length).toBe(before);
  });

  const CHECKS: Array<[InboundFault, RegExp]> = [
    ['expired', /expired/],
    ['not_yet_valid', /not valid yet/],
    ['wrong_audience', /audience/],
    ['wrong_issuer', /issuer .* is not trusted/],
    ['unknown_key', /unknown signing key/],
    ['bad_signature', /bad signature/],
    ['wrong_service_url', /serviceurl claim/],
    ['missing_endorsement', /not endorsed for channel msteams/],
    ['no_header', /no Authorization header/],
    ['lowercase_bearer', /scheme is not "Bearer"/],
  ];
  it.each(CHECKS)('refuses a request with the %s fault (401, naming the check)', async (fault, check) => {
    const before = env.activities.length;
    const { status } = await env.simulator.say(env.appId, ana.id, 'hello', { fault });
    expect(status).toBe(401);
    expect(env.refusals.at(-1)).toMatch(check);
    expect(env.activities.length).toBe(before);
  });

  it('accepts a token expired within the clock skew', async () => {
    expect((await env.simulator.say(env.appId, ana.id, 'still fine', { fault: 'within_skew' })).status).toBe(200);
    expect(env.activities.at(-1)?.text).toBe('still fine');
  });

  it('refuses a service URL off the allow-list even with a valid token', async () => {
    env.configure({ configuration: { allowedServiceUrlHosts: '*.trafficmanager.net' } });
    expect((await env.simulator.say(env.appId, ana.id, 'hello')).status).toBe(401);
    expect(env.refusals.at(-1)).toMatch(/not on Allowed Service URL Hosts/);
  });

  it('picks up a rotated key at once, and refetches for unknown kids at most once per interval', async () => {
    const keyFetches = () => env.http.requested.filter((url) => url.endsWith('/v1/.well-known/keys')).length;
    env.resetTokens();
    expect((await env.simulator.say(env.appId, ana.id, 'before rotation')).status).toBe(200);
    const first = keyFetches();
    env.simulator.rotateKeys();
    expect((await env.simulator.say(env.appId, ana.id, 'after rotation')).status).toBe(200);
    expect(keyFetches()).toBe(first + 1);
    expect((await env.simulator.say(env.appId, ana.id, 'forged kid', { fault: 'unknown_key' })).status).toBe(401);
    expect(keyFetches()).toBe(first + 1);
  });

  it('drops activities from a tenant not allowed, with a warning', async () => {
    const foreigner = env.simulator.addUser({ name: 'Eve Outsider', tenantId: 'tenant-b' });
    const { conversationId: theirs, statuses } = await env.simulator.install(env.appId, foreigner.id);
    await env.simulator.say(env.appId, foreigner.id, 'hello from elsewhere');
    expect(statuses).toEqual([200, 200]);
    expect(env.activities.filter((activity) => activity.platformConversationId === theirs)).toEqual([]);
    expect(env.messages('warn')).toContain('Teams activity from a tenant not allowed; dropped');
    env.configure({ basic: { allowedUserTenants: 'tenant-a tenant-b' } });
    await env.simulator.say(env.appId, foreigner.id, 'now allowed');
    expect(env.activities.at(-1)).toMatchObject({ platformConversationId: theirs, text: 'now allowed' });
  });

  it('sends text as markdown to the stored conversation and returns the Connector\'s id', async () => {
    const sent = await env.gateway.send(env.channelContext(conversationId), text('Your reset link is on its way.'));
    const entry = await env.simulator.waitForTranscript(conversationId, (candidate) => candidate.activityId === sent.platformMessageId);
    expect(entry.activity).toMatchObject({
      type: 'message',
      textFormat: 'markdown',
      text: 'Your reset link is on its way.',
      from: { id: `28:${env.appId}` },
      recipient: { id: ana.id },
      conversation: { id: conversationId },
    });
  });

  it('sends text and attachments as two activities and returns the second id; quick replies as suggested actions', async () => {
    const before = env.simulator.transcript(conversationId).length;
    const sent = await env.gateway.send(env.channelContext(conversationId), {
      type: 'message',
      author: 'bot',
      text: 'Here is the form',
      attachments: [
        { contentType: 'application/pdf', name: 'form.pdf', url: 'https://files.example/form.pdf' },
        { contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.5', body: [] } },
      ],
      quickReplies: [{ title: 'Done' }, { title: 'Help', value: 'help' }],
    });
    const entries = env.simulator.transcript(conversationId).slice(before);
    expect(entries.map((entry) => [Boolean(entry.activity.text), Array.isArray(entry.activity.attachments)])).toEqual([
      [true, false],
      [false, true],
    ]);
    expect(sent.platformMessageId).toBe(entries[1].activityId);
    expect(entries[1].activity.attachments).toEqual([
      { contentType: 'application/pdf', name: 'form.pdf', contentUrl: 'https://files.example/form.pdf' },
      { contentType: 'application/vnd.microsoft.card.adaptive', content: { type: 'AdaptiveCard', version: '1.5', body: [] } },
    ]);
    expect(entries[1].activity.suggestedActions).toEqual({
      to: [ana.id],
      actions: [
        { type: 'imBack', title: 'Done', value: 'Done' },
        { type: 'imBack', title: 'Help', value: 'help' },
      ],
    });
  });

  it('does not repeat the text when a split send is retried after the attachments failed', async () => {
    const before = env.simulator.transcript(conversationId).length;
    const message: OutboundActivity = { type: 'message', author: 'bot', text: 'Once', attachments: [{ contentType: 'image/png', url: 'https://files.example/a.png' }] };
    // Armed when the text is recorded, before its answer leaves: the fault answers the second call, the attachments.
    const armed = env.simulator
      .waitForTranscript(conversationId, (entry) => entry.activity.text === 'Once')
      .then(() => env.simulator.addConnectorFault({ status: 503, conversationId, count: 1 }));
    expect((await failure(env.gateway.send(env.channelContext(conversationId, { messageId: 'm-1' }), message))).code).toBe('transient');
    await armed;
    const retried = await env.gateway.send(env.channelContext(conversationId, { messageId: 'm-1' }), message);
    const entries = env.simulator.transcript(conversationId).slice(before);
    expect(entries.map((entry) => (entry.activity.text ? 'text' : 'attachments'))).toEqual(['text', 'attachments']);
    expect(retried.platformMessageId).toBe(entries[1].activityId);
  });

  it('raises an activity-feed alert on proactive messages only when the setting says so', async () => {
    const first = await env.gateway.send(env.channelContext(conversationId), { ...text('Your ticket was updated'), proactive: true });
    const alerted = env.simulator.transcript(conversationId).find((entry) => entry.activityId === first.platformMessageId);
    expect(alerted?.activity.channelData).toEqual({ notification: { alert: true } });
    env.configure({ additional: { alertOnProactive: false } });
    const second = await env.gateway.send(env.channelContext(conversationId), { ...text('Quietly'), proactive: true });
    expect(env.simulator.transcript(conversationId).find((entry) => entry.activityId === second.platformMessageId)?.activity.channelData).toBeUndefined();
  });

  it('names the agent in the text, and sends typing without an id', async () => {
    const sent = await env.gateway.send(env.channelContext(conversationId), { type: 'message', author: 'agent', authorName: 'Grace', text: 'Hello Ana' });
    expect(env.simulator.transcript(conversationId).find((entry) => entry.activityId === sent.platformMessageId)?.activity.text).toBe('**Grace**: Hello Ana');
    expect(await env.gateway.send(env.channelContext(conversationId), { type: 'typing', author: 'bot' })).toEqual({ platformMessageId: null });
    expect(env.simulator.transcript(conversationId).at(-1)?.op).toBe('typing');
  });

  it('refuses to send the bot token to a service URL off the allow-list', async () => {
    const reference = { ...env.references.get(conversationId), serviceUrl: 'https://evil.example/amer/' };
    const error = await failure(env.gateway.send(env.channelContext(conversationId, { reference }), text('leak?')));
    expect(error.code).toBe('invalid_request');
    expect(error.message).toMatch(/Refusing to send the bot token/);
    expect(env.http.requested.some((url) => url.includes('evil.example'))).toBe(false);
  });

  it('says not_installed when no reference is known yet', async () => {
    const error = await failure(env.gateway.send(env.channelContext('a:never-seen', { reference: null }), text('hi')));
    expect([error.code, error.unreachableReason]).toEqual(['unreachable', 'not_installed']);
  });

  it.each([
    [{ status: 403, code: 'BotNotInConversationRoster' }, 'unreachable', 'not_installed'],
    [{ status: 403, code: 'ForbiddenOperationException' }, 'unreachable', 'not_installed'],
    [{ status: 403, code: 'ConversationBlockedByUser' }, 'unreachable', 'blocked'],
    [{ status: 404, code: 'ConversationNotFound' }, 'unreachable', 'invalid_recipient'],
    [{ status: 400, code: 'BadArgument' }, 'invalid_request', undefined],
    [{ status: 413, code: 'MessageSizeTooBig' }, 'invalid_request', undefined],
    [{ status: 412, code: 'PreconditionFailed' }, 'transient', undefined],
    [{ status: 500, code: 'ServiceError' }, 'transient', undefined],
    [{ status: 502, code: 'ServiceError' }, 'transient', undefined],
    [{ status: 503 }, 'transient', undefined],
    [{ status: 504 }, 'transient', undefined],
  ])('maps the Connector answer %j to %s (%s), with the operation id', async (fault, code, reason) => {
    env.simulator.addConnectorFault({ ...fault, conversationId });
    const error = await failure(env.gateway.send(env.channelContext(conversationId), text('hello')));
    expect([error.code, error.unreachableReason]).toEqual([code, reason]);
    expect(error.message).toMatch(/X-Correlating-OperationId \w+/);
  });

  it('waits Retry-After on 429', async () => {
    env.simulator.addConnectorFault({ status: 429, code: 'Throttled', retryAfterSeconds: 7, conversationId });
    expect(await failure(env.gateway.send(env.channelContext(conversationId), text('hello')))).toMatchObject({ code: 'rate_limited', retryAfterMs: 7000 });
  });

  it('reports a user who blocked the bot (both shapes) or an admin who disabled it as blocked', async () => {
    const bo = env.simulator.addUser({ name: 'Bo Blocker' });
    const { conversationId: theirs } = await env.simulator.install(env.appId, bo.id);
    for (const shape of ['code', 'messageWritesBlocked'] as const) {
      env.simulator.block(env.appId, bo.id, shape);
      expect(await failure(env.gateway.send(env.channelContext(theirs), text('hi')))).toMatchObject({ code: 'unreachable', unreachableReason: 'blocked' });
    }
    env.simulator.unblock(env.appId, bo.id);
    env.simulator.disableByAdmin(env.appId, 'tenant-a', true);
    const disabled = await failure(env.gateway.send(env.channelContext(theirs), text('hi')));
    env.simulator.disableByAdmin(env.appId, 'tenant-a', false);
    expect(disabled).toMatchObject({ code: 'unreachable', unreachableReason: 'blocked' });
    expect(disabled.message).toMatch(/BotDisabledByAdmin.*admin/);
  });

  it('turns an uninstall into not_installed, and sends after it fail as not_installed', async () => {
    const cy = env.simulator.addUser({ name: 'Cy Leaving' });
    const { conversationId: theirs } = await env.simulator.install(env.appId, cy.id);
    await env.simulator.uninstall(env.appId, cy.id);
    const reachability = env.activities.filter((activity) => activity.platformConversationId === theirs && activity.type === 'reachability').map((activity) => activity.reachability);
    expect(reachability.slice(-2)).toEqual([
      { reachable: false, reason: 'not_installed' },
      { reachable: false, reason: 'not_installed' },
    ]);
    expect(await failure(env.gateway.send(env.channelContext(theirs), text('still there?')))).toMatchObject({ code: 'unreachable', unreachableReason: 'not_installed' });
  });
});

describe('microsoft-teams bot token', () => {
  let env: TeamsTestEnvironment;
  let conversationId: string;

  beforeAll(async () => {
    env = await new TeamsTestEnvironment().start();
    const user = env.simulator.addUser({ name: 'Dee Token' });
    ({ conversationId } = await env.simulator.install(env.appId, user.id));
  });
  afterAll(() => env.stop());
  beforeEach(() => {
    env.simulator.clearConnectorFaults();
    env.resetTokens();
  });

  it('fetches one token for concurrent sends and reuses it until 5 minutes before it expires', async () => {
    const issued = env.simulator.tokensIssued;
    await Promise.all([1, 2, 3].map((n) => env.gateway.send(env.channelContext(conversationId), text(`hello ${n}`))));
    expect(env.simulator.tokensIssued).toBe(issued + 1);
    env.tokens.offsetMs = 54 * 60_000;
    await env.gateway.send(env.channelContext(conversationId), text('at 54 minutes'));
    expect(env.simulator.tokensIssued).toBe(issued + 1);
    env.tokens.offsetMs = 56 * 60_000;
    await env.gateway.send(env.channelContext(conversationId), text('at 56 minutes'));
    expect(env.simulator.tokensIssued).toBe(issued + 2);
  });

  it('on a 401 drops the token, fetches a new one and retries once; a second 401 is auth_failed', async () => {
    await env.gateway.send(env.channelContext(conversationId), text('warm up'));
    const issued = env.simulator.tokensIssued;
    env.simulator.addConnectorFault({ status: 401, code: 'BotNotRegistered', conversationId, count: 1 });
    const sent = await env.gateway.send(env.channelContext(conversationId), text('after one 401'));
    expect(sent.platformMessageId).toEqual(expect.any(String));
    expect(env.simulator.tokensIssued).toBe(issued + 1);
    env.simulator.addConnectorFault({ status: 401, code: 'BotNotRegistered', conversationId, count: 2 });
    expect((await failure(env.gateway.send(env.channelContext(conversationId), text('after two 401s')))).code).toBe('auth_failed');
    expect(env.simulator.tokensIssued).toBe(issued + 2);
  });

  it('reports invalid_client as auth_failed and a token server error as transient', async () => {
    env.simulator.tokenFault({ error: 'invalid_client' });
    const refused = await failure(env.gateway.send(env.channelContext(conversationId), text('hello')));
    expect(refused.code).toBe('auth_failed');
    expect(refused.message).toMatch(/invalid_client/);
    env.simulator.tokenFault({ error: 'server_error' });
    expect((await failure(env.gateway.send(env.channelContext(conversationId), text('hello')))).code).toBe('transient');
  });

  it('checks the connection: metadata and token, naming what failed and never the secret', async () => {
    expect(await env.gateway.checkConnection(env.context())).toEqual({ ok: true, detail: expect.stringMatching(/signing keys readable.*bot token obtained from tenant tenant-a/) });
    env.configure({ basic: { appPassword: 'wrong-password-value' } });
    const check = await env.gateway.checkConnection(env.context());
    expect(check.ok).toBe(false);
    expect(check.detail).toMatch(/bot token failed: .*invalid_client/);
    expect(check.detail).not.toContain('wrong-password-value');
  });
});

describe('microsoft-teams certificate credentials', () => {
  const dir = mkdtempSync(join(tmpdir(), 'teams-cert-'));
  const certificate = (name: string) => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.crt`), '-days', '1', '-subj', `/CN=${name}`], {
      stdio: 'ignore',
    });
    return { key: readFileSync(join(dir, `${name}.key`), 'utf8'), cert: readFileSync(join(dir, `${name}.crt`), 'utf8') };
  };
  const registered = certificate('teams-bot');
  const other = certificate('someone-else');
  let env: TeamsTestEnvironment;
  let conversationId: string;

  beforeAll(async () => {
    env = await new TeamsTestEnvironment().start({ certificatePem: registered.cert });
    const user = env.simulator.addUser({ name: 'Flo Cert' });
    ({ conversationId } = await env.simulator.install(env.appId, user.id));
  });
  afterAll(() => env.stop());

  it('gets the bot token with a client assertion signed by the certificate\'s key', async () => {
    env.configure({ basic: { authMethod: 'certificate', appPassword: undefined, certificatePrivateKeyPem: `${registered.key}\n${registered.cert}` } });
    expect((await env.gateway.send(env.channelContext(conversationId), text('signed in by certificate'))).platformMessageId).toEqual(expect.any(String));
    const thumbprint = new X509Certificate(registered.cert).fingerprint;
    env.resetTokens();
    env.configure({ basic: { authMethod: 'certificate', certificatePrivateKeyPem: registered.key, certificateThumbprint: thumbprint } });
    expect((await env.gateway.send(env.channelContext(conversationId), text('thumbprint given'))).platformMessageId).toEqual(expect.any(String));
  });

  it('is refused (auth_failed) when signed by another key', async () => {
    env.resetTokens();
    env.configure({ basic: { authMethod: 'certificate', certificatePrivateKeyPem: other.key, certificateThumbprint: new X509Certificate(registered.cert).fingerprint } });
    expect((await failure(env.gateway.send(env.channelContext(conversationId), text('forged')))).code).toBe('auth_failed');
  });
});
