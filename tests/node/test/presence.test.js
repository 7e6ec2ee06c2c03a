// Presence channels on the wire (spec §2.5): payload shapes, string user ids,
// one user on several connections.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, app } from '../lib/server.js';
import { connectRaw, decodeData } from '../lib/raw.js';
import { makeEcho, rest, collector } from '../lib/clients.js';
import { uid } from '../lib/util.js';
import { hmac } from '../lib/http.js';

const APP = app();
const TINY = app({ id: '301', key: 'tinykey', secret: 'tinysecret', max_presence_members: 2 });
let server;
let sdk;

before(async () => {
  server = await startServer({ apps: [APP, TINY] });
  sdk = rest(server, APP);
});
after(async () => {
  await server?.stop();
});

/** Subscribe a raw socket to a presence channel, signing like Laravel (or with raw channel_data). */
async function joinRaw(c, channel, { user_id, user_info, channelData, appCfg = APP } = {}) {
  const cd = channelData ?? JSON.stringify(user_info === undefined ? { user_id } : { user_id, user_info });
  const sig = hmac(appCfg.secret, `${c.socketId}:${channel}:${cd}`);
  return c.subscribe(channel, { auth: `${appCfg.key}:${sig}`, channel_data: cd });
}

const presenceOf = (frame) => decodeData(frame).presence;

test('subscription_succeeded carries ids/hash/count with string ids (numeric user_id normalised)', { timeout: 15000 }, async (t) => {
  const channel = uid('presence-shape.');
  const a = await connectRaw(server.wsUrl(), { name: 'a' }, t);
  const b = await connectRaw(server.wsUrl(), { name: 'b' }, t);
  const c = await connectRaw(server.wsUrl(), { name: 'c' }, t);

  // numeric user_id in channel_data (allowed by the protocol; P turns 42 into "42")
  const fa = await joinRaw(a, channel, { channelData: '{"user_id":42,"user_info":{"name":"Num"}}' });
  assert.equal(fa.event, 'pusher_internal:subscription_succeeded', fa.__raw);
  assert.equal(typeof fa.data, 'string', 'presence subscription_succeeded data must be a JSON string');
  assert.deepEqual(presenceOf(fa), { ids: ['42'], hash: { 42: { name: 'Num' } }, count: 1 });

  // string id, PHP-style escaped channel_data is signed and used verbatim
  const fb = await joinRaw(b, channel, { channelData: '{"user_id":"7","user_info":{"name":"Zo\\u00eb","url":"https:\\/\\/x.test"}}' });
  assert.equal(fb.event, 'pusher_internal:subscription_succeeded', fb.__raw);
  const pb = presenceOf(fb);
  assert.equal(pb.count, 2);
  assert.deepEqual([...pb.ids].sort(), ['42', '7']);
  for (const id of pb.ids) assert.equal(typeof id, 'string');
  assert.deepEqual(pb.hash, { 42: { name: 'Num' }, 7: { name: 'Zoë', url: 'https://x.test' } });

  // member_added to a: user_id as string, user_info as given
  const added = await a.waitForEvent('pusher_internal:member_added', channel);
  assert.equal(typeof added.data, 'string');
  assert.deepEqual(decodeData(added), { user_id: '7', user_info: { name: 'Zoë', url: 'https://x.test' } });

  // no user_info → null in the hash
  const fc = await joinRaw(c, channel, { user_id: '9' });
  const pc = presenceOf(fc);
  assert.equal(pc.count, 3);
  assert.equal(pc.hash['9'], null);

  // the joining socket itself gets no member_added for itself
  await c.ping();
  assert.equal(c.frames.count((f) => f.event === 'pusher_internal:member_added'), 0);
  // b saw c join, a saw b and c
  await b.waitFor((f) => f.event === 'pusher_internal:member_added' && decodeData(f).user_id === '9', 5000, 'b sees 9');
  await a.waitFor((f) => f.event === 'pusher_internal:member_added' && decodeData(f).user_id === '9', 5000, 'a sees 9');

  // REST users: ids as strings
  const users = await (await sdk.get({ path: `/channels/${channel}/users` })).json();
  assert.deepEqual(
    users.users.map((u) => u.id).sort(),
    ['42', '7', '9'],
  );
  for (const u of users.users) assert.deepEqual(Object.keys(u), ['id']);

  // numeric member leaving: member_removed with string id
  a.unsubscribe(channel);
  const removed = await b.waitForEvent('pusher_internal:member_removed', channel);
  assert.equal(typeof removed.data, 'string');
  assert.deepEqual(decodeData(removed), { user_id: '42' });
});

