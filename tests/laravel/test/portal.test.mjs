// A Laravel 8 client portal (tests/laravel, on Debian's php-laravel-framework) broadcasting
// through the pushbus extension: `php artisan pushbus:start` runs the server, PHP's
// built-in server (with forked workers, like PHP-FPM) serves the app, and Laravel Echo
// 2.5 in Node subscribes through the app's real /broadcasting/auth.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { appEnvironment, artisan, Child, freePort, Inbox, makeEcho, refused, REVERB, subscribed, until, WAIT } from '../support.mjs';

const PUSHBUS_BIN = process.env.PUSHBUS_BIN || fileURLToPath(new URL('../../../target/debug/pushbus', import.meta.url));

/** `pushbus serve` (the binary) for the app's credentials, configured by `extra` variables. */
async function startServe(t, extra) {
  const dir = mkdtempSync(join(tmpdir(), 'pushbus-serve-'));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(REVERB_|PUSHBUS_)/.test(k)));
  const proc = spawn(PUSHBUS_BIN, ['serve'], {
    cwd: dir,
    env: { ...env, REVERB_APP_ID: REVERB.id, REVERB_APP_KEY: REVERB.key, REVERB_APP_SECRET: REVERB.secret, PUSHBUS_HOST: '127.0.0.1', PUSHBUS_PORT: '0', ...extra },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => {
    proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`pushbus serve did not start: ${out}`)), WAIT);
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    proc.on('exit', (code) => reject(new Error(`pushbus serve exited (${code}): ${out}`)));
  });
  return { port };
}

let env;
let cleanup;
let server; // php artisan pushbus:start
let web; // php -S
let wsPort;
let appUrl;
const tokens = {};

