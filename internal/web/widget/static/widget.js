// The Switchboard chat widget: a customer chats with a bot (and the human
// agent who takes over) over the AIDA channel bot:<bot_id>, using the
// project's own Phoenix client. All message text goes through textContent.
import { Socket } from '/assets/shared/phoenix-client.js';

const root = document.getElementById('sbw');
const params = new URLSearchParams(location.search);
const botID = root.dataset.bot || params.get('bot');
const token = root.dataset.token || params.get('token');
const transport = ['websocket', 'longpoll'].includes(params.get('transport')) ? params.get('transport') : 'auto';

const el = {
  status: document.getElementById('sbw-status'),
  queue: document.getElementById('sbw-queue'),
  log: document.getElementById('sbw-log'),
  typing: document.getElementById('sbw-typing'),
  form: document.getElementById('sbw-form'),
  input: document.getElementById('sbw-input'),
  file: document.getElementById('sbw-file'),
  attach: document.getElementById('sbw-attach'),
  send: document.getElementById('sbw-send'),
  newChat: document.getElementById('sbw-new'),
  error: document.getElementById('sbw-error'),
};

// ---- stored state: the session and the last seq shown survive reloads ----

const storeKey = `switchboard.widget.${botID}`;

function loadState() {
  try {
    const s = JSON.parse(localStorage.getItem(storeKey) || '{}');
    return { session: typeof s.session === 'string' ? s.session : null, lastSeq: Number(s.lastSeq) || 0 };
  } catch (e) {
    return { session: null, lastSeq: 0 };
  }
}

function saveState() {
  try {
    localStorage.setItem(storeKey, JSON.stringify({ session: state.session, lastSeq: state.lastSeq }));
  } catch (e) {
    /* private mode: the chat still works for this page */
  }
}

const stored = loadState();
const state = {
  session: stored.session,
  lastSeq: 0, // what this page shows; stored.lastSeq is only a hint
  seen: new Set(),
  pendingOwn: [], // {text|image, li}: sent, not yet seen in the log
  agentName: null,
  closed: false,
  starting: null,
};

// ---- rendering ----

function setStatus(text, s) {
  el.status.textContent = text;
  if (s) root.dataset.state = s;
}

function showError(text) {
  el.error.textContent = text;
  el.error.hidden = !text;
}

function label(from, name) {
  switch (from) {
    case 'customer':
      return 'You';
    case 'bot':
      return 'Bot';
    case 'agent':
      return name || state.agentName || 'Agent';
    default:
      return '';
  }
}

function timeOf(at) {
  const d = at ? new Date(at) : new Date();
  const t = document.createElement('time');
  t.dateTime = d.toISOString();
  t.textContent = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  return t;
}

// place inserts a message in seq order; messages still without seq (the
// customer's, just sent) stay where they are.
function place(li, seq) {
  if (seq) {
    li.dataset.seq = String(seq);
    let before = null;
    for (let n = el.log.lastElementChild; n; n = n.previousElementSibling) {
      const s = Number(n.dataset.seq);
      if (!n.dataset.seq || s < seq) break;
      before = n;
    }
    el.log.insertBefore(li, before);
  } else {
    el.log.appendChild(li);
  }
  li.scrollIntoView({ block: 'end' });
}

function messageItem({ from, name, text, image, at }) {
  const li = document.createElement('li');
  li.className = `sbw-msg from-${from}`;
  if (from === 'system') {
    const p = document.createElement('p');
    p.textContent = text || '';
    li.appendChild(p);
    return li;
  }
  const who = document.createElement('span');
  who.className = 'sbw-who';
  who.textContent = label(from, name);
  li.appendChild(who);
  if (image) {
    const img = document.createElement('img');
    img.src = image;
    img.alt = from === 'customer' ? 'Image you sent' : `Image from ${label(from, name)}`;
    img.loading = 'lazy';
    li.appendChild(img);
  }
  if (text) {
    const p = document.createElement('p');
    p.className = 'sbw-text';
    p.textContent = text;
    li.appendChild(p);
  }
  li.appendChild(timeOf(at));
  return li;
}

function systemNote(text) {
  place(messageItem({ from: 'system', text }), 0);
}

