import { ManualClock } from '../clock/simulator-clock';
import { GmsSimulator } from './gms-simulator';
import { control, faultsApplied, postForm, TestGmsClient } from './gms-simulator.spec-helpers';

describe('GMS simulator fault injection', () => {
  let gms: GmsSimulator;
  let client: TestGmsClient;

  beforeAll(async () => {
    gms = new GmsSimulator();
    await gms.start();
  });
  afterAll(() => gms.stop());
  beforeEach(async () => {
    gms.clearFaults();
    client = new TestGmsClient(gms.chatServiceUrl());
    await client.requestChat();
  });

  it('answers the configured HTTP 5xx for the given count, then serves normally', async () => {
    gms.injectFault({ kind: 'http-error', operation: 'refresh', httpStatus: 502, count: 2 });
    expect((await client.refresh()).status).toBe(502);
    expect((await client.refresh()).status).toBe(502);
    const third = await client.refresh();
    expect(third.status).toBe(200);
    expect(third.body.statusCode).toBe(0);
  });

  it('answers statusCode 1 without acting on the chat', async () => {
    gms.injectFault({ kind: 'status-code-1', operation: 'send' });
    const { status, body } = await client.call('send', { message: 'lost?' });
    expect(status).toBe(200);
    expect(body).toEqual({ statusCode: 1, chatEnded: false, chatId: client.chatId, errors: [{ code: 999, message: 'Simulated statusCode 1' }] });
    expect(gms.getChat(client.chatId)!.transcriptLength).toBe(1);
    expect((await client.call('send', { message: 'retry' })).body.statusCode).toBe(0);
  });

  it('answers statusCode 2 with the given errors and chatEnded flag', async () => {
    gms.injectFault({ kind: 'status-code-2', errors: [{ code: 161, message: 'cannot enter chat', advice: 'try later' }], chatEnded: true });
    const { body } = await postForm(gms.chatServiceUrl(), { nickname: 'Jo' });
    expect(body).toEqual({ statusCode: 2, chatEnded: true, errors: [{ code: 161, message: 'cannot enter chat', advice: 'try later' }] });
  });

  it('adds latency and then serves the request', async () => {
    // On a clock of its own, moved by hand: the delay is checked on the simulator's time, not the machine's speed.
    const clock = new ManualClock();
    const slow = new GmsSimulator({ clock });
    await slow.start();
    try {
      const client = new TestGmsClient(slow.chatServiceUrl());
      await client.requestChat();
      slow.injectFault({ kind: 'latency', operation: 'refresh', latencyMs: 300 });
      let answered = false;
      const refresh = client.refresh().then((response) => ((answered = true), response));
      await faultsApplied(slow, 'latency', 1);
      // The request waits on the clock for the 300 ms, not a moment less.
      expect(clock.pending()).toContain(300);
      clock.advance(299);
      expect(clock.pending()).toContain(1);
      expect(answered).toBe(false);
      clock.advance(1);
      const { body } = await refresh;
      expect(body.statusCode).toBe(0);
      // Used up: the next Refresh is served without a delay.
      expect(slow.listFaults()).toEqual([]);
      expect((await client.refresh()).body.statusCode).toBe(0);
      expect(slow.requestLog().faults.latency).toBe(1);
    } finally {
      await slow.stop();
    }
  });

  /** Resolves once the simulator has held `count` requests in all (each one waits from then on). */
  const held = (count: number) => faultsApplied(gms, 'hold', count);

  it('holds requests until the hold is removed, then answers each with the chat as it is by then', async () => {
    const before = gms.requestLog().faults.hold ?? 0;
    const hold = gms.injectFault({ kind: 'hold', operation: 'refresh', chatId: client.chatId, count: 0 });
    const refreshes = [client.refresh(), client.refresh()];
    await held(before + 2);
    // Other operations go on: the message is in the transcript before the held Refreshes answer.
    expect((await client.call('send', { message: 'while held' })).body.statusCode).toBe(0);
    expect(gms.removeFault(hold.id)).toBe(true);
    for (const { body } of await Promise.all(refreshes)) {
      expect(body.statusCode).toBe(0);
      expect((body.messages ?? []).map((e) => e.text)).toContain('while held');
    }
    expect((await client.refresh()).body.statusCode).toBe(0);
    expect(gms.requestLog().faults.hold).toBe(before + 2);
  });

  it('lets a request held by a used-up hold go on when the hold is removed or every fault cleared', async () => {
    const before = gms.requestLog().faults.hold ?? 0;
    const once = gms.injectFault({ kind: 'hold', operation: 'refresh', count: 1 });
    const first = client.refresh();
    await held(before + 1);
    // The count is used up, so the fault is no longer listed; its request still waits for it to be removed.
    expect(gms.listFaults()).toEqual([]);
    expect((await client.refresh()).body.statusCode).toBe(0);
    expect(gms.removeFault(once.id)).toBe(true);
    expect((await first).body.statusCode).toBe(0);
    gms.injectFault({ kind: 'hold', operation: 'refresh' });
    const second = client.refresh();
    await held(before + 2);
    gms.clearFaults();
    expect((await second).body.statusCode).toBe(0);
  });

  it('drops the connection without an answer', async () => {
    gms.injectFault({ kind: 'drop', operation: 'refresh' });
    await expect(client.refresh()).rejects.toThrow();
    expect((await client.refresh()).body.statusCode).toBe(0);
  });

  it('matches by operation and chat: other calls are not affected', async () => {
    const other = new TestGmsClient(gms.chatServiceUrl());
    await other.requestChat();
    gms.injectFault({ kind: 'http-error', operation: 'send', chatId: other.chatId, count: 0 });
    expect((await client.call('send', { message: 'fine' })).status).toBe(200);
    expect((await other.refresh()).status).toBe(200);
    expect((await other.call('send', { message: 'x' })).status).toBe(503);
    expect((await other.call('send', { message: 'y' })).status).toBe(503);
    expect(gms.listFaults()).toEqual([expect.objectContaining({ applied: 2, remaining: Infinity })]);
  });

  it('can be injected, listed and cleared over the control API', async () => {
    const added = await control(gms.baseUrl, 'POST', '/faults', [
      { kind: 'latency', operation: 'refresh', latencyMs: 50 },
      { kind: 'status-code-1', operation: 'refresh' },
    ]);
    expect(added.status).toBe(201);
    expect((await control(gms.baseUrl, 'GET', '/faults')).body).toHaveLength(2);
    expect((await client.refresh()).body.statusCode).toBe(1);
    expect((await control(gms.baseUrl, 'POST', '/faults', { kind: 'http-error', count: 5 })).status).toBe(201);
    expect((await control(gms.baseUrl, 'DELETE', '/faults')).status).toBe(204);
    expect((await client.refresh()).status).toBe(200);
    expect((await control(gms.baseUrl, 'POST', '/faults', { kind: 'explode' })).status).toBe(400);
  });

  it('applies to the token endpoint as operation "token"', async () => {
    const bearer = new GmsSimulator({ bearerAuth: { clientId: 'app', clientSecret: 's' } });
    const baseUrl = await bearer.start();
    try {
      bearer.injectFault({ kind: 'http-error', operation: 'token', httpStatus: 500 });
      const fields = { grant_type: 'client_credentials', client_id: 'app', client_secret: 's', scope: 'api://x/.default' };
      expect((await postForm(`${baseUrl}/t/oauth2/v2.0/token`, fields)).status).toBe(500);
      expect((await postForm(`${baseUrl}/t/oauth2/v2.0/token`, fields)).status).toBe(200);
    } finally {
      await bearer.stop();
    }
  });
});

