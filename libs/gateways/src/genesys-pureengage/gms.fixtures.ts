/**
 * GMS Chat API v2 payloads for the specs. The first three are real payloads from public sources (labels as in
 * docs/gateways/genesys-pureengage.md, Sources); the agent conversation is composed from the event shapes of GMS Chat
 * API v2 and GMSLibrary, with the field values of the official examples.
 */

/** Official Request Chat response example (GMS Chat API v2, the 8.5.2 page). No nextPosition. */
export const REQUEST_CHAT_RESPONSE = {
  statusCode: 0,
  alias: '117',
  userId: '007555677B20000A',
  secureKey: '4ee15d7e1c343c8e',
  messages: [{ from: { nickname: 'First Last', participantId: 1, type: 'Client' }, index: 1, type: 'ParticipantJoined', utcTime: 1432845088000 }],
  chatId: '00048aAPEQJ8000U',
};

/** An agent's FileUploaded, captured in a production partner widget whose repository is not known (no public link). */
export const AGENT_FILE_UPLOADED = {
  from: { nickname: 'agent', participantId: 2, type: 'Agent' },
  index: 10,
  text: '00D25C4FD5580141',
  type: 'FileUploaded',
  utcTime: 1548735832000,
  userData: {
    'file-document-id': '0002KaE4JJ9Y00BX',
    'file-source': 'ucs',
    'file-upload-path': 'C:\\Users\\Administrator\\Desktop\\New Text Document.txt',
    'file-id': '00D25C4FD5580141',
    'file-upload-type': 'file-system',
    'file-size': '438',
    'file-name': 'New Text Document.txt',
  },
};

/** Get File Limits response captured in genesys-chat-apiv2-sdk's comments: a Notice from the Client, without index. */
export const FILE_LIMITS_RESPONSE = {
  messages: [
    {
      from: { nickname: 'test', participantId: 1, type: 'Client' },
      text: 'file-client-cfg-get',
      type: 'Notice',
      utcTime: 1554322581000,
      userData: {
        'download-attempts': '2',
        'upload-max-files': '5',
        'delete-file': 'odd',
        'upload-max-file-size': '10485760',
        'used-download-attempts': '0',
        'used-upload-max-total-size': '0',
        'upload-need-agent': 'false',
        'used-upload-max-files': '0',
        'upload-max-total-size': '99614720',
        'upload-file-types': 'jpeg:jpg:pdf:png:zip',
      },
    },
  ],
  chatEnded: false,
  statusCode: 0,
};

/** A Refresh answer covering one agent conversation, in the event shapes of GMS Chat API v2 and GMSLibrary. */
export const AGENT_CONVERSATION_REFRESH = {
  statusCode: 0,
  alias: '117',
  userId: '007555677B20000A',
  secureKey: '4ee15d7e1c343c8e',
  chatId: '00048aAPEQJ8000U',
  chatEnded: false,
  nextPosition: 12,
  messages: [
    { from: { nickname: 'First Last', participantId: 1, type: 'Client' }, index: 2, type: 'Message', text: 'Hello?', utcTime: 1432845089000 },
    { from: { nickname: 'system', participantId: 3, type: 'External' }, index: 3, type: 'Message', text: 'Estimated waiting time: 2 minutes', utcTime: 1432845090000 },
    { from: { nickname: 'Ann', participantId: 2, type: 'Agent' }, index: 4, type: 'ParticipantJoined', utcTime: 1432845100000 },
    { from: { nickname: 'Ann', participantId: 2, type: 'Agent' }, index: 5, type: 'TypingStarted', utcTime: 1432845101000 },
    { from: { nickname: 'Ann', participantId: 2, type: 'Agent' }, index: 6, type: 'Message', text: 'Hi, how can I help?', messageType: 'text', utcTime: 1432845102000 },
    { from: { nickname: 'Ann', participantId: 2, type: 'Agent' }, index: 7, type: 'TypingStopped', utcTime: 1432845102000 },
    { from: { nickname: 'Ann', participantId: 2, type: 'Agent' }, index: 8, type: 'PushUrl', text: 'https://www.genesys.com/', utcTime: 1432845103000 },
    { from: { nickname: 'Sam', participantId: 4, type: 'Supervisor' }, index: 9, type: 'Message', text: 'Supervisor here', utcTime: 1432845104000 },
    { from: { nickname: 'Ann', participantId: 2, type: 'Agent' }, index: 10, type: 'CustomNotice', text: 'Ann is checking your order', utcTime: 1432845105000 },
    { from: { nickname: 'Ann', participantId: 2, type: 'Agent' }, index: 11, type: 'ParticipantLeft', utcTime: 1432845106000 },
  ],
};
