// Who is online: Pusher's watchlists (pusher-js `pusher.user.watchlist`), user status
// and the online-users listing over REST (signed by the Node SDK), with the offline
// delay that keeps a page reload from telling watchers anything. With
// PUSHBUS_TEST_NODES=3 every connection lands on a node at random, so each answer
// and each watchlist event is cluster-wide.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, app } from '../lib/server.js';
import { connectRaw } from '../lib/raw.js';
import { pjs, rest, collector } from '../lib/clients.js';
import { uid, waitUntil } from '../lib/util.js';

// Short enough for a test, long enough that a reconnect lands well within it.
const OFFLINE_DELAY = 1.5;
const APP = app({ user_status: { offline_delay: OFFLINE_DELAY } });
let server;
let sdk;

before(async () => {
  server = await startServer({ apps: [APP] });
  sdk = rest(server, APP);
});
after(async () => {
  await server?.stop();
});

/** A raw socket signed in as `userData`, after its signin_success. */
async function signedIn(t, userData, name = `user ${userData.id}`) {
  const c = await connectRaw(server.wsUrl(), { name }, t);
  const { auth, user_data } = sdk.authenticateUser(c.socketId, userData);
  c.send({ event: 'pusher:signin', data: { auth, user_data } });
  const f = await c.waitFor((x) => x.event === 'pusher:signin_success' || x.event === 'pusher:error', 5000, 'signin result');
  assert.equal(f.event, 'pusher:signin_success', f.__raw);
  return c;
}

/** GET through the Node SDK; returns the parsed body. */
async function get(path, params) {
  const res = await sdk.get({ path, params });
  assert.equal(res.status, 200, path);
  return res.json();
}

/** Waits until REST says `id` is online (or not). */
function untilOnline(id, online) {
  return waitUntil(async () => (await get(`/users/${encodeURIComponent(id)}`)).online === online, 10000, `${id} online=${online}`);
}

/** A pusher-js client signed in with `watchlist`, and inboxes of its watchlist events. */
async function watcher(t, id, watchlist) {
  const c = pjs(t, server, APP, { userData: { id, watchlist }, name: `watcher ${id}` });
  const online = collector(`${id} online`);
  const offline = collector(`${id} offline`);
  c.pusher.user.watchlist.bind('online', online.cb);
  c.pusher.user.watchlist.bind('offline', offline.cb);
  await c.waitConnected();
  c.pusher.signin();
  await c.waitForMessage((m) => m.event === 'pusher:signin_success', 5000, 'signin_success');
  await c.waitForMessage((m) => m.event === 'pusher_internal:subscription_succeeded' && m.channel === `#server-to-user-${id}`, 5000, 'user channel');
  return { c, online: online.inbox, offline: offline.inbox };
}

test('a watcher gets the current status on sign-in, then online and offline as they happen', { timeout: 30000 }, async (t) => {
  const [here, away] = [uid('here-'), uid('away-')];
  const hereConn = await signedIn(t, { id: here });
  await untilOnline(here, true);

  const w = await watcher(t, uid('w-'), [here, away]);
  const first = await w.online.waitFor(() => true, 5000, 'initial online');
  assert.deepEqual(first, { name: 'online', user_ids: [here] });
  assert.deepEqual(await w.offline.waitFor(() => true, 5000, 'initial offline'), { name: 'offline', user_ids: [away] });
  const initial = w.c.messages.items.filter((m) => m.event === 'pusher_internal:watchlist_events');
  assert.equal(initial.length, 1, 'the initial status comes in one frame');
  assert.equal(initial[0].channel, undefined, 'watchlist events have no channel');

  // `away` comes online: told at once.
  const awayConn = await signedIn(t, { id: away });
  assert.deepEqual(await w.online.waitFor((e) => e.user_ids.includes(away), 5000, 'away online'), { name: 'online', user_ids: [away] });

  // `here` leaves for good: told offline once the delay has passed, not before.
  const closedAt = Date.now();
  await hereConn.closeAndWait();
  const off = await w.offline.waitFor((e) => e.user_ids.includes(here), 10000, 'here offline');
  assert.deepEqual(off, { name: 'offline', user_ids: [here] });
  assert.ok(Date.now() - closedAt >= OFFLINE_DELAY * 1000 - 100, `offline after the delay (${Date.now() - closedAt} ms)`);
  const seen = w.offline.items.length; // the initial status named `away` offline already
  await awayConn.closeAndWait();
  await w.offline.waitFor((e) => e.user_ids.includes(away), 10000, 'away offline', { from: seen });
});

