import { createPublicKey, verify } from 'node:crypto';
import { ManualClock } from '../clock/simulator-clock';
import { TeamsSimulator } from './teams-simulator';
import { APP_ID, APP_SECRET, BotEndpointDouble, decodePart, TENANT_ID } from './teams-simulator.spec-helpers';
import { INBOUND_FAULTS, TeamsUser } from './teams-simulator.types';

describe('Teams simulator deliveries to the bot', () => {
  const start = Date.UTC(2026, 0, 10, 9, 0, 0);
  let clock: ManualClock;
  let teams: TeamsSimulator;
  let bot: BotEndpointDouble;
  let ana: TeamsUser;

  beforeEach(async () => {
    clock = new ManualClock(start);
    bot = new BotEndpointDouble();
    teams = new TeamsSimulator({ clock });
    await teams.start();
    teams.registerBot({ appId: APP_ID, name: 'Help Bot', secret: APP_SECRET, tenantId: TENANT_ID, messagingEndpoint: await bot.start() });
    ana = teams.addUser({ name: 'Ana Lopez' });
  });
  afterEach(async () => {
    await teams.stop();
    await bot.stop();
  });

  /** Checks a token as the bot would, with the simulator's published keys. */
  async function verifyAgainstJwks(authorization: string): Promise<{ valid: boolean; endorsements?: string[] }> {
    const token = authorization.split(' ')[1];
    const { keys } = (await (await fetch(`${teams.baseUrl}/v1/.well-known/keys`)).json()) as { keys: Array<Record<string, any>> };
    const jwk = keys.find((key) => key.kid === decodePart(token, 0).kid);
    if (!jwk) return { valid: false };
    const [header, payload, signature] = token.split('.');
    const key = createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' });
    return { valid: verify('sha256', Buffer.from(`${header}.${payload}`), key, Buffer.from(signature, 'base64url')), endorsements: jwk.endorsements };
  }

  it('publishes OpenID metadata pointing at an RSA key set with msteams endorsements', async () => {
    const metadata = (await (await fetch(teams.openIdMetadataUrl)).json()) as Record<string, any>;
    expect(metadata).toMatchObject({ issuer: 'https://api.botframework.com', jwks_uri: `${teams.baseUrl}/v1/.well-known/keys`, id_token_signing_alg_values_supported: ['RS256'] });
    const { keys } = (await (await fetch(metadata.jwks_uri)).json()) as { keys: Array<Record<string, any>> };
    expect(keys[0]).toEqual({ kty: 'RSA', use: 'sig', kid: expect.any(String), x5t: expect.any(String), n: expect.any(String), e: 'AQAB', endorsements: ['msteams'] });
  });

  it('installs in personal scope: conversationUpdate with bot and user added, then installationUpdate add, signed and with x-ms headers', async () => {
    const { conversationId, statuses } = await teams.install(APP_ID, ana.id, { region: 'emea' });
    expect(statuses).toEqual([200, 200]);
    const [update, installation] = bot.received;
    expect(update.activity).toMatchObject({
      type: 'conversationUpdate',
      channelId: 'msteams',
      serviceUrl: teams.serviceUrl('emea'),
      recipient: { id: `28:${APP_ID}`, name: 'Help Bot' },
      from: { id: ana.id, aadObjectId: ana.aadObjectId },
      conversation: { conversationType: 'personal', tenantId: TENANT_ID, id: conversationId },
      channelData: { tenant: { id: TENANT_ID } },
      membersAdded: [{ id: `28:${APP_ID}` }, { id: ana.id, aadObjectId: ana.aadObjectId }],
    });
    expect(installation.activity).toMatchObject({ type: 'installationUpdate', action: 'add' });
    expect(update.headers).toMatchObject({ 'x-ms-conversation-id': conversationId, 'x-ms-tenant-id': TENANT_ID });
    const claims = decodePart(update.headers.authorization!.slice(7), 1);
    expect(claims).toEqual({ iss: 'https://api.botframework.com', aud: APP_ID, serviceurl: teams.serviceUrl('emea'), nbf: start / 1000, exp: start / 1000 + 3600 });
    expect(await verifyAgainstJwks(update.headers.authorization!)).toEqual({ valid: true, endorsements: ['msteams'] });
    expect(teams.conversationOf(APP_ID, ana.id)).toBe(conversationId);
  });

  it('uninstalls: installationUpdate remove, then conversationUpdate with the bot removed', async () => {
    await teams.install(APP_ID, ana.id);
    await teams.uninstall(APP_ID, ana.id);
    expect(bot.received.slice(2).map(({ activity }) => [activity.type, activity.action, activity.membersRemoved])).toEqual([
      ['installationUpdate', 'remove', undefined],
      ['conversationUpdate', undefined, [{ id: `28:${APP_ID}` }]],
    ]);
  });

  it('sends what the user types, with the html attachment for rich text, card submits with value and read receipts', async () => {
    const { conversationId } = await teams.install(APP_ID, ana.id);
    const said = await teams.say(APP_ID, ana.id, 'I need <help>', { html: true });
    const submitted = await teams.submitCard(APP_ID, ana.id, { choice: 'approve' });
    await teams.readReceipt(APP_ID, ana.id, said.activityId);
    const [message, submit, receipt] = bot.received.slice(2).map(({ activity }) => activity);
    expect(message).toMatchObject({
      type: 'message',
      id: said.activityId,
      text: 'I need <help>',
      attachments: [{ contentType: 'text/html', content: '<p>I need &lt;help&gt;</p>' }],
      locale: 'en-US',
      entities: [expect.objectContaining({ type: 'clientInfo' })],
      conversation: { id: conversationId },
    });
    expect(message.id).toMatch(/^\d+$/);
    expect(new Date(message.timestamp).getTime()).toBe(start);
    expect(submit).toMatchObject({ type: 'message', id: submitted.activityId, text: '', value: { choice: 'approve' } });
    expect(receipt).toMatchObject({ type: 'event', name: 'application/vnd.microsoft.readReceipt', value: { lastReadMessageId: said.activityId } });
    expect(teams.inboundDeliveries.map((delivery) => [delivery.type, delivery.status])).toEqual([
      ['conversationUpdate', 200],
      ['installationUpdate', 200],
      ['message', 200],
      ['message', 200],
      ['event', 200],
    ]);
  });

  it('posts any activity as given, e.g. an unknown type from a foreign tenant, and returns the bot\'s answer', async () => {
    await teams.install(APP_ID, ana.id);
    bot.answer = (activity) => (activity.type === 'somethingNew' ? 202 : 200);
    const activity = { ...teams.activityFor(APP_ID, ana.id, 'somethingNew'), conversation: { id: 'a:x', tenantId: 'foreign-tenant' } };
    const result = await teams.postActivity(APP_ID, activity, { headers: { 'x-extra': '1' } });
    expect(result.status).toBe(202);
    expect(bot.received[2].activity).toEqual(activity);
    expect(bot.received[2].headers).toMatchObject({ 'x-ms-tenant-id': 'foreign-tenant', 'x-extra': '1' });
  });

  it('follows a region move: later activities carry the new service URL in the activity and the token', async () => {
    await teams.install(APP_ID, ana.id);
    teams.moveRegion(APP_ID, ana.id, 'apac');
    await teams.say(APP_ID, ana.id, 'hi');
    const { activity, headers } = bot.received[2];
    expect(activity.serviceUrl).toBe(teams.serviceUrl('apac'));
    expect(decodePart(headers.authorization!.slice(7), 1).serviceurl).toBe(teams.serviceUrl('apac'));
  });

  describe('signing faults', () => {
    beforeEach(() => teams.install(APP_ID, ana.id));

    const tokenOf = async (fault: (typeof INBOUND_FAULTS)[number]) => {
      await teams.say(APP_ID, ana.id, fault, { fault });
      return bot.received[bot.received.length - 1];
    };
    const now = start / 1000;

    it('expired, not yet valid and within the skew', async () => {
      expect(decodePart((await tokenOf('expired')).headers.authorization!.slice(7), 1)).toMatchObject({ exp: now - 3600 });
      expect(decodePart((await tokenOf('not_yet_valid')).headers.authorization!.slice(7), 1)).toMatchObject({ nbf: now + 600 });
      const withinSkew = decodePart((await tokenOf('within_skew')).headers.authorization!.slice(7), 1);
      // Expired two minutes ago by the simulator's clock: inside the five minutes a validator tolerates.
      expect(withinSkew).toMatchObject({ exp: now - 120, nbf: now - 62 * 60 });
    });

    it('wrong audience, wrong issuer, wrong service URL', async () => {
      expect(decodePart((await tokenOf('wrong_audience')).headers.authorization!.slice(7), 1).aud).not.toBe(APP_ID);
      expect(decodePart((await tokenOf('wrong_issuer')).headers.authorization!.slice(7), 1).iss).not.toBe('https://api.botframework.com');
      const received = await tokenOf('wrong_service_url');
      expect(decodePart(received.headers.authorization!.slice(7), 1).serviceurl).not.toBe(received.activity.serviceUrl);
    });

    it('unknown key, bad signature, missing endorsement', async () => {
      expect(await verifyAgainstJwks((await tokenOf('unknown_key')).headers.authorization!)).toEqual({ valid: false });
      expect((await verifyAgainstJwks((await tokenOf('bad_signature')).headers.authorization!)).valid).toBe(false);
      expect(await verifyAgainstJwks((await tokenOf('missing_endorsement')).headers.authorization!)).toEqual({ valid: true, endorsements: ['webchat'] });
    });

    it('no header and a lower-case scheme', async () => {
      expect((await tokenOf('no_header')).headers.authorization).toBeUndefined();
      expect((await tokenOf('lowercase_bearer')).headers.authorization).toMatch(/^bearer ey/);
    });
  });

  it('rotates keys: a new kid signs, the old one stays published unless told otherwise', async () => {
    const before = teams.inboundAuthorization(APP_ID, teams.serviceUrl())!;
    const kid = teams.rotateKeys();
    const after = teams.inboundAuthorization(APP_ID, teams.serviceUrl())!;
    expect(decodePart(after.slice(7), 0).kid).toBe(kid);
    expect((await verifyAgainstJwks(before)).valid).toBe(true);
    expect((await verifyAgainstJwks(after)).valid).toBe(true);
    teams.rotateKeys({ keepOld: false });
    expect(await verifyAgainstJwks(after)).toEqual({ valid: false });
  });

  it('records 504 when the bot does not answer within the delivery timeout, on the injected clock', async () => {
    await teams.install(APP_ID, ana.id);
    let release!: () => void;
    bot.answer = () => new Promise<number>((resolve) => (release = () => resolve(200)));
    const saying = teams.say(APP_ID, ana.id, 'anyone?');
    await bot.untilReceived(3);
    await clock.untilPending(1);
    clock.advance(15_000);
    expect((await saying).status).toBe(504);
    expect(teams.inboundDeliveries[teams.inboundDeliveries.length - 1]).toMatchObject({ type: 'message', status: 504 });
    release();
  });
});