test('one user on two connections: exactly one joining and one leaving (after the last connection leaves)', { timeout: 20000 }, async (t) => {
  const name = uid('dup.');
  const channel = `presence-${name}`;
  // observer is a Laravel Echo client
  const observer = makeEcho(t, server, APP, { user: { id: 100, info: { name: 'Observer' } }, name: 'observer' });
  const here = collector('here');
  const joining = collector('joining');
  const leaving = collector('leaving');
  const marker = collector('marker');
  observer.echo.join(name).here(here.cb).joining(joining.cb).leaving(leaving.cb).listen('.marker', marker.cb);
  await here.inbox.waitFor(() => true, 5000, 'observer here()');

  const tab1 = await connectRaw(server.wsUrl(), { name: 'tab1' }, t);
  const tab2 = await connectRaw(server.wsUrl(), { name: 'tab2' }, t);
  const info = { name: 'Dana' };
  const s1 = await joinRaw(tab1, channel, { user_id: '5', user_info: info });
  assert.equal(s1.event, 'pusher_internal:subscription_succeeded');
  assert.equal(presenceOf(s1).count, 2);
  assert.deepEqual(await joining.inbox.waitFor(() => true, 5000, 'joining'), info);

  const s2 = await joinRaw(tab2, channel, { user_id: '5', user_info: info });
  assert.equal(s2.event, 'pusher_internal:subscription_succeeded');
  const p2 = presenceOf(s2);
  assert.equal(p2.count, 2, 'count is distinct users, not connections');
  assert.deepEqual([...p2.ids].sort(), ['100', '5']);

  // barrier: marker triggered after tab2 joined must arrive, and no second joining before it
  await sdk.trigger(channel, 'marker', { n: 1 });
  await marker.inbox.waitFor((m) => m.n === 1, 5000, 'marker 1');
  assert.equal(joining.inbox.items.length, 1, 'second connection of the same user produced another joining');
  await tab1.ping();
  assert.equal(tab1.frames.count((f) => f.event === 'pusher_internal:member_added'), 0, 'same user must not see itself added');

  // first connection leaves: the user is still present
  tab1.unsubscribe(channel);
  await tab1.ping(); // unsubscribe processed
  const users = await (await sdk.get({ path: `/channels/${channel}/users` })).json();
  assert.deepEqual(users.users.map((u) => u.id).sort(), ['100', '5']);
  await sdk.trigger(channel, 'marker', { n: 2 });
  await marker.inbox.waitFor((m) => m.n === 2, 5000, 'marker 2');
  assert.equal(leaving.inbox.items.length, 0, 'leaving fired although the user still has a connection');

  // second connection goes away (socket closed) → one leaving
  await tab2.closeAndWait();
  assert.deepEqual(await leaving.inbox.waitFor(() => true, 5000, 'leaving'), info);
  await sdk.trigger(channel, 'marker', { n: 3 });
  await marker.inbox.waitFor((m) => m.n === 3, 5000, 'marker 3');
  assert.equal(leaving.inbox.items.length, 1);
  assert.equal(joining.inbox.items.length, 1);
});

