// Client events / whispers (spec §3.2).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, app } from '../lib/server.js';
import { connectRaw, decodeData } from '../lib/raw.js';
import { pjs, rest, collector } from '../lib/clients.js';
import { hmac } from '../lib/http.js';
import { deferred, withTimeout, uid } from '../lib/util.js';

const APP = app();
const NOCLIENT = app({ id: '401', key: 'noclientkey', secret: 'noclientsecret', client_events: false });
let server;

before(async () => {
  server = await startServer({ apps: [APP, NOCLIENT] });
});
after(async () => {
  await server?.stop();
});

function privateAuth(appCfg, socketId, channel) {
  return `${appCfg.key}:${hmac(appCfg.secret, `${socketId}:${channel}`)}`;
}
function presenceAuth(appCfg, socketId, channel, cd) {
  return `${appCfg.key}:${hmac(appCfg.secret, `${socketId}:${channel}:${cd}`)}`;
}
async function joinPresence(c, channel, userId, appCfg = APP) {
  const cd = JSON.stringify({ user_id: userId, user_info: { name: `user ${userId}` } });
  const f = await c.subscribe(channel, { auth: presenceAuth(appCfg, c.socketId, channel, cd), channel_data: cd });
  assert.equal(f.event, 'pusher_internal:subscription_succeeded', f.__raw);
  return f;
}
async function joinPrivate(c, channel, appCfg = APP) {
  const f = await c.subscribe(channel, { auth: privateAuth(appCfg, c.socketId, channel) });
  assert.equal(f.event, 'pusher_internal:subscription_succeeded', f.__raw);
  return f;
}
function subscribedPjs(client, channelName) {
  const d = deferred();
  const ch = client.pusher.subscribe(channelName);
  ch.bind('pusher:subscription_succeeded', () => d.resolve(ch));
  ch.bind('pusher:subscription_error', (e) => d.reject(new Error(`subscription_error ${JSON.stringify(e)}`)));
  return withTimeout(d.promise, 5000, `${client.name} subscribed to ${channelName}`);
}

test('pusher-js presence whisper: others get it with metadata.user_id, sender does not', { timeout: 15000 }, async (t) => {
  const channel = uid('presence-chat.');
  const a = pjs(t, server, APP, { user: { id: 1, info: { name: 'A' } }, name: 'a' });
  const b = pjs(t, server, APP, { user: { id: 2, info: { name: 'B' } }, name: 'b' });
  const chA = await subscribedPjs(a, channel);
  const chB = await subscribedPjs(b, channel);
  const gotA = collector('a client-typing');
  const gotB = collector('b client-typing');
  chA.bind('client-typing', (data, meta) => gotA.cb({ data, meta }));
  chB.bind('client-typing', (data, meta) => gotB.cb({ data, meta }));

  assert.equal(chA.trigger('client-typing', { typing: true }), true);
  const rb = await gotB.inbox.waitFor(() => true, 5000, 'b receives whisper');
  assert.deepEqual(rb.data, { typing: true });
  assert.equal(rb.meta.user_id, '1');
  await a.ping(); // any echo of a's own event would have arrived before this pong
  assert.equal(gotA.inbox.items.length, 0, `sender received its own client event: ${gotA.inbox.describe()}`);
});

test('raw: presence client event envelope has user_id and string data; private has no user_id', { timeout: 15000 }, async (t) => {
  const presence = uid('presence-env.');
  const priv = uid('private-env.');
  const a = await connectRaw(server.wsUrl(), { name: 'a' }, t);
  const b = await connectRaw(server.wsUrl(), { name: 'b' }, t);
  await joinPresence(a, presence, '11');
  await joinPresence(b, presence, '12');
  await joinPrivate(a, priv);
  await joinPrivate(b, priv);

  a.send({ event: 'client-typing', channel: presence, data: { typing: true } });
  const f = await b.waitForEvent('client-typing', presence);
  assert.equal(f.user_id, '11');
  assert.equal(typeof f.data, 'string', `client event data should be forwarded as a JSON string (Recommended §3.2 rule 7): ${f.__raw}`);
  assert.deepEqual(JSON.parse(f.data), { typing: true });

  // a string payload from an old client is forwarded unchanged
  a.send({ event: 'client-raw', channel: presence, data: '{"x" : 1}' });
  const f2 = await b.waitForEvent('client-raw', presence);
  assert.equal(f2.data, '{"x" : 1}');

  a.send({ event: 'client-moved', channel: priv, data: { x: 3 } });
  const p = await b.waitForEvent('client-moved', priv);
  assert.equal('user_id' in p, false, `private channel client events carry no user_id: ${p.__raw}`);
  assert.deepEqual(decodeData(p), { x: 3 });

  await a.ping();
  assert.equal(a.frames.count((x) => x.event.startsWith('client-')), 0, 'client events echoed to sender');
});