test('a page reload (reconnect within the offline delay) tells watchers nothing', { timeout: 30000 }, async (t) => {
  const [reloader, leaver] = [uid('reload-'), uid('leave-')];
  const first = await signedIn(t, { id: reloader });
  const leaverConn = await signedIn(t, { id: leaver });
  const w = await watcher(t, uid('w-'), [reloader, leaver]);
  await w.online.waitFor((e) => e.user_ids.includes(reloader) && e.user_ids.includes(leaver), 5000, 'initial online');
  const watchlistFrames = () => w.c.messages.items.filter((m) => m.event === 'pusher_internal:watchlist_events');
  assert.equal(watchlistFrames().length, 1);

  // The reloader's close starts its offline timer first; the leaver's, which runs
  // out later, tells the watcher when the reloader's has run out too.
  await first.closeAndWait();
  await leaverConn.closeAndWait();
  const second = await signedIn(t, { id: reloader }, 'reloaded');
  await w.offline.waitFor((e) => e.user_ids.includes(leaver), 10000, 'the leaver offline');
  await sdk.sendToUser(w.c.pusher.user.user_data.id, 'marker', {});
  await w.c.waitForMessage((m) => m.event === 'marker', 5000, 'marker');
  assert.deepEqual(
    watchlistFrames().map((m) => m.data.events),
    [
      [{ name: 'online', user_ids: [reloader, leaver] }],
      [{ name: 'offline', user_ids: [leaver] }],
    ],
    'nothing about the reloader',
  );

  await second.closeAndWait();
  await w.offline.waitFor((e) => e.user_ids.includes(reloader), 10000, 'offline after the real close');
});

test('presence membership makes a user online too', { timeout: 20000 }, async (t) => {
  const member = uid('member-');
  const w = await watcher(t, uid('w-'), [member]);
  await w.offline.waitFor(() => true, 5000, 'initial offline');
  const c = await connectRaw(server.wsUrl(), { name: 'presence member' }, t);
  const channel = uid('presence-room.');
  const { auth, channel_data } = sdk.authorizeChannel(c.socketId, channel, { user_id: member, user_info: { name: 'M' } });
  const s = await c.subscribe(channel, { auth, channel_data });
  assert.equal(s.event, 'pusher_internal:subscription_succeeded', s.__raw);
  await w.online.waitFor((e) => e.user_ids.includes(member), 5000, 'member online');
  const status = await get(`/users/${member}`);
  assert.equal(status.online, true);
  assert.deepEqual(status.channels, [channel]);
  assert.deepEqual(status.info, { name: 'M' });
  const seen = w.offline.items.length; // the initial status named the member offline
  c.unsubscribe(channel);
  await w.offline.waitFor((e) => e.user_ids.includes(member), 10000, 'member offline after unsubscribing', { from: seen });
  assert.ok(c.isOpen, 'the connection stays open');
});

test('101 watchlist ids: pusher:error 4302, sign-in still succeeds, the first 100 are watched', { timeout: 30000 }, async (t) => {
  const base = uid('many-');
  const ids = Array.from({ length: 101 }, (_, i) => `${base}-${i}`);
  const c = await connectRaw(server.wsUrl(), { name: 'watcher of 101' }, t);
  const { auth, user_data } = sdk.authenticateUser(c.socketId, { id: uid('w-'), watchlist: ids });
  c.send({ event: 'pusher:signin', data: { auth, user_data } });
  await c.waitForEvent('pusher:signin_success');
  const err = await c.waitForEvent('pusher:error');
  assert.equal(err.data.code, 4302, err.__raw);
  assert.match(err.data.message, /first 100/);
  const initial = await c.waitForEvent('pusher_internal:watchlist_events');
  const events = JSON.parse(initial.data).events;
  assert.deepEqual(events, [{ name: 'offline', user_ids: ids.slice(0, 100) }]);

  // The 101st coming online tells nothing; the 100th does.
  await signedIn(t, { id: ids[100] });
  await signedIn(t, { id: ids[99] });
  const next = await c.waitFor((f) => f.event === 'pusher_internal:watchlist_events', 5000, 'the 100th online', { from: c.frames.items.indexOf(initial) + 1 });
  assert.deepEqual(JSON.parse(next.data).events, [{ name: 'online', user_ids: [ids[99]] }]);
  await c.ping();
  assert.equal(c.frames.count((f) => f.event === 'pusher_internal:watchlist_events'), 2);
  assert.ok(c.isOpen);
});

test('a sign-in without a watchlist gets exactly what Pusher sends', { timeout: 15000 }, async (t) => {
  const c = await signedIn(t, { id: uid('plain-') });
  await c.ping();
  const events = c.frames.items.map((f) => f.event);
  assert.deepEqual(events, ['pusher:connection_established', 'pusher:signin_success', 'pusher:pong']);
});

