import { ManualClock } from '../clock/simulator-clock';
import { GMS_INACTIVITY_ALERT_MESSAGE, GMS_INACTIVITY_CLOSE_MESSAGE } from './gms-simulator.options';
import { GmsSimulator } from './gms-simulator';
import { postForm, TestGmsClient } from './gms-simulator.spec-helpers';
import { GmsErrorCode } from './gms-protocol.types';

// The timers run on a clock the tests move, with Chat Server's default periods: no test waits for real time to pass.
describe('GMS simulator timers', () => {
  describe('flex-disconnect', () => {
    const clock = new ManualClock();
    let gms: GmsSimulator;
    let flexMs: number;
    let sweepMs: number;
    beforeAll(async () => {
      gms = new GmsSimulator({ clock, timeoutAlertSeconds: 0, timeoutCloseSeconds: 0 });
      ({ flexDisconnectSeconds: flexMs, sweepIntervalMs: sweepMs } = gms.options);
      flexMs *= 1000;
      await gms.start();
    });
    afterAll(() => gms.stop());

    it('removes a client that stops polling: ParticipantLeft from Client, then statusCode 2 with chatEnded', async () => {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      gms.agentJoin(client.chatId, { nickname: 'Ann' });
      clock.advance(flexMs - 1);
      expect(gms.getChat(client.chatId)!.state).toBe('active');
      clock.advance(1 + sweepMs);
      const chat = gms.getChat(client.chatId)!;
      expect(chat).toMatchObject({ state: 'ended', endReason: 'flex-disconnect', clientGone: true });
      expect(chat.transcript.at(-1)).toMatchObject({ type: 'ParticipantLeft', from: { type: 'Client', participantId: 1 } });
      const { body } = await client.refresh();
      expect(body).toMatchObject({ statusCode: 2, chatEnded: true, errors: [{ code: GmsErrorCode.clientLoggedOut }] });
    });

    it('keeps a client that polls more often than the timeout', async () => {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      // Three timeouts in all, a poll every half timeout.
      for (let i = 0; i < 6; i++) {
        clock.advance(flexMs / 2);
        expect((await client.refresh()).body.statusCode).toBe(0);
      }
      expect(gms.getChat(client.chatId)!.state).toBe('waiting');
    });

    it('does not count requests with a bad secureKey as the client being alive', async () => {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      for (let i = 0; i < 5; i++) {
        clock.advance(flexMs / 2);
        await postForm(`${client.serviceUrl}/${client.chatId}/refresh`, { secureKey: 'BADBADBADBADBAD0' });
      }
      expect(gms.getChat(client.chatId)!.endReason).toBe('flex-disconnect');
    });
  });

  describe('inactivity control', () => {
    const clock = new ManualClock();
    let gms: GmsSimulator;
    let alertMs: number;
    let closeMs: number;
    let sweepMs: number;
    beforeAll(async () => {
      gms = new GmsSimulator({ clock, flexDisconnectSeconds: 0 });
      alertMs = gms.options.timeoutAlertSeconds * 1000;
      closeMs = gms.options.timeoutCloseSeconds * 1000;
      sweepMs = gms.options.sweepIntervalMs;
      await gms.start();
    });
    afterAll(() => gms.stop());

    const alerted = (chatId: string) => gms.getChat(chatId)!.transcript.some((e) => e.text === GMS_INACTIVITY_ALERT_MESSAGE);

    it('alerts with a Notice after timeout-alert, then closes with a Notice after timeout-close', async () => {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      gms.agentJoin(client.chatId, { nickname: 'Ann' });
      await client.refresh();
      clock.advance(alertMs - 1);
      expect(alerted(client.chatId)).toBe(false);
      clock.advance(1 + sweepMs);
      await gms.waitForEvent(client.chatId, (e) => e.text === GMS_INACTIVITY_ALERT_MESSAGE, 2000);
      expect(gms.getChat(client.chatId)!.state).toBe('active');
      const alert = await client.refresh();
      expect(alert.body.messages).toEqual([expect.objectContaining({ type: 'Notice', text: GMS_INACTIVITY_ALERT_MESSAGE, from: expect.objectContaining({ type: 'External' }) })]);
      clock.advance(closeMs + sweepMs);
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
      clock.advance(alertMs + sweepMs);
      await gms.waitForEvent(client.chatId, (e) => e.text === GMS_INACTIVITY_ALERT_MESSAGE, 2000);
      await client.call('send', { message: 'still here' });
      // Without the restart the close would come timeout-close after the alert; with it, only the alert comes again.
      clock.advance(closeMs + sweepMs);
      expect(gms.getChat(client.chatId)!.state).toBe('active');
    });

    it('typing alone is not activity', async () => {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      gms.agentJoin(client.chatId);
      for (let i = 0; i < 4; i++) {
        clock.advance(alertMs / 3);
        await client.call('startTyping');
      }
      expect(alerted(client.chatId)).toBe(true);
    });

    it('leaves a chat waiting for an agent alone', async () => {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      clock.advance(alertMs + closeMs + 2 * sweepMs);
      expect(gms.getChat(client.chatId)).toMatchObject({ state: 'waiting', transcriptLength: 1 });
    });
  });

  it('with inactivityWhileWaiting, also alerts and closes chats no agent has joined', async () => {
    const clock = new ManualClock();
    const gms = new GmsSimulator({ clock, flexDisconnectSeconds: 0, inactivityWhileWaiting: true });
    await gms.start();
    try {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      clock.advance((gms.options.timeoutAlertSeconds + gms.options.timeoutCloseSeconds) * 1000 + 2 * gms.options.sweepIntervalMs);
      await gms.waitForEvent(client.chatId, (e) => e.text === GMS_INACTIVITY_CLOSE_MESSAGE, 2000);
      expect(gms.getChat(client.chatId)).toMatchObject({ state: 'ended', endReason: 'inactivity' });
    } finally {
      await gms.stop();
    }
  });

  it('forgets ended chats after the retention time', async () => {
    const clock = new ManualClock();
    const gms = new GmsSimulator({ clock });
    await gms.start();
    try {
      const client = new TestGmsClient(gms.chatServiceUrl());
      await client.requestChat();
      await client.call('disconnect');
      clock.advance(gms.options.endedChatRetentionSeconds * 1000 - 1);
      gms.sweep();
      expect(gms.getChat(client.chatId)).toMatchObject({ state: 'ended' });
      clock.advance(1);
      gms.sweep();
      expect(gms.getChat(client.chatId)).toBeUndefined();
      expect((await client.refresh()).body).toMatchObject({ statusCode: 2, chatEnded: true, errors: [{ code: GmsErrorCode.chatNotFound }] });
    } finally {
      await gms.stop();
    }
  });

  it('drives 10,000 chats with the one sweep timer, and ends them all in one sweep', async () => {
    const clock = new ManualClock();
    const gms = new GmsSimulator({ clock, flexDisconnectSeconds: 45 });
    await gms.start();
    try {
      for (let i = 0; i < 10_000; i++) gms.store.create({ serviceName: 's', queue: 's', nickname: `c${i}`, userData: {} });
      // No timer per chat (re-armed on every request, it would cost more than the requests at this scale): one in all.
      expect(clock.pending()).toEqual([gms.options.sweepIntervalMs]);
      gms.sweep();
      expect(gms.listChats({ state: 'ended' })).toHaveLength(0);
      gms.sweep(clock.now() + 46_000);
      expect(gms.listChats({ state: 'ended' })).toHaveLength(10_000);
    } finally {
      await gms.stop();
    }
  });
});
