// The live-agent console: my chats, the queue of my groups, one chat's whole
// history, reply, file, transfer, close, routing status. State is read with
// the chat.io Agent API; the channel agent:<person_id> only says what changed.
import { Socket } from '/assets/shared/phoenix-client.js';
import { el, $, show, time, safeURL } from './dom.js';
import { token, agent, get, request, ApiError } from './api.js';

const STATUS_LABELS = {
  accepting_chats: 'Accepting chats',
  not_accepting_chats: 'Not accepting chats',
  offline: 'Offline',
};

const state = {
  me: null,          // GET /console/api/me
  groups: new Map(), // group id → name
  names: new Map(),  // user id → name
  kinds: new Map(),  // user id → customer | agent
  agents: [],        // transfer targets (directory)
  chats: new Map(),  // chat id → summary (list_chats)
  unread: new Set(), // chat ids with events not seen
  current: null,     // open chat id
  currentChat: null, // get_chat_threads' chat
  events: new Map(), // event id → event of the open chat
  socket: null,
  channel: null,
};

function setError(id, err) {
  $(id).textContent = err ? (err.message || String(err)) : '';
}

// ---- login ----

function showLogin(message) {
  show($('login'), true);
  show($('workspace'), false);
  show($('session'), false);
  setError('login-error', message || '');
  $('token-input').focus();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const t = $('token-input').value.trim();
  if (!t) return;
  token.set(t);
  $('token-input').value = '';
  await start();
});

$('logout').addEventListener('click', () => {
  token.clear();
  if (state.socket) state.socket.disconnect();
  state.socket = state.channel = null;
  state.current = null;
  showLogin('');
});

async function start() {
  if (!token.get()) {
    showLogin('');
    return;
  }
  try {
    state.me = await get('/console/api/me');
  } catch (err) {
    token.clear();
    const msg = err instanceof ApiError && (err.status === 401 || err.status === 403)
      ? 'This token is not a live agent\'s token.' : err.message;
    showLogin(msg);
    return;
  }
  const me = state.me.agent;
  state.names.set(me.id, me.name || 'You');
  for (const g of state.me.groups) state.groups.set(g.id, g.name);
  $('agent-name').textContent = me.name || me.id;
  $('status').value = me.routing_status;
  show($('admin-link'), state.me.admin);
  show($('login'), false);
  show($('session'), true);
  show($('workspace'), true);
  connect();
  await refreshAll();
}

// ---- live updates ----

function connect() {
  if (state.socket) state.socket.disconnect();
  const socket = new Socket('/socket');
  const channel = socket.channel('agent:' + state.me.agent.id, () => ({ token: token.get() }));
  channel.on('event', onEvent);
  channel.on('chat_assigned', (p) => {
    announce('A conversation was assigned to you.');
    loadChats().then(() => { if (!state.current) openChat(p.chat_id); });
  });
  channel.on('chat_unassigned', (p) => { loadChats(); if (p.chat_id === state.current) openChat(p.chat_id); });
  channel.on('chat_closed', (p) => { loadChats(); if (p.chat_id === state.current) openChat(p.chat_id); });
  channel.on('queue_changed', () => scheduleQueue());
  channel.on('status_changed', (p) => { $('status').value = p.routing_status; });
  channel.on('resync', () => refreshAll());
  channel.onJoin(() => { $('live').textContent = 'Live'; refreshAll(); });
  channel.onError(() => { $('live').textContent = 'Reconnecting…'; });
  channel.join()
    .receive('error', (resp) => {
      if (resp && (resp.reason === 'unauthorized' || resp.reason === 'forbidden')) {
        token.clear();
        socket.disconnect();
        showLogin('Your session ended; log in again.');
      }
    });
  socket.connect();
  state.socket = socket;
  state.channel = channel;
}

function announce(text) {
  $('live').textContent = text;
  setTimeout(() => { if ($('live').textContent === text) $('live').textContent = 'Live'; }, 4000);
}