async function api(method, path, { token, body, socketId } = {}) {
  const headers = { Accept: 'application/json', 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  // What Echo's axios interceptor adds, so that toOthers() knows the sender.
  if (socketId) headers['X-Socket-ID'] = socketId;
  const res = await fetch(`${appUrl}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined, signal: AbortSignal.timeout(WAIT) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

before(async () => {
  ({ env, cleanup } = appEnvironment());
  artisan(env, 'migrate:fresh', '--seed', '--force');

  server = new Child('pushbus:start', ['artisan', 'pushbus:start', '--host=127.0.0.1', '--port=0', '-v'], env);
  const line = await server.waitLine(/pushbus listening on http:\/\/127\.0\.0\.1:\d+/);
  wsPort = Number(line.match(/:(\d+)$/)[1]);

  const webPort = await freePort();
  appUrl = `http://127.0.0.1:${webPort}`;
  // Forked workers (PHP_CLI_SERVER_WORKERS): the extension is loaded in the parent,
  // each worker makes its own native client, as under PHP-FPM.
  web = new Child('php -S', ['-S', `127.0.0.1:${webPort}`, '-t', 'public', 'public/index.php'],
    { ...env, REVERB_PORT: String(wsPort), PHP_CLI_SERVER_WORKERS: '2' });
  await until(() => api('GET', '/api/test/broadcaster'), 'the app to answer');

  for (const [name, email] of Object.entries({ ann: 'ann@client7.test', bob: 'bob@client7.test', cat: 'cat@client8.test', dan: 'dan@client7.test' })) {
    tokens[name] = (await api('POST', '/api/test/login', { body: { email } })).token;
  }
});

after(async () => {
  await web?.stop();
  const exit = await server?.stop();
  cleanup?.();
  // SIGTERM stops pushbus:start gracefully, with status 0.
  assert.deepEqual(exit, { code: 0, signal: null });
  assert.ok(server.lines.items.includes('pushbus stopped'), 'pushbus:start said it stopped');
});

test('the app broadcasts through PushbusBroadcaster; each worker keeps its connection across requests', async () => {
  const ports = new Map(); // worker pid => local ports of its connections to pushbus
  const requests = 12;
  for (let i = 0; i < requests; i++) {
    const info = await api('GET', '/api/test/broadcaster');
    assert.equal(info.class, 'Pushbus\\Laravel\\PushbusBroadcaster');
    assert.ok(info.connections.length >= 1, `worker ${info.pid} is connected: ${JSON.stringify(info)}`);
    ports.set(info.pid, new Set([...(ports.get(info.pid) ?? []), ...info.connections]));
  }
  // A connection per request would be 12. Each worker keeps one (hyper may add a spare).
  for (const [pid, set] of ports) assert.ok(set.size <= 2, `worker ${pid} used ${set.size} connections`);
  const total = [...ports.values()].reduce((n, s) => n + s.size, 0);
  assert.ok(total < requests, `${requests} requests used ${total} connections`);
});

test('InvoiceCreated (private client.{id}, broadcastAs, broadcastWith) reaches members of the client', async (t) => {
  const echo = makeEcho(t, { wsPort, appUrl, token: tokens.bob });
  const got = new Inbox('invoice.created');
  const channel = echo.private('client.7').listen('.invoice.created', (e) => got.push(e));
  await subscribed(channel, 'bob: private-client.7');

  const invoice = await api('POST', '/api/invoices', { token: tokens.ann, body: { id: 41, number: 'INV-0041', total: '1250.00' } });
  assert.equal(invoice.client_id, 7);
  assert.deepEqual(await got.waitFor(), { id: 41, number: 'INV-0041', total: '1250.00', url: 'https://portal.test/invoices/41' });
});

test('a user of another client, or a guest, is refused private client.{id} (403)', async (t) => {
  const cat = makeEcho(t, { wsPort, appUrl, token: tokens.cat });
  const e1 = await refused(cat.private('client.7'), 'cat (client 8): private-client.7');
  assert.equal(e1.status, 403);
  const dan = makeEcho(t, { wsPort, appUrl, token: tokens.dan });
  const e2 = await refused(dan.private('client.7'), 'dan (guest of client 7): private-client.7');
  assert.equal(e2.status, 403);
  // Their own client is fine.
  await subscribed(cat.private('client.8'), 'cat: private-client.8');
});

test('here/joining/leaving carry the user info of the presence callback', async (t) => {
  const ann = makeEcho(t, { wsPort, appUrl, token: tokens.ann });
  const annHere = new Inbox('ann here');
  const joining = new Inbox('ann joining');
  const leaving = new Inbox('ann leaving');
  ann.join('project.1').here((users) => annHere.push(users)).joining((u) => joining.push(u)).leaving((u) => leaving.push(u));
  const annInfo = { id: 1, name: 'Ann Admin', avatar: 'https://portal.test/avatars/ann.png' };
  assert.deepEqual(await annHere.waitFor(), [annInfo]);

  const bob = makeEcho(t, { wsPort, appUrl, token: tokens.bob });
  const bobHere = new Inbox('bob here');
  bob.join('project.1').here((users) => bobHere.push(users));
  const bobInfo = { id: 2, name: 'Bob Member', avatar: 'https://portal.test/avatars/bob.png' };
  const here = await bobHere.waitFor();
  assert.deepEqual([...here].sort((a, b) => a.id - b.id), [annInfo, bobInfo]);
  assert.deepEqual(await joining.waitFor(), bobInfo);

  // pushbus:start hands the lifecycle events to PHP (printed with -v), and dispatches
  // them as Pushbus\Laravel\Events\MemberAdded: the app's listener marks Bob online.
  await server.waitLine(/"name":"member_added".*"channel":"presence-project\.1".*"user_id":"2"/);
  await until(async () => (await api('GET', '/api/test/presence/2')).presence?.status === 'online', 'user_presence: bob online');

  bob.leave('project.1');
  assert.deepEqual(await leaving.waitFor(), bobInfo);
  await until(async () => (await api('GET', '/api/test/presence/2')).presence?.status === 'offline', 'user_presence: bob offline');

  // Cat's client does not own project 1.
  const cat = makeEcho(t, { wsPort, appUrl, token: tokens.cat });
  assert.equal((await refused(cat.join('project.1'), 'cat: presence-project.1')).status, 403);
});

test('CommentAdded with toOthers() and X-Socket-ID skips the sender; ProjectUpdated reaches both channels', async (t) => {
  const ann = makeEcho(t, { wsPort, appUrl, token: tokens.ann });
  const bob = makeEcho(t, { wsPort, appUrl, token: tokens.bob });
  const annGot = new Inbox('ann CommentAdded');
  const bobGot = new Inbox('bob CommentAdded');
  const annRoom = ann.join('project.1').listen('CommentAdded', (e) => annGot.push(e));
  const bobRoom = bob.join('project.1').listen('CommentAdded', (e) => bobGot.push(e));
  // (Both callbacks are bound before either subscription can succeed.)
  await Promise.all([subscribed(annRoom, 'ann: presence-project.1'), subscribed(bobRoom, 'bob: presence-project.1')]);

  const first = await api('POST', '/api/projects/1/comments', { token: tokens.bob, socketId: bob.socketId(), body: { body: 'Draft is ready' } });
  assert.deepEqual(await annGot.waitFor(), { projectId: 1, comment: first });
  // The next comment, from Ann, reaches Bob: the first one had to come before it.
  const second = await api('POST', '/api/projects/1/comments', { token: tokens.ann, socketId: ann.socketId(), body: { body: 'Looks good' } });
  assert.deepEqual(await bobGot.waitFor(), { projectId: 1, comment: second });
  assert.deepEqual(bobGot.items, [{ projectId: 1, comment: second }], 'bob never got his own comment');
  assert.equal(annGot.items.length, 1, 'ann never got her own comment');

  // ProjectUpdated: queued (sync), FQCN name, public properties, two channels.
  const updates = new Inbox('ProjectUpdated');
  const clientChannel = bob.private('client.7').listen('ProjectUpdated', (e) => updates.push({ on: 'client.7', e }));
  await subscribed(clientChannel, 'bob: private-client.7');
  bobRoom.listen('ProjectUpdated', (e) => updates.push({ on: 'project.1', e }));
  const project = await api('POST', '/api/projects/1', { token: tokens.ann, body: { name: 'Website relaunch, phase 2' } });
  const viaClient = await updates.waitFor((u) => u.on === 'client.7');
  const viaRoom = await updates.waitFor((u) => u.on === 'project.1');
  for (const { e } of [viaClient, viaRoom]) {
    assert.deepEqual(e, { project, change: 'renamed' });
  }
});

test('a broadcast notification reaches private App.Models.User.{id}, and only its user may listen', async (t) => {
  const bob = makeEcho(t, { wsPort, appUrl, token: tokens.bob });
  const got = new Inbox('notification');
  const channel = bob.private('App.Models.User.2').notification((n) => got.push(n));
  await subscribed(channel, 'bob: private-App.Models.User.2');
  await api('POST', '/api/invoices/41/paid', { token: tokens.bob, body: { amount: '1250.00' } });
  const n = await got.waitFor();
  assert.equal(n.type, 'App\\Notifications\\InvoicePaid');
  assert.match(n.id, /^[0-9a-f-]{36}$/);
  assert.deepEqual({ ...n, id: undefined, type: undefined }, { id: undefined, type: undefined, invoice_id: 41, amount: '1250.00', message: 'Invoice #41 was paid' });

  const ann = makeEcho(t, { wsPort, appUrl, token: tokens.ann });
  assert.equal((await refused(ann.private('App.Models.User.2'), 'ann: private-App.Models.User.2')).status, 403);
});

test('a failed broadcast throws BroadcastException with the pushbus result code (never silent)', async () => {
  const deadPort = await freePort(); // nothing listens there
  const r = await api('POST', '/api/test/broadcast-failure', { body: { port: deadPort } });
  assert.equal(r.exception, 'Illuminate\\Broadcasting\\BroadcastException');
  assert.match(r.message, /^Pushbus error: connection failed/);
  assert.equal(r.previous, 'Pushbus\\Exception');
  assert.equal(r.code, 200); // PUSHBUS_RESULT_CONNECT
});

test('a deferred broadcast that fails is reported to the exception handler after the response', async () => {
  const deadPort = await freePort();
  const r = await api('POST', '/api/test/broadcast-deferred-failure', { body: { port: deadPort } });
  assert.deepEqual(r, { queued: true });
  const log = join(env.PUSHBUS_LARAVEL_STORAGE, 'logs', 'laravel.log');
  const line = await until(() => {
    const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    return text.split('\n').find((l) => l.includes('BroadcastException') || l.includes('Pushbus error'));
  }, 'the failure in storage/logs/laravel.log');
  assert.match(line, /Pushbus error: connection failed/);
});

test('webhooks of a separate pushbus serve reach the app\'s /pushbus/webhook route and update user_presence; a forged one is refused', async (t) => {
  const serve = await startServe(t, { PUSHBUS_WEBHOOK_URL: `${appUrl}/pushbus/webhook`, PUSHBUS_WEBHOOK_EVENTS: 'member_added,member_removed' });
  // Cat (user 3, client 8) joins project 2 on that server only.
  const cat = makeEcho(t, { wsPort: serve.port, appUrl, token: tokens.cat });
  await subscribed(cat.join('project.2'), 'cat: presence-project.2 on pushbus serve');
  const row = async () => (await api('GET', '/api/test/presence/3')).presence;
  await until(async () => (await row())?.status === 'online', 'user_presence: cat online, from the member_added webhook');
  assert.equal((await row()).channel, 'presence-project.2');
  cat.leave('project.2');
  // member_removed comes after Pusher's 3 s delay.
  await until(async () => (await row())?.status === 'offline', 'user_presence: cat offline, from the member_removed webhook', 15000);

  const body = JSON.stringify({ time_ms: Date.now(), events: [{ name: 'member_added', channel: 'presence-project.1', user_id: '4' }] });
  const forged = await fetch(`${appUrl}/pushbus/webhook`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Pusher-Key': REVERB.key, 'X-Pusher-Signature': '0'.repeat(64) },
    body,
    signal: AbortSignal.timeout(WAIT),
  });
  assert.equal(forged.status, 401);
  assert.equal((await api('GET', '/api/test/presence/4')).presence, null, 'the forged event changed nothing');
});

