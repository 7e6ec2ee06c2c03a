// Who is online and what was delivered, with each connection on a node chosen by the
// test: three nodes on one Redis (whatever PUSHBUS_TEST_NODES says), so that every
// answer and every watchlist event has to cross nodes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNodes, app } from '../lib/server.js';
import { connectRaw } from '../lib/raw.js';
import { rest } from '../lib/clients.js';
import { uid, waitUntil } from '../lib/util.js';

const DELAY = 1.5;
const APP = app({ user_status: { offline_delay: DELAY } });
let cluster;
let a;
let b;
let c;

before(async () => {
  // A short lease: a killed node's users are found gone quickly.
  cluster = await startNodes(3, { apps: [APP], cluster: { node_lease: 3 } });
  [a, b, c] = cluster.nodes;
});
after(async () => {
  await cluster?.stop();
});

async function signedIn(t, node, userData, name = `${userData.id} on ${node.port}`) {
  const conn = await connectRaw(node.wsUrl(), { name }, t);
  const { auth, user_data } = rest(node, APP).authenticateUser(conn.socketId, userData);
  conn.send({ event: 'pusher:signin', data: { auth, user_data } });
  await conn.waitForEvent('pusher:signin_success');
  return conn;
}

/** The next watchlist event group of `conn` named `name` about `user`, after any seen so far. */
function nextWatch(conn, name, user, what, ms = 10000) {
  const from = conn.frames.items.length;
  return conn.waitFor(
    (f) => f.event === 'pusher_internal:watchlist_events' && JSON.parse(f.data).events.some((e) => e.name === name && e.user_ids.includes(user)),
    ms,
    what,
    { from },
  );
}

const watchEvents = (conn) =>
  conn.frames.items.filter((f) => f.event === 'pusher_internal:watchlist_events').map((f) => JSON.parse(f.data).events);

test('watchers on one node hear of users on the others; a reload onto another node tells nothing', { timeout: 40000 }, async (t) => {
  const [user, other] = [uid('u-'), uid('o-')];
  const watcher = await signedIn(t, a, { id: uid('w-'), watchlist: [user, other] });
  await watcher.waitFor((f) => f.event === 'pusher_internal:watchlist_events', 5000, 'initial status');
  assert.deepEqual(watchEvents(watcher), [[{ name: 'offline', user_ids: [user, other] }]]);

  const online = nextWatch(watcher, 'online', user, 'online from node b');
  const onB = await signedIn(t, b, { id: user });
  await online;
  const onC = await signedIn(t, c, { id: user }, 'second tab on c');
  const status = await (await rest(c, APP).get({ path: `/users/${user}` })).json();
  assert.equal(status.connections, 2, 'connections on b and c, asked of c');

  // The b tab closes, then the c tab reloads onto node a within the delay.
  await onB.closeAndWait();
  await onC.closeAndWait();
  const reloaded = await signedIn(t, a, { id: user }, 'reloaded on a');
  // `other` comes and goes meanwhile, on node c: its offline marks the delay's end.
  const otherOnline = nextWatch(watcher, 'online', other, 'other online');
  const otherConn = await signedIn(t, c, { id: other });
  await otherOnline;
  const otherOffline = nextWatch(watcher, 'offline', other, 'other offline');
  await otherConn.closeAndWait();
  await otherOffline;
  assert.deepEqual(watchEvents(watcher), [
    [{ name: 'offline', user_ids: [user, other] }],
    [{ name: 'online', user_ids: [user] }],
    [{ name: 'online', user_ids: [other] }],
    [{ name: 'offline', user_ids: [other] }],
  ]);
  const offline = nextWatch(watcher, 'offline', user, 'user offline at last');
  await reloaded.closeAndWait();
  await offline;
});

test('the delivery log counts the deliveries of every node', { timeout: 30000 }, async (t) => {
  const channel = uid('orders.');
  const subs = [];
  for (const node of [a, b, c]) {
    const conn = await connectRaw(node.wsUrl(), { name: `sub on ${node.port}` }, t);
    await conn.subscribe(channel);
    subs.push(conn);
  }
  // Published on b, excluding a's subscriber: delivered on b and c.
  await rest(b, APP).trigger(channel, 'paid', { n: 1 }, { socket_id: subs[0].socketId });
  for (const conn of subs.slice(1)) await conn.waitForEvent('paid', channel);
  const record = await waitUntil(async () => {
    const { events } = await (await rest(a, APP).get({ path: '/delivery_log', params: { limit: '50' } })).json();
    return events.find((r) => r.channel === channel && r.delivered === 2);
  }, 10000, 'the record with both deliveries, read on node a');
  assert.equal(record.nodes, 2);
  assert.equal(record.except, subs[0].socketId);
});

test('a node that vanishes takes its users offline, cluster-wide', { timeout: 40000 }, async (t) => {
  const user = uid('doomed-');
  const watcher = await signedIn(t, a, { id: uid('w-'), watchlist: [user] });
  await watcher.waitForEvent('pusher_internal:watchlist_events');
  const online = nextWatch(watcher, 'online', user, 'online');
  await signedIn(t, c, { id: user });
  await online;
  const offline = nextWatch(watcher, 'offline', user, 'offline once the lease ran out', 20000);
  c.kill('SIGKILL');
  await offline;
  const status = await (await rest(b, APP).get({ path: `/users/${user}` })).json();
  assert.equal(status.online, false);
  assert.ok(status.last_seen > 0);
});