function onEvent(p) {
  const chat = state.chats.get(p.chat_id);
  if (chat) {
    chat.last_event_per_type = chat.last_event_per_type || {};
    chat.last_event_per_type[p.event.type] = { thread_id: p.thread_id, event: p.event };
  }
  if (p.chat_id === state.current) {
    addEvent(p.event);
  } else if (p.event.author_id !== state.me.agent.id && p.event.type !== 'system_message') {
    state.unread.add(p.chat_id);
  }
  if (!chat) loadChats();
  else renderChats();
}

let queueTimer = null;
function scheduleQueue() {
  clearTimeout(queueTimer);
  queueTimer = setTimeout(loadQueue, 100);
}

// ---- lists ----

async function refreshAll() {
  await Promise.all([loadDirectory(), loadChats(), loadQueue()]);
  if (state.current) await openChat(state.current, { keepFocus: true });
}

async function loadDirectory() {
  try {
    const d = await get('/console/api/directory');
    for (const g of d.groups) state.groups.set(g.id, g.name);
    for (const a of d.agents) {
      state.names.set(a.id, a.name);
      state.kinds.set(a.id, 'agent');
    }
    state.agents = d.agents;
  } catch (err) {
    console.warn('directory', err);
  }
}

function remember(users) {
  for (const u of users || []) {
    if (u.name) state.names.set(u.id, u.name);
    state.kinds.set(u.id, u.type);
  }
}

async function loadChats() {
  try {
    const r = await agent('list_chats', {});
    state.chats = new Map(r.chats_summary.map((c) => [c.id, c]));
    for (const c of r.chats_summary) remember(c.users);
  } catch (err) {
    if (err.status === 401) return showLogin('Your session ended; log in again.');
    console.warn('list_chats', err);
  }
  renderChats();
}

function customerOf(users) {
  const c = (users || []).find((u) => u.type === 'customer');
  return c ? (c.name || 'Customer') : 'Conversation';
}

function isMine(c) {
  const me = state.me.agent.id;
  return c.last_thread_summary && c.last_thread_summary.active &&
    (c.users || []).some((u) => u.id === me && u.present);
}

function lastText(c) {
  const per = c.last_event_per_type || {};
  let best = null;
  for (const t of ['message', 'file']) {
    const e = per[t] && per[t].event;
    if (e && (!best || e.order > best.order)) best = e;
  }
  if (!best) return '';
  return best.type === 'file' ? 'File: ' + (best.name || '') : best.text || '';
}

function chatButton(c) {
  const unread = state.unread.has(c.id);
  const per = c.last_event_per_type || {};
  const ts = Math.max(0, ...Object.values(per).map((x) => x.event.timestamp || 0));
  return el('li', {},
    el('button', {
      type: 'button', class: 'chat-item' + (unread ? ' unread' : ''),
      'aria-current': c.id === state.current ? 'true' : false,
      dataset: { chatId: c.id },
      onclick: () => openChat(c.id),
    },
    el('span', { class: 'who' }, customerOf(c.users)),
    unread ? el('span', { class: 'badge' }, 'new') : null,
    el('span', { class: 'when' }, time(ts)),
    el('span', { class: 'preview' }, lastText(c))));
}

function renderChats() {
  const all = [...state.chats.values()];
  const mine = all.filter(isMine);
  const closed = all.filter((c) => !isMine(c)).slice(0, 10);
  $('mine').replaceChildren(...mine.map(chatButton));
  $('closed').replaceChildren(...closed.map(chatButton));
  $('mine-count').textContent = mine.length ? `(${mine.length})` : '';
  show($('mine-empty'), mine.length === 0);
}

async function loadQueue() {
  let queue = [];
  try {
    queue = (await agent('get_queue', {})).queue;
  } catch (err) {
    console.warn('get_queue', err);
  }
  $('queue').replaceChildren(...queue.map((q) => {
    const group = state.groups.get(q.group_id) || `Group ${q.group_id}`;
    const label = `Customer waiting in ${group}, number ${q.position}, since ${time(q.queued_at)}`;
    return el('li', { class: 'queue-item', dataset: { chatId: q.chat_id } },
      el('span', { class: 'who' }, `#${q.position} · ${group}`),
      el('span', { class: 'when' }, 'since ' + time(q.queued_at)),
      el('button', { type: 'button', class: 'sb-button take', 'aria-label': 'Take: ' + label, onclick: () => take(q.chat_id) }, 'Take'));
  }));
  $('queue-count').textContent = queue.length ? `(${queue.length})` : '';
  show($('queue-empty'), queue.length === 0);
}

