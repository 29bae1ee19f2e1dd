import { ConfidentialClientApplication, INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { ChannelValidation, ConnectorClient, JwtTokenValidation, MsalAppCredentials, SimpleCredentialProvider } from 'botframework-connector';
import { TeamsSimulator } from './teams-simulator';
import { APP_ID, APP_SECRET, BotEndpointDouble, TENANT_ID } from './teams-simulator.spec-helpers';
import { InboundFault, TeamsUser } from './teams-simulator.types';

/**
 * Fidelity: Microsoft's own Bot Framework code (botframework-connector) against the simulator. Microsoft's validator
 * reads the real clock, so this spec runs the simulator on the system clock.
 */
describe('Teams simulator with Microsoft botframework-connector', () => {
  let teams: TeamsSimulator;
  let bot: BotEndpointDouble;
  let ana: TeamsUser;
  const savedEndpoint = ChannelValidation.OpenIdMetadataEndpoint;

  beforeAll(async () => {
    // The validator logs each key it could not match; the tests assert the rejections themselves.
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
    bot = new BotEndpointDouble();
    teams = new TeamsSimulator();
    await teams.start();
    teams.registerBot({ appId: APP_ID, secret: APP_SECRET, tenantId: TENANT_ID, messagingEndpoint: await bot.start() });
    ana = teams.addUser({ name: 'Ana Lopez' });
    // The documented switch for pointing the channel validator at another key service (as the Emulator does).
    ChannelValidation.OpenIdMetadataEndpoint = teams.openIdMetadataUrl;
  });
  afterAll(async () => {
    ChannelValidation.OpenIdMetadataEndpoint = savedEndpoint;
    jest.restoreAllMocks();
    await teams.stop();
    await bot.stop();
  });

  /** What the bot received for one `say`, authenticated as botbuilder's adapter would. */
  async function authenticate(fault?: InboundFault): Promise<unknown> {
    const before = bot.received.length;
    await teams.say(APP_ID, ana.id, `check ${fault ?? 'valid'}`, { fault });
    const { activity, headers } = bot.received[before];
    return JwtTokenValidation.authenticateRequest(activity, headers.authorization ?? '', new SimpleCredentialProvider(APP_ID, APP_SECRET), '');
  }

  beforeAll(() => teams.install(APP_ID, ana.id));

  it('accepts the tokens the simulator signs for inbound activities, also within the clock skew', async () => {
    const identity = (await authenticate()) as { isAuthenticated: boolean; getClaimValue(type: string): string | null };
    expect(identity.isAuthenticated).toBe(true);
    expect(identity.getClaimValue('aud')).toBe(APP_ID);
    expect(((await authenticate('within_skew')) as { isAuthenticated: boolean }).isAuthenticated).toBe(true);
  });

  it.each<[InboundFault, RegExp]>([
    ['expired', /expired/],
    ['not_yet_valid', /not active/],
    ['wrong_audience', /Invalid AppId/],
    ['wrong_issuer', /not authenticated/],
    ['unknown_key', /Signing Key could not be retrieved/],
    ['bad_signature', /invalid signature/],
    ['wrong_service_url', /ServiceUrl claim/],
    ['missing_endorsement', /endorsement/],
    ['no_header', /not authorized/],
    ['lowercase_bearer', /not authenticated/],
  ])('rejects the %s fault', async (fault, reason) => {
    await expect(authenticate(fault)).rejects.toThrow(reason);
  });

  it("sends an activity with Microsoft's ConnectorClient and MSAL credentials through the simulator's token endpoint and Connector", async () => {
    // MSAL refuses an authority that is not https, and the simulator serves http. MSAL's supported `networkClient`
    // option carries its calls instead: the authority keeps an https name that MSAL accepts, and the network module
    // sends each request to the simulator over http. What MSAL posts (client credentials form) and how it reads the
    // answer are untouched, and the ConnectorClient talks to the simulator's service URL directly.
    const authorityHost = 'login.teams-simulator.test';
    const network: INetworkModule = {
      sendGetRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => call<T>('GET', url, options),
      sendPostRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => call<T>('POST', url, options),
    };
    async function call<T>(method: string, url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
      const target = url.replace(`https://${authorityHost}`, teams.baseUrl);
      const res = await fetch(target, { method, headers: options?.headers, body: options?.body });
      return { status: res.status, headers: Object.fromEntries(res.headers) as Record<string, string>, body: (await res.json()) as T };
    }
    const authority = `https://${authorityHost}/${TENANT_ID}`;
    const msal = new ConfidentialClientApplication({
      auth: {
        clientId: APP_ID,
        clientSecret: APP_SECRET,
        authority,
        knownAuthorities: [authorityHost],
        authorityMetadata: JSON.stringify({
          token_endpoint: `${authority}/oauth2/v2.0/token`,
          authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
          end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
          issuer: `${authority}/v2.0`,
          jwks_uri: `${authority}/discovery/v2.0/keys`,
        }),
      },
      system: { networkClient: network },
    });
    // MsalAppCredentials takes a ConfidentialClientApplication and only calls acquireTokenByClientCredential on it; the
    // project's MSAL (a newer major than the one botframework-connector bundles) answers that call the same way.
    const credentials = new MsalAppCredentials(msal as never, APP_ID, authority, 'https://api.botframework.com');
    const client = new ConnectorClient(credentials, { baseUri: teams.serviceUrl() });
    const created = await client.conversations.createConversation({
      bot: { id: `28:${APP_ID}`, name: 'bot' },
      members: [{ id: ana.id, name: ana.name }],
      isGroup: false,
      tenantId: TENANT_ID,
      channelData: { tenant: { id: TENANT_ID } },
    } as never);
    expect(created.id).toBe(teams.conversationOf(APP_ID, ana.id));
    const sent = await client.conversations.sendToConversation(created.id, { type: 'message', text: 'Hello from ConnectorClient' } as never);
    expect(sent.id).toMatch(/^\d+$/);
    expect(teams.transcript(created.id)).toEqual([expect.objectContaining({ op: 'send', activityId: sent.id, activity: expect.objectContaining({ text: 'Hello from ConnectorClient' }) })]);
    expect(teams.tokensIssued).toBeGreaterThanOrEqual(1);
  });
});
