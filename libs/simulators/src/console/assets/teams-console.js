// The Teams user console: a person plays a Teams user talking to a bot through the simulator's control API.
'use strict';
(() => {
  const api = async (method, path, body) => {
    const res = await fetch(`/control${path}`, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body ? JSON.stringify(body) : undefined });
    const text = await res.text();
    const data = text ? JSON.parse(text) : undefined;
    if (!res.ok) throw new Error(data?.message ?? `HTTP ${res.status}`);
    return data;
  };
  const $ = (id) => document.getElementById(id);
  const el = (tag, props = {}, ...children) => {
    const node = Object.assign(document.createElement(tag), props);
    for (const child of children) if (child !== undefined && child !== null) node.append(child);
    return node;
  };
  const sent = new Map(); // per conversation: what this page's user typed, with the local time
  let status = { bots: [], users: [], memberships: [] };

  const show = (text, error = false) => {
    $('status').textContent = text;
    $('status').style.color = error ? '#ffb3b3' : '#fff';
  };
  const selected = () => ({ appId: $('bot').value, userId: $('user').value });
  const pairPath = () => `/bots/${encodeURIComponent(selected().appId)}/users/${encodeURIComponent(selected().userId)}`;
  const act = (fn) => async (event) => {
    event?.preventDefault();
    try {
      await fn();
      await refresh();
    } catch (error) {
      show(error.message, true);
    }
  };

  /** The user writes `text` (typed, or a suggested action pressed) and sees it in the chat. */
  async function say(text) {
    const { appId, userId } = selected();
    const conversationId = status.memberships.find((m) => m.appId === appId && m.userId === userId)?.conversationId;
    const result = await api('POST', `${pairPath()}/say`, { text });
    if (conversationId) sent.set(conversationId, [...(sent.get(conversationId) ?? []), { at: Date.now(), activity: { text } }]);
    show(`Delivered to the bot: HTTP ${result.status}`, result.status >= 400);
  }

  function fillSelect(select, items, label) {
    const keep = select.value;
    select.replaceChildren(...items.map((item) => el('option', { value: item.id, textContent: label(item) })));
    if (items.some((item) => item.id === keep)) select.value = keep;
  }

  /** Adaptive Cards, simply: text, facts, images, inputs and Action.Submit / Action.OpenUrl buttons. */
  function renderCard(card) {
    const box = el('div', { className: 'card' });
    const inputs = [];
    const walk = (elements, parent) => {
      for (const item of elements ?? []) {
        if (item.type === 'TextBlock') parent.append(el('div', { textContent: item.text ?? '', style: item.weight === 'Bolder' ? 'font-weight:bold' : '' }));
        else if (item.type === 'FactSet') for (const fact of item.facts ?? []) parent.append(el('div', { textContent: `${fact.title}: ${fact.value}` }));
        else if (item.type === 'Image') parent.append(el('img', { src: item.url, alt: item.altText ?? '', style: 'max-width:100%' }));
        else if (item.type === 'Input.Text') {
          const input = el('input', { placeholder: item.placeholder ?? item.label ?? item.id, value: item.value ?? '' });
          inputs.push([item.id, () => input.value]);
          parent.append(input);
        } else if (item.type === 'Input.ChoiceSet') {
          const select = el('select', {}, ...(item.choices ?? []).map((choice) => el('option', { value: choice.value, textContent: choice.title })));
          if (item.value) select.value = item.value;
          inputs.push([item.id, () => select.value]);
          parent.append(select);
        } else if (item.type === 'Input.Toggle') {
          const box = el('input', { type: 'checkbox' });
          inputs.push([item.id, () => (box.checked ? item.valueOn ?? 'true' : item.valueOff ?? 'false')]);
          parent.append(el('label', {}, box, ` ${item.title ?? item.id}`));
        } else if (item.type === 'Container') walk(item.items, parent);
        else if (item.type === 'ColumnSet') for (const column of item.columns ?? []) walk(column.items, parent);
      }
    };
    walk(card.body, box);
    const actions = el('div', { className: 'card-actions' });
    for (const action of card.actions ?? []) {
      if (action.type === 'Action.Submit') {
        actions.append(
          el('button', {
            textContent: action.title ?? 'Submit',
            onclick: act(async () => {
              const data = typeof action.data === 'object' && action.data ? action.data : {};
              const value = { ...data, ...Object.fromEntries(inputs.map(([id, read]) => [id, read()])) };
              if (typeof action.data === 'string') await api('POST', `${pairPath()}/say`, { text: action.data });
              else await api('POST', `${pairPath()}/submit`, { value });
            }),
          }),
        );
      } else if (action.type === 'Action.OpenUrl') actions.append(el('a', { href: action.url, target: '_blank', rel: 'noopener', textContent: action.title ?? action.url }));
    }
    box.append(actions);
    return box;
  }

  function renderActivity(activity) {
    const parts = [];
    if (activity.text) parts.push(el('span', { textContent: activity.text }));
    for (const attachment of activity.attachments ?? []) {
      if (attachment.contentType === 'application/vnd.microsoft.card.adaptive') parts.push(renderCard(attachment.content ?? {}));
      else if (attachment.contentUrl) parts.push(el('a', { href: attachment.contentUrl, target: '_blank', rel: 'noopener', textContent: attachment.name ?? attachment.contentUrl }));
      else parts.push(el('span', { textContent: `[${attachment.contentType}]` }));
    }
    // Suggested actions (1:1 chats, imBack only): pressing one sends its value as what the user says.
    const suggested = (activity.suggestedActions?.actions ?? []).filter((action) => action.type === 'imBack');
    if (suggested.length) {
      parts.push(
        el(
          'div',
          { className: 'card-actions suggested' },
          ...suggested.map((action) => el('button', { textContent: action.title ?? action.value, onclick: act(() => say(String(action.value ?? action.title))) })),
        ),
      );
    }
    return parts;
  }

  async function refresh() {
    status = await api('GET', '/status');
    fillSelect($('bot'), status.bots.map((bot) => ({ ...bot, id: bot.appId })), (bot) => bot.name ?? bot.appId);
    fillSelect($('user'), status.users, (user) => `${user.name} (${user.tenantId.slice(0, 8)}…)`);
    const { appId, userId } = selected();
    const membership = status.memberships.find((m) => m.appId === appId && m.userId === userId);
    $('state').textContent = !membership ? 'Not installed.' : `${membership.installed ? 'Installed' : 'Not installed'}${membership.blocked ? ', bot blocked' : ''}; region ${membership.region}; conversation ${membership.conversationId}`;
    if (!membership) {
      $('messages').replaceChildren();
      $('typing').hidden = true;
      return;
    }
    const { conversationId, transcript } = await api('GET', `${pairPath()}/conversation`);
    const messages = new Map();
    let lastTypingAt = 0;
    let lastMessageAt = 0;
    for (const entry of transcript) {
      if (entry.op === 'typing') lastTypingAt = entry.at;
      else if (entry.op === 'update') messages.set(entry.activityId, { ...messages.get(entry.activityId), activity: entry.activity, edited: true });
      else if (entry.op === 'delete') messages.set(entry.activityId, { ...messages.get(entry.activityId), deleted: true });
      else {
        messages.set(entry.activityId, { at: entry.at, activity: entry.activity });
        lastMessageAt = entry.at;
      }
    }
    const items = [...messages.values()].map((m) => ({ ...m, from: 'bot' })).concat((sent.get(conversationId) ?? []).map((m) => ({ ...m, from: 'user' })));
    items.sort((a, b) => a.at - b.at);
    $('messages').replaceChildren(
      ...items.map((item) =>
        item.deleted
          ? el('li', { className: 'bot deleted', textContent: 'This message has been deleted.' })
          : el('li', { className: item.from }, ...renderActivity(item.activity), el('span', { className: 'meta', textContent: `${new Date(item.at).toLocaleTimeString()}${item.edited ? ' · edited' : ''}` })),
      ),
    );
    $('typing').hidden = !(lastTypingAt > lastMessageAt && Date.now() - lastTypingAt < 3000);
  }

  $('add-user').addEventListener('submit', act(async () => {
    const user = await api('POST', '/users', { name: $('new-user').value, tenantId: status.bots.find((b) => b.appId === selected().appId)?.tenantId });
    $('new-user').value = '';
    await refresh();
    $('user').value = user.id;
  }));
  $('install').addEventListener('click', act(() => api('POST', `${pairPath()}/install`, {})));
  $('uninstall').addEventListener('click', act(() => api('POST', `${pairPath()}/uninstall`)));
  $('block').addEventListener('click', act(() => api('POST', `${pairPath()}/block`, { shape: 'code' })));
  $('unblock').addEventListener('click', act(() => api('POST', `${pairPath()}/unblock`)));
  $('bot').addEventListener('change', act(() => undefined));
  $('user').addEventListener('change', act(() => undefined));
  $('composer').addEventListener('submit', act(async () => {
    const text = $('text').value;
    if (!text) return;
    await say(text);
    $('text').value = '';
  }));

  const tick = () => refresh().catch((error) => show(error.message, true)).finally(() => setTimeout(tick, 700));
  tick();
})();
