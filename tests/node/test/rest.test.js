// HTTP API through the official `pusher` Node SDK (spec §6.2) plus raw
// requests in the exact forms other SDKs use.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, app } from '../lib/server.js';
import { connectRaw, decodeData } from '../lib/raw.js';
import { pjs, rest, collector } from '../lib/clients.js';
import { hmac, request } from '../lib/http.js';
import { deferred, withTimeout, uid } from '../lib/util.js';

const APP = app();
let server;
let sdk;

before(async () => {
  server = await startServer({ apps: [APP] });
  sdk = rest(server, APP);
});
after(async () => {
  await server?.stop();
});

async function joinPresence(c, channel, userId) {
  const { auth, channel_data } = sdk.authorizeChannel(c.socketId, channel, { user_id: userId, user_info: { n: userId } });
  const f = await c.subscribe(channel, { auth, channel_data });
  assert.equal(f.event, 'pusher_internal:subscription_succeeded', f.__raw);
}
async function joinPrivate(c, channel) {
  const f = await c.subscribe(channel, { auth: sdk.authorizeChannel(c.socketId, channel).auth });
  assert.equal(f.event, 'pusher_internal:subscription_succeeded', f.__raw);
}
const json = async (res) => {
  assert.equal(res.status, 200);
  return res.json();
};

test('trigger to several channels in one request → 200 {} and delivered on each', { timeout: 15000 }, async (t) => {
  const chans = [uid('multi-a-'), uid('private-multi-b.'), uid('presence-multi-c.')];
  const c = await connectRaw(server.wsUrl(), {}, t);
  await c.subscribe(chans[0]);
  await joinPrivate(c, chans[1]);
  await joinPresence(c, chans[2], '1');
  const res = await sdk.trigger(chans, 'App\\Events\\Fanout', { n: 1 });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  for (const ch of chans) {
    const f = await c.waitForEvent('App\\Events\\Fanout', ch);
    assert.equal(f.data, '{"n":1}');
  }
});

test('event data is forwarded byte-for-byte as a JSON string', { timeout: 15000 }, async (t) => {
  const channel = uid('verbatim-');
  const c = await connectRaw(server.wsUrl(), {}, t);
  await c.subscribe(channel);
  const samples = [
    '{"url":"https:\\/\\/x.test\\/o\\/1","name":"Zo\\u00eb"}', // PHP json_encode escaping
    '{"a": 1, "b": [1, 2]}', // Python json.dumps spacing
    'plain text, not JSON at all',
    '{"emoji":"😀","quote":"\\"","nl":"a\\nb"}',
  ];
  for (const [i, data] of samples.entries()) {
    const r = await request(server, { method: 'POST', path: `/apps/${APP.id}/events`, app: APP, body: { name: `v${i}`, channels: [channel], data } });
    assert.equal(r.status, 200, r.text);
    const f = await c.waitForEvent(`v${i}`, channel);
    assert.equal(f.data, data);
  }
});