// show renders one event of the log, once per seq.
function show(ev) {
  const hint = el.log.querySelector('.sbw-hint');
  if (hint) hint.remove();
  if (ev.seq) {
    if (state.seen.has(ev.seq)) return;
    state.seen.add(ev.seq);
    if (ev.seq > state.lastSeq) {
      state.lastSeq = ev.seq;
      saveState();
    }
  }
  if (ev.from === 'customer') {
    const i = state.pendingOwn.findIndex((p) => (ev.image ? p.image === ev.image : p.text === ev.text));
    if (i >= 0) {
      const [p] = state.pendingOwn.splice(i, 1);
      p.li.dataset.seq = String(ev.seq);
      p.li.classList.remove('pending');
      return;
    }
  }
  if (ev.from === 'agent' && ev.name) state.agentName = ev.name;
  if (ev.from === 'system' && ev.system_type && !['routing.assigned', 'routing.unassigned'].includes(ev.system_type)) {
    return; // only the routing notes mean something to a customer
  }
  place(messageItem(ev), ev.seq);
}

function showOwn(item) {
  const hint = el.log.querySelector('.sbw-hint');
  if (hint) hint.remove();
  const li = messageItem({ from: 'customer', ...item });
  li.classList.add('pending');
  state.pendingOwn.push({ ...item, li });
  place(li, 0);
}

function setQueue(position) {
  if (position > 0) {
    el.queue.textContent = position === 1 ? 'You are next in the queue for an agent.' : `You are number ${position} in the queue for an agent.`;
    el.queue.hidden = false;
  } else {
    el.queue.textContent = '';
    el.queue.hidden = true;
  }
}

let typingTimer = null;
function setTyping(isTyping) {
  clearTimeout(typingTimer);
  el.typing.textContent = isTyping ? `${state.agentName || 'The agent'} is typing…` : '';
  if (isTyping) typingTimer = setTimeout(() => setTyping(false), 10000);
}

// ---- the channel ----

if (!botID || !token) {
  setStatus('This page needs ?bot=…&token=… (see docs/WIDGET.md).', 'error');
  throw new Error('widget: no bot');
}

const socket = new Socket('/socket', { transport });
const channel = socket.channel(`bot:${botID}`, { access_token: token });

function call(event, payload) {
  return new Promise((resolve, reject) => {
    channel
      .push(event, payload)
      .receive('ok', resolve)
      .receive('error', (r) => reject(Object.assign(new Error((r && r.reason) || 'error'), { reply: r })))
      .receive('timeout', () => reject(new Error('timeout')));
  });
}

async function newSession() {
  const r = await call('new_session', {});
  state.session = r.session;
  state.lastSeq = 0;
  state.seen.clear();
  state.closed = false;
  saveState();
  return r.session;
}

// fetchHistory shows what this page has not shown yet, page by page.
async function fetchHistory() {
  for (;;) {
    const session = state.session;
    const r = await call('get_history', { session, after_seq: state.lastSeq });
    if (session !== state.session) return;
    r.events.forEach(show);
    if (r.last_seq > state.lastSeq) {
      state.lastSeq = r.last_seq;
      saveState();
    }
    if (!r.more) return;
  }
}

// sync makes sure there is a session and catches up with its log; it runs
// after every (re)join.
async function sync() {
  try {
    if (state.session) {
      try {
        await fetchHistory();
      } catch (err) {
        const reason = err.reply && err.reply.reason;
        if (reason !== 'unknown session' && reason !== 'session deleted') throw err;
        state.session = null;
      }
    }
    if (!state.session) {
      await newSession();
      await fetchHistory();
    }
    if (!el.log.firstElementChild) {
      const hint = messageItem({ from: 'system', text: 'Say hello to start the chat.' });
      hint.classList.add('sbw-hint');
      el.log.appendChild(hint);
    }
    setStatus(state.agentName ? `Chatting with ${state.agentName}` : 'Connected', 'ready');
    el.input.disabled = false;
    el.send.disabled = false;
    el.attach.disabled = false;
    root.dataset.session = state.session;
    root.dataset.transport = socket.transportName();
  } catch (err) {
    setStatus('Could not start the chat; retrying…', 'error');
    setTimeout(() => channel.isJoined() && sync(), 3000);
  }
}

