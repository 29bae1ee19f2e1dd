import { GmsChatSession, GmsStoredFile, gmsUtcTime } from './gms-chat-session';
import { GmsChatStore, gmsHexId } from './gms-chat.store';
import { GmsForm } from './gms-form.parser';
import { GmsChatOperation, GmsEnvelope, GmsErrorCode, GmsTranscriptEvent } from './gms-protocol.types';
import { ResolvedGmsSimulatorOptions } from './gms-simulator.options';

/** What a chat operation produced: an envelope, or (Download File) the file itself. */
export type GmsOperationResult = { envelope: GmsEnvelope; file?: undefined } | { file: GmsStoredFile; envelope?: undefined };

/** Operations a client may still call once the chat has ended without it leaving: reading is allowed, acting is not. */
const ALLOWED_AFTER_END = new Set<GmsChatOperation>(['refresh', 'disconnect', 'fileDownload', 'fileLimits']);

/**
 * The client side of the chat API (GMS Chat API v2, GMSLibrary): validation, session checks, transcript effects and
 * the envelope (GMS API Responses).
 * It knows nothing about HTTP, so its rules can be read in one place.
 */
export class GmsClientOperations {
  constructor(
    private readonly store: GmsChatStore,
    private readonly options: ResolvedGmsSimulatorOptions,
  ) {}

  /** Request Chat (GMS Chat API v2). */
  requestChat(serviceName: string, form: GmsForm): GmsEnvelope {
    const { nickname, firstName, lastName, emailAddress, subject, text } = form.fields;
    if (!nickname && !(firstName && lastName)) {
      return failure(GmsErrorCode.invalidParameter, 'Either nickname or both firstName and lastName must be supplied.');
    }
    const chat = this.store.create({
      serviceName,
      queue: form.userData.queue || serviceName,
      nickname,
      firstName: firstName || undefined,
      lastName: lastName || undefined,
      emailAddress: emailAddress || undefined,
      subject: subject || undefined,
      userData: { ...form.userData },
    });
    // Genesys Widgets send the first customer line as `text` on Request Chat (seen in captures, undocumented).
    if (text) chat.append(chat.client, 'Message', { text });
    return this.success(chat, form);
  }

  /** Every operation below the chat id, as GMSLibrary calls them. */
  run(operation: Exclude<GmsChatOperation, 'requestChat'>, chatId: string, form: GmsForm, fileId?: string): GmsOperationResult {
    const chat = this.store.get(chatId);
    const refusal = this.checkSession(chat, chatId, form);
    if (refusal) return { envelope: refusal };
    const session = chat as GmsChatSession;
    // Only an accepted request keeps the client alive; a request with a bad key must not affect the session.
    session.lastClientRequestAt = this.options.clock.now();
    if (session.isEnded && !ALLOWED_AFTER_END.has(operation)) {
      return { envelope: this.refuse(session, GmsErrorCode.clientNotInSession, 'The chat session has ended.') };
    }
    switch (operation) {
      case 'refresh':
        return { envelope: this.success(session, form) };
      case 'send':
        return { envelope: this.send(session, form) };
      case 'startTyping':
      case 'stopTyping':
        session.append(session.client, operation === 'startTyping' ? 'TypingStarted' : 'TypingStopped', {
          text: form.fields.message || undefined,
        });
        return { envelope: this.success(session, form) };
      case 'disconnect':
        return { envelope: this.disconnect(session, form) };
      case 'pushUrl':
        if (!form.fields.pushUrl) return { envelope: this.refuse(session, GmsErrorCode.invalidParameter, 'pushUrl is required.') };
        session.append(session.client, 'PushUrl', { text: form.fields.pushUrl });
        return { envelope: this.success(session, form) };
      case 'updateNickname':
        if (!form.fields.nickname) return { envelope: this.refuse(session, GmsErrorCode.invalidParameter, 'nickname is required.') };
        session.nickname = session.client.nickname = form.fields.nickname;
        session.append(session.client, 'NicknameUpdated');
        return { envelope: this.success(session, form) };
      case 'updateData':
        Object.assign(session.userData, form.userData);
        return { envelope: this.success(session, form) };
      case 'customNotice':
        session.append(session.client, 'CustomNotice', { text: form.fields.message ?? '', messageType: form.fields.messageType });
        return { envelope: this.success(session, form) };
      case 'fileLimits':
        return { envelope: this.success(session, form, { messages: [this.fileLimitsNotice(session)] }) };
      case 'fileUpload':
        return { envelope: this.upload(session, form) };
      case 'fileDownload':
        return this.download(session, fileId ?? '');
      case 'fileDelete':
        return { envelope: this.deleteFile(session, form, fileId ?? '') };
    }
  }