test('PHP SDK body form: single "channel" key (Laravel, one channel)', { timeout: 15000 }, async (t) => {
  const channel = uid('private-php.');
  const c = await connectRaw(server.wsUrl(), {}, t);
  await joinPrivate(c, channel);
  const r = await request(server, {
    method: 'POST',
    path: `/apps/${APP.id}/events`,
    app: APP,
    body: { name: 'App\\Events\\OrderShipped', data: '{"order":{"id":1}}', channel },
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, {});
  const f = await c.waitForEvent('App\\Events\\OrderShipped', channel);
  assert.deepEqual(decodeData(f), { order: { id: 1 } });
});

test('trigger with info=subscription_count,user_count → {"channels":{...}}', { timeout: 15000 }, async (t) => {
  const pub = uid('info-pub-');
  const pres = uid('presence-info.');
  const a = await connectRaw(server.wsUrl(), { name: 'a' }, t);
  const b = await connectRaw(server.wsUrl(), { name: 'b' }, t);
  await a.subscribe(pub);
  await b.subscribe(pub);
  await joinPresence(a, pres, '1');
  await joinPresence(b, pres, '2');
  const res = await sdk.trigger([pub, pres], 'e', {}, { info: 'subscription_count,user_count' });
  const body = await json(res);
  assert.deepEqual(body.channels[pub], { subscription_count: 2 });
  assert.equal(body.channels[pres].user_count, 2);
});

test('triggerBatch → {} ; with info on a presence item → {"batch":[...]} index-aligned', { timeout: 15000 }, async (t) => {
  const pub = uid('batch-pub-');
  const pres = uid('presence-batch.');
  const c = await connectRaw(server.wsUrl(), {}, t);
  await c.subscribe(pub);
  await joinPresence(c, pres, '1');

  const plain = await json(await sdk.triggerBatch([
    { channel: pub, name: 'b1', data: { i: 1 } },
    { channel: pres, name: 'b2', data: { i: 2 } },
  ]));
  assert.deepEqual(plain, {});
  assert.deepEqual(decodeData(await c.waitForEvent('b1', pub)), { i: 1 });
  assert.deepEqual(decodeData(await c.waitForEvent('b2', pres)), { i: 2 });

  const withInfo = await json(await sdk.triggerBatch([
    { channel: pres, name: 'b3', data: {}, info: 'user_count' },
    { channel: pub, name: 'b4', data: {} },
  ]));
  assert.ok(Array.isArray(withInfo.batch), JSON.stringify(withInfo));
  assert.equal(withInfo.batch.length, 2);
  assert.deepEqual(withInfo.batch[0], { user_count: 1 });
  assert.deepEqual(withInfo.batch[1], {});
  await c.waitForEvent('b3', pres);
  await c.waitForEvent('b4', pub);
});

test('socket_id exclusion: only that socket is skipped', { timeout: 15000 }, async (t) => {
  const channel = uid('exclude-');
  const me = pjs(t, server, APP, { name: 'me' });
  const other = pjs(t, server, APP, { name: 'other' });
  const mine = collector('mine');
  const theirs = collector('theirs');
  const subscribed = (c, cb) => {
    const d = deferred();
    const ch = c.pusher.subscribe(channel);
    ch.bind('pusher:subscription_succeeded', () => d.resolve());
    ch.bind('news', cb);
    return withTimeout(d.promise, 5000, `${c.name} subscribed`);
  };
  await subscribed(me, mine.cb);
  await subscribed(other, theirs.cb);
  await sdk.trigger(channel, 'news', { n: 1 }, { socket_id: me.socketId });
  await sdk.trigger(channel, 'news', { n: 2 });
  await theirs.inbox.waitFor((x) => x.n === 2, 5000, 'other gets n=2');
  assert.deepEqual(theirs.inbox.items, [{ n: 1 }, { n: 2 }]);
  await mine.inbox.waitFor((x) => x.n === 2, 5000, 'me gets n=2');
  assert.deepEqual(mine.inbox.items, [{ n: 2 }], 'excluded socket received the event');
});

test('GET /channels with and without filter_by_prefix=presence-&info=user_count', { timeout: 15000 }, async (t) => {
  const pub = uid('list-pub-');
  const pres = uid('presence-list.');
  const a = await connectRaw(server.wsUrl(), { name: 'a' }, t);
  const b = await connectRaw(server.wsUrl(), { name: 'b' }, t);
  await a.subscribe(pub);
  await joinPresence(a, pres, '1');
  await joinPresence(b, pres, '2');

  const all = await json(await sdk.get({ path: '/channels' }));
  assert.deepEqual(all.channels[pub], {});
  assert.deepEqual(all.channels[pres], {});

  const filtered = await json(await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-', info: 'user_count' } }));
  assert.deepEqual(filtered.channels[pres], { user_count: 2 });
  assert.equal(pub in filtered.channels, false);
  for (const name of Object.keys(filtered.channels)) assert.ok(name.startsWith('presence-'), name);

  const prefixOnly = await json(await sdk.get({ path: '/channels', params: { filter_by_prefix: 'list-pub-' } }));
  assert.deepEqual(prefixOnly.channels[pub], {});
  for (const name of Object.keys(prefixOnly.channels)) assert.ok(name.startsWith('list-pub-'), name);

  // info=user_count without the presence- prefix filter → 400 (P)
  await assert.rejects(sdk.get({ path: '/channels', params: { info: 'user_count' } }), (e) => e.status === 400);
});

test('GET /channels/{name}: subscription_count, user_count, occupied', { timeout: 15000 }, async (t) => {
  const pub = uid('count-pub-');
  const pres = uid('presence-count.');
  const a = await connectRaw(server.wsUrl(), { name: 'a' }, t);
  const b = await connectRaw(server.wsUrl(), { name: 'b' }, t);
  const b2 = await connectRaw(server.wsUrl(), { name: 'b2' }, t);
  await a.subscribe(pub);
  await b.subscribe(pub);
  await joinPresence(a, pres, '1');
  await joinPresence(b, pres, '2');
  await joinPresence(b2, pres, '2'); // same user, second tab

  assert.deepEqual(await json(await sdk.get({ path: `/channels/${pub}`, params: { info: 'subscription_count' } })), {
    occupied: true,
    subscription_count: 2,
  });
  assert.deepEqual(await json(await sdk.get({ path: `/channels/${pres}`, params: { info: 'user_count' } })), {
    occupied: true,
    user_count: 2,
  });
  assert.deepEqual(await json(await sdk.get({ path: `/channels/${pub}` })), { occupied: true });
  assert.deepEqual(await json(await sdk.get({ path: `/channels/${uid('nobody-')}` })), { occupied: false });

  // vacated after the last subscriber leaves
  a.unsubscribe(pub);
  b.unsubscribe(pub);
  await a.ping();
  await b.ping();
  assert.deepEqual(await json(await sdk.get({ path: `/channels/${pub}` })), { occupied: false });
});

test('GET /channels/{presence}/users → {"users":[{"id":"1"},...]}; non-presence → 400', { timeout: 15000 }, async (t) => {
  const pres = uid('presence-users.');
  const clients = [];
  for (const id of ['1', '2', '3']) {
    const c = await connectRaw(server.wsUrl(), { name: `u${id}` }, t);
    await joinPresence(c, pres, id);
    clients.push(c);
  }
  const extra = await connectRaw(server.wsUrl(), { name: 'u1b' }, t);
  await joinPresence(extra, pres, '1');
  const body = await json(await sdk.get({ path: `/channels/${pres}/users` }));
  assert.deepEqual(
    [...body.users].sort((x, y) => x.id.localeCompare(y.id)),
    [{ id: '1' }, { id: '2' }, { id: '3' }],
  );
  // unoccupied presence channel → empty list (Recommended)
  assert.deepEqual(await json(await sdk.get({ path: `/channels/${uid('presence-empty.')}/users` })), { users: [] });
  await assert.rejects(sdk.get({ path: `/channels/${uid('public-')}/users` }), (e) => e.status === 400);
});

test('GET /up (unsigned) → 200', { timeout: 15000 }, async () => {
  const r = await request(server, { path: '/up', sign: false });
  assert.equal(r.status, 200, r.text);
});

test('GET /ready (unsigned) → 200 {"ready":true} while serving (on every node of a cluster)', { timeout: 15000 }, async () => {
  const r = await request(server, { path: '/ready', sign: false });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { ready: true });
});

test('GET signed Python-style (body_md5 of the empty body) is accepted', { timeout: 15000 }, async () => {
  const r = await request(server, { path: `/apps/${APP.id}/channels`, app: APP, md5Always: true, params: { filter_by_prefix: 'presence-', info: 'user_count' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(typeof r.json.channels, 'object');
});

test('percent-encoded query values (Guzzle sends "," as %2C) are decoded before verifying', { timeout: 15000 }, async (t) => {
  const pres = uid('presence-g,uzzle.');
  const c = await connectRaw(server.wsUrl(), {}, t);
  await joinPresence(c, pres, '1');
  // signQuery signs the raw value but sends it percent-encoded: filter_by_prefix=presence-g%2Cuzzle
  const r = await request(server, { path: `/apps/${APP.id}/channels`, app: APP, params: { filter_by_prefix: 'presence-g,uzzle', info: 'user_count' } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.channels[pres], { user_count: 1 });
});

test('terminateUserConnections for a user with no connections → 200 {}', { timeout: 15000 }, async () => {
  const res = await sdk.terminateUserConnections('nobody-home');
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
});

test('the SDK\'s authorizeChannel output is accepted by the server', { timeout: 15000 }, async (t) => {
  const c = await connectRaw(server.wsUrl(), {}, t);
  const priv = uid('private-sdk.');
  const { auth } = sdk.authorizeChannel(c.socketId, priv);
  assert.equal(auth, `${APP.key}:${hmac(APP.secret, `${c.socketId}:${priv}`)}`);
  assert.equal((await c.subscribe(priv, { auth })).event, 'pusher_internal:subscription_succeeded');
});