channel.onJoin(() => {
  state.starting = sync();
});

channel.on('btu_msg', (p) => {
  if (p.session !== state.session) return;
  if (p.from === 'agent' || p.from === undefined) setTyping(false);
  show({ seq: p.seq, from: p.from || 'bot', text: p.text, at: null });
});

channel.on('agent_joined', (p) => {
  if (p.session !== state.session) return;
  state.agentName = p.name;
  setQueue(0);
  systemNote(`${p.name} joined the chat.`);
  setStatus(`Chatting with ${p.name}`, 'ready');
  root.dataset.agent = p.name;
});

channel.on('queue_position', (p) => {
  if (p.session !== state.session) return;
  setQueue(p.position);
  root.dataset.queue = String(p.position);
});

channel.on('typing', (p) => {
  if (p.session === state.session) setTyping(!!p.is_typing);
});

channel.on('chat_closed', (p) => {
  if (p.session !== state.session) return;
  state.closed = true;
  setQueue(0);
  setTyping(false);
  systemNote('The chat was closed. You can write again, or start a new chat.');
  state.agentName = null;
  delete root.dataset.agent;
  setStatus('Chat closed', 'closed');
});

channel
  .join()
  .receive('error', (r) => {
    if (r && r.reason === 'unauthorized') {
      setStatus('This chat is not available (unknown bot or wrong token).', 'error');
      socket.disconnect();
    }
  });

socket.onOpen(() => {
  root.dataset.transport = socket.transportName();
  if (root.dataset.state !== 'ready') setStatus('Connecting…');
});
socket.onClose(() => {
  if (root.dataset.state !== 'error') setStatus('Connection lost; reconnecting…', 'reconnecting');
});
socket.connect();

// ---- sending ----

let typingSentAt = 0;
let typingIdle = null;

function sendTyping(isTyping) {
  if (!state.session || !channel.isJoined()) return;
  channel.push('typing', { session: state.session, is_typing: isTyping });
}

el.input.addEventListener('input', () => {
  const now = Date.now();
  if (el.input.value && now - typingSentAt > 3000) {
    typingSentAt = now;
    sendTyping(true);
  }
  clearTimeout(typingIdle);
  typingIdle = setTimeout(() => {
    if (typingSentAt) sendTyping(false);
    typingSentAt = 0;
  }, 2000);
});

el.form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = el.input.value.trim();
  if (!text || !state.session) return;
  el.input.value = '';
  clearTimeout(typingIdle);
  if (typingSentAt) sendTyping(false);
  typingSentAt = 0;
  showOwn({ text });
  showError('');
  channel.push('utb_msg', { session: state.session, text }).receive('error', (r) => {
    showError(`Your message was not sent (${(r && r.reason) || 'error'}).`);
  });
  el.input.focus();
});

el.attach.addEventListener('click', () => el.file.click());

el.file.addEventListener('change', async () => {
  const file = el.file.files && el.file.files[0];
  el.file.value = '';
  if (!file || !state.session) return;
  showError('');
  const form = new FormData();
  form.append('file', file);
  try {
    const resp = await fetch(`/content/image/${encodeURIComponent(botID)}/${encodeURIComponent(state.session)}`, { method: 'POST', body: form });
    const body = await resp.json().catch(() => ({}));
    if (!resp.ok || !body.id) throw new Error(body.errors || `HTTP ${resp.status}`);
    showOwn({ image: `/content/image/${body.id}` });
    channel.push('utb_img', { session: state.session, image: body.id }).receive('error', (r) => {
      showError(`Your image was not sent (${(r && r.reason) || 'error'}).`);
    });
  } catch (err) {
    showError(`Your image could not be uploaded: ${err.message}`);
  }
  el.attach.focus();
});

el.newChat.addEventListener('click', async () => {
  el.log.replaceChildren();
  state.pendingOwn = [];
  state.agentName = null;
  delete root.dataset.agent;
  delete root.dataset.queue;
  setQueue(0);
  setTyping(false);
  state.session = null;
  saveState();
  setStatus('Starting a new chat…', 'connecting');
  if (channel.isJoined()) await sync();
  el.input.focus();
});

el.input.disabled = true;
el.send.disabled = true;
el.attach.disabled = true;
