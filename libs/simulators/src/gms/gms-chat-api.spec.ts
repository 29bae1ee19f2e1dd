import { ManualClock } from '../clock/simulator-clock';
import { GmsSimulator } from './gms-simulator';
import { postForm, postRaw, TestGmsClient } from './gms-simulator.spec-helpers';
import { GmsEnvelope, GmsErrorCode } from './gms-protocol.types';

const HEX16 = /^[0-9A-F]{16}$/;

describe('GMS simulator chat API', () => {
  let gms: GmsSimulator;
  let serviceUrl: string;
  // A clock that stands still, so the time stamped on events is known exactly (and no chat times out mid-suite).
  const clock = new ManualClock(Date.UTC(2026, 4, 17, 9, 30, 12, 345));

  beforeAll(async () => {
    gms = new GmsSimulator({ clock, fileLimits: { uploadMaxFiles: 2, uploadMaxFileSize: 1000 } });
    await gms.start();
    serviceUrl = gms.chatServiceUrl('customer-support');
  });
  afterAll(() => gms.stop());

  describe('Request Chat', () => {
    it('answers the documented envelope with the client joined at index 1', async () => {
      const { status, body } = await postForm(serviceUrl, { nickname: 'Jo', subject: 'Billing', emailAddress: 'jo@example.com' });
      expect(status).toBe(200);
      expect(body).toEqual({
        statusCode: 0,
        alias: expect.stringMatching(/^\d+$/),
        userId: expect.stringMatching(HEX16),
        secureKey: expect.stringMatching(HEX16),
        chatId: expect.stringMatching(HEX16),
        chatEnded: false,
        nextPosition: 2,
        messages: [{ from: { nickname: 'Jo', participantId: 1, type: 'Client' }, index: 1, type: 'ParticipantJoined', utcTime: expect.any(Number) }],
      });
      const utcTime = body.messages![0].utcTime;
      // The simulator's time, in whole seconds as Chat Server stamps it.
      expect(utcTime).toBe(Date.UTC(2026, 4, 17, 9, 30, 12));
      expect(utcTime % 1000).toBe(0);
      expect(gms.getChat(body.chatId!)).toMatchObject({ subject: 'Billing', emailAddress: 'jo@example.com', state: 'waiting' });
    });

    it('names the client "firstName lastName" when no nickname is given', async () => {
      const { body } = await postForm(serviceUrl, { firstName: 'Ada', lastName: 'Lovelace' });
      expect(body.statusCode).toBe(0);
      expect(body.messages![0].from.nickname).toBe('Ada Lovelace');
    });

    it.each([{}, { firstName: 'Ada' }, { lastName: 'Lovelace' }])('refuses a request without nickname or both names (%p)', async (fields) => {
      const before = gms.listChats().length;
      const { status, body } = await postForm(serviceUrl, fields);
      expect(status).toBe(200);
      expect(body.statusCode).toBe(2);
      expect(body.errors).toEqual([{ code: GmsErrorCode.invalidParameter, message: expect.stringContaining('nickname') }]);
      expect(body.chatId).toBeUndefined();
      expect(gms.listChats()).toHaveLength(before);
    });

    it('reads userData with percent-encoded and raw brackets, and queues the chat by userData[queue]', async () => {
      const { body } = await postRaw(serviceUrl, 'nickname=Jo&userData%5BTimeZone%5D=-480&userData[queue]=sales&userData[_genesys_source]=web', {
        'content-type': 'application/x-www-form-urlencoded',
      });
      const chat = gms.getChat(body.chatId!)!;
      expect(chat.userData).toEqual({ TimeZone: '-480', queue: 'sales', _genesys_source: 'web' });
      expect(chat.queue).toBe('sales');
    });

    it('queues the chat under the service name when no queue is given', async () => {
      const { body } = await postForm(serviceUrl, { nickname: 'Jo' });
      expect(gms.getChat(body.chatId!)!.queue).toBe('customer-support');
    });

    it('accepts multipart/form-data', async () => {
      const form = new FormData();
      form.append('nickname', 'Multi');
      form.append('userData[queue]', 'support');
      const { body } = await postRaw(serviceUrl, form);
      expect(body.statusCode).toBe(0);
      expect(gms.getChat(body.chatId!)).toMatchObject({ nickname: 'Multi', queue: 'support' });
    });

    it('turns the Widgets-style initial `text` into the first client message', async () => {
      const { body } = await postForm(serviceUrl, { nickname: 'Jo', text: 'I need help' });
      expect(body.messages!.map((m) => [m.index, m.type, m.text])).toEqual([
        [1, 'ParticipantJoined', undefined],
        [2, 'Message', 'I need help'],
      ]);
    });

    it.each([['application/json', '{"nickname":"Jo"}'], ['text/plain', 'nickname=Jo']])('answers 415 to content type %s', async (contentType, payload) => {
      const { status } = await postRaw(serviceUrl, payload, { 'content-type': contentType });
      expect(status).toBe(415);
    });

    it('answers 405 to a GET on the chat API', async () => {
      const response = await fetch(serviceUrl);
      expect(response.status).toBe(405);
    });
  });

  describe('operations on a chat', () => {
    let client: TestGmsClient;

    beforeEach(async () => {
      client = new TestGmsClient(serviceUrl);
      await client.requestChat({ nickname: 'Jo' });
    });

    it('send adds a client Message with its messageType and returns it from the position', async () => {
      const { body } = await client.call('send', { message: 'Hello', messageType: 'greeting' });
      expect(body.statusCode).toBe(0);
      expect(body.nextPosition).toBe(3);
      expect(body.messages).toEqual([
        { from: { nickname: 'Jo', participantId: 1, type: 'Client' }, index: 2, type: 'Message', utcTime: expect.any(Number), text: 'Hello', messageType: 'greeting' },
      ]);
    });

    it('send without a message is refused and adds nothing', async () => {
      const { body } = await client.call('send', {});
      expect(body).toMatchObject({ statusCode: 2, chatEnded: false, nextPosition: 2, errors: [{ code: GmsErrorCode.invalidParameter }] });
      expect(gms.getChat(client.chatId)!.transcriptLength).toBe(1);
    });

    it('startTyping and stopTyping add typing events carrying the text typed so far', async () => {
      await client.call('startTyping', { message: 'Hel' });
      const { body } = await client.call('stopTyping', {});
      expect(gms.getChat(client.chatId)!.transcript.slice(1).map((e) => [e.type, e.from.type, e.text])).toEqual([
        ['TypingStarted', 'Client', 'Hel'],
        ['TypingStopped', 'Client', undefined],
      ]);
      expect(body.messages!.map((m) => m.type)).toEqual(['TypingStopped']);
    });

    it('pushUrl, updateNickname and customNotice add their events', async () => {
      await client.call('pushUrl', { pushUrl: 'https://example.com/page' });
      await client.call('updateNickname', { nickname: 'Joanna' });
      await client.call('customNotice', { message: 'cobrowse-started', messageType: 'cobrowse' });
      const events = gms.getChat(client.chatId)!.transcript.slice(1);
      expect(events).toEqual([
        expect.objectContaining({ type: 'PushUrl', text: 'https://example.com/page', from: { nickname: 'Jo', participantId: 1, type: 'Client' } }),
        expect.objectContaining({ type: 'NicknameUpdated', from: { nickname: 'Joanna', participantId: 1, type: 'Client' } }),
        expect.objectContaining({ type: 'CustomNotice', text: 'cobrowse-started', messageType: 'cobrowse' }),
      ]);
    });

    it('updateData merges attached data without a transcript event', async () => {
      const { body } = await client.call('updateData', { 'userData[orderId]': '42', 'userData[TimeZone]': '60' });
      expect(body.statusCode).toBe(0);
      expect(gms.getChat(client.chatId)!.userData).toEqual({ orderId: '42', TimeZone: '60' });
      expect(gms.getChat(client.chatId)!.transcriptLength).toBe(1);
    });

    it('disconnect ends the chat with the client leaving, and later calls get statusCode 2 with chatEnded', async () => {
      const { body } = await client.call('disconnect');
      expect(body).toMatchObject({ statusCode: 0, chatEnded: true });
      expect(body.messages).toEqual([expect.objectContaining({ type: 'ParticipantLeft', from: expect.objectContaining({ type: 'Client' }) })]);
      expect(gms.getChat(client.chatId)).toMatchObject({ state: 'ended', endReason: 'client-disconnected' });
      const later = await client.call('send', { message: 'anyone?' });
      expect(later.body).toMatchObject({ statusCode: 2, chatEnded: true, errors: [{ code: GmsErrorCode.clientNotInSession }] });
    });

    it('after an agent closes, refresh still reads the end and acting calls are refused', async () => {
      gms.agentJoin(client.chatId, { nickname: 'Ann' });
      gms.agentClose(client.chatId);
      const read = await client.refresh();
      expect(read.body).toMatchObject({ statusCode: 0, chatEnded: true });
      expect(read.body.messages!.map((m) => [m.type, m.from.type])).toEqual([
        ['ParticipantJoined', 'Agent'],
        ['ParticipantLeft', 'Agent'],
      ]);
      const send = await client.call('send', { message: 'wait' });
      expect(send.body).toMatchObject({ statusCode: 2, chatEnded: true });
    });

    it('answers statusCode 2 for a chat id it does not know', async () => {
      const { body } = await postForm(`${serviceUrl}/0000000000000000/refresh`, { secureKey: client.secureKey });
      expect(body).toMatchObject({ statusCode: 2, chatEnded: true, errors: [{ code: GmsErrorCode.chatNotFound }] });
    });
  });

  describe('transcriptPosition', () => {
    let client: TestGmsClient;

    beforeAll(async () => {
      client = new TestGmsClient(serviceUrl);
      await client.requestChat({ nickname: 'Jo' });
      gms.agentJoin(client.chatId, { nickname: 'Ann' });
      gms.agentSendMessage(client.chatId, 'one');
      gms.agentSendMessage(client.chatId, 'two');
    });

    const indexes = (body: GmsEnvelope) => body.messages!.map((m) => m.index);
    const refreshAt = (position: string | undefined) => postForm(`${serviceUrl}/${client.chatId}/refresh`, { secureKey: client.secureKey, transcriptPosition: position });

    it('returns everything when missing or 1', async () => {
      expect(indexes((await refreshAt(undefined)).body)).toEqual([1, 2, 3, 4]);
      expect(indexes((await refreshAt('1')).body)).toEqual([1, 2, 3, 4]);
    });

    it('returns nothing for 0 but still the next position', async () => {
      const { body } = await refreshAt('0');
      expect(body.messages).toEqual([]);
      expect(body.nextPosition).toBe(5);
    });

    it('returns from n on, and nothing past the end', async () => {
      expect(indexes((await refreshAt('3')).body)).toEqual([3, 4]);
      expect(indexes((await refreshAt('5')).body)).toEqual([]);
      expect((await refreshAt('5')).body.nextPosition).toBe(5);
    });

    it('lets a client that follows nextPosition see each event exactly once', async () => {
      const follower = new TestGmsClient(serviceUrl);
      await follower.requestChat({ nickname: 'Follower' });
      const seen: (number | undefined)[] = [];
      gms.agentJoin(follower.chatId);
      seen.push(...indexes((await follower.refresh()).body));
      gms.agentSendMessage(follower.chatId, 'a');
      seen.push(...indexes((await follower.refresh()).body));
      seen.push(...indexes((await follower.refresh()).body));
      expect(seen).toEqual([2, 3]);
    });
  });

  describe('secureKey', () => {
    it('a wrong key gets an error envelope without session data, and the session is untouched', async () => {
      const client = new TestGmsClient(serviceUrl);
      await client.requestChat({ nickname: 'Jo' });
      const { status, body } = await postForm(`${serviceUrl}/${client.chatId}/send`, { ...client.session(), secureKey: 'DEADBEEFDEADBEEF', message: 'hijack' });
      expect(status).toBe(200);
      expect(body).toEqual({ statusCode: 2, chatEnded: false, chatId: client.chatId, errors: [{ code: GmsErrorCode.badSecureKey, message: 'Bad secure key.' }] });
      expect(gms.getChat(client.chatId)!.transcriptLength).toBe(1);
      const refresh = await client.refresh();
      expect(refresh.body.statusCode).toBe(0);
    });

    it('a missing key is refused the same way', async () => {
      const client = new TestGmsClient(serviceUrl);
      await client.requestChat({ nickname: 'Jo' });
      const { body } = await postForm(`${serviceUrl}/${client.chatId}/disconnect`, { userId: client.userId, alias: client.alias });
      expect(body.errors![0].code).toBe(GmsErrorCode.badSecureKey);
      expect(gms.getChat(client.chatId)!.state).toBe('waiting');
    });
  });

  describe('files', () => {
    let client: TestGmsClient;

    beforeEach(async () => {
      client = new TestGmsClient(serviceUrl);
      await client.requestChat({ nickname: 'Jo' });
    });

    const upload = async (name: string, content: string, extra: Record<string, string> = {}) => {
      const form = new FormData();
      for (const [key, value] of Object.entries({ ...client.session(), ...extra })) form.append(key, String(value));
      form.append('file', new Blob([content], { type: 'text/plain' }), name);
      const response = await postRaw(`${serviceUrl}/${client.chatId}/file`, form);
      if (response.body.nextPosition) client.position = response.body.nextPosition;
      return response;
    };

    it('file/limits answers the Notice of the real capture with string limits and usage', async () => {
      const { body } = await client.call('file/limits');
      expect(body.statusCode).toBe(0);
      expect(body.messages).toEqual([
        {
          from: { nickname: 'Jo', participantId: 1, type: 'Client' },
          text: 'file-client-cfg-get',
          type: 'Notice',
          utcTime: expect.any(Number),
          userData: expect.objectContaining({ 'upload-max-files': '2', 'upload-max-file-size': '1000', 'used-upload-max-files': '0', 'upload-need-agent': 'false' }),
        },
      ]);
      expect(body.messages![0].userData!['upload-file-types']).toMatch(/^[a-z]+(:[a-z]+)+$/);
    });

    it('upload returns the file id in userData, adds FileUploaded, and the file downloads as binary', async () => {
      const { body } = await upload('notes.txt', 'hello file', { 'userData[file-description]': 'my notes' });
      expect(body.statusCode).toBe(0);
      const fileId = body.userData!['file-id'];
      expect(fileId).toMatch(HEX16);
      expect(body.messages).toEqual([
        expect.objectContaining({
          type: 'FileUploaded',
          text: fileId,
          from: expect.objectContaining({ type: 'Client' }),
          userData: expect.objectContaining({ 'file-id': fileId, 'file-name': 'notes.txt', 'file-size': '10', 'file-description': 'my notes' }),
        }),
      ]);
      const download = await fetch(`${serviceUrl}/${client.chatId}/file/${fileId}/download`, { method: 'POST', body: new URLSearchParams({ secureKey: client.secureKey }) });
      expect(download.headers.get('content-type')).toBe('text/plain');
      expect(await download.text()).toBe('hello file');
    });

    it('delete adds FileDeleted, frees the slot, and the file no longer downloads', async () => {
      const fileId = (await upload('a.txt', 'a')).body.userData!['file-id'];
      const { body } = await client.call(`file/${fileId}/delete`);
      expect(body.messages).toEqual([expect.objectContaining({ type: 'FileDeleted', text: fileId })]);
      const limits = await client.call('file/limits');
      expect(limits.body.messages![0].userData!['used-upload-max-files']).toBe('0');
      const download = await postForm(`${serviceUrl}/${client.chatId}/file/${fileId}/download`, { secureKey: client.secureKey });
      expect(download.body).toMatchObject({ statusCode: 2, errors: [{ code: GmsErrorCode.fileNotFound }] });
    });

    it('enforces the upload limits: type, size and count', async () => {
      expect((await upload('virus.exe', 'x')).body.errors![0].code).toBe(GmsErrorCode.fileTypeNotAllowed);
      expect((await upload('big.txt', 'x'.repeat(1001))).body.errors![0].code).toBe(GmsErrorCode.fileLimitReached);
      await upload('1.txt', '1');
      await upload('2.txt', '2');
      const third = await upload('3.txt', '3');
      expect(third.body).toMatchObject({ statusCode: 2, errors: [{ code: GmsErrorCode.fileLimitReached }] });
      expect(gms.getChat(client.chatId)!.files).toHaveLength(2);
    });

    it('a file sent by the agent is announced with metadata and downloadable by the client', async () => {
      gms.agentJoin(client.chatId, { nickname: 'Ann' });
      const sent = gms.agentSendFile(client.chatId, { name: 'invoice.pdf', mimeType: 'application/pdf', content: Buffer.from('%PDF-1.4') });
      const { body } = await client.refresh();
      const event = body.messages!.find((m) => m.type === 'FileUploaded')!;
      expect(event).toMatchObject({
        from: { nickname: 'Ann', participantId: 2, type: 'Agent' },
        text: sent.fileId,
        userData: { 'file-id': sent.fileId, 'file-name': 'invoice.pdf', 'file-size': '8', 'file-source': 'ucs', 'file-upload-type': 'file-system' },
      });
      const download = await fetch(`${serviceUrl}/${client.chatId}/file/${sent.fileId}/download`, { method: 'POST', body: new URLSearchParams({ secureKey: client.secureKey }) });
      expect(download.headers.get('content-type')).toBe('application/pdf');
      expect(Buffer.from(await download.arrayBuffer()).toString()).toBe('%PDF-1.4');
    });
  });
});