test('user_info stays the first connection\'s value until the user fully leaves (§2.5)', { timeout: 15000 }, async (t) => {
  const channel = uid('presence-info.');
  const tab1 = await connectRaw(server.wsUrl(), { name: 'tab1' }, t);
  const tab2 = await connectRaw(server.wsUrl(), { name: 'tab2' }, t);
  const other = await connectRaw(server.wsUrl(), { name: 'other' }, t);
  await joinRaw(tab1, channel, { user_id: '1', user_info: { v: 'first' } });
  await joinRaw(tab2, channel, { user_id: '1', user_info: { v: 'second' } });
  const s = await joinRaw(other, channel, { user_id: '2' });
  assert.deepEqual(presenceOf(s).hash['1'], { v: 'first' });
});

test('re-subscribing to the same presence channel does not duplicate membership', { timeout: 15000 }, async (t) => {
  const channel = uid('presence-resub.');
  const a = await connectRaw(server.wsUrl(), { name: 'a' }, t);
  const b = await connectRaw(server.wsUrl(), { name: 'b' }, t);
  await joinRaw(a, channel, { user_id: '1' });
  await joinRaw(b, channel, { user_id: '2' });
  await a.waitForEvent('pusher_internal:member_added', channel);
  const again = await joinRaw(b, channel, { user_id: '2' });
  assert.equal(again.event, 'pusher_internal:subscription_succeeded');
  assert.equal(presenceOf(again).count, 2);
  await b.ping();
  await a.ping();
  assert.equal(a.frames.count((f) => f.event === 'pusher_internal:member_added'), 1);
  b.unsubscribe(channel);
  await a.waitForEvent('pusher_internal:member_removed', channel);
  const r = await (await sdk.get({ path: `/channels/${channel}`, params: { info: 'user_count' } })).json();
  assert.deepEqual(r, { occupied: true, user_count: 1 });
});

test('presence auth errors: bad signature, malformed channel_data → subscription_error AuthError 401', { timeout: 15000 }, async (t) => {
  const channel = uid('presence-bad.');
  const c = await connectRaw(server.wsUrl(), {}, t);
  const bad = await c.subscribe(channel, { auth: `${APP.key}:${'0'.repeat(64)}`, channel_data: '{"user_id":"1"}' });
  assert.equal(bad.event, 'pusher:subscription_error', bad.__raw);
  assert.equal(bad.data.type, 'AuthError');
  assert.equal(bad.data.status, 401);
  // correctly signed, but channel_data is not JSON
  const malformed = await joinRaw(c, channel, { channelData: 'not-json' });
  assert.equal(malformed.event, 'pusher:subscription_error', malformed.__raw);
  assert.equal(malformed.data.type, 'AuthError');
  assert.ok(c.isOpen);
  // missing channel_data on presence without sign-in
  const none = await c.subscribe(channel, { auth: rest(server, APP).authorizeChannel(c.socketId, channel).auth });
  assert.equal(none.event, 'pusher:subscription_error', none.__raw);
  assert.ok(c.isOpen);
});

test('presence member limit (max_presence_members) → subscription_error LimitReached', { timeout: 15000 }, async (t) => {
  const channel = uid('presence-full.');
  const clients = [];
  for (let i = 0; i < 3; i++) clients.push(await connectRaw(server.wsUrl(TINY.key), { name: `m${i}` }, t));
  assert.equal((await joinRaw(clients[0], channel, { user_id: 'a', appCfg: TINY })).event, 'pusher_internal:subscription_succeeded');
  assert.equal((await joinRaw(clients[1], channel, { user_id: 'b', appCfg: TINY })).event, 'pusher_internal:subscription_succeeded');
  // same user again on a new connection is not a new member
  const sameUser = await joinRaw(clients[2], channel, { user_id: 'a', appCfg: TINY });
  assert.equal(sameUser.event, 'pusher_internal:subscription_succeeded', 'an existing member may open another connection');
  const c3 = await connectRaw(server.wsUrl(TINY.key), { name: 'm3' }, t);
  const full = await joinRaw(c3, channel, { user_id: 'c', appCfg: TINY });
  assert.equal(full.event, 'pusher:subscription_error', full.__raw);
  assert.equal(full.data.type, 'LimitReached');
  assert.equal(full.data.status, 4100);
  assert.ok(c3.isOpen);
});