  private checkSession(chat: GmsChatSession | undefined, chatId: string, form: GmsForm): GmsEnvelope | undefined {
    if (!chat) return failure(GmsErrorCode.chatNotFound, `Chat session ${chatId} does not exist.`, { chatId, chatEnded: true });
    const { secureKey, userId, alias } = form.fields;
    // Nothing about the session is echoed to a caller without the key (GMS API Responses: the key guards the session).
    if (secureKey !== chat.secureKey) return failure(GmsErrorCode.badSecureKey, 'Bad secure key.', { chatId });
    if (userId && userId !== chat.userId) return failure(GmsErrorCode.clientNotInSession, 'No such user in the session.', { chatId });
    if (alias && alias !== chat.alias) {
      return failure(GmsErrorCode.aliasMismatch, `Alias ${alias} does not serve this session; use the alias of the last response.`, { chatId });
    }
    if (!chat.clientGone) return undefined;
    return chat.endReason === 'flex-disconnect'
      ? this.refuse(chat, GmsErrorCode.clientLoggedOut, 'User was logged out: no request within the flex-disconnect timeout.')
      : this.refuse(chat, GmsErrorCode.clientNotInSession, 'The client has left the chat session.');
  }

  private send(chat: GmsChatSession, form: GmsForm): GmsEnvelope {
    const message = form.fields.message;
    if (!message) return this.refuse(chat, GmsErrorCode.invalidParameter, 'message is required.');
    if (this.options.maxMessageLength > 0 && message.length > this.options.maxMessageLength) {
      return this.refuse(chat, GmsErrorCode.messageTooLong, `Message is longer than ${this.options.maxMessageLength} characters.`);
    }
    chat.append(chat.client, 'Message', { text: message, messageType: form.fields.messageType });
    return this.success(chat, form);
  }

  private disconnect(chat: GmsChatSession, form: GmsForm): GmsEnvelope {
    // Disconnecting an already ended chat succeeds: the client's goal (being out) is met.
    if (!chat.isEnded) {
      chat.leave(chat.client);
      this.store.end(chat, 'client-disconnected');
    }
    chat.clientGone = true;
    return this.success(chat, form);
  }

  private fileLimitsNotice(chat: GmsChatSession): GmsTranscriptEvent {
    const limits = this.options.fileLimits;
    // Shape of the capture in genesys-chat-apiv2-sdk: a Notice from the client, without index, every value a string.
    return {
      from: { nickname: chat.client.nickname, participantId: chat.client.participantId, type: 'Client' },
      text: 'file-client-cfg-get',
      type: 'Notice',
      utcTime: gmsUtcTime(chat.now()),
      userData: {
        'download-attempts': String(limits.downloadAttempts),
        'upload-max-files': String(limits.uploadMaxFiles),
        'delete-file': limits.deleteFile,
        'upload-max-file-size': String(limits.uploadMaxFileSize),
        'used-download-attempts': String(chat.fileUsage.downloads),
        'used-upload-max-total-size': String(chat.fileUsage.uploadedBytes),
        'upload-need-agent': String(limits.uploadNeedAgent),
        'used-upload-max-files': String(chat.fileUsage.uploads),
        'upload-max-total-size': String(limits.uploadMaxTotalSize),
        'upload-file-types': limits.uploadFileTypes.join(':'),
      },
    };
  }

  private upload(chat: GmsChatSession, form: GmsForm): GmsEnvelope {
    const part = form.files.find((file) => file.field === 'file');
    if (!part) return this.refuse(chat, GmsErrorCode.invalidParameter, 'A multipart part named "file" is required.');
    const limits = this.options.fileLimits;
    const extension = part.filename.includes('.') ? part.filename.split('.').pop()!.toLowerCase() : '';
    const problem =
      limits.uploadNeedAgent && chat.presentAgents.length === 0
        ? ([GmsErrorCode.fileNeedsAgent, 'Files can be uploaded only once an agent has joined.'] as const)
        : chat.fileUsage.uploads >= limits.uploadMaxFiles
          ? ([GmsErrorCode.fileLimitReached, `At most ${limits.uploadMaxFiles} files can be uploaded.`] as const)
          : part.content.length > limits.uploadMaxFileSize
            ? ([GmsErrorCode.fileLimitReached, `The file is larger than ${limits.uploadMaxFileSize} bytes.`] as const)
            : chat.fileUsage.uploadedBytes + part.content.length > limits.uploadMaxTotalSize
              ? ([GmsErrorCode.fileLimitReached, `The files would exceed ${limits.uploadMaxTotalSize} bytes in total.`] as const)
              : limits.uploadFileTypes.length > 0 && !limits.uploadFileTypes.includes(extension)
                ? ([GmsErrorCode.fileTypeNotAllowed, `Files of type "${extension}" are not allowed.`] as const)
                : undefined;
    if (problem) return this.refuse(chat, problem[0], problem[1]);
    const { 'file-description': description, ...custom } = form.userData;
    const file = storeFile(chat, chat.client, part.filename, part.mimeType, part.content, description, custom);
    chat.fileUsage.uploads++;
    chat.fileUsage.uploadedBytes += file.size;
    return this.success(chat, form, { userData: { 'file-id': file.fileId } });
  }

