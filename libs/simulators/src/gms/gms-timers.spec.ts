import { GMS_INACTIVITY_ALERT_MESSAGE, GMS_INACTIVITY_CLOSE_MESSAGE } from './gms-simulator.options';
import { GmsSimulator } from './gms-simulator';
import { postForm, sleep, TestGmsClient } from './gms-simulator.spec-helpers';
import { GmsErrorCode } from './gms-protocol.types';

describe('GMS simulator timers', () => {
  describe('flex-disconnect', () => {
    let gms: GmsSimulator;
    beforeAll(async () => {
      gms = new GmsSimulator({ flexDisconnectSeconds: 0.3, timeoutAlertSeconds: 0 });
      await gms.start();
    });
    afterAll(() => gms.stop());

    it('removes a client that stops polling: ParticipantLeft from Client, then statusCode 2 with chatEnded', async () => {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      gms.agentJoin(client.chatId, { nickname: 'Ann' });
      await sleep(500);
      const chat = gms.getChat(client.chatId)!;
      expect(chat).toMatchObject({ state: 'ended', endReason: 'flex-disconnect', clientGone: true });
      expect(chat.transcript.at(-1)).toMatchObject({ type: 'ParticipantLeft', from: { type: 'Client', participantId: 1 } });
      const { body } = await client.refresh();
      expect(body).toMatchObject({ statusCode: 2, chatEnded: true, errors: [{ code: GmsErrorCode.clientLoggedOut }] });
    });

    it('keeps a client that polls more often than the timeout', async () => {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      for (let i = 0; i < 6; i++) {
        await sleep(100);
        expect((await client.refresh()).body.statusCode).toBe(0);
      }
      expect(gms.getChat(client.chatId)!.state).toBe('waiting');
    });

    it('does not count requests with a bad secureKey as the client being alive', async () => {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      for (let i = 0; i < 5; i++) {
        await sleep(100);
        await postForm(`${client.serviceUrl}/${client.chatId}/refresh`, { secureKey: 'BADBADBADBADBAD0' });
      }
      expect(gms.getChat(client.chatId)!.endReason).toBe('flex-disconnect');
    });
  });

  describe('inactivity control', () => {
    let gms: GmsSimulator;
    beforeAll(async () => {
      gms = new GmsSimulator({ flexDisconnectSeconds: 0, timeoutAlertSeconds: 0.2, timeoutCloseSeconds: 0.2 });
      await gms.start();
    });
    afterAll(() => gms.stop());

    it('alerts with a Notice after timeout-alert, then closes with a Notice after timeout-close', async () => {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      gms.agentJoin(client.chatId, { nickname: 'Ann' });
      await client.refresh();
      await gms.waitForEvent(client.chatId, (e) => e.text === GMS_INACTIVITY_ALERT_MESSAGE, 2000);
      expect(gms.getChat(client.chatId)!.state).toBe('active');
      const alert = await client.refresh();
      expect(alert.body.messages).toEqual([expect.objectContaining({ type: 'Notice', text: GMS_INACTIVITY_ALERT_MESSAGE, from: expect.objectContaining({ type: 'External' }) })]);
      await gms.waitForEvent(client.chatId, (e) => e.text === GMS_INACTIVITY_CLOSE_MESSAGE, 2000);
      const closed = await client.refresh();
      expect(closed.body).toMatchObject({ statusCode: 0, chatEnded: true });
      expect(closed.body.messages!.map((m) => [m.type, m.text])).toEqual([['Notice', GMS_INACTIVITY_CLOSE_MESSAGE]]);
      expect(gms.getChat(client.chatId)!.endReason).toBe('inactivity');
    });

    it('a message after the alert restarts the countdown', async () => {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      gms.agentJoin(client.chatId);
      await gms.waitForEvent(client.chatId, (e) => e.text === GMS_INACTIVITY_ALERT_MESSAGE, 2000);
      await client.call('send', { message: 'still here' });
      // Without the restart the close would come 200 ms after the alert; with it, not before 400 ms after the message.
      await sleep(320);
      expect(gms.getChat(client.chatId)!.state).toBe('active');
    });

    it('typing alone is not activity', async () => {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      gms.agentJoin(client.chatId);
      for (let i = 0; i < 4; i++) {
        await sleep(80);
        await client.call('startTyping');
      }
      expect(gms.getChat(client.chatId)!.transcript.some((e) => e.text === GMS_INACTIVITY_ALERT_MESSAGE)).toBe(true);
    });

    it('leaves a chat waiting for an agent alone', async () => {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      await sleep(600);
      expect(gms.getChat(client.chatId)).toMatchObject({ state: 'waiting', transcriptLength: 1 });
    });
  });

  it('with inactivityWhileWaiting, also alerts and closes chats no agent has joined', async () => {
    const gms = new GmsSimulator({ flexDisconnectSeconds: 0, timeoutAlertSeconds: 0.1, timeoutCloseSeconds: 0.1, inactivityWhileWaiting: true });
    await gms.start();
    try {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      await gms.waitForEvent(client.chatId, (e) => e.text === GMS_INACTIVITY_CLOSE_MESSAGE, 2000);
      expect(gms.getChat(client.chatId)).toMatchObject({ state: 'ended', endReason: 'inactivity' });
    } finally {
      await gms.stop();
    }
  });

  it('forgets ended chats after the retention time', async () => {
    const gms = new GmsSimulator({ endedChatRetentionSeconds: 0.1 });
    await gms.start();
    try {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      await client.call('disconnect');
      await sleep(50);
      gms.sweep(Date.now() + 200);
      expect(gms.getChat(client.chatId)).toBeUndefined();
      expect((await client.refresh()).body).toMatchObject({ statusCode: 2, chatEnded: true, errors: [{ code: GmsErrorCode.chatNotFound }] });
    } finally {
      await gms.stop();
    }
  });

  it('handles 10,000 chats in one sweep quickly', () => {
    const gms = new GmsSimulator({ flexDisconnectSeconds: 45 });
    for (let i = 0; i < 10_000; i++) gms.store.create({ serviceName: 's', queue: 's', nickname: `c${i}`, userData: {} });
    const started = process.hrtime.bigint();
    gms.sweep();
    const elapsedMs = Number(process.hrtime.bigint() - started) / 1e6;
    expect(elapsedMs).toBeLessThan(50);
    gms.sweep(Date.now() + 46_000);
    expect(gms.listChats({ state: 'ended' })).toHaveLength(10_000);
  });
});