test('client event on a public channel → pusher:error 4301, connection stays, not delivered', { timeout: 15000 }, async (t) => {
  const channel = uid('public-chat.');
  const a = await connectRaw(server.wsUrl(), { name: 'a' }, t);
  const b = await connectRaw(server.wsUrl(), { name: 'b' }, t);
  await a.subscribe(channel);
  await b.subscribe(channel);
  a.send({ event: 'client-hello', channel, data: {} });
  const err = await a.waitForEvent('pusher:error');
  assert.equal(typeof err.data, 'object', err.__raw);
  assert.equal(err.data.code, 4301, err.__raw);
  await a.ping();
  assert.ok(a.isOpen);
  assert.equal(a.closeInfo, null);
  await rest(server, APP).trigger(channel, 'marker', {});
  await b.waitForEvent('marker', channel);
  assert.equal(b.frames.count((f) => f.event === 'client-hello'), 0, 'public client event was delivered');
});

test('client event on a channel the socket has not joined → pusher:error 4009, not closed', { timeout: 15000 }, async (t) => {
  const channel = uid('private-notjoined.');
  const member = await connectRaw(server.wsUrl(), { name: 'member' }, t);
  const outsider = await connectRaw(server.wsUrl(), { name: 'outsider' }, t);
  await joinPrivate(member, channel);
  outsider.send({ event: 'client-sneak', channel, data: { hi: 1 } });
  const err = await outsider.waitForEvent('pusher:error');
  assert.equal(typeof err.data, 'object', err.__raw);
  assert.equal(err.data.code, 4009, err.__raw);
  await outsider.ping();
  assert.ok(outsider.isOpen);
  await rest(server, APP).trigger(channel, 'marker', {});
  await member.waitForEvent('marker', channel);
  assert.equal(member.frames.count((f) => f.event === 'client-sneak'), 0, 'non-member client event was delivered');
});

test('client events disabled for the app → pusher:error 4301', { timeout: 15000 }, async (t) => {
  const channel = uid('private-off.');
  const a = await connectRaw(server.wsUrl(NOCLIENT.key), { name: 'a' }, t);
  const b = await connectRaw(server.wsUrl(NOCLIENT.key), { name: 'b' }, t);
  await joinPrivate(a, channel, NOCLIENT);
  await joinPrivate(b, channel, NOCLIENT);
  a.send({ event: 'client-x', channel, data: {} });
  const err = await a.waitForEvent('pusher:error');
  assert.equal(err.data.code, 4301, err.__raw);
  await rest(server, NOCLIENT).trigger(channel, 'marker', {});
  await b.waitForEvent('marker', channel);
  assert.equal(b.frames.count((f) => f.event === 'client-x'), 0);
  assert.ok(a.isOpen);
});

test('client event rate limit (10/s): a burst gets 4301 errors, connection stays open', { timeout: 15000 }, async (t) => {
  const channel = uid('private-burst.');
  const a = await connectRaw(server.wsUrl(), { name: 'a' }, t);
  const b = await connectRaw(server.wsUrl(), { name: 'b' }, t);
  await joinPrivate(a, channel);
  await joinPrivate(b, channel);
  for (let i = 0; i < 30; i++) a.send({ event: 'client-burst', channel, data: { i } });
  await a.ping();
  const errors = a.frames.filter((f) => f.event === 'pusher:error');
  assert.ok(errors.length > 0, 'no rate-limit error for 30 client events in a burst');
  for (const e of errors) assert.equal(e.data.code, 4301, e.__raw);
  assert.ok(a.isOpen);
  await rest(server, APP).trigger(channel, 'marker', {});
  await b.waitForEvent('marker', channel);
  const delivered = b.frames.count((f) => f.event === 'client-burst');
  assert.ok(delivered >= 1 && delivered <= 20, `delivered ${delivered} of 30 burst events`);
  assert.equal(delivered + errors.length, 30, 'every client event is either delivered or rejected');
});

test('other connections of the same presence user DO receive the client event', { timeout: 15000 }, async (t) => {
  const channel = uid('presence-tabs.');
  const tab1 = await connectRaw(server.wsUrl(), { name: 'tab1' }, t);
  const tab2 = await connectRaw(server.wsUrl(), { name: 'tab2' }, t);
  await joinPresence(tab1, channel, '77');
  await joinPresence(tab2, channel, '77');
  tab1.send({ event: 'client-sync', channel, data: { n: 1 } });
  const f = await tab2.waitForEvent('client-sync', channel);
  assert.equal(f.user_id, '77');
  await tab1.ping();
  assert.equal(tab1.frames.count((x) => x.event === 'client-sync'), 0);
});
