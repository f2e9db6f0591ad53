// The admin pages: bots (with manifest upload), groups, calendars, webhooks
// and their delivery log. Every call uses an admin-scoped bearer token.
import { el, $, show } from './dom.js';
import { token, get, post, request, ApiError } from './api.js';

const PAGES = ['bots', 'groups', 'calendars', 'webhooks'];

function notice(text) {
  $('notice').textContent = text;
}

function fmt(ts) {
  return ts ? new Date(ts).toLocaleString() : '';
}

function showError(id, err) {
  $(id).textContent = err ? (err.message || String(err)) : '';
}

// ---- login and navigation ----

function showLogin(message) {
  for (const p of PAGES) show($(p), false);
  show($('tabs'), false);
  show($('logout'), false);
  show($('login'), true);
  $('login-error').textContent = message || '';
  $('token-input').focus();
}

$('login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  token.set($('token-input').value.trim());
  $('token-input').value = '';
  await start();
});

$('logout').addEventListener('click', () => {
  token.clear();
  showLogin('');
});

async function start() {
  if (!token.get()) return showLogin('');
  try {
    await get('/admin/v1/groups'); // checks the token and its scope
  } catch (err) {
    token.clear();
    return showLogin(err instanceof ApiError && err.status === 403 ? 'This token lacks the admin scope.' : err.message);
  }
  show($('login'), false);
  show($('tabs'), true);
  show($('logout'), true);
  await route();
}

async function route(focus = false) {
  if (!token.get()) return;
  const page = PAGES.includes(location.hash.slice(1)) ? location.hash.slice(1) : 'bots';
  for (const p of PAGES) show($(p), p === page);
  for (const a of $('tabs').querySelectorAll('a')) {
    if (a.getAttribute('href') === '#' + page) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  notice('');
  await ({ bots: loadBots, groups: loadGroups, calendars: loadCalendars, webhooks: loadWebhooks })[page]();
  if (focus) $(page + '-title').focus();
}

window.addEventListener('hashchange', () => route(true));

// ---- bots ----

async function loadBots() {
  const { bots } = await get('/admin/v1/bots');
  $('bots-body').replaceChildren(...bots.map((b) => el('tr', {},
    el('td', {}, b.name), el('td', {}, el('code', {}, b.id)), el('td', {}, b.has_brain ? 'yes' : 'no'),
    el('td', {}, b.routing_status || 'offline'), el('td', {}, fmt(b.created_at)))));
  const sel = $('manifest-bot');
  const keep = sel.value;
  sel.replaceChildren(...bots.map((b) => el('option', { value: b.id }, `${b.name} (${b.id.slice(-8)})`)));
  if (keep) sel.value = keep;
}

$('bot-create').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const body = { name: $('bot-name').value.trim() };
  if ($('bot-ws').value.trim()) body.ws_token = $('bot-ws').value.trim();
  if ($('bot-handoff').value !== '') body.handoff_group = Number($('bot-handoff').value);
  try {
    const r = await post('/admin/v1/bots', body);
    notice(`Bot created: ${r.bot_id}` + (r.ws_token ? ` (websocket token ${r.ws_token})` : ''));
    ev.target.reset();
    await loadBots();
    $('manifest-bot').value = r.bot_id;
  } catch (err) {
    notice('');
    $('manifest-result').replaceChildren(el('p', { class: 'error' }, err.message));
  }
});

$('manifest-file').addEventListener('change', async () => {
  const f = $('manifest-file').files[0];
  if (f) $('manifest-text').value = await f.text();
});

$('manifest-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const out = $('manifest-result');
  out.replaceChildren();
  const botID = $('manifest-bot').value;
  const text = $('manifest-text').value;
  if (!botID || !text.trim()) {
    out.replaceChildren(el('p', { class: 'error' }, 'Choose a bot and a manifest.'));
    return;
  }
  let path = '/admin/v1/bots/' + encodeURIComponent(botID) + '/manifest';
  if ($('manifest-handoff').value !== '') path += '?handoff_group=' + encodeURIComponent($('manifest-handoff').value);
  try {
    await request('PUT', path, text, { raw: true });
    out.replaceChildren(el('p', { class: 'ok' }, 'Manifest uploaded: the bot answers with it from its next message.'));
    await loadBots();
  } catch (err) {
    const items = (err.details || []).map((d) => el('li', {}, el('code', {}, d.path), ': ' + d.message));
    out.replaceChildren(el('div', { class: 'problems' },
      el('p', {}, err.message),
      items.length ? el('ul', { 'aria-label': 'Problems in the manifest' }, items) : null));
  }
});

// ---- groups ----