async function take(chatID) {
  try {
    await agent('take_chat', { chat_id: chatID });
  } catch (err) {
    announce('Could not take the chat: ' + err.message);
    loadQueue();
    return;
  }
  await Promise.all([loadChats(), loadQueue()]);
  await openChat(chatID);
}

// ---- one chat ----

async function openChat(chatID, opts = {}) {
  const switching = state.current !== chatID;
  state.current = chatID;
  state.unread.delete(chatID);
  if (switching) {
    state.events = new Map();
    $('history').replaceChildren();
  }
  document.body.classList.add('chat-open');
  show($('chat'), true);
  show($('no-chat'), false);
  setError('chat-error', '');
  renderChats();
  let chat;
  try {
    let r = await agent('get_chat_threads', { chat_id: chatID });
    const ids = r.chat.threads_summary.map((t) => t.thread_id);
    if (ids.length > 1) r = await agent('get_chat_threads', { chat_id: chatID, thread_ids: ids.slice(-20) });
    chat = r.chat;
  } catch (err) {
    setError('chat-error', err);
    return;
  }
  if (state.current !== chatID) return; // another chat was opened meanwhile
  state.currentChat = chat;
  remember(chat.users);
  $('chat-title').textContent = customerOf(chat.users);
  for (const t of chat.threads) for (const e of t.events) addEvent(e, true);
  renderHistory();
  renderChatState();
  if (switching && !opts.keepFocus) {
    const reply = $('reply');
    if (!reply.disabled) reply.focus();
    else $('history').focus();
  }
}

function activeAndMine() {
  const c = state.currentChat;
  if (!c) return false;
  const last = c.threads[c.threads.length - 1];
  const me = state.me.agent.id;
  return Boolean(last && last.active && c.users.some((u) => u.id === me && u.present));
}

function renderChatState() {
  const ok = activeAndMine();
  for (const id of ['reply', 'transfer', 'close-chat', 'file']) $(id).disabled = !ok;
  $('reply-form').querySelector('button[type=submit]').disabled = !ok;
  $('reply-form').classList.toggle('disabled', !ok);
  const c = state.currentChat;
  const last = c && c.threads[c.threads.length - 1];
  $('chat-state').textContent = ok ? '' : (last && !last.active ? 'This conversation is closed.' : 'You are not in this conversation any more.');
}

function addEvent(e, batch = false) {
  if (state.events.has(e.id)) return;
  state.events.set(e.id, e);
  if (!batch) renderHistory();
}

function authorLabel(e) {
  if (e.type === 'system_message') return 'System';
  if (e.author_id === state.me.agent.id) return 'You';
  const name = state.names.get(e.author_id);
  const kind = state.kinds.get(e.author_id);
  if (kind === 'customer') return name || 'Customer';
  return name || 'Agent';
}

function renderEvent(e) {
  const mine = e.author_id === state.me.agent.id;
  const kind = e.type === 'system_message' ? 'system' : mine ? 'mine' : (state.kinds.get(e.author_id) === 'customer' ? 'customer' : 'agent');
  let body;
  if (e.type === 'file') {
    const url = safeURL(e.url);
    body = (e.content_type || '').startsWith('image/')
      ? el('a', { href: url, target: '_blank', rel: 'noopener' }, el('img', { src: url, alt: e.name || 'image', class: 'file-image' }))
      : el('a', { href: url, target: '_blank', rel: 'noopener' }, 'File: ' + (e.name || 'download'));
  } else if (e.type === 'message' || e.type === 'system_message') {
    body = el('p', { class: 'text' }, e.text || '');
  } else {
    body = el('p', { class: 'text muted' }, `(${e.type})`);
  }
  return el('li', { class: 'ev ' + kind, dataset: { order: e.order, type: e.type } },
    el('div', { class: 'meta' },
      el('span', { class: 'author' }, authorLabel(e)),
      e.recipients === 'agents' ? el('span', { class: 'note' }, 'note to agents') : null,
      el('time', {}, time(e.timestamp))),
    body);
}

