// The phone console: a person plays a mobile phone texting a business number through the Twilio simulator's control API.
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
  const show = (text, error = false) => {
    $('status').textContent = text;
    $('status').className = error ? 'error' : '';
  };
  const phone = () => $('phone').value.trim();
  const business = () => $('business').value;

  async function text(body, mediaUrls) {
    if (!business()) throw new Error('No business number: add one with POST /control/numbers');
    const result = await api('POST', '/sms', { from: phone(), to: business(), body, ...(mediaUrls.length ? { mediaUrls } : {}) });
    show(`Delivered to the business's webhook: HTTP ${result.status}`, result.status < 200 || result.status >= 300);
  }

  function render(messages, status) {
    const list = $('messages');
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    list.replaceChildren(
      ...messages.map((message) => {
        const mine = message.direction === 'inbound';
        const detail = mine ? 'you' : `${message.direction === 'outbound-reply' ? 'auto-reply' : 'business'} · ${message.status}${message.errorCode ? ` (${message.errorCode})` : ''}`;
        return el(
          'li',
          { className: mine ? 'mine' : 'theirs' },
          el('div', { className: 'body', textContent: message.body }),
          ...message.mediaUrls.map((url) => el('a', { href: url, textContent: 'media', target: '_blank', rel: 'noreferrer' })),
          el('small', { textContent: `${new Date(message.dateCreated).toLocaleTimeString()} · ${detail} · ${message.numSegments} segment(s)` }),
        );
      }),
    );
    if (atBottom) list.scrollTop = list.scrollHeight;
    const out = status.optOuts.some((o) => o.recipient === phone() && (o.sender === business() || o.sender === status.numbers.find((n) => n.phoneNumber === business())?.messagingServiceSid));
    $('state').textContent = out ? 'You are opted out of this number (STOP): the business cannot text you.' : 'Subscribed.';
  }

  async function refresh() {
    try {
      const status = await api('GET', '/status');
      const select = $('business');
      const keep = select.value;
      select.replaceChildren(...status.numbers.map((n) => el('option', { value: n.phoneNumber, textContent: n.phoneNumber })));
      if (status.numbers.some((n) => n.phoneNumber === keep)) select.value = keep;
      if (business() && /^\+[1-9]\d{6,14}$/.test(phone())) {
        render(await api('GET', `/phones/${encodeURIComponent(phone())}/conversation/${encodeURIComponent(business())}`), status);
      }
    } catch (error) {
      show(error.message, true);
    }
  }

  const act = (fn) => async (event) => {
    event?.preventDefault();
    try {
      await fn();
    } catch (error) {
      show(error.message, true);
    }
    await refresh();
  };

  $('composer').addEventListener(
    'submit',
    act(async () => {
      const body = $('text').value;
      const media = $('media').value.trim();
      if (!body && !media) return;
      await text(body, media ? [media] : []);
      $('text').value = '';
      $('media').value = '';
    }),
  );
  for (const word of ['stop', 'start', 'help']) $(word).addEventListener('click', act(() => text(word.toUpperCase(), [])));
  $('phone').addEventListener('change', refresh);
  $('business').addEventListener('change', refresh);
  void refresh();
  setInterval(refresh, 1000);
})();