test('PresenceService answers from pushbus: online users, who views a project, location, offline with last_seen', async (t) => {
  const bob = makeEcho(t, { wsPort, appUrl, token: tokens.bob });
  await subscribed(bob.join('project.1'), 'bob: presence-project.1');
  await until(async () => (await api('GET', '/api/presence/2')).online === true, 'bob online (a presence member)');
  const viewing = await api('GET', '/api/viewing/project/1');
  assert.deepEqual(viewing.users, ['2']);
  const online = await api('GET', '/api/sync/online-users');
  const entry = online.users.find((u) => u.id === 2);
  assert.deepEqual(entry, { id: 2, name: 'Bob Member', connections: 1, location: null });

  // The seed's setOnline($user, 'Projects'), from a request of Bob's.
  assert.deepEqual(await api('POST', '/api/presence/location', { token: tokens.bob, body: { location: 'Projects' } }), { online: true });
  const status = (await api('GET', '/api/presence/2')).status;
  assert.equal(status.location, 'Projects');
  assert.deepEqual(status.channels, ['presence-project.1']);
  assert.equal((await api('GET', '/api/sync/online-users')).users.find((u) => u.id === 2).location, 'Projects');

  const left = Date.now();
  bob.leave('project.1');
  await until(async () => (await api('GET', '/api/presence/2')).online === false, 'bob offline');
  const gone = (await api('GET', '/api/presence/2')).status;
  assert.ok(gone.last_seen >= left - 1000 && gone.last_seen <= Date.now() + 1000, `last_seen ${gone.last_seen}`);
  assert.equal(gone.location, undefined);
  assert.deepEqual((await api('GET', '/api/viewing/project/1')).users, []);
  // pushbus:start hears user_offline once the offline delay has passed.
  await server.waitLine(/"name":"user_offline".*"user_id":"2"/);
});

