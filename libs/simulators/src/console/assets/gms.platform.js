// Agent console adapter for the GMS Chat API v2 simulator: reads /sim/chats, acts through /sim/chats/{id}/agent/...
'use strict';

(function () {
  const { api } = window.AgentConsole;
  // The participant this console joined each chat as, so its actions stay its own when several agents are in a chat.
  const joinedAs = new Map();

  const path = (chatId, rest = '') => `/chats/${encodeURIComponent(chatId)}${rest}`;
  const customerOf = (chat) => chat.nickname || [chat.firstName, chat.lastName].filter(Boolean).join(' ') || 'Customer';
  const agentsOf = (chat) => chat.agents.map((agent) => agent.nickname).join(', ');
  const ROLES = { Client: 'customer', Agent: 'agent', Supervisor: 'agent', External: 'system' };

  /** Adds this console's participantId when it still is in the chat; otherwise GMS's "latest agent" rule applies. */
  function asMe(chatId, body = {}) {
    const participantId = joinedAs.get(chatId);
    return participantId === undefined ? body : { ...body, participantId };
  }

  function transcriptEntry(chat, event) {
    const role = ROLES[event.from.type] || 'system';
    const base = { role, name: event.from.nickname, time: event.utcTime };
    switch (event.type) {
      case 'Message':
        return { ...base, text: event.text };
      case 'Notice':
      case 'CustomNotice':
        return { ...base, role: 'system', text: event.text };
      case 'PushUrl':
        return { ...base, text: 'Pushed a page:', files: [{ name: event.text, url: event.text }] };
      case 'FileUploaded': {
        const data = event.userData || {};
        const size = Number(data['file-size']);
        return {
          ...base,
          text: data['file-description'] && data['file-description'] !== data['file-name'] ? data['file-description'] : '',
          files: [{ name: data['file-name'] || event.text, url: `/sim${path(chat.chatId, `/files/${encodeURIComponent(event.text)}`)}`, size: Number.isFinite(size) ? size : undefined }],
        };
      }
      case 'ParticipantJoined':
        return { role: 'event', text: `${event.from.nickname} joined`, time: event.utcTime };
      case 'ParticipantLeft':
        return { role: 'event', text: `${event.from.nickname} left`, time: event.utcTime };
      case 'NicknameUpdated':
        return { role: 'event', text: `Now called ${event.from.nickname}`, time: event.utcTime };
      case 'FileDeleted':
        return { role: 'event', text: `${event.from.nickname} deleted a file`, time: event.utcTime };
      default:
        return undefined; // typing is shown as the indicator, not as transcript lines
    }
  }

  /** The client's last typing signal decides, unless a message of theirs came after it. */
  function customerTyping(chat) {
    for (let i = chat.transcript.length - 1; i >= 0; i--) {
      const event = chat.transcript[i];
      if (event.from.type !== 'Client') continue;
      if (event.type === 'TypingStarted') return true;
      if (event.type === 'TypingStopped' || event.type === 'Message' || event.type === 'ParticipantLeft') return false;
    }
    return false;
  }

  function stateText(chat) {
    if (chat.state === 'waiting') return `Waiting in queue ${chat.queue}`;
    if (chat.state === 'active') return `With ${agentsOf(chat)} · queue ${chat.queue}`;
    return `Ended${chat.endReason ? ` (${chat.endReason})` : ''}`;
  }

  window.AgentConsole.start({
    defaultAgentName: 'Agent',

    async overview() {
      const chats = await api('GET', '/chats');
      const byQueue = new Map();
      const queues = new Set();
      for (const chat of chats) {
        queues.add(chat.queue);
        if (chat.state !== 'waiting') continue;
        if (!byQueue.has(chat.queue)) byQueue.set(chat.queue, []);
        byQueue.get(chat.queue).push({ id: chat.chatId, customer: customerOf(chat), since: chat.createdAt, note: chat.subject || '' });
      }
      const byTime = (key) => (a, b) => String(a[key]).localeCompare(String(b[key]));
      return {
        queues: [...byQueue.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([queue, waiting]) => ({ id: queue, name: queue, waiting })),
        active: chats
          .filter((chat) => chat.state === 'active')
          .sort(byTime('createdAt'))
          .map((chat) => ({ id: chat.chatId, customer: customerOf(chat), note: `${chat.queue} · ${agentsOf(chat)}` })),
        ended: chats
          .filter((chat) => chat.state === 'ended')
          .sort(byTime('endedAt'))
          .reverse()
          .slice(0, 10)
          .map((chat) => ({ id: chat.chatId, customer: customerOf(chat), note: `${chat.queue} · ${chat.endReason || 'ended'}` })),
        transferTargets: [...queues].sort().map((queue) => ({ id: queue, name: queue })),
      };
    },

    async chat(chatId) {
      const chat = await api('GET', path(chatId));
      const mine = joinedAs.get(chatId);
      if (mine !== undefined && !chat.agents.some((agent) => agent.participantId === mine)) joinedAs.delete(chatId);
      return {
        id: chat.chatId,
        customer: customerOf(chat),
        state: chat.state,
        stateText: stateText(chat),
        canAccept: chat.state === 'waiting',
        canAct: chat.state === 'active',
        details: [
          { label: 'Nickname', value: chat.nickname },
          { label: 'First name', value: chat.firstName },
          { label: 'Last name', value: chat.lastName },
          { label: 'Email', value: chat.emailAddress },
          { label: 'Subject', value: chat.subject },
          { label: 'Service', value: chat.serviceName },
          { label: 'Queue', value: chat.queue },
          { label: 'Chat ID', value: chat.chatId },
        ],
        attributesTitle: 'Attributes (userData)',
        attributes: Object.entries(chat.userData).map(([key, value]) => ({ key, value })),
        // GMS has no history field: an integration sends the bot conversation as the customer's first messages.
        history: [],
        transcript: chat.transcript.map((event) => transcriptEntry(chat, event)).filter(Boolean),
        customerTyping: chat.state !== 'ended' && customerTyping(chat),
      };
    },

    async accept(chatId, agentName) {
      const agent = await api('POST', path(chatId, '/agent/join'), { nickname: agentName });
      joinedAs.set(chatId, agent.participantId);
    },

    typing(chatId, on) {
      return api('POST', path(chatId, on ? '/agent/typing/start' : '/agent/typing/stop'), asMe(chatId));
    },

    sendText(chatId, text) {
      return api('POST', path(chatId, '/agent/message'), asMe(chatId, { text }));
    },

    sendFile(chatId, file) {
      return api('POST', path(chatId, '/agent/file'), asMe(chatId, { name: file.name, mimeType: file.mimeType, contentBase64: file.base64 }));
    },

    async transfer(chatId, queue) {
      await api('POST', path(chatId, '/agent/transfer'), asMe(chatId, { queue }));
      joinedAs.delete(chatId);
    },

    async close(chatId) {
      await api('POST', path(chatId, '/agent/close'), asMe(chatId));
      joinedAs.delete(chatId);
    },
  });
})();