describe('GMS simulator request log', () => {
  it('counts requests per operation, and records bodies only while capture is on', async () => {
    const gms = new GmsSimulator();
    await gms.start();
    try {
      const client = new TestGmsClient(gms.chatServiceUrl(), { apikey: 'k-1' });
      await client.requestChat({ nickname: 'Jo', 'userData[queue]': 'vip' });
      await client.refresh();
      await client.refresh();
      expect(gms.requestLog()).toMatchObject({ counts: { requestChat: 1, refresh: 2 }, capturing: false, requests: [] });

      gms.setRequestCapture(true);
      await client.call('send', { message: 'hello', messageType: 'text' });
      const { body } = await control(gms.baseUrl, 'GET', '/requests');
      expect(body.counts.send).toBe(1);
      expect(body.requests).toEqual([
        expect.objectContaining({
          operation: 'send',
          chatId: client.chatId,
          fields: expect.objectContaining({ message: 'hello', messageType: 'text', secureKey: client.secureKey }),
          headers: expect.objectContaining({ apikey: 'k-1' }),
        }),
      ]);
      expect((await control(gms.baseUrl, 'DELETE', '/requests')).status).toBe(204);
      expect(gms.requestLog().counts).toEqual({});
    } finally {
      await gms.stop();
    }
  });
});