test('realtime_events rows come from the delivery log: payload, delivered count, the excluded socket', async (t) => {
  const ann = makeEcho(t, { wsPort, appUrl, token: tokens.ann });
  const bob = makeEcho(t, { wsPort, appUrl, token: tokens.bob });
  const annRoom = ann.join('project.1');
  const bobRoom = bob.join('project.1');
  await Promise.all([subscribed(annRoom, 'ann: presence-project.1'), subscribed(bobRoom, 'bob: presence-project.1')]);
  const comment = await api('POST', '/api/projects/1/comments', { token: tokens.bob, socketId: bob.socketId(), body: { body: 'For the log' } });
  const row = await until(async () => (await api('GET', '/api/test/realtime-events')).events
    .find((e) => e.event_type.endsWith('CommentAdded') && e.payload?.includes('For the log')), 'the CommentAdded row');
  assert.equal(row.channel, 'presence-project.1');
  assert.equal(row.delivered, 1, 'ann only: bob was excluded with toOthers()');
  assert.equal(row.except_socket, bob.socketId());
  assert.equal(row.source, 'api');
  assert.deepEqual(JSON.parse(row.payload).comment, comment);
  assert.equal(row.size, Buffer.byteLength(row.payload));
});

test('activity feeds: ActivityFeedService broadcasts ActivityFeedUpdated and reads the feeds back from the channels\' history, newest first', async (t) => {
  const ann = makeEcho(t, { wsPort, appUrl, token: tokens.ann });
  const cat = makeEcho(t, { wsPort, appUrl, token: tokens.cat });
  const got = new Inbox('ActivityFeedUpdated');
  const listen = (echo, who, name) => {
    const channel = (name === 'activity' ? echo.channel(name) : echo.private(name)).listen('ActivityFeedUpdated', (e) => got.push({ who, on: name, e }));
    return subscribed(channel, `${who}: ${name}`);
  };
  await Promise.all([
    listen(ann, 'ann', 'activity'),
    listen(ann, 'ann', 'activity.client.7'),
    listen(ann, 'ann', 'activity.project.1'),
    listen(cat, 'cat', 'activity.client.8'),
    listen(cat, 'cat', 'activity.project.2'),
  ]);
  // The private feeds are authorized as the client's own channels.
  assert.equal((await refused(cat.private('activity.client.7'), 'cat (client 8): private-activity.client.7')).status, 403);
  assert.equal((await refused(cat.private('activity.project.1'), 'cat: private-activity.project.1')).status, 403);
  const dan = makeEcho(t, { wsPort, appUrl, token: tokens.dan });
  assert.equal((await refused(dan.private('activity.client.7'), 'dan (guest of client 7): private-activity.client.7')).status, 403);

  // Five activities, each awaited on every feed it belongs to.
  const posts = [
    ['ann', { type: 'announcement', message: 'Portal maintenance tonight' }, ['activity']],
    ['ann', { type: 'invoice', message: 'Invoice INV-0042 sent', client_id: 7, data: { invoice: 42 } }, ['activity', 'activity.client.7']],
    ['ann', { type: 'comment', message: 'Draft is ready', project_id: 1 }, ['activity', 'activity.client.7', 'activity.project.1']],
    ['cat', { type: 'upload', message: 'Screens uploaded', project_id: 2, data: { files: 3 } }, ['activity', 'activity.client.8', 'activity.project.2']],
    ['ann', { type: 'status', message: 'Phase 2 started', client_id: 7, project_id: 1 }, ['activity', 'activity.client.7', 'activity.project.1']],
  ];
  const a = [];
  for (const [who, body, feeds] of posts) {
    const activity = await api('POST', '/api/activity', { token: tokens[who], body });
    assert.equal(activity.type, body.type);
    a.push(activity);
    for (const on of feeds) {
      const { e } = await got.waitFor((g) => g.on === on && g.e.id === activity.id, WAIT, `${activity.type} on ${on}`);
      assert.deepEqual(e, activity, `the ActivityFeedUpdated payload on ${on} is the activity`);
    }
  }
  const [a1, a2, a3, a4, a5] = a;
  assert.deepEqual([a2.client_id, a3.client_id, a4.client_id, a5.project_id], [7, 7, 8, 1], 'a project\'s activity is of its client');
  assert.deepEqual([a1.user_id, a4.user_id], [1, 3], 'the author');
  // Once on each feed, in order.
  const on = (name) => got.items.filter((g) => g.on === name).map((g) => g.e.id);
  assert.deepEqual(on('activity'), [a1, a2, a3, a4, a5].map((x) => x.id));
  assert.deepEqual(on('activity.client.7'), [a2, a3, a5].map((x) => x.id));
  assert.deepEqual(on('activity.project.1'), [a3, a5].map((x) => x.id));
  assert.deepEqual(on('activity.client.8'), [a4.id]);
  assert.deepEqual(on('activity.project.2'), [a4.id]);

  // The feeds: newest first, limited, each entry the activity and its serial in the channel.
  const feed = async (path, token) => (await api('GET', path, { token })).activities;
  const strip = (list) => list.map(({ serial, ...activity }) => activity);
  const global = await feed('/api/activity/global');
  assert.deepEqual(strip(global), [a5, a4, a3, a2, a1]);
  assert.deepEqual(global.map((x) => x.serial), [5, 4, 3, 2, 1]);
  assert.deepEqual(strip(await feed('/api/activity/global?limit=2')), [a5, a4]);
  const client7 = await feed('/api/activity/client/7', tokens.ann);
  assert.deepEqual(strip(client7), [a5, a3, a2]);
  assert.deepEqual(client7.map((x) => x.serial), [3, 2, 1]);
  assert.deepEqual(strip(await feed('/api/activity/client/7?limit=1', tokens.bob)), [a5]);
  assert.deepEqual(strip(await feed('/api/activity/client/8', tokens.cat)), [a4]);
  assert.deepEqual(strip(await feed('/api/activity/project/1', tokens.bob)), [a5, a3]);
  assert.deepEqual(strip(await feed('/api/activity/project/1?limit=1', tokens.ann)), [a5]);
  assert.deepEqual(strip(await feed('/api/activity/project/2', tokens.cat)), [a4]);

  // Only those who may see a client read or write its feeds.
  await assert.rejects(api('GET', '/api/activity/client/7', { token: tokens.cat }), /: 403/);
  await assert.rejects(api('GET', '/api/activity/project/1', { token: tokens.dan }), /: 403/);
  await assert.rejects(api('POST', '/api/activity', { token: tokens.cat, body: { type: 'x', message: 'y', client_id: 7 } }), /: 403/);
  await assert.rejects(api('GET', '/api/activity/global?limit=0'), /: 422/);
  assert.equal((await feed('/api/activity/global')).length, 5, 'the refused activity was not recorded');

  // A new subscriber of the global feed is given its last events at once (rewind), in order.
  const bob = makeEcho(t, { wsPort, appUrl, token: tokens.bob });
  const rewound = new Inbox('bob: rewound ActivityFeedUpdated');
  await subscribed(bob.channel('activity').listen('ActivityFeedUpdated', (e) => rewound.push(e)), 'bob: activity');
  await rewound.waitFor((e) => e.id === a5.id, WAIT, 'the newest rewound');
  assert.deepEqual(rewound.items, [a1, a2, a3, a4, a5]);
});
