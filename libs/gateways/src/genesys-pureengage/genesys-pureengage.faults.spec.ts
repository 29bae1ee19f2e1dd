import { GatewayError } from '@app/gateway-sdk';
import { GmsSimulator, ManualClock } from '@app/simulators/gms';
import { GenesysPureEngageGateway } from './genesys-pureengage.gateway';
import { escalationRequest, rewritingHttp, TestEscalation, testSettings, types } from './genesys-pureengage.spec-helpers';

const SERVICE = 'customer-support';

describe('GenesysPureEngageGateway under GMS faults', () => {
  let gms: GmsSimulator;
  // Stands still unless a test moves it: a latency fault holds its request until then.
  const clock = new ManualClock();
  const gateway = new GenesysPureEngageGateway();

  beforeAll(async () => {
    gms = new GmsSimulator({ clock, timeoutAlertSeconds: 0, timeoutCloseSeconds: 0 });
    await gms.start();
  });
  afterAll(() => gms.stop());
  afterEach(() => gms.clearFaults());

  const escalation = () => new TestEscalation(gateway, testSettings({ basic: { serviceUrl: gms.baseUrl, serviceName: SERVICE } }));

  async function started(): Promise<{ esc: TestEscalation; chatId: string }> {
    const esc = escalation();
    const { session } = await esc.start(escalationRequest());
    return { esc, chatId: String(session.chatId) };
  }

  it('HTTP 5xx is transient, and the events come on the next poll', async () => {
    const { esc, chatId } = await started();
    gms.agentJoin(chatId);
    gms.injectFault({ kind: 'http-error', operation: 'refresh', httpStatus: 502 });
    const cursor = esc.cursor;
    await expect(esc.poll()).rejects.toMatchObject({ code: 'transient', status: 502, retryable: true });
    expect(esc.cursor).toBe(cursor);
    expect(types(await esc.poll())).toEqual(['agent_joined']);
  });

  it('statusCode 1 is transient and the message was not posted', async () => {
    const { esc, chatId } = await started();
    gms.injectFault({ kind: 'status-code-1', operation: 'send' });
    await expect(gateway.sendMessage(esc.context(), { id: 'm', text: 'hello' })).rejects.toMatchObject({ code: 'transient' });
    expect(gms.getChat(chatId)!.transcript.some((e) => e.text === 'hello')).toBe(false);
  });

  it('statusCode 2 with errors is invalid_request naming the errors, or session_gone when the chat ended', async () => {
    const { esc } = await started();
    gms.injectFault({ kind: 'status-code-2', operation: 'send', errors: [{ code: 204, message: 'message too long' }] });
    const error = (await gateway.sendMessage(esc.context(), { id: 'm', text: 'x' }).catch((e) => e)) as GatewayError;
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ code: 'invalid_request', status: 204, retryable: false });
    expect(error.message).toContain('204 message too long');

    gms.injectFault({ kind: 'status-code-2', operation: 'startTyping', chatEnded: true });
    await expect(gateway.sendTyping(esc.context(), true)).rejects.toMatchObject({ code: 'session_gone' });

    gms.injectFault({ kind: 'status-code-2', operation: 'requestChat', errors: [{ code: 161, message: 'cannot enter chat' }] });
    await expect(escalation().start(escalationRequest())).rejects.toMatchObject({ code: 'invalid_request', status: 161 });
  });

  it('a call slower than the context allows is aborted as transient', async () => {
    const { esc } = await started();
    gms.injectFault({ kind: 'latency', operation: 'refresh', latencyMs: 600 });
    esc.timeoutMs = 150;
    // The simulator's clock stands still, so the answer cannot come first: the call gives up on its own.
    await expect(esc.poll()).rejects.toMatchObject({ code: 'transient', message: expect.stringContaining('timed out') });
    expect(gms.requestLog().faults.latency).toBe(1);
    // Let the simulator finish the delayed request now.
    clock.advance(600);
  });

  it('a dropped connection is transient', async () => {
    gms.injectFault({ kind: 'drop', operation: 'requestChat' });
    await expect(escalation().start(escalationRequest())).rejects.toMatchObject({ code: 'transient', message: expect.stringContaining('network error') });
    const { esc } = await started();
    gms.injectFault({ kind: 'drop', operation: 'refresh' });
    await expect(esc.poll()).rejects.toMatchObject({ code: 'transient' });
  });

  it('a body that is not a GMS envelope is transient', async () => {
    const esc = escalation();
    esc.http = rewritingHttp(() => '<html>proxy error</html>', (url) => url.endsWith('/refresh'));
    await esc.start(escalationRequest());
    await expect(esc.poll()).rejects.toMatchObject({ code: 'transient', message: expect.stringContaining('not a readable envelope') });
  });

  it('a bad secureKey is session_gone, not an end', async () => {
    const { esc } = await started();
    esc.session = { ...esc.session, secureKey: 'FFFFFFFFFFFFFFFF' };
    await expect(esc.poll()).rejects.toMatchObject({ code: 'session_gone', status: 8210 });
  });

  it('a failed history line does not cost the created chat', async () => {
    gms.injectFault({ kind: 'status-code-1', operation: 'send' });
    const esc = escalation();
    const start = await esc.start(escalationRequest({ history: [{ author: 'user', text: 'hi', time: '2024-05-01T10:00:00Z' }] }));
    expect(gms.getChat(String(start.session.chatId))!.state).toBe('waiting');
    expect(esc.warnings).toEqual([expect.objectContaining({ message: expect.stringContaining('bot history'), fields: expect.objectContaining({ sent: 0, total: 1 }) })]);
  });

  it('a failed agent file download fails the poll (transient) and the file comes on the next one', async () => {
    const { esc, chatId } = await started();
    gms.agentJoin(chatId);
    gms.agentSendFile(chatId, { name: 'a.txt', content: Buffer.from('abc') });
    gms.injectFault({ kind: 'http-error', operation: 'fileDownload', httpStatus: 500 });
    await expect(esc.poll()).rejects.toMatchObject({ code: 'transient' });
    const events = await esc.poll();
    expect(types(events)).toEqual(['agent_joined', 'attachment']);
  });

  it('flex-disconnect: a customer GMS dropped for silence ends the escalation, by the system', async () => {
    const strict = new GmsSimulator({ flexDisconnectSeconds: 0.1, sweepIntervalMs: 60_000, timeoutAlertSeconds: 0, timeoutCloseSeconds: 0 });
    const baseUrl = await strict.start();
    try {
      const esc = new TestEscalation(gateway, testSettings({ basic: { serviceUrl: baseUrl, serviceName: SERVICE } }));
      const chatId = String((await esc.start(escalationRequest())).session.chatId);
      strict.agentJoin(chatId);
      strict.sweep(Date.now() + 1000);
      expect(strict.getChat(chatId)!.endReason).toBe('flex-disconnect');
      const cursor = esc.cursor;
      const events = await esc.poll();
      expect(events).toEqual([expect.objectContaining({ type: 'ended', key: 'ended', data: { by: 'system', reason: expect.stringContaining('8209') } })]);
      expect(esc.cursor).toBe(cursor);
      await expect(gateway.sendMessage(esc.context(), { id: 'm', text: 'hello?' })).rejects.toMatchObject({ code: 'session_gone' });
      await expect(gateway.endEscalation(esc.context())).resolves.toEqual({ events: [] });
    } finally {
      await strict.stop();
    }
  });

  it('a customer removal seen in the transcript ends the escalation by the system', async () => {
    // A GMS that still answers statusCode 0 after removing the client shows its ParticipantLeft, then chatEnded.
    const esc = escalation();
    esc.http = rewritingHttp(
      (_url, body) => ({
        ...body,
        chatEnded: true,
        messages: [{ from: { nickname: 'Jo C.', participantId: 1, type: 'Client' }, index: 2, type: 'ParticipantLeft', utcTime: 1432845090000 }],
        nextPosition: 3,
      }),
      (url) => url.endsWith('/refresh'),
    );
    await esc.start(escalationRequest());
    expect(await esc.poll()).toEqual([
      { type: 'ended', key: 'ended', occurredAt: new Date(1432845090000), data: { by: 'system', reason: 'the customer was removed from the chat by GMS' } },
    ]);
    expect(esc.cursor).toBe('3');
  });
});
