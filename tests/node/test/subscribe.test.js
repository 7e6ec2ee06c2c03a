// Subscribe / unsubscribe on the wire (spec §2.1–§2.4), including failures.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, app } from '../lib/server.js';
import { connectRaw } from '../lib/raw.js';
import { pjs, rest, collector } from '../lib/clients.js';
import { hmac } from '../lib/http.js';
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

const privAuth = (socketId, channel, secret = APP.secret) => `${APP.key}:${hmac(secret, `${socketId}:${channel}`)}`;

function assertAuthError(frame, channel) {
  assert.equal(frame.event, 'pusher:subscription_error', `expected subscription_error, got ${frame.__raw}`);
  assert.equal(frame.channel, channel);
  assert.equal(typeof frame.data, 'object', `subscription_error data must be an object: ${frame.__raw}`);
  assert.equal(frame.data.type, 'AuthError', frame.__raw);
  assert.equal(frame.data.status, 401, frame.__raw);
  assert.equal(typeof frame.data.error, 'string');
  assert.ok(frame.data.error.length > 0);
}

test('public and private subscribe: subscription_succeeded with data "{}" and the channel', { timeout: 15000 }, async (t) => {
  const c = await connectRaw(server.wsUrl(), {}, t);
  const pub = uid('orders-');
  const f = await c.subscribe(pub);
  assert.equal(f.event, 'pusher_internal:subscription_succeeded');
  assert.equal(f.channel, pub);
  assert.equal(f.data, '{}', `non-presence subscription_succeeded data must be the JSON string "{}": ${f.__raw}`);

  const priv = uid('private-orders.');
  const g = await c.subscribe(priv, { auth: privAuth(c.socketId, priv) });
  assert.equal(g.event, 'pusher_internal:subscription_succeeded', g.__raw);
  assert.equal(g.data, '{}');

  // transcript form: event delivered as {"event","channel","data":"<string>"}
  await sdk.trigger(priv, 'App\\Events\\OrderShipped', { order: { id: 1 } });
  const e = await c.waitForEvent('App\\Events\\OrderShipped', priv);
  assert.equal(e.data, '{"order":{"id":1}}');
  assert.deepEqual(Object.keys(e).filter((k) => k !== '__raw').sort(), ['channel', 'data', 'event']);
});

test('client may send subscribe data as a JSON string (older clients)', { timeout: 15000 }, async (t) => {
  const c = await connectRaw(server.wsUrl(), {}, t);
  const priv = uid('private-legacy.');
  c.send({ event: 'pusher:subscribe', data: JSON.stringify({ auth: privAuth(c.socketId, priv), channel: priv }) });
  const f = await c.waitFor((x) => x.channel === priv, 5000, 'legacy subscribe result');
  assert.equal(f.event, 'pusher_internal:subscription_succeeded', f.__raw);
});

test('bad private auth → subscription_error AuthError 401, socket open, no events on that channel', { timeout: 15000 }, async (t) => {
  const c = await connectRaw(server.wsUrl(), {}, t);
  const pub = uid('marker-');
  await c.subscribe(pub);
  const priv = uid('private-denied.');

  assertAuthError(await c.subscribe(priv, { auth: privAuth(c.socketId, priv, 'wrong-secret') }), priv);
  assertAuthError(await c.subscribe(priv, { auth: '' }), priv); // missing auth
  assertAuthError(await c.subscribe(priv, { auth: `${APP.key}:nothex` }), priv);
  assertAuthError(await c.subscribe(priv, { auth: privAuth('1.1', priv) }), priv); // signed for another socket
  assertAuthError(await c.subscribe(priv, { auth: `otherkey:${hmac(APP.secret, `${c.socketId}:${priv}`)}` }), priv); // wrong key prefix
  assert.ok(c.isOpen);
  assert.equal(c.closeInfo, null);

  await sdk.trigger(priv, 'leak', { secret: true });
  await sdk.trigger(pub, 'marker', {});
  await c.waitForEvent('marker', pub);
  assert.equal(c.frames.count((f) => f.event === 'leak'), 0, 'event delivered on a channel whose subscription failed');
  const info = await (await sdk.get({ path: `/channels/${priv}` })).json();
  assert.deepEqual(info, { occupied: false });
});

test('pusher-js: server-side subscription_error reaches channel.bind("pusher:subscription_error")', { timeout: 15000 }, async (t) => {
  const channel = uid('private-pjs-denied.');
  const c = pjs(t, server, APP, { badAuthFor: (n) => n === channel });
  const errs = collector('errors');
  const ch = c.pusher.subscribe(channel);
  ch.bind('pusher:subscription_error', errs.cb);
  const e = await errs.inbox.waitFor(() => true, 5000, 'subscription_error');
  assert.equal(e.type, 'AuthError');
  assert.equal(e.status, 401);
  assert.equal(c.state, 'connected');
});