function renderHistory() {
  const list = $('history');
  const evs = [...state.events.values()].sort((a, b) => a.order - b.order);
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.replaceChildren(...evs.map(renderEvent));
  if (atBottom || list.dataset.opened !== state.current) list.scrollTop = list.scrollHeight;
  list.dataset.opened = state.current;
}

// ---- actions ----

$('reply-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const text = $('reply').value.trim();
  if (!text || !state.current) return;
  setError('chat-error', '');
  try {
    const r = await agent('send_event', { chat_id: state.current, event: { type: 'message', text } });
    $('reply').value = '';
    if (r && r.event) addEvent(r.event);
  } catch (err) {
    setError('chat-error', err);
  }
  $('reply').focus();
});

$('reply').addEventListener('keydown', (ev) => {
  if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    $('reply-form').requestSubmit();
  }
});

$('file').addEventListener('change', async () => {
  const input = $('file');
  const file = input.files && input.files[0];
  if (!file || !state.current) return;
  setError('chat-error', '');
  const fd = new FormData();
  fd.append('file', file, file.name);
  try {
    const up = (await request('POST', '/console/api/files?chat_id=' + encodeURIComponent(state.current), fd)).data;
    const event = { type: 'file', url: up.url, name: up.name, content_type: up.content_type, size: up.size };
    if (up.width) Object.assign(event, { width: up.width, height: up.height });
    const r = await agent('send_event', { chat_id: state.current, event });
    if (r && r.event) addEvent(r.event);
  } catch (err) {
    setError('chat-error', err);
  }
  input.value = '';
});

$('close-chat').addEventListener('click', async () => {
  if (!state.current) return;
  try {
    await agent('close_thread', { chat_id: state.current });
    announce('The conversation is closed.');
  } catch (err) {
    setError('chat-error', err);
  }
  await loadChats();
  await openChat(state.current, { keepFocus: true });
  $('history').focus();
});

$('back').addEventListener('click', () => {
  const id = state.current;
  state.current = null;
  document.body.classList.remove('chat-open');
  show($('chat'), false);
  show($('no-chat'), true);
  renderChats();
  const btn = document.querySelector(`.chat-item[data-chat-id="${CSS.escape(id || '')}"]`);
  if (btn) btn.focus();
});

$('status').addEventListener('change', async () => {
  const want = $('status').value;
  try {
    await agent('update_agent', { routing_status: want });
    announce('Status: ' + STATUS_LABELS[want]);
  } catch (err) {
    announce('Could not change the status: ' + err.message);
    const me = await get('/console/api/me').catch(() => null);
    if (me) $('status').value = me.agent.routing_status;
  }
});

// ---- transfer ----

const dialog = $('transfer-dialog');

$('transfer').addEventListener('click', () => {
  const sel = $('transfer-target');
  const me = state.me.agent.id;
  const groups = el('optgroup', { label: 'Groups' },
    ...[...state.groups.entries()].sort((a, b) => a[0] - b[0])
      .map(([id, name]) => el('option', { value: 'group:' + id }, name || `Group ${id}`)));
  const agents = el('optgroup', { label: 'Agents' },
    ...state.agents.filter((a) => a.id !== me)
      .map((a) => el('option', { value: 'agent:' + a.id }, `${a.name || a.id} (${a.kind === 'bot' ? 'bot, ' : ''}${STATUS_LABELS[a.routing_status] || a.routing_status})`)));
  sel.replaceChildren(groups, agents);
  setError('transfer-error', '');
  dialog.showModal();
  sel.focus();
});

$('transfer-cancel').addEventListener('click', () => dialog.close());

$('transfer-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const [type, id] = $('transfer-target').value.split(/:(.*)/s);
  const target = { type, ids: [type === 'group' ? Number(id) : id] };
  try {
    const r = await agent('transfer_chat', { chat_id: state.current, target });
    dialog.close();
    announce(r.queued ? 'Transferred: the customer waits in the queue.' : 'Transferred.');
  } catch (err) {
    setError('transfer-error', err);
    return;
  }
  await loadChats();
  await openChat(state.current, { keepFocus: true });
  $('history').focus();
});

start();
