// The official Python server SDK (PyPI pusher==3.3.4) against pushbus,
// observed by a pusher-js client; and pushbus's user-status and channel-history routes
// signed by that SDK, with pusher-js clients signed in or subscribed. Needs
// tests/python/.venv (see README).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer, app } from '../lib/server.js';
import { pjs, rest, collector } from '../lib/clients.js';
import { deferred, withTimeout, uid, waitUntil } from '../lib/util.js';

const PY_DIR = fileURLToPath(new URL('../../python/', import.meta.url));
const PYTHON = `${PY_DIR}.venv/bin/python`;
const SCRIPT = `${PY_DIR}publish.py`;
const USER_STATUS_SCRIPT = `${PY_DIR}user_status.py`;
const HISTORY_SCRIPT = `${PY_DIR}history.py`;
const HAVE_VENV = existsSync(PYTHON);

// Channels named py-history-* keep their last 10 events (see the history test).
const APP = app({ history: [{ channels: 'py-history-*', events: 10, ttl: 3600 }] });
let server;

before(async () => {
  if (HAVE_VENV) server = await startServer({ apps: [APP] });
});
after(async () => {
  await server?.stop();
});

function runPython(args, script = SCRIPT) {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, [script, ...args], { timeout: 20000 }, (err, stdout, stderr) => {
      let json;
      try {
        json = JSON.parse(stdout.trim().split('\n').pop());
      } catch {
        json = undefined;
      }
      if (json === undefined) return reject(new Error(`${script} failed: ${err?.message}\nstdout: ${stdout}\nstderr: ${stderr}`));
      resolve({ code: err ? err.code : 0, json, stderr });
    });
  });
}

function subscribed(client, name) {
  const d = deferred();
  const ch = client.pusher.subscribe(name);
  ch.bind('pusher:subscription_succeeded', () => d.resolve(ch));
  ch.bind('pusher:subscription_error', (e) => d.reject(new Error(JSON.stringify(e))));
  return withTimeout(d.promise, 5000, `subscribed to ${name}`);
}

test(
  'Python SDK: trigger reaches pusher-js; channels_info / channel_info / users_info (GET with empty-body body_md5)',
  {
    timeout: 30000,
    skip: HAVE_VENV ? false : `no Python venv at ${PYTHON} — run: python3 -m venv tests/python/.venv && tests/python/.venv/bin/pip install -r tests/python/requirements.txt`,
  },
  async (t) => {
    const client = pjs(t, server, APP, { user: { id: 'py-user', info: { name: 'Py' } }, name: 'observer' });
    const news = await subscribed(client, 'py-news');
    await subscribed(client, 'presence-py.1');
    const got = collector('py.published');
    news.bind('py.published', got.cb);

    const data = '{"from": "python", "n": 1}';
    const { code, json } = await runPython([
      '--host', server.host,
      '--port', String(server.port),
      '--app-id', APP.id,
      '--key', APP.key,
      '--secret', APP.secret,
      '--channel', 'py-news',
      '--presence-channel', 'presence-py.1',
      '--event', 'py.published',
      '--data', data,
    ]);
    assert.equal(code, 0, `publish.py failed at step ${json.step}: ${json.error}`);

    assert.deepEqual(json.trigger, {});
    assert.deepEqual(await got.inbox.waitFor(() => true, 5000, 'python event at pusher-js'), { from: 'python', n: 1 });
    const rawFrame = client.messages.items.find((m) => m.event === 'py.published');
    assert.equal(rawFrame.channel, 'py-news');

    assert.deepEqual(json.channels_info.channels['presence-py.1'], { user_count: 1 });
    for (const name of Object.keys(json.channels_info.channels)) assert.ok(name.startsWith('presence-'));
    assert.deepEqual(json.channel_info, { occupied: true, subscription_count: 1 });
    assert.deepEqual(json.presence_channel_info, { occupied: true, user_count: 1 });
    assert.deepEqual(json.users_info, { users: [{ id: 'py-user' }] });
  },
);

const NO_VENV = `no Python venv at ${PYTHON} — run: python3 -m venv tests/python/.venv && tests/python/.venv/bin/pip install -r tests/python/requirements.txt`;

/** A pusher-js client signed in as `userData`, after its signin_success. */
async function signedIn(t, userData, name) {
  const c = pjs(t, server, APP, { userData, name });
  await c.waitConnected();
  c.pusher.signin();
  await c.waitForMessage((m) => m.event === 'pusher:signin_success', 5000, `${name}: signin_success`);
  return c;
}