test('invalid channel names → subscription_error (not fatal)', { timeout: 15000 }, async (t) => {
  const c = await connectRaw(server.wsUrl(), {}, t);
  for (const name of ['bad channel', 'x'.repeat(201), '#something-else', 'bad:name']) {
    const f = await c.subscribe(name);
    assert.equal(f.event, 'pusher:subscription_error', `subscribing to ${JSON.stringify(name)} should fail: ${f.__raw}`);
    assert.equal(typeof f.data, 'object', f.__raw);
    assert.equal(typeof f.data.type, 'string');
  }
  const ok = await c.subscribe('x'.repeat(200));
  assert.equal(ok.event, 'pusher_internal:subscription_succeeded', '200-char names are allowed');
  const chars = await c.subscribe('a-Z_0=9@,.;');
  assert.equal(chars.event, 'pusher_internal:subscription_succeeded', 'all allowed characters');
  assert.ok(c.isOpen);
});

test('double subscribe replies again without duplicating delivery', { timeout: 15000 }, async (t) => {
  const c = await connectRaw(server.wsUrl(), {}, t);
  const ch = uid('double-');
  await c.subscribe(ch);
  const again = await c.subscribe(ch);
  assert.equal(again.event, 'pusher_internal:subscription_succeeded');
  await sdk.trigger(ch, 'once', {});
  await sdk.trigger(ch, 'marker', {});
  await c.waitForEvent('marker', ch);
  assert.equal(c.frames.count((f) => f.event === 'once'), 1);
  assert.deepEqual(await (await sdk.get({ path: `/channels/${ch}`, params: { info: 'subscription_count' } })).json(), {
    occupied: true,
    subscription_count: 1,
  });
});

test('unsubscribe stops delivery; unsubscribing an unknown channel is ignored', { timeout: 15000 }, async (t) => {
  const c = await connectRaw(server.wsUrl(), {}, t);
  const a = uid('unsub-a-');
  const b = uid('unsub-b-');
  await c.subscribe(a);
  await c.subscribe(b);
  const from = c.frames.items.length;
  c.unsubscribe(a);
  c.unsubscribe(uid('never-subscribed-'));
  await c.ping();
  assert.deepEqual(
    c.frames.items.slice(from).map((f) => f.event),
    ['pusher:pong'],
    'unsubscribe gets no reply',
  );
  await sdk.trigger(a, 'gone', {});
  await sdk.trigger(b, 'marker', {});
  await c.waitForEvent('marker', b);
  assert.equal(c.frames.count((f) => f.event === 'gone'), 0);
});

test('pusher-js unsubscribe/resubscribe round trip', { timeout: 15000 }, async (t) => {
  const channel = uid('pjs-resub-');
  const c = pjs(t, server, APP);
  const got = collector('news');
  const sub = () => {
    const d = deferred();
    const ch = c.pusher.subscribe(channel);
    ch.bind('pusher:subscription_succeeded', () => d.resolve());
    return withTimeout(d.promise, 5000, 'subscribed');
  };
  await sub();
  c.pusher.channel(channel).bind('news', got.cb);
  await sdk.trigger(channel, 'news', { n: 1 });
  await got.inbox.waitFor((x) => x.n === 1, 5000, 'n=1');
  c.pusher.unsubscribe(channel);
  await c.ping();
  assert.deepEqual(await (await sdk.get({ path: `/channels/${channel}` })).json(), { occupied: false });
  await sub();
  c.pusher.channel(channel).bind('news', got.cb);
  await sdk.trigger(channel, 'news', { n: 2 });
  await got.inbox.waitFor((x) => x.n === 2, 5000, 'n=2');
});

test('subscription_count events are off by default (spec §2.8)', { timeout: 15000 }, async (t) => {
  const ch = uid('count-off-');
  const a = await connectRaw(server.wsUrl(), { name: 'a' }, t);
  const b = await connectRaw(server.wsUrl(), { name: 'b' }, t);
  await a.subscribe(ch);
  await b.subscribe(ch);
  b.unsubscribe(ch);
  await b.ping();
  await sdk.trigger(ch, 'marker', {});
  await a.waitForEvent('marker', ch);
  assert.equal(a.frames.count((f) => f.event === 'pusher_internal:subscription_count'), 0);
});
