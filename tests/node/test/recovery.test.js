// History and recovery (pushbus's `recovery` feature) with the npm package's
// `enableRecovery` on Laravel Echo: a client whose TCP connection is killed while
// events are published reconnects by itself and its `.listen()` callbacks get every
// event, in order, once; a gap it cannot fill is told to `onGap`; rewind; the REST
// history; unmodified clients' frames unchanged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { startServer, startNodes, app } from '../lib/server.js';
import { connectRaw } from '../lib/raw.js';
import { makeEcho, rest } from '../lib/clients.js';
import { Inbox, uid, waitUntil } from '../lib/util.js';
import { enableRecovery } from '../../../npm/recovery.mjs';

// With PUSHBUS_TEST_NODES=3 each runs on a cluster (history in Redis); the last test
// always does, with the reconnect landing on another node.
const skip = false;

const APP = app({
  history: [
    { channels: 'private-client.*', events: 200, ttl: 120 },
    { channels: 'presence-project.*', events: 200, ttl: 120 },
    { channels: 'private-small.*', events: 5, ttl: 120 },
    { channels: 'activity.*', events: 20, ttl: 120, rewind: 5 },
  ],
});
const PLAIN = app({ id: 'plain', key: 'plain-key', secret: 'plain-secret' });
let server;
let sdk;

before(async () => {
  if (skip) return;
  server = await startServer({ apps: [APP, PLAIN] });
  sdk = rest(server, APP);
});
after(async () => {
  await server?.stop();
});

/**
 * A TCP proxy whose connections the test can cut, and hold off: to the server, or to
 * the node `target()` names when each connection opens.
 */
async function cuttableProxy(t, target = () => server.port) {
  const sockets = new Set();
  let refusing = false;
  const proxy = net.createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = net.connect(target(), '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => {
    for (const s of sockets) s.destroy();
    proxy.close(r);
  }));
  return {
    host: '127.0.0.1',
    port: proxy.address().port,
    /** Kills every connection (as a network drop would) and refuses new ones. */
    cut() {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    heal() {
      refusing = false;
    },
  };
}

/** Echo through `via`, with recovery; its subscriptions, and what they heard. */
function echoWithRecovery(t, via, user, onGap = () => {}) {
  const { echo, client } = makeEcho(t, via, APP, { user });
  const recovery = enableRecovery(echo, { onGap });
  return { echo, client, recovery };
}