describe('GMS simulator identity rotation and endpoint overrides', () => {
  it('rotates the alias every N responses and refuses the stale alias', async () => {
    const gms = new GmsSimulator({ rotateAliasEvery: 2 });
    await gms.start();
    try {
      const client = new TestGmsClient(gms.chatServiceUrl());
      const first = await client.requestChat();
      const second = await client.refresh();
      expect(second.body.alias).not.toBe(first.body.alias);
      const stale = await postForm(`${client.serviceUrl}/${client.chatId}/refresh`, { ...client.session(), alias: first.body.alias });
      expect(stale.body).toMatchObject({ statusCode: 2, errors: [{ code: GmsErrorCode.aliasMismatch }] });
      expect((await client.refresh()).body.statusCode).toBe(0);
      expect((await client.refresh()).body.statusCode).toBe(0);
    } finally {
      await gms.stop();
    }
  });

  it('with rotateCredentials, a client that keeps the first secureKey is refused', async () => {
    const gms = new GmsSimulator({ rotateAliasEvery: 1, rotateCredentials: true });
    await gms.start();
    try {
      const client = new TestGmsClient(gms.chatServiceUrl());
      const first = await client.requestChat();
      const next = await client.refresh();
      expect(next.body.statusCode).toBe(0);
      expect(next.body.secureKey).not.toBe(first.body.secureKey);
      expect(next.body.userId).not.toBe(first.body.userId);
      const stale = await postForm(`${client.serviceUrl}/${client.chatId}/refresh`, { secureKey: first.body.secureKey });
      expect(stale.body.errors![0].code).toBe(GmsErrorCode.badSecureKey);
    } finally {
      await gms.stop();
    }
  });

  it('serves overridden operation paths and a custom context path, and only those', async () => {
    const gms = new GmsSimulator({ contextPath: 'proxy/gms/chat', serviceNames: ['digital'], operationPaths: { startTyping: 'typing/start', stopTyping: 'typingStopped' } });
    const baseUrl = await gms.start();
    try {
      const client = new TestGmsClient(`${baseUrl}/proxy/gms/chat/digital`);
      expect((await client.requestChat()).body.statusCode).toBe(0);
      expect((await client.call('typing/start')).body.messages).toEqual([expect.objectContaining({ type: 'TypingStarted' })]);
      expect((await client.call('typingStopped')).body.messages).toEqual([expect.objectContaining({ type: 'TypingStopped' })]);
      expect((await postForm(`${client.serviceUrl}/${client.chatId}/startTyping`, client.session())).status).toBe(404);
      expect((await postForm(`${baseUrl}/proxy/gms/chat/other`, { nickname: 'Jo' })).status).toBe(404);
      expect((await postForm(`${baseUrl}/genesys/2/chat/digital`, { nickname: 'Jo' })).status).toBe(404);
    } finally {
      await gms.stop();
    }
  });

  it('refuses two operations on one path at construction', () => {
    expect(() => new GmsSimulator({ operationPaths: { startTyping: 'typing', stopTyping: 'typing' } })).toThrow(/share the path/);
  });
});