async function loadGroups() {
  showError('groups-error', null);
  const { groups } = await get('/admin/v1/groups');
  $('groups-body').replaceChildren(...groups.map((g) => el('tr', {},
    el('td', {}, String(g.id)), el('td', {}, g.name), el('td', {}, g.project || ''), el('td', {}, g.country || ''),
    el('td', {}, g.members.length ? el('ul', {}, g.members.map((m) => el('li', {}, `${m.name || m.agent_id} (${m.kind}, ${m.priority})`))) : '—'))));
  const sel = $('member-group');
  const keep = sel.value;
  sel.replaceChildren(...groups.map((g) => el('option', { value: g.id }, `${g.id} · ${g.name}`)));
  if (keep) sel.value = keep;
}

$('group-create').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  try {
    const g = await post('/admin/v1/groups', { name: $('group-name').value, project: $('group-project').value, country: $('group-country').value });
    notice(`Group ${g.id} created.`);
    ev.target.reset();
    await loadGroups();
  } catch (err) {
    showError('groups-error', err);
  }
});

$('member-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const path = `/admin/v1/groups/${encodeURIComponent($('member-group').value)}/members/${encodeURIComponent($('member-agent').value.trim())}`;
  try {
    await request('PUT', path, { priority: $('member-priority').value });
    notice('Membership saved.');
    await loadGroups();
  } catch (err) {
    showError('groups-error', err);
  }
});

// ---- calendars ----

async function loadCalendars() {
  showError('calendars-error', null);
  const { calendars } = await get('/admin/v1/calendars');
  $('calendars-body').replaceChildren(...(calendars || []).map((c) => el('tr', {},
    el('td', {}, c.project), el('td', {}, c.country), el('td', {}, c.time_zone || ''),
    el('td', {}, el('button', { type: 'button', class: 'sb-button secondary', 'aria-label': `Edit ${c.project} ${c.country}`, onclick: () => editCalendar(c) }, 'Edit')))));
}

function editCalendar(c) {
  $('cal-project').value = c.project;
  $('cal-country').value = c.country;
  $('cal-json').value = JSON.stringify(c, null, 2);
  $('cal-json').focus();
}

$('calendar-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  showError('calendars-error', null);
  const path = `/admin/v1/calendars/${encodeURIComponent($('cal-project').value.trim())}/${encodeURIComponent($('cal-country').value.trim())}`;
  try {
    await request('PUT', path, $('cal-json').value, { raw: true });
    notice('Calendar saved.');
    await loadCalendars();
  } catch (err) {
    showError('calendars-error', err);
  }
});

// ---- webhooks ----

let cursor = null;

async function loadWebhooks() {
  showError('webhooks-error', null);
  const { subscriptions } = await get('/admin/v1/webhooks/subscriptions');
  $('subs-body').replaceChildren(...subscriptions.map((s) => el('tr', {},
    el('td', {}, s.url), el('td', {}, [s.owner_kind, s.owner_id].filter(Boolean).join(' ')), el('td', {}, s.scheme),
    el('td', {}, (s.actions || []).map((a) => (typeof a === 'string' ? a : a.name || JSON.stringify(a))).join(', ')),
    el('td', {}, s.enabled ? (s.failing_since ? 'failing since ' + fmt(s.failing_since) : 'enabled') : 'disabled' + (s.disabled_reason ? ': ' + s.disabled_reason : '')))));
  await loadDeliveries(false);
}

async function loadDeliveries(more) {
  const q = new URLSearchParams({ limit: '50' });
  if ($('delivery-status').value) q.set('status', $('delivery-status').value);
  if (more && cursor) q.set('cursor', String(cursor));
  const r = await get('/admin/v1/webhooks/deliveries?' + q);
  const rows = r.deliveries.map((d) => el('tr', {},
    el('td', {}, fmt(d.created_at)), el('td', {}, d.action),
    el('td', { class: 'status-' + d.status }, d.status), el('td', {}, String(d.attempts)),
    el('td', {}, d.last_status_code ? `HTTP ${d.last_status_code}` : (d.last_error || '')),
    el('td', {}, el('button', { type: 'button', class: 'sb-button secondary', 'aria-label': `Resend ${d.action} delivery ${d.id}`, onclick: () => resend(d.id) }, 'Resend'))));
  if (more) $('deliveries-body').append(...rows);
  else $('deliveries-body').replaceChildren(...rows);
  cursor = r.next_cursor || null;
  show($('deliveries-more'), Boolean(cursor));
}

async function resend(id) {
  try {
    await post(`/admin/v1/webhooks/deliveries/${encodeURIComponent(id)}/resend`);
    notice('Delivery queued again.');
    await loadDeliveries(false);
  } catch (err) {
    showError('webhooks-error', err);
  }
}

$('deliveries-filter').addEventListener('submit', (ev) => {
  ev.preventDefault();
  loadDeliveries(false).catch((err) => showError('webhooks-error', err));
});
$('deliveries-more').addEventListener('click', () => loadDeliveries(true).catch((err) => showError('webhooks-error', err)));

start().catch((err) => notice(err.message));
