import { GatewayError } from '@app/gateway-sdk';
import { ManualClock } from '@app/simulators';
import { seedEscalation } from './eight-by-eight.fixtures';
import { EightByEightGateway } from './eight-by-eight.gateway';
import { EightByEightTestEnvironment, startEightByEight, TEST_API_KEY, testContext, TestContext } from './eight-by-eight-test.context';

/** One test per injected HTTP fault: each must come out as the GatewayError the service knows how to recover from. */
describe('8x8 gateway under 8x8 faults', () => {
  const gateway = new EightByEightGateway();
  let env: EightByEightTestEnvironment;
  let ctx: TestContext;
  // Latency faults wait on this clock, which stands still unless a test moves it.
  const clock = new ManualClock();

  beforeAll(async () => {
    env = await startEightByEight({ clock });
    ctx = testContext({ gatewayId: 'gw-faults', settings: env.settings(), webhookUrl: env.webhookUrl('gw-faults'), timeoutMs: 60_000 });
    ctx.provisioning = await gateway.deploy(ctx);
    ctx.session = (await gateway.startEscalation(ctx, seedEscalation())).session;
    await env.simulator.whenDeliveriesSettled();
  });
  afterAll(() => env.stop());
  afterEach(() => {
    env.simulator.clearFaults();
    expect(env.simulator.oasViolations()).toEqual([]);
  });

  const rejection = async (promise: Promise<unknown>): Promise<GatewayError> => {
    const error = await promise.then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(GatewayError);
    return error as GatewayError;
  };

  it('reports a 5xx as transient, and the repeated call goes through', async () => {
    env.simulator.injectHttpFault({ kind: 'error', status: 503, path: '/messages$', method: 'POST' });
    const error = await rejection(gateway.sendMessage(ctx, { id: 'm-5xx', text: 'are you there?' }));
    expect(error).toMatchObject({ code: 'transient', status: 503, retryable: true });
    expect(error.message).toContain('Internal error.');
    await expect(gateway.sendMessage(ctx, { id: 'm-5xx', text: 'are you there?' })).resolves.toEqual({ events: [] });
  });

  it('reports a 429 as rate_limited with the Retry-After in milliseconds', async () => {
    env.simulator.injectHttpFault({ kind: 'rate-limit', retryAfterSeconds: 7, path: '/conversations$', method: 'POST' });
    const error = await rejection(gateway.startEscalation(ctx, seedEscalation({ escalationId: 'esc-limited' })));
    expect(error).toMatchObject({ code: 'rate_limited', status: 429, retryAfterMs: 7000 });
    expect(error.message).toContain('rate_limit_exceeded');
  });

  it('gives up on an answer slower than the call\'s signal allows, as transient', async () => {
    env.simulator.injectHttpFault({ kind: 'latency', latencyMs: 600, path: '/typing$' });
    const hurried = { ...ctx, signal: AbortSignal.timeout(100) };
    // The simulator's clock stands still, so the answer cannot come first: the call gives up on its own.
    const error = await rejection(gateway.sendTyping(hurried, true));
    expect(error).toMatchObject({ code: 'transient' });
    expect(error.message).toContain('no answer in time');
    expect(env.simulator.listFaults().http).toEqual([]);
    // Let the simulator finish the delayed request now.
    clock.advance(600);
  });

  it('reports a refused API key as auth_failed', async () => {
    const wrongKey = { ...ctx, settings: env.settings({ basic: { apiKey: `${TEST_API_KEY}-revoked` } }) };
    const error = await rejection(gateway.sendMessage(wrongKey, { id: 'm-401', text: 'hello' }));
    expect(error).toMatchObject({ code: 'auth_failed', status: 401, retryable: false });
    expect(error.message).toContain('Access Denied');
    expect(error.message).not.toContain(TEST_API_KEY);
  });

  it('reports an API key missing from the settings as auth_failed without calling 8x8', async () => {
    const noKey = { ...ctx, settings: env.settings({ basic: { apiKey: '' } }) };
    await expect(gateway.sendTyping(noKey, true)).rejects.toMatchObject({ code: 'auth_failed' });
  });

  it('reports a refused upload the same way as a refused message', async () => {
    const withFile = testContext({ gatewayId: 'gw-faults', settings: ctx.settings, webhookUrl: ctx.webhookUrl, session: ctx.session, attachments: new Map([['f', Buffer.from('x')]]) });
    env.simulator.injectHttpFault({ kind: 'error', status: 502, path: '/attachments$', method: 'POST' });
    const error = await rejection(gateway.sendMessage(withFile, { id: 'm-file', attachments: [{ id: 'f', name: 'x.txt', mimeType: 'text/plain' }] }));
    expect(error).toMatchObject({ code: 'transient', status: 502 });
  });

  it('reports a deploy that 8x8 cannot serve as transient', async () => {
    env.simulator.injectHttpFault({ kind: 'error', status: 500, path: '/webhooks$', method: 'GET' });
    await expect(gateway.deploy(ctx)).rejects.toMatchObject({ code: 'transient', status: 500 });
  });
});
