// Cache channels (spec §2.7).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, app } from '../lib/server.js';
import { connectRaw } from '../lib/raw.js';
import { pjs, rest, collector } from '../lib/clients.js';
import { hmac, request } from '../lib/http.js';
import { uid } from '../lib/util.js';

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

/** frames for `channel` received after the subscribe */
function channelFrames(c, channel, from) {
  return c.frames.items.slice(from).filter((f) => f.channel === channel);
}

test('cache-prices: the last published event is replayed right after subscription_succeeded', { timeout: 15000 }, async (t) => {
  const channel = uid('cache-prices-');
  // published with nobody subscribed; the last one wins
  await sdk.trigger(channel, 'price.changed', { eur: 1 });
  const data = '{"eur" : 2, "note":"kept \\u00e9 verbatim"}';
  const r = await request(server, { method: 'POST', path: `/apps/${APP.id}/events`, app: APP, body: { name: 'price.changed', channels: [channel], data } });
  assert.equal(r.status, 200, r.text);

  const c = await connectRaw(server.wsUrl(), {}, t);
  const from = c.frames.items.length;
  const s = await c.subscribe(channel);
  assert.equal(s.event, 'pusher_internal:subscription_succeeded');
  const cached = await c.waitFor((f) => f.channel === channel && f.event === 'price.changed', 5000, 'cached event', { from });
  assert.equal(cached.data, data, 'cached data is replayed byte-for-byte');
  const frames = channelFrames(c, channel, from);
  assert.deepEqual(
    frames.map((f) => f.event),
    ['pusher_internal:subscription_succeeded', 'price.changed'],
    'the cached event directly follows subscription_succeeded',
  );
  assert.deepEqual(Object.keys(cached).filter((k) => k !== '__raw').sort(), ['channel', 'data', 'event']);
});

test('pusher-js subscriber of a cache channel receives the cached event', { timeout: 15000 }, async (t) => {
  const channel = uid('cache-rates-');
  await sdk.trigger(channel, 'rate', { usd: 1.08 });
  const c = pjs(t, server, APP);
  const got = collector('rate');
  c.pusher.subscribe(channel).bind('rate', got.cb);
  assert.deepEqual(await got.inbox.waitFor(() => true, 5000, 'cached rate'), { usd: 1.08 });
});

test('empty cache channel → {"event":"pusher:cache_miss","channel":...} without data', { timeout: 15000 }, async (t) => {
  const channel = uid('cache-empty-');
  const c = await connectRaw(server.wsUrl(), {}, t);
  const from = c.frames.items.length;
  await c.subscribe(channel);
  const miss = await c.waitFor((f) => f.channel === channel && f.event === 'pusher:cache_miss', 5000, 'cache_miss', { from });
  assert.equal('data' in miss, false, `cache_miss must not carry data: ${miss.__raw}`);
  assert.deepEqual(
    channelFrames(c, channel, from).map((f) => f.event),
    ['pusher_internal:subscription_succeeded', 'pusher:cache_miss'],
  );
  // pusher-js surfaces it as a channel event
  const p = pjs(t, server, APP);
  const got = collector('cache_miss');
  p.pusher.subscribe(channel).bind('pusher:cache_miss', got.cb);
  await got.inbox.waitFor(() => true, 5000, 'pusher-js pusher:cache_miss');
});

test('live events on a cache channel reach current subscribers and update the cache', { timeout: 15000 }, async (t) => {
  const channel = uid('cache-live-');
  const a = await connectRaw(server.wsUrl(), { name: 'a' }, t);
  await a.subscribe(channel);
  await a.waitForEvent('pusher:cache_miss', channel);
  await sdk.trigger(channel, 'tick', { n: 1 });
  await a.waitForEvent('tick', channel);
  const b = await connectRaw(server.wsUrl(), { name: 'b' }, t);
  const from = b.frames.items.length;
  await b.subscribe(channel);
  const f = await b.waitFor((x) => x.channel === channel && x.event === 'tick', 5000, 'cached tick', { from });
  assert.equal(f.data, '{"n":1}');
  // a does not get the cached replay again
  await a.ping();
  assert.equal(a.frames.count((x) => x.event === 'tick'), 1);
});

test('client events are not cached (Recommended: cache only server-published events)', { timeout: 15000 }, async (t) => {
  const channel = uid('private-cache-whisper.');
  const auth = (c) => `${APP.key}:${hmac(APP.secret, `${c.socketId}:${channel}`)}`;
  const a = await connectRaw(server.wsUrl(), { name: 'a' }, t);
  const s = await a.subscribe(channel, { auth: auth(a) });
  assert.equal(s.event, 'pusher_internal:subscription_succeeded', s.__raw);
  await a.waitForEvent('pusher:cache_miss', channel);
  a.send({ event: 'client-typing', channel, data: { x: 1 } });
  await a.ping();
  const b = await connectRaw(server.wsUrl(), { name: 'b' }, t);
  const from = b.frames.items.length;
  await b.subscribe(channel, { auth: auth(b) });
  const next = await b.waitFor(
    (f) => f.channel === channel && f.event !== 'pusher_internal:subscription_succeeded',
    5000,
    'cache result',
    { from },
  );
  assert.equal(next.event, 'pusher:cache_miss', `client event was cached: ${next.__raw}`);
});

test('private-cache- and presence-cache- channels also replay', { timeout: 15000 }, async (t) => {
  const priv = uid('private-cache-orders.');
  const pres = uid('presence-cache-room.');
  await sdk.trigger([priv, pres], 'state', { v: 9 });
  const c = await connectRaw(server.wsUrl(), {}, t);
  const from = c.frames.items.length;
  const s1 = await c.subscribe(priv, { auth: `${APP.key}:${hmac(APP.secret, `${c.socketId}:${priv}`)}` });
  assert.equal(s1.event, 'pusher_internal:subscription_succeeded', s1.__raw);
  const cd = '{"user_id":"1"}';
  const s2 = await c.subscribe(pres, { auth: `${APP.key}:${hmac(APP.secret, `${c.socketId}:${pres}:${cd}`)}`, channel_data: cd });
  assert.equal(s2.event, 'pusher_internal:subscription_succeeded', s2.__raw);
  await c.waitFor((f) => f.channel === priv && f.event === 'state', 5000, 'private-cache replay', { from });
  await c.waitFor((f) => f.channel === pres && f.event === 'state', 5000, 'presence-cache replay', { from });
});

test('GET /channels/{cache channel}?info=cache (optional P extension) does not break', { timeout: 15000 }, async () => {
  const channel = uid('cache-info-');
  await sdk.trigger(channel, 'x', { y: 1 });
  const r = await request(server, { path: `/apps/${APP.id}/channels/${channel}`, app: APP, params: { info: 'cache' } });
  // P: {"occupied":false,"cache":{"data":"...","ttl":N}}; tolerated: 200 without cache, or 400 if unsupported
  assert.ok([200, 400].includes(r.status), `status ${r.status} ${r.text}`);
  if (r.status === 200) {
    assert.equal(r.json.occupied, false);
    if (r.json.cache) assert.equal(r.json.cache.data, '{"y":1}');
  }
});