test(
  'Python SDK: GET /users/{id} and GET /users?after=&limit= as it signs them; pusher-js signed in and present',
  { timeout: 30000, skip: HAVE_VENV ? false : NO_VENV },
  async (t) => {
    const sdk = rest(server, APP);
    const base = uid('pyst-');
    const [signed, member] = [`${base}-a`, `${base}-b`];
    const channel = `presence-${base}`;
    const tab1 = await signedIn(t, { id: signed, user_info: { name: 'Py A' } }, 'tab 1');
    const tab2 = await signedIn(t, { id: signed }, 'tab 2');
    const present = pjs(t, server, APP, { user: { id: member, info: { name: 'Py B' } }, name: 'member' });
    await subscribed(present, channel);
    const status = async (id) => (await sdk.get({ path: `/users/${encodeURIComponent(id)}` })).json();
    await waitUntil(async () => (await status(signed)).connections === 2, 10000, 'two connections of the signed-in user');
    await waitUntil(async () => (await status(member)).online, 10000, 'the presence member online');
    const res = await sdk.post({ path: `/users/${signed}/location`, body: { location: 'Projects' } });
    assert.deepEqual(await res.json(), { online: true });

    const never = 'never seen é/1'; // percent-encoded in the path, signed as sent
    const credentials = ['--host', server.host, '--port', String(server.port), '--app-id', APP.id, '--key', APP.key, '--secret', APP.secret];
    const { code, json } = await runPython([...credentials, '--user', signed, '--user', member, '--user', never, '--after', base, '--limit', '1'], USER_STATUS_SCRIPT);
    assert.equal(code, 0, `user_status.py failed at ${json.step}: ${json.error}`);
    assert.deepEqual(json.statuses[signed], { id: signed, online: true, connections: 2, channels: [], location: 'Projects', info: { name: 'Py A' } });
    assert.deepEqual(json.statuses[member], { id: member, online: true, connections: 1, channels: [channel], info: { name: 'Py B' } });
    assert.deepEqual(json.statuses[never], { id: never, online: false, connections: 0, channels: [] });
    // Page by page (limit=1), following `next`.
    assert.deepEqual(json.pages[0], { users: [{ id: signed, connections: 2, location: 'Projects', info: { name: 'Py A' } }], next: signed });
    assert.deepEqual(json.pages[1].users, [{ id: member, connections: 1, info: { name: 'Py B' } }]);
    const listed = json.pages.flatMap((p) => p.users.map((u) => u.id)).filter((id) => id.startsWith(base));
    assert.deepEqual(listed, [signed, member]);
    assert.match(json.refused.limit_0, /^PusherBadRequest: .*limit/);
    assert.match(json.refused.long_id, /^PusherBadRequest: .*user id/);

    // Both tabs closed: offline, with last_seen.
    const before = Date.now();
    tab1.disconnect();
    tab2.disconnect();
    await waitUntil(async () => !(await status(signed)).online, 10000, 'the signed-in user offline');
    const after = await runPython([...credentials, '--user', signed, '--after', base, '--limit', '100'], USER_STATUS_SCRIPT);
    assert.equal(after.code, 0, `user_status.py failed at ${after.json.step}: ${after.json.error}`);
    const { last_seen: lastSeen, ...gone } = after.json.statuses[signed];
    assert.deepEqual(gone, { id: signed, online: false, connections: 0, channels: [] });
    assert.ok(lastSeen >= before - 1000 && lastSeen <= Date.now() + 1000, `last_seen ${lastSeen}`);
    assert.deepEqual(after.json.pages.flatMap((p) => p.users.map((u) => u.id)).filter((id) => id.startsWith(base)), [member]);
  },
);


test(
  'Python SDK: its triggers kept in a channel history, read back with GET /channels/{c}/events?since=&limit= as it signs them',
  { timeout: 30000, skip: HAVE_VENV ? false : NO_VENV },
  async (t) => {
    const channel = uid('py-history-');
    const observer = pjs(t, server, APP, { name: 'observer' });
    await subscribed(observer, channel);
    const credentials = ['--host', server.host, '--port', String(server.port), '--app-id', APP.id, '--key', APP.key, '--secret', APP.secret];
    const { code, json } = await runPython([...credentials, '--channel', channel, '--count', '5', '--since', '1', '--limit', '2'], HISTORY_SCRIPT);
    assert.equal(code, 0, `history.py failed at ${json.step}: ${json.error}`);
    assert.equal(json.triggered, 5);

    // What pusher-js received live, in order, is what the history keeps.
    await observer.waitForMessage((m) => m.channel === channel && m.event === 'ActivityFeedUpdated' && m.data?.n === 5, 5000, 'n=5 at pusher-js');
    const live = observer.messages.items.filter((m) => m.channel === channel && m.event === 'ActivityFeedUpdated').map((m) => m.data.n);
    assert.deepEqual(live, [1, 2, 3, 4, 5]);

    // No parameters: the server's defaults, every kept event, oldest first.
    const { all } = json;
    assert.equal(all.channel, channel);
    assert.equal(all.serial, 5);
    assert.match(all.epoch, /^[0-9a-f]{16}$/);
    assert.deepEqual(all.events.map((e) => [e.serial, e.event, e.data]), [1, 2, 3, 4, 5].map((n) => [n, 'ActivityFeedUpdated', `{"n":${n}}`]));
    assert.ok(all.events.every((e) => Math.abs(e.time - Date.now()) < 60000), 'times are when they were published');
    // The same answer as the Node SDK gets.
    const sdk = rest(server, APP);
    assert.deepEqual(await (await sdk.get({ path: `/channels/${channel}/events` })).json(), all);

    // since=1&limit=2, then from each page's last serial: [2, 3], [4, 5], [].
    assert.deepEqual(json.pages.map((p) => p.events.map((e) => e.serial)), [[2, 3], [4, 5], []]);
    for (const page of json.pages) {
      assert.equal(page.epoch, all.epoch);
      assert.equal(page.serial, 5);
    }
    assert.deepEqual(json.pages.flatMap((p) => p.events), all.events.slice(1));

    assert.match(json.refused.limit_0, /^PusherBadRequest: .*limit/);
    assert.match(json.refused.no_rule, /^PusherBadRequest: .*no history rule/);
  },
);
