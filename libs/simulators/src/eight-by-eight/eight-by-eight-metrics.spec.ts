import { METRICS_BASE_PATH } from './eight-by-eight-metrics.routes';
import { EightByEightHarness, startHarness } from './eight-by-eight-test.fixtures';

describe('8x8 real-time metrics (queue agent availability)', () => {
  let h: EightByEightHarness;
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  const token = async (authorization = basic('metrics-key', 'metrics-secret'), grant = 'client_credentials') =>
    fetch(`${h.baseUrl}/oauth/v2/token`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=${grant}`,
    });
  const metrics = async (path: string, accessToken?: string) => {
    const response = await fetch(`${h.baseUrl}${METRICS_BASE_PATH}${path}`, { headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {} });
    return { status: response.status, body: (await response.json()) as any };
  };
  const accessToken = async () => ((await (await token()).json()) as { access_token: string }).access_token;

  beforeAll(async () => {
    h = await startHarness({ validateRequests: false, apiKey: 'metrics-key', apiSecret: 'metrics-secret', queues: [{ id: '101', name: 'Support', agents: { available: 1 } }, { id: '102', name: 'Sales' }] });
  });
  afterAll(() => h.stop());
  beforeEach(() => h.simulator.reset());

  it('issues a bearer token for client credentials, every field a string as in 8x8 AuthResponse', async () => {
    const response = await token();
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ access_token: expect.any(String), token_type: 'BearerToken', expires_in: '3600', client_id: 'metrics-key', status: 'approved' });
  });

  it('refuses wrong client credentials and unsupported grant types', async () => {
    expect((await token(basic('metrics-key', 'wrong'))).status).toBe(401);
    const badGrant = await token(undefined, 'password');
    expect(badGrant.status).toBe(400);
    expect(await badGrant.json()).toEqual({ ErrorCode: 'invalid_request', Error: 'Unsupported grant type : password' });
  });

  it('reports the agent availability of a queue that the control API sets', async () => {
    const bearer = await accessToken();
    const path = '/queues/101?metrics=availableIdle.rt&metrics=busy.rt&metrics=abandoned.today';
    expect((await metrics(path, bearer)).body).toEqual({
      id: '101',
      name: 'Support',
      metrics: [
        { key: 'availableIdle.rt', value: 1 },
        { key: 'busy.rt', value: 0 },
        { key: 'abandoned.today', value: 0 },
      ],
    });
    const set = await fetch(`${h.baseUrl}/sim/queues/101`, { method: 'PUT', body: JSON.stringify({ agents: { available: 0, busy: 3 } }) });
    expect(set.status).toBe(200);
    expect((await metrics('/queues/101?metrics=availableIdle.rt,busy.rt,eligibl.rt', bearer)).body.metrics).toEqual([
      { key: 'availableIdle.rt', value: 0 },
      { key: 'busy.rt', value: 3 },
      { key: 'eligibl.rt', value: 3 },
    ]);
  });

  it('counts the conversations waiting in and handled from a queue', async () => {
    const bearer = await accessToken();
    const { conversationId } = await h.startConversation('101');
    const read = async () => Object.fromEntries(((await metrics('/queues/101', bearer)).body.metrics as Array<{ key: string; value: number }>).map((metric) => [metric.key, metric.value]));
    expect(await read()).toMatchObject({ 'interactionsWaitInQueue.rt': 1, 'interactionsHandling.rt': 0 });
    h.simulator.acceptConversation(conversationId);
    expect(await read()).toMatchObject({ 'interactionsWaitInQueue.rt': 0, 'interactionsHandling.rt': 1 });
  });

  it('lists queues, filtered by queue-ids, and their summaries', async () => {
    const bearer = await accessToken();
    const all = (await metrics('/queues?metrics=availableIdle.rt', bearer)).body;
    expect(all).toEqual([
      { id: '101', name: 'Support', metrics: [{ key: 'availableIdle.rt', value: 1 }] },
      { id: '102', name: 'Sales', metrics: [{ key: 'availableIdle.rt', value: 0 }] },
    ]);
    expect((await metrics('/queues?queue-ids=102&summary=true', bearer)).body).toEqual([{ id: '102', name: 'Sales' }]);
    expect((await metrics('/queues/999', bearer)).status).toBe(404);
  });

  it('rejects requests without a valid bearer token, and tokens the control API expired', async () => {
    const missing = await metrics('/queues/101');
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ fault: { faultstring: 'Invalid access token', detail: { errorcode: 'oauth.v2.InvalidAccessToken' } } });
    const bearer = await accessToken();
    expect((await metrics('/queues/101', bearer)).status).toBe(200);
    await fetch(`${h.baseUrl}/sim/oauth/expire-tokens`, { method: 'POST' });
    expect((await metrics('/queues/101', bearer)).status).toBe(401);
  });
});
