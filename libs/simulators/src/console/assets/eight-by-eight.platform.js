// Agent console adapter for the 8x8 Chat Gateway simulator: reads /sim/conversations and /sim/queues, acts through
// /sim/conversations/{id}/accept, typing, messages, files, transfer and leave.
'use strict';

(function () {
  const { api } = window.AgentConsole;
  const CUSTOMER_TYPING_MS = 6000; // 8x8 has no "stopped typing" from the integration: a typing signal lapses
  const ROLES = { user: 'customer', bot: 'bot', agent: 'agent', system: 'system' };
  // When a conversation entered its queue, kept per (conversation, queue): the API reports a wait that grows each poll.
  const waitingSince = new Map();

  const path = (id, rest = '') => `/conversations/${encodeURIComponent(id)}${rest}`;
  const customerOf = (summary) => summary.userName || (summary.user && summary.user.name) || 'Customer';
  const agentIdFor = (name) => name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'agent-1';

  function entry(conversation, message) {
    const role = ROLES[message.authorType] || 'system';
    const name =
      role === 'customer'
        ? conversation.user.name || 'Customer'
        : role === 'agent'
          ? agentName(conversation, message.authorId)
          : role === 'bot'
            ? 'Bot'
            : 'System';
    return {
      role,
      name,
      text: message.text,
      time: message.createdAt,
      files: (message.attachments || []).map((attachment) => ({ name: attachment.filename || attachment.id, url: attachment.preSignedUrl, size: attachment.sizeInBytes })),
    };
  }

  function agentName(conversation, agentId) {
    const participant = conversation.participants.find((p) => p.type === 'agent' && p.id === agentId);
    return (participant && participant.name) || agentId;
  }

  function stateText(conversation) {
    const queue = conversation.queue ? `${conversation.queue.name} (${conversation.queue.id})` : '';
    switch (conversation.phase) {
      case 'queued':
        return `Waiting in ${queue}`;
      case 'with-agent':
        return `With ${conversation.agent.name} (${conversation.agent.id}) · ${queue}`;
      case 'with-bot':
        return 'Handed back to the bot';
      case 'script':
        return 'With a script';
      case 'created':
        return 'Being created';
      default:
        return `Ended${conversation.endedBy ? ` by the ${conversation.endedBy}` : ''}`;
    }
  }

  function customerTyping(conversation) {
    const last = [...conversation.signals].reverse().find((signal) => signal.kind === 'typing' && signal.authorType === 'user');
    if (!last) return false;
    const lastFromUser = [...conversation.messages].reverse().find((message) => message.authorType === 'user');
    if (lastFromUser && Date.parse(lastFromUser.createdAt) >= Date.parse(last.at)) return false;
    return Date.now() - Date.parse(last.at) < CUSTOMER_TYPING_MS;
  }

  window.AgentConsole.start({
    defaultAgentName: 'Agent One',

    async overview() {
      const [lists, queues] = await Promise.all([api('GET', '/conversations'), api('GET', '/queues')]);
      const names = new Map(queues.map((queue) => [queue.id, queue.name]));
      const queueName = (id) => `${names.get(id) || `Queue ${id}`} (${id})`;
      const now = Date.now();
      const seen = new Set();
      const waiting = Object.entries(lists.waiting).map(([queueId, summaries]) => ({
        id: queueId,
        name: queueName(queueId),
        waiting: summaries.map((summary) => {
          const key = `${summary.id}|${queueId}`;
          seen.add(key);
          if (!waitingSince.has(key)) waitingSince.set(key, now - (summary.waitingMs || 0));
          return { id: summary.id, customer: customerOf(summary), since: waitingSince.get(key), note: `${summary.messageCount} messages` };
        }),
      }));
      for (const key of waitingSince.keys()) if (!seen.has(key)) waitingSince.delete(key);
      const note = (summary) => [summary.queueId && queueName(summary.queueId), summary.agentId || summary.phase].filter(Boolean).join(' · ');
      return {
        queues: waiting.sort((a, b) => a.id.localeCompare(b.id)),
        active: lists.active.map((summary) => ({ id: summary.id, customer: customerOf(summary), note: note(summary) })),
        ended: lists.ended.slice(-10).reverse().map((summary) => ({ id: summary.id, customer: customerOf(summary), note: note(summary) })),
        transferTargets: queues.map((queue) => ({ id: queue.id, name: queue.name })),
      };
    },

    async chat(id) {
      const conversation = await api('GET', path(id));
      const user = conversation.user || {};
      return {
        id: conversation.id,
        customer: user.name || 'Customer',
        state: conversation.phase === 'queued' ? 'waiting' : conversation.phase === 'with-agent' ? 'active' : conversation.phase === 'ended' ? 'ended' : 'other',
        stateText: stateText(conversation),
        canAccept: conversation.phase === 'queued',
        canAct: conversation.phase === 'with-agent',
        details: [
          { label: 'Name', value: user.name },
          { label: 'User ID', value: user.userId },
          { label: 'Email', value: user.email },
          { label: 'Phone', value: user.phone },
          { label: 'Company', value: user.company },
          { label: 'Case ID', value: user.caseId },
          { label: 'Language', value: user.language },
          { label: 'Channel', value: conversation.channelId },
          { label: 'Conversation', value: conversation.id },
        ],
        attributesTitle: 'Attributes (additionalProperties)',
        attributes: (user.additionalProperties || []).map((property) => ({ key: property.key, value: property.value })),
        historyTitle: 'Bot conversation before the hand-over',
        history: conversation.history.map((message) => entry(conversation, message)),
        transcript: conversation.messages.map((message) => entry(conversation, message)),
        customerTyping: conversation.phase !== 'ended' && customerTyping(conversation),
      };
    },

    accept(id, agentName) {
      return api('POST', path(id, '/accept'), { agentId: agentIdFor(agentName), agentName });
    },

    typing(id, on) {
      return api('POST', path(id, '/typing'), { typing: on });
    },

    sendText(id, text) {
      return api('POST', path(id, '/messages'), { text });
    },

    sendFile(id, file) {
      return api('POST', path(id, '/files'), { fileName: file.name, mimeType: file.mimeType, contentBase64: file.base64 });
    },

    transfer(id, queueId) {
      return api('POST', path(id, '/transfer'), { queueId });
    },

    close(id) {
      return api('POST', path(id, '/leave'));
    },
  });
})();
