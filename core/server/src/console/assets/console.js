// The pushbus debug console: polls the server's console API with the token the user
// typed (kept in sessionStorage for this tab only) and renders what it answers. Every
// value from the server goes in through textContent: event data is untrusted.
'use strict';

const BASE = document.querySelector('meta[name="pushbus-base"]').content;
const API = `${BASE}/console/api`;
const MAX_ROWS = 500;
const $ = (id) => document.getElementById(id);

let token = sessionStorage.getItem('pushbus-console-token') || '';
let after = 0;
let timer = null;
let membersOf = null;

async function api(path, options = {}) {
  const res = await fetch(`${API}/${path}`, {
    ...options,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    cache: 'no-store',
  });
  const body = await res.json().catch(() => ({}));
  if (res.status === 401) throw Object.assign(new Error(body.error || 'wrong token'), { unauthorized: true });
  if (!res.ok) throw new Error(body.error || `HTTP ${res.status}`);
  return body;
}

function cell(tr, text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  tr.appendChild(td);
  return td;
}

function app() {
  return $('app').value;
}

async function refresh() {
  const overview = await api('overview');
  const select = $('app');
  const chosen = select.value;
  if (select.options.length !== overview.apps.length) {
    select.replaceChildren(...overview.apps.map((a) => new Option(a.id, a.id)));
    if (chosen) select.value = chosen;
  }
  const current = overview.apps.find((a) => a.id === app()) || overview.apps[0];
  if (!current) return;
  $('connections').textContent = current.connections;
  $('channel-count').textContent = current.channels.length;
  const rows = current.channels.map((c) => {
    const tr = document.createElement('tr');
    tr.dataset.channel = c.name;
    cell(tr, c.name);
    cell(tr, c.subscription_count ?? '');
    cell(tr, c.user_count ?? '');
    if (c.name.startsWith('presence-')) tr.addEventListener('click', () => showMembers(c.name));
    return tr;
  });
  $('channels').tBodies[0].replaceChildren(...rows);
  $('no-channels').hidden = rows.length > 0;
  $('status').textContent = `node ${overview.node} · ${new Date().toLocaleTimeString()}`;
  if (membersOf) await showMembers(membersOf);
}

async function refreshUsers() {
  const a = encodeURIComponent(app());
  if (!a) return;
  const [log, online] = await Promise.all([api(`delivery_log?app=${a}`), api(`online_users?app=${a}`)]);
  const deliveries = log.events.map((r) => {
    const tr = document.createElement('tr');
    tr.dataset.channel = r.channel;
    cell(tr, new Date(r.time).toLocaleTimeString());
    cell(tr, r.channel);
    cell(tr, r.event);
    cell(tr, r.size);
    cell(tr, r.nodes > 1 ? `${r.delivered} (${r.nodes} nodes)` : r.delivered, 'delivered');
    cell(tr, r.except || '');
    return tr;
  });
  $('deliveries').tBodies[0].replaceChildren(...deliveries);
  $('no-deliveries').textContent = log.size === 0 ? 'The delivery log is off for this app.' : 'Nothing published yet.';
  $('no-deliveries').hidden = deliveries.length > 0;
  const users = online.users.map((u) => {
    const tr = document.createElement('tr');
    cell(tr, u.info === undefined ? u.id : `${u.id} ${JSON.stringify(u.info)}`);
    cell(tr, u.connections);
    cell(tr, u.location || '');
    return tr;
  });
  $('online').tBodies[0].replaceChildren(...users);
  $('no-online').hidden = users.length > 0;
}

async function showMembers(channel) {
  membersOf = channel;
  const { users } = await api(`members?app=${encodeURIComponent(app())}&channel=${encodeURIComponent(channel)}`);
  $('members-channel').textContent = channel;
  $('member-list').replaceChildren(
    ...users.map((u) => {
      const li = document.createElement('li');
      li.textContent = u.info === undefined ? u.id : `${u.id} ${JSON.stringify(u.info)}`;
      return li;
    }),
  );
  $('members').hidden = false;
}

function details(e) {
  const parts = [];
  if (e.data !== undefined) parts.push(e.data);
  if (e.socket_id) parts.push(`socket ${e.socket_id}`);
  if (e.user_id) parts.push(`user ${e.user_id}`);
  if (e.delivered !== undefined) parts.push(`to ${e.delivered} connection${e.delivered === 1 ? '' : 's'} here`);
  return parts.join(' · ');
}

function matchesFilter(tr) {
  const filter = $('filter').value.trim();
  const lifecycle = $('show-lifecycle').checked;
  const okChannel = !filter || (tr.dataset.channel || '').includes(filter);
  return okChannel && (lifecycle || tr.dataset.kind !== 'lifecycle');
}

async function pollEvents() {
  const { events, last, skipped } = await api(`events?after=${after}`);
  after = last;
  if (skipped) $('skipped').textContent = `${skipped} older events not shown (the console keeps the last ${MAX_ROWS})`;
  const body = $('events').tBodies[0];
  for (const e of events) {
    if (e.app !== app()) continue;
    const tr = document.createElement('tr');
    tr.dataset.channel = e.channel || '';
    tr.dataset.kind = e.kind;
    tr.className = `kind-${e.kind}`;
    cell(tr, new Date(e.at_ms).toLocaleTimeString());
    cell(tr, e.kind);
    cell(tr, e.channel || '');
    cell(tr, e.name);
    cell(tr, details(e), 'details');
    tr.hidden = !matchesFilter(tr);
    body.insertBefore(tr, body.firstChild);
  }
  while (body.rows.length > MAX_ROWS) body.deleteRow(body.rows.length - 1);
}

async function tick() {
  try {
    await Promise.all([refresh(), pollEvents()]);
    await refreshUsers();
  } catch (err) {
    if (err.unauthorized) return signOut(err.message);
    $('status').textContent = `cannot reach the server: ${err.message}`;
  }
  timer = setTimeout(tick, 1000);
}

function signOut(message) {
  clearTimeout(timer);
  sessionStorage.removeItem('pushbus-console-token');
  $('console').hidden = true;
  $('login').hidden = false;
  $('status').textContent = 'signed out';
  const error = $('login-error');
  error.textContent = message || '';
  error.hidden = !message;
}

async function signIn() {
  try {
    await api('overview');
  } catch (err) {
    return signOut(err.message);
  }
  sessionStorage.setItem('pushbus-console-token', token);
  $('login').hidden = true;
  $('console').hidden = false;
  tick();
}

$('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  token = $('token').value;
  signIn();
});

$('publish').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const result = $('publish-result');
  try {
    await api('publish', {
      method: 'POST',
      body: JSON.stringify({ app: app(), channel: $('pub-channel').value.trim(), event: $('pub-event').value.trim(), data: $('pub-data').value }),
    });
    result.textContent = `published at ${new Date().toLocaleTimeString()}`;
    result.className = 'muted';
  } catch (err) {
    result.textContent = err.message;
    result.className = 'error';
  }
});

$('filter').addEventListener('input', () => {
  for (const tr of $('events').tBodies[0].rows) tr.hidden = !matchesFilter(tr);
});
$('show-lifecycle').addEventListener('change', () => {
  for (const tr of $('events').tBodies[0].rows) tr.hidden = !matchesFilter(tr);
});
$('clear').addEventListener('click', () => $('events').tBodies[0].replaceChildren());
$('app').addEventListener('change', () => {
  membersOf = null;
  $('members').hidden = true;
  $('events').tBodies[0].replaceChildren();
  refresh().catch(() => {});
});

if (token) signIn();