  private download(chat: GmsChatSession, fileId: string): GmsOperationResult {
    const file = chat.files.get(fileId);
    if (!file || file.deleted) return { envelope: this.refuse(chat, GmsErrorCode.fileNotFound, `File ${fileId} does not exist.`) };
    if (chat.fileUsage.downloads >= this.options.fileLimits.downloadAttempts) {
      return { envelope: this.refuse(chat, GmsErrorCode.downloadLimitReached, 'No download attempts left.') };
    }
    chat.fileUsage.downloads++;
    return { file };
  }

  private deleteFile(chat: GmsChatSession, form: GmsForm, fileId: string): GmsEnvelope {
    const file = chat.files.get(fileId);
    if (!file || file.deleted) return this.refuse(chat, GmsErrorCode.fileNotFound, `File ${fileId} does not exist.`);
    if (file.uploadedBy.type !== 'Client') return this.refuse(chat, GmsErrorCode.fileNotFound, `File ${fileId} was not uploaded by this client.`);
    file.deleted = true;
    chat.fileUsage.uploads--;
    chat.fileUsage.uploadedBytes -= file.size;
    chat.append(chat.client, 'FileDeleted', { text: fileId });
    return this.success(chat, form);
  }

  /** The envelope of a successful call: identity (possibly rotated), transcript from the position, nextPosition always. */
  private success(chat: GmsChatSession, form: GmsForm, extra: { messages?: GmsTranscriptEvent[]; userData?: Record<string, string> } = {}): GmsEnvelope {
    this.store.countResponse(chat);
    const envelope: GmsEnvelope = {
      statusCode: 0,
      alias: chat.alias,
      userId: chat.userId,
      secureKey: chat.secureKey,
      chatId: chat.chatId,
      chatEnded: chat.isEnded,
      nextPosition: chat.nextPosition,
      messages: extra.messages ?? chat.eventsFrom(transcriptPosition(form.fields.transcriptPosition)),
    };
    if (extra.userData) envelope.userData = extra.userData;
    return envelope;
  }

  /** A refusal to an authenticated client: the chat's position and end flag are trustworthy, so they are given. */
  private refuse(chat: GmsChatSession, code: number, message: string): GmsEnvelope {
    return failure(code, message, { chatId: chat.chatId, chatEnded: chat.isEnded, nextPosition: chat.nextPosition });
  }
}

/** Stores a file and appends its FileUploaded event, with the metadata keys of a partner widget's captured upload. */
export function storeFile(
  chat: GmsChatSession,
  from: GmsChatSession['participants'][number],
  name: string,
  mimeType: string,
  content: Buffer,
  description?: string,
  custom: Record<string, string> = {},
): GmsStoredFile {
  let fileId = gmsHexId();
  while (chat.files.has(fileId)) fileId = gmsHexId();
  const metadata: Record<string, string> = {
    ...custom,
    'file-document-id': gmsHexId(),
    'file-source': 'ucs',
    'file-upload-path': name,
    'file-id': fileId,
    'file-upload-type': 'file-system',
    'file-size': String(content.length),
    'file-name': name,
  };
  if (description) metadata['file-description'] = description;
  const file: GmsStoredFile = {
    fileId,
    name,
    mimeType: mimeType || 'application/octet-stream',
    size: content.length,
    content,
    uploadedBy: { nickname: from.nickname, participantId: from.participantId, type: from.type },
    metadata,
    deleted: false,
  };
  chat.files.set(fileId, file);
  chat.append(from, 'FileUploaded', { text: fileId, userData: metadata });
  return file;
}

/**
 * GMSLibrary: 0 means none, 1 all. Genesys does not say what a missing value means; here missing, empty or unreadable
 * means 1 (all), and 0 or less none.
 */
export function transcriptPosition(value: string | undefined): number {
  if (value === undefined || value === '') return 1;
  const position = Number.parseInt(value, 10);
  return Number.isNaN(position) ? 1 : position;
}

function failure(code: number, message: string, context: Partial<GmsEnvelope> = {}): GmsEnvelope {
  return { statusCode: 2, chatEnded: false, ...context, errors: [{ code, message }] };
}