function subscribed(channel, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not subscribed in time`)), 10000);
    channel.subscribed(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

test('Echo with enableRecovery: 50 events published while its connection is down all arrive, in order, once', { timeout: 60000, skip }, async (t) => {
  const via = await cuttableProxy(t);
  const gaps = [];
  const { echo, client } = echoWithRecovery(t, via, { id: 7, info: { name: 'Nia' } }, (c) => gaps.push(c));
  const [clientChannel, project] = [uid('client.'), uid('project.')];
  const got = { priv: new Inbox('private'), pres: new Inbox('presence') };
  const priv = echo.private(clientChannel).listen('.tick', (e) => got.priv.push(e.n));
  const pres = echo.join(project).listen('.tick', (e) => got.pres.push(e.n));
  await Promise.all([subscribed(priv, 'private'), subscribed(pres, 'presence')]);

  const publish = async (n) => {
    await sdk.trigger(`private-${clientChannel}`, 'tick', { n });
    await sdk.trigger(`presence-${project}`, 'tick', { n });
  };
  for (let n = 1; n <= 5; n += 1) await publish(n);
  await got.priv.waitFor((n) => n === 5, 5000, 'the first five');
  await got.pres.waitFor((n) => n === 5, 5000, 'the first five (presence)');

  via.cut();
  await waitUntil(() => client.pusher.connection.state !== 'connected', 10000, 'pusher-js to notice the drop');
  for (let n = 6; n <= 55; n += 1) await publish(n);
  via.heal();

  const all = Array.from({ length: 55 }, (_, i) => i + 1);
  await got.priv.waitFor((n) => n === 55, 30000, 'event 55 after the reconnect');
  await got.pres.waitFor((n) => n === 55, 30000, 'event 55 after the reconnect (presence)');
  // Live ones after the replay, still once each.
  await publish(56);
  await got.priv.waitFor((n) => n === 56, 5000, 'a live one');
  await got.pres.waitFor((n) => n === 56, 5000, 'a live one (presence)');
  assert.deepEqual(got.priv.items, [...all, 56], 'private: all, in order, none twice');
  assert.deepEqual(got.pres.items, [...all, 56], 'presence: all, in order, none twice');
  assert.deepEqual(gaps, []);
});

test('a gap the history cannot fill calls onGap and replays nothing wrong', { timeout: 60000, skip }, async (t) => {
  const via = await cuttableProxy(t);
  const gaps = [];
  const { echo, client } = echoWithRecovery(t, via, { id: 8 }, (c, position) => gaps.push({ c, position }));
  const name = uid('small.');
  const got = new Inbox('small');
  const ch = echo.private(name).listen('.tick', (e) => got.push(e.n));
  await subscribed(ch, 'small');
  await sdk.trigger(`private-${name}`, 'tick', { n: 1 });
  await got.waitFor((n) => n === 1, 5000, 'the first');

  via.cut();
  await waitUntil(() => client.pusher.connection.state !== 'connected', 10000, 'the drop noticed');
  // 20 events where 5 are kept: 2..15 are gone for good.
  for (let n = 2; n <= 21; n += 1) await sdk.trigger(`private-${name}`, 'tick', { n });
  via.heal();

  await waitUntil(() => gaps.length > 0, 30000, 'onGap');
  assert.equal(gaps[0].c, `private-${name}`);
  assert.equal(gaps[0].position.serial, 21);
  await sdk.trigger(`private-${name}`, 'tick', { n: 22 });
  await got.waitFor((n) => n === 22, 5000, 'live after the gap');
  assert.deepEqual(got.items, [1, 22], 'no partial replay: the app refetches instead');
});

test('rewind: a new subscriber gets the last 5 events in order, before the live ones, none twice', { timeout: 30000, skip }, async (t) => {
  const name = uid('activity.');
  for (let n = 1; n <= 8; n += 1) await sdk.trigger(name, 'item', { n });
  const c = await connectRaw(server.wsUrl(), { name: 'unmodified subscriber' }, t);
  const s = await c.subscribe(name);
  assert.equal(s.event, 'pusher_internal:subscription_succeeded');
  await sdk.trigger(name, 'item', { n: 9 });
  await c.waitFor((f) => f.event === 'item' && JSON.parse(f.data).n === 9, 5000, 'the live one');
  const items = c.frames.items.filter((f) => f.event === 'item').map((f) => JSON.parse(f.data).n);
  assert.deepEqual(items, [4, 5, 6, 7, 8, 9]);
  assert.equal(c.frames.count((f) => f.event.startsWith('pushbus:')), 0, 'no pushbus frame for an unmodified client');
});

test('REST history: events after a serial, the epoch, and 400 for bad values', { timeout: 30000, skip }, async () => {
  const name = `private-${uid('client.')}`;
  for (let n = 1; n <= 4; n += 1) await sdk.trigger(name, 'tick', { n });
  const res = await sdk.get({ path: `/channels/${name}/events`, params: { since: '2', limit: '10' } });
  const page = await res.json();
  assert.equal(page.channel, name);
  assert.equal(page.serial, 4);
  assert.match(page.epoch, /^[0-9a-f]{16}$/);
  assert.deepEqual(page.events.map((e) => [e.serial, e.event, JSON.parse(e.data).n]), [[3, 'tick', 3], [4, 'tick', 4]]);
  assert.ok(page.events.every((e) => Math.abs(e.time - Date.now()) < 60000));
  for (const [params, why] of [[{ since: '-1' }, /since/], [{ since: 'x' }, /since/], [{ limit: '0' }, /limit/], [{ limit: '5000' }, /limit/]]) {
    await assert.rejects(sdk.get({ path: `/channels/${name}/events`, params }), (e) => {
      assert.equal(e.status, 400);
      assert.match(String(e.body), why);
      return true;
    });
  }
  await assert.rejects(sdk.get({ path: '/channels/no-history-here/events' }), (e) => e.status === 400 && /no history rule/.test(String(e.body)));
});

test('unmodified clients get byte-identical frames on a history channel', { timeout: 30000, skip }, async (t) => {
  async function session(a, channel) {
    const c = await connectRaw(server.wsUrl(a.key), { name: `${a.id}` }, t);
    const { auth } = rest(server, a).authorizeChannel(c.socketId, channel);
    await c.subscribe(channel, { auth });
    for (let n = 1; n <= 3; n += 1) await rest(server, a).trigger(channel, 'tick', { n });
    await c.waitFor((f) => f.event === 'tick' && JSON.parse(f.data).n === 3, 5000, 'the third');
    await c.ping();
    return c.rawFrames.map((f) => f.replaceAll(c.socketId, 'SOCKET'));
  }
  const n = uid('');
  assert.deepEqual(await session(APP, `private-client.${n}`), await session(PLAIN, `private-client.${n}`));
});

test('filling history past its byte bound evicts the oldest and keeps the server within it', { timeout: 120000 }, async () => {
  const bounded = app({
    id: 'bounded',
    key: 'bounded-key',
    secret: 'bounded-secret',
    history: [{ channels: 'feed.*', events: 100000, ttl: 3600 }],
    history_max_bytes: 4 << 20,
  });
  const own = await startServer({ apps: [bounded] });
  try {
    // On one node the history is in the process; on a cluster, in Redis (its bound
    // shows in what is evicted).
    const pid = own.proc?.pid;
    const rss = () => {
      if (!pid) return 0;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) * 1024;
    };
    const b = rest(own, bounded);
    const data = { pad: 'x'.repeat(1000) };
    const fill = async (batches) => {
      for (let i = 0; i < batches; i += 1) {
        const batch = Array.from({ length: 10 }, (_, k) => ({ channel: `feed.${k}`, name: 'e', data }));
        await b.triggerBatch(batch);
      }
    };
    // Warm up to the bound, then 5 times as much again: 4 MiB kept at most.
    await fill(500);
    const before = rss();
    await fill(2000);
    const after = rss();
    const page = await (await b.get({ path: '/channels/feed.0/events', params: { since: '0', limit: '1000' } })).json();
    assert.equal(page.serial, 2500, 'every event got a serial');
    assert.ok(page.events[0].serial > 1000, `the oldest were evicted (first kept: ${page.events[0].serial})`);
    assert.ok(after - before < 8 << 20, `RSS grew ${((after - before) / 1048576).toFixed(1)} MiB after 20 MB more history`);
  } finally {
    await own.stop();
  }
});

test('on a 3-node cluster, a reconnect that lands on another node resumes there: 50 missed events, in order, once', { timeout: 60000 }, async (t) => {
  const cluster = await startNodes(3, { apps: [APP] });
  t.after(() => cluster.stop());
  const [a, b, c] = cluster.nodes;
  let target = a.port;
  const via = await cuttableProxy(t, () => target);
  const gaps = [];
  const { echo, client } = makeEcho(t, via, APP, { user: { id: 9, info: { name: 'Ode' } } });
  enableRecovery(echo, { onGap: (ch) => gaps.push(ch) });
  const [clientChannel, project] = [uid('client.'), uid('project.')];
  const got = { priv: new Inbox('private'), pres: new Inbox('presence') };
  const priv = echo.private(clientChannel).listen('.tick', (e) => got.priv.push(e.n));
  const pres = echo.join(project).listen('.tick', (e) => got.pres.push(e.n));
  await Promise.all([subscribed(priv, 'private'), subscribed(pres, 'presence')]);
  // Published through every node in turn: one order, Redis's.
  const sdks = [rest(a, APP), rest(b, APP), rest(c, APP)];
  const publish = async (n) => {
    await sdks[n % 3].trigger(`private-${clientChannel}`, 'tick', { n });
    await sdks[(n + 1) % 3].trigger(`presence-${project}`, 'tick', { n });
  };
  for (let n = 1; n <= 5; n += 1) await publish(n);
  await got.priv.waitFor((n) => n === 5, 5000, 'the first five');
  await got.pres.waitFor((n) => n === 5, 5000, 'the first five (presence)');

  via.cut();
  await waitUntil(() => client.pusher.connection.state !== 'connected', 10000, 'the drop noticed');
  for (let n = 6; n <= 55; n += 1) await publish(n);
  target = c.port; // it comes back on another node
  via.heal();

  await got.priv.waitFor((n) => n === 55, 30000, 'event 55 after resuming on node c');
  await got.pres.waitFor((n) => n === 55, 30000, 'event 55 after resuming on node c (presence)');
  await publish(56);
  await got.priv.waitFor((n) => n === 56, 5000, 'a live one');
  await got.pres.waitFor((n) => n === 56, 5000, 'a live one (presence)');
  const all = Array.from({ length: 56 }, (_, i) => i + 1);
  assert.deepEqual(got.priv.items, all, 'private: all, in order, none twice');
  assert.deepEqual(got.pres.items, all, 'presence: all, in order, none twice');
  assert.deepEqual(gaps, []);
  const page = await (await rest(b, APP).get({ path: `/channels/private-${clientChannel}/events`, params: { since: '50' } })).json();
  assert.deepEqual(page.events.map((e) => JSON.parse(e.data).n), [51, 52, 53, 54, 55, 56], 'REST history from any node');
});
