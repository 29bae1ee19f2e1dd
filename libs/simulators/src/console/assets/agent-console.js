// The agent console shared by every simulator. It knows nothing of a platform: the adapter in /console/platform.js
// turns the simulator's control API (/sim/...) into the model below and carries out the agent's actions.
//
// Adapter (passed to AgentConsole.start):
//   defaultAgentName: string
//   overview() -> { queues: [{ id, name, waiting: [{ id, customer, since, note }] }],
//                   active: [{ id, customer, note }], ended: [{ id, customer, note }], transferTargets: [{ id, name }] }
//   chat(id)   -> { id, customer, state: 'waiting' | 'active' | 'ended' | 'other', stateText, canAccept, canAct,
//                   details: [{ label, value }], attributesTitle, attributes: [{ key, value }],
//                   history: [entry], historyTitle, transcript: [entry], customerTyping }
//                   entry = { role: 'customer' | 'agent' | 'bot' | 'system' | 'event', name, text, time, files: [{ name, url, size }] }
//   accept(id, agentName), typing(id, on), sendText(id, text), sendFile(id, { name, mimeType, base64 }),
//   transfer(id, queue), close(id)
'use strict';

(function () {
  const TYPING_IDLE_MS = 4000;
  const $ = (id) => document.getElementById(id);

  const state = {
    config: { controlApi: '/sim', pollIntervalMs: 500, platform: '', name: '' },
    adapter: null,
    selected: decodeURIComponent(location.hash.replace(/^#chat=/, '')) || null,
    chat: null,
    keys: { overview: '', head: '', transcript: '', info: '' },
    typing: null, // { chatId, timer } while this console has told the platform the agent is typing
    timer: null,
    generation: 0, // polls can overlap (an action refreshes at once): only the latest one renders
  };

  // ---- helpers the adapters use ---------------------------------------------------------------------------------

  /** Calls the control API; throws an Error with the simulator's message on a non-2xx answer. */
  async function api(method, path, body) {
    const init = { method, headers: {} };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const response = await fetch(state.config.controlApi + path, init);
    const text = await response.text();
    let data = text;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch (_) {
      // not JSON: keep the text
    }
    if (!response.ok) {
      const error = new Error(describeError(data) || `HTTP ${response.status}`);
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function describeError(data) {
    if (!data || typeof data !== 'object') return typeof data === 'string' ? data : '';
    const details = Array.isArray(data.errors) ? data.errors.map((e) => (typeof e === 'string' ? e : e.message)).filter((m) => m && m !== data.message) : [];
    return [data.message, ...details].filter(Boolean).join(': ');
  }

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name === 'class') node.className = value;
      else if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : value);
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function clock(time) {
    if (time === undefined || time === null || time === '') return '';
    const date = new Date(time);
    return Number.isNaN(date.getTime()) ? '' : date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
  }

  function size(bytes) {
    if (typeof bytes !== 'number') return '';
    return bytes < 1024 ? `${bytes} B` : bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1048576).toFixed(1)} MB`;
  }

  // ---- rendering ----------------------------------------------------------------------------------------------

  function renderOverview(overview) {
    const key = JSON.stringify([overview, state.selected]);
    if (key === state.keys.overview) return;
    state.keys.overview = key;

    const queues = $('waiting-queues');
    const waitingQueues = overview.queues.filter((queue) => queue.waiting.length > 0);
    queues.replaceChildren(
      ...(waitingQueues.length === 0
        ? [el('p', { class: 'empty' }, 'No chats waiting.')]
        : waitingQueues.map((queue) => {
            const headingId = `queue-${queue.id}`.replace(/[^A-Za-z0-9_-]/g, '_');
            return el(
              'section',
              { class: 'queue', 'aria-labelledby': headingId },
              el('h3', { id: headingId }, `${queue.name} (${queue.waiting.length})`),
              el('ul', { class: 'chat-list' }, queue.waiting.map((chat) => waitingItem(chat, queue))),
            );
          })),
    );
    $('active-chats').replaceChildren(...listOrEmpty(overview.active, 'No chats in progress.'));
    $('ended-chats').replaceChildren(...listOrEmpty(overview.ended, 'No ended chats.'));
    $('queue-options').replaceChildren(...overview.transferTargets.map((queue) => el('option', { value: queue.id }, queue.name)));
  }

  function waitingItem(chat, queue) {
    return el(
      'li',
      { class: `chat-item${chat.id === state.selected ? ' selected' : ''}` },
      el(
        'button',
        { type: 'button', class: 'open', 'aria-label': `Open chat with ${chat.customer}`, onclick: () => select(chat.id) },
        chat.customer,
        el('small', {}, [chat.since ? `waiting since ${clock(chat.since)}` : 'waiting', chat.note].filter(Boolean).join(' · ')),
      ),
      el('button', { type: 'button', class: 'primary', 'aria-label': `Accept chat from ${chat.customer} in ${queue.name}`, onclick: () => accept(chat.id) }, 'Accept'),
    );
  }

  function listOrEmpty(chats, emptyText) {
    if (chats.length === 0) return [el('li', { class: 'empty' }, emptyText)];
    return chats.map((chat) =>
      el(
        'li',
        { class: `chat-item${chat.id === state.selected ? ' selected' : ''}` },
        el('button', { type: 'button', class: 'open', 'aria-label': `Open chat with ${chat.customer}`, onclick: () => select(chat.id) }, chat.customer, el('small', {}, chat.note || '')),
      ),
    );
  }

  function renderChat(chat) {
    state.chat = chat;
    $('no-chat').hidden = Boolean(chat);
    $('chat-view').hidden = !chat;
    if (!chat) return;

    const headKey = JSON.stringify([chat.id, chat.customer, chat.stateText, chat.canAccept, chat.canAct, chat.customerTyping]);
    if (headKey !== state.keys.head) {
      state.keys.head = headKey;
      $('chat-title').textContent = `Chat with ${chat.customer}`;
      $('chat-state').textContent = chat.stateText;
      $('accept-selected').hidden = !chat.canAccept;
      for (const control of document.querySelectorAll('.actions textarea, .actions input, .actions button')) control.disabled = !chat.canAct;
      $('customer-typing').textContent = chat.customerTyping ? `${chat.customer} is typing…` : '';
      if (!chat.canAct) stopTyping();
    }

    const infoKey = JSON.stringify([chat.details, chat.attributesTitle, chat.attributes]);
    if (infoKey !== state.keys.info) {
      state.keys.info = infoKey;
      $('customer-details').replaceChildren(...chat.details.filter((d) => d.value !== undefined && d.value !== null && d.value !== '').flatMap((d) => [el('dt', {}, d.label), el('dd', {}, String(d.value))]));
      $('attributes-heading').textContent = chat.attributesTitle || 'Attributes';
      const rows = chat.attributes.map((a) => el('tr', {}, el('th', { scope: 'row' }, a.key), el('td', {}, a.value)));
      $('attributes').tBodies[0].replaceChildren(...(rows.length ? rows : [el('tr', {}, el('td', { colspan: '2', class: 'empty' }, 'None'))]));
    }

    const transcriptKey = JSON.stringify([chat.id, chat.history, chat.transcript]);
    if (transcriptKey !== state.keys.transcript) {
      const log = $('transcript');
      const sameChat = state.keys.transcript.startsWith(JSON.stringify([chat.id]).slice(0, -1));
      const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
      state.keys.transcript = transcriptKey;
      const items = [];
      if (chat.history.length > 0) {
        items.push(el('li', { class: 'entry group' }, chat.historyTitle || 'Bot conversation before the hand-over'));
        items.push(...chat.history.map((entry) => transcriptEntry(entry, 'history')));
        items.push(el('li', { class: 'entry group' }, 'Hand-over to the contact center'));
      }
      items.push(...chat.transcript.map((entry) => transcriptEntry(entry)));
      if (items.length === 0) items.push(el('li', { class: 'entry event' }, 'Nothing said yet.'));
      log.replaceChildren(...items);
      if (!sameChat || atBottom) log.scrollTop = log.scrollHeight;
    }
  }

  function transcriptEntry(entry, extraClass) {
    const role = entry.role || 'system';
    if (role === 'event') return el('li', { class: 'entry event' }, entry.text, entry.time ? ` · ${clock(entry.time)}` : '');
    return el(
      'li',
      { class: `entry ${role}${extraClass ? ` ${extraClass}` : ''}` },
      el('div', { class: 'meta' }, el('span', { class: 'who' }, entry.name || role), el('time', { datetime: new Date(entry.time || 0).toISOString() }, clock(entry.time))),
      entry.text ? el('div', { class: 'text' }, entry.text) : null,
      ...(entry.files || []).map((file) =>
        el('div', { class: 'file' }, 'File: ', file.url ? el('a', { href: file.url, target: '_blank', rel: 'noopener' }, file.name) : file.name, file.size !== undefined ? ` (${size(file.size)})` : ''),
      ),
    );
  }

  // ---- polling ------------------------------------------------------------------------------------------------

  async function refresh() {
    const generation = ++state.generation;
    const selected = state.selected;
    const [overview, chat] = await Promise.all([
      state.adapter.overview(),
      selected
        ? state.adapter.chat(selected).catch((error) => {
            if (error.status !== 404) throw error;
            return { gone: true };
          })
        : null,
    ]);
    if (generation !== state.generation || selected !== state.selected) return;
    renderOverview(overview);
    if (chat && chat.gone) {
      showError(`The chat ${selected} is gone.`);
      select(null);
      return;
    }
    renderChat(chat);
  }

  async function poll() {
    clearTimeout(state.timer);
    try {
      await refresh();
      setStatus(`Live · updated ${clock(Date.now())}`, false);
    } catch (error) {
      setStatus(`Simulator unreachable: ${error.message}`, true);
    }
    state.timer = setTimeout(poll, state.config.pollIntervalMs);
  }

  function setStatus(text, offline) {
    const status = $('sync-status');
    // Only the connection state matters to a screen reader; the clock ticking is left out of the live region.
    status.classList.toggle('offline', offline);
    status.textContent = text;
  }

  // ---- actions ------------------------------------------------------------------------------------------------

  function agentName() {
    return $('agent-name').value.trim() || state.adapter.defaultAgentName;
  }

  function showError(message) {
    $('error').textContent = message || '';
  }

  /** Runs an agent action, shows its error if it fails, and refreshes at once so the result is visible. */
  async function act(action) {
    showError('');
    try {
      await action();
    } catch (error) {
      showError(error.message);
    }
    await poll();
  }

  function select(chatId) {
    if (chatId !== state.selected) stopTyping();
    state.selected = chatId;
    state.keys = { overview: '', head: '', transcript: '', info: '' };
    history.replaceState(null, '', chatId ? `#chat=${encodeURIComponent(chatId)}` : location.pathname);
    void poll();
  }

  function accept(chatId) {
    select(chatId);
    return act(() => state.adapter.accept(chatId, agentName()));
  }

  function startTyping() {
    const chatId = state.selected;
    if (!chatId || !state.chat || !state.chat.canAct) return;
    if (state.typing && state.typing.chatId === chatId) {
      clearTimeout(state.typing.timer);
    } else {
      stopTyping();
      state.typing = { chatId };
      state.adapter.typing(chatId, true).catch((error) => showError(error.message));
    }
    state.typing.timer = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  /** Tells the platform the agent stopped typing (idle, message sent, text cleared, chat left). */
  function stopTyping() {
    const typing = state.typing;
    if (!typing) return Promise.resolve();
    state.typing = null;
    clearTimeout(typing.timer);
    return state.adapter.typing(typing.chatId, false).catch(() => undefined);
  }

  function readFile(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
      reader.onerror = () => reject(reader.error || new Error('The file could not be read'));
      reader.readAsDataURL(file);
    });
  }

  function bind() {
    const nameInput = $('agent-name');
    const stored = localStorage.getItem(`agent-console.agent-name.${state.config.platform}`);
    nameInput.value = stored || state.adapter.defaultAgentName;
    nameInput.addEventListener('change', () => localStorage.setItem(`agent-console.agent-name.${state.config.platform}`, nameInput.value.trim()));

    $('accept-selected').addEventListener('click', () => state.selected && accept(state.selected));

    const message = $('message');
    message.addEventListener('input', () => (message.value.trim() ? startTyping() : void stopTyping()));
    message.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey) {
        event.preventDefault();
        $('compose-form').requestSubmit();
      }
    });
    $('compose-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const text = message.value.trim();
      const chatId = state.selected;
      if (!text || !chatId) return;
      message.value = '';
      void act(async () => {
        await stopTyping();
        await state.adapter.sendText(chatId, text);
      });
    });

    $('file-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const input = $('file-input');
      const file = input.files && input.files[0];
      const chatId = state.selected;
      if (!chatId) return;
      if (!file) return showError('Choose a file first.');
      void act(async () => {
        const base64 = await readFile(file);
        await state.adapter.sendFile(chatId, { name: file.name, mimeType: file.type || 'application/octet-stream', base64 });
        input.value = '';
      });
    });

    $('transfer-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const input = $('transfer-queue');
      const queue = input.value.trim();
      const chatId = state.selected;
      if (!chatId) return;
      if (!queue) return showError('Name the queue to transfer to.');
      void act(async () => {
        await stopTyping();
        await state.adapter.transfer(chatId, queue);
        input.value = '';
      });
    });

    $('close-chat').addEventListener('click', () => {
      const chatId = state.selected;
      if (!chatId) return;
      void act(async () => {
        await stopTyping();
        await state.adapter.close(chatId);
      });
    });
  }

  async function start(adapter) {
    state.adapter = adapter;
    try {
      state.config = { ...state.config, ...(await fetch('/console/config.json').then((response) => response.json())) };
    } catch (_) {
      // the defaults above work for every simulator
    }
    document.title = `Agent console · ${state.config.name}`;
    $('console-title').textContent = 'Agent console';
    $('platform-name').textContent = `${state.config.name} · simulator`;
    bind();
    await poll();
  }

  window.AgentConsole = { api, start, clock };
})();