test('user status over REST: connections, presence channels, location, last_seen', { timeout: 30000 }, async (t) => {
  const id = uid('status-');
  const never = await get(`/users/${uid('never-')}`);
  assert.equal(never.online, false);
  assert.equal(never.connections, 0);
  assert.equal(never.last_seen, undefined);

  const a = await signedIn(t, { id, user_info: { name: 'Ann' } });
  const b = await signedIn(t, { id }, 'second tab');
  const channel = uid('presence-project.');
  const { auth, channel_data } = sdk.authorizeChannel(b.socketId, channel, { user_id: id });
  await b.subscribe(channel, { auth, channel_data });
  await waitUntil(async () => (await get(`/users/${id}`)).connections === 2, 10000, 'two connections');

  const res = await sdk.post({ path: `/users/${id}/location`, body: { location: 'Projects' } });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { online: true });
  const s = await get(`/users/${id}`);
  assert.equal(s.online, true);
  assert.deepEqual(s.channels, [channel]);
  assert.equal(s.location, 'Projects');
  assert.deepEqual(s.info, { name: 'Ann' });

  const before = Date.now();
  await a.closeAndWait();
  await b.closeAndWait();
  await untilOnline(id, false);
  const gone = await get(`/users/${id}`);
  assert.equal(gone.connections, 0);
  assert.deepEqual(gone.channels, []);
  assert.equal(gone.location, undefined, 'the location goes with the user');
  assert.ok(gone.last_seen >= before - 1000 && gone.last_seen <= Date.now() + 1000, `last_seen ${gone.last_seen}`);

  const offline = await sdk.post({ path: `/users/${id}/location`, body: { location: 'Projects' } });
  assert.deepEqual(await offline.json(), { online: false });
});

test('online users are listed by id, page by page', { timeout: 30000 }, async (t) => {
  const base = uid('list-');
  const ids = ['c', 'a', 'e', 'b', 'd'].map((s) => `${base}-${s}`);
  for (const id of ids) await signedIn(t, { id, user_info: { n: id } });
  await Promise.all(ids.map((id) => untilOnline(id, true)));
  const seen = [];
  let after = `${base}-`;
  for (let pages = 0; pages < 10; pages += 1) {
    const page = await get('/users', { after, limit: '2' });
    const mine = page.users.filter((u) => u.id.startsWith(base));
    seen.push(...mine.map((u) => u.id));
    for (const u of mine) {
      assert.equal(u.connections, 1);
      assert.deepEqual(u.info, { n: u.id });
    }
    if (!page.next || !page.next.startsWith(base)) break;
    assert.ok(page.users.length <= 2);
    after = page.next;
  }
  assert.deepEqual(seen, [...ids].sort());
});

test('bad user-status requests get 400 with a readable error', { timeout: 15000 }, async () => {
  const refused = async (request, why) =>
    assert.rejects(request, (e) => {
      assert.equal(e.status, 400);
      assert.match(String(e.body), why);
      return true;
    });
  for (const limit of ['0', '5000', 'x']) await refused(sdk.get({ path: '/users', params: { limit } }), /limit/);
  await refused(sdk.get({ path: `/users/${'x'.repeat(200)}` }), /user id/);
  await refused(sdk.post({ path: '/users/1/location', body: { location: 'a\nb' } }), /location/);
});

test('a location set from the server reaches only presence subscribers that enabled locations', { timeout: 30000 }, async (t) => {
  const channel = uid('presence-project.');
  const viewer = uid('viewer-');
  const join = async (name, userId, enable) => {
    const c = await connectRaw(server.wsUrl(), { name }, t);
    if (enable) {
      c.send({ event: 'pushbus:enable', data: { features: ['locations', 'not-a-feature'] } });
      const ok = await c.waitForEvent('pushbus:enabled');
      assert.deepEqual(ok.data, { features: ['locations'] });
    }
    const { auth, channel_data } = sdk.authorizeChannel(c.socketId, channel, { user_id: userId });
    const s = await c.subscribe(channel, { auth, channel_data });
    assert.equal(s.event, 'pusher_internal:subscription_succeeded', s.__raw);
    return c;
  };
  const opted = await join('opted in', uid('u-'), true);
  const plain = await join('unmodified', uid('u-'), false);
  const member = await join('the viewer', viewer, false);
  await untilOnline(viewer, true);

  const res = await sdk.post({ path: `/users/${viewer}/location`, body: { location: 'Invoices' } });
  assert.deepEqual(await res.json(), { online: true });
  const f = await opted.waitForEvent('pushbus:location', channel);
  assert.deepEqual(JSON.parse(f.data), { user_id: viewer, location: 'Invoices' });
  const cleared = await sdk.post({ path: `/users/${viewer}/location`, body: { location: null } });
  assert.deepEqual(await cleared.json(), { online: true });
  const g = await opted.waitFor((x) => x.event === 'pushbus:location' && JSON.parse(x.data).location === null, 5000, 'cleared');
  assert.equal(g.channel, channel);
  assert.equal((await get(`/users/${viewer}`)).location, undefined);

  // The others: a marker published after both changes arrives with nothing before it.
  await sdk.trigger(channel, 'marker', {});
  for (const c of [plain, member]) {
    await c.waitForEvent('marker', channel);
    assert.equal(c.frames.count((x) => x.event.startsWith('pushbus:')), 0, `${c.name} saw no pushbus frame`);
  }
});
