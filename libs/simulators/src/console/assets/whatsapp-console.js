// The WhatsApp user console: a person plays a WhatsApp user writing to a business through the simulator's control API.
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
  const TICKS = { accepted: '🕓', sent: '✓', delivered: '✓✓', read: '✓✓ read', failed: '⚠ failed' };
  let status = { businesses: [], users: [] };

  const show = (text, error = false) => {
    $('status').textContent = text;
    $('status').style.color = error ? '#ffd0d0' : '#fff';
  };
  const selected = () => ({ phoneNumberId: $('business').value, waId: $('user').value });
  const pairPath = () => `/businesses/${encodeURIComponent(selected().phoneNumberId)}/users/${encodeURIComponent(selected().waId)}`;
  const act = (fn) => async (event) => {
    event?.preventDefault();
    try {
      await fn();
      await refresh();
    } catch (error) {
      show(error.message, true);
    }
  };
  const delivered = (result) => show(`Delivered to the business: HTTP ${result.status}`, result.status >= 400);

  function fillSelect(select, items, label) {
    const keep = select.value;
    select.replaceChildren(...items.map((item) => el('option', { value: item.id, textContent: label(item) })));
    if (items.some((item) => item.id === keep)) select.value = keep;
  }

  /** What the business sent: text or caption, media links, template body with its parameters, and buttons to press. */
  function renderSent(record) {
    const parts = [];
    if (record.template) parts.push(el('span', { className: 'template', textContent: `template ${record.template.name} (${record.template.language}, ${record.template.category.toLowerCase()})` }));
    if (record.text) parts.push(el('span', { textContent: record.text }));
    const media = record.request[record.type];
    if (media?.link) parts.push(el('a', { href: media.link, target: '_blank', rel: 'noopener', textContent: ` [${record.type}] ${media.filename ?? media.link}` }));
    const buttons = record.template
      ? record.template.buttons.map((button) => el('button', { textContent: button.title, onclick: act(async () => delivered(await api('POST', `${pairPath()}/press`, { payload: button.payload, title: button.title }))) }))
      : (record.choices ?? []).map((choice) => el('button', { textContent: choice.title, onclick: act(async () => delivered(await api('POST', `${pairPath()}/choose`, { id: choice.id }))) }));
    if (buttons.length) parts.push(el('div', { className: 'choices' }, ...buttons));
    return parts;
  }

  async function refresh() {
    status = await api('GET', '/status');
    fillSelect($('business'), status.businesses.map((b) => ({ ...b, id: b.phoneNumberId })), (b) => `${b.verifiedName} (+${b.displayPhoneNumber})`);
    fillSelect($('user'), status.users.map((u) => ({ ...u, id: u.waId })), (u) => `${u.name ?? 'User'} (+${u.waId})`);
    const { phoneNumberId, waId } = selected();
    if (!phoneNumberId || !waId) {
      $('messages').replaceChildren();
      $('state').textContent = 'Add a user to start.';
      return;
    }
    const user = status.users.find((u) => u.waId === waId) ?? {};
    const chat = await api('GET', `${pairPath()}/chat`);
    $('state').textContent = `Service window ${chat.windowOpen ? 'open' : 'closed'}${user.blocked ? '; business blocked' : ''}${user.stoppedMarketing ? '; marketing stopped' : ''}${user.onWhatsApp === false ? '; not on WhatsApp' : ''}`;
    const items = [
      ...chat.inbound.map((m) => ({ at: m.at, node: el('li', { className: 'user' }, el('span', { textContent: m.text ?? `[${m.type}]` }), el('span', { className: 'meta', textContent: `${new Date(m.at).toLocaleTimeString()}${m.read ? ' · read by business' : ''}` })) })),
      ...chat.sent.map((r) => ({
        at: r.at,
        node: el('li', { className: `business${r.status === 'failed' ? ' failed' : ''}` }, ...renderSent(r), el('span', { className: 'meta', textContent: `${new Date(r.at).toLocaleTimeString()} ${TICKS[r.status] ?? r.status}${r.error ? ` ${r.error.code} ${r.error.title}` : ''}` })),
      })),
    ].sort((a, b) => a.at - b.at);
    $('messages').replaceChildren(...items.map((item) => item.node));
    $('typing').hidden = !chat.typing;
  }

  $('add-user').addEventListener('submit', act(async () => {
    const waId = $('new-user').value.replace(/\D/g, '');
    await api('POST', `/users/${waId}`, { name: $('new-name').value || undefined });
    $('new-user').value = '';
    $('new-name').value = '';
    await refresh();
    $('user').value = waId;
  }));
  $('read').addEventListener('click', act(() => api('POST', `${pairPath()}/read`)));
  $('block').addEventListener('click', act(() => api('POST', `/users/${selected().waId}`, { blocked: true })));
  $('unblock').addEventListener('click', act(() => api('POST', `/users/${selected().waId}`, { blocked: false })));
  $('stop-marketing').addEventListener('click', act(() => api('POST', `/users/${selected().waId}`, { stoppedMarketing: true })));
  $('business').addEventListener('change', act(() => undefined));
  $('user').addEventListener('change', act(() => undefined));
  $('composer').addEventListener('submit', act(async () => {
    const text = $('text').value;
    if (!text) return;
    delivered(await api('POST', `${pairPath()}/say`, { text }));
    $('text').value = '';
  }));

  const tick = () => refresh().catch((error) => show(error.message, true)).finally(() => setTimeout(tick, 700));
  tick();
})();
