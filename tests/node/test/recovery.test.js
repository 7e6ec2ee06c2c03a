// History and recovery (pushbus's `recovery` feature) with the npm package's
// `enableRecovery` on Laravel Echo: a client whose TCP connection is killed while
// events are published reconnects by itself and its `.listen()` callbacks get every
// event, in order, once; a gap it cannot fill is told to `onGap`; rewind; the REST
// history; unmodified clients' frames unchanged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, app } from '../lib/server.js';
import { cuttableProxy, subscribed } from '../lib/cuttable.js';
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

/** Echo through `via`, with recovery; its subscriptions, and what they heard. */
function echoWithRecovery(t, via, user, onGap = () => {}) {
  const { echo, client } = makeEcho(t, via, APP, { user });
  const recovery = enableRecovery(echo, { onGap });
  return { echo, client, recovery };
}


test('Echo with enableRecovery: 50 events published while its connection is down all arrive, in order, once', { timeout: 60000, skip }, async (t) => {
  const via = await cuttableProxy(t, () => server.port);
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
  const via = await cuttableProxy(t, () => server.port);
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
