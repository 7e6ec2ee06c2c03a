// Laravel Echo 2.5.0 (broadcaster 'reverb', driving pusher-js 8.6.0) against
// pushbus, with the `pusher` REST SDK playing the Laravel backend (spec §8).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, app } from '../lib/server.js';
import { makeEcho, rest, collector } from '../lib/clients.js';
import { deferred, withTimeout, uid } from '../lib/util.js';

const APP = app();
let server;
let backend;

before(async () => {
  server = await startServer({ apps: [APP] });
  backend = rest(server, APP);
});
after(async () => {
  await server?.stop();
});

/** Resolve when Echo's .subscribed() fires (bounded). */
function subscribed(channel, what, client) {
  const d = deferred();
  channel.subscribed(() => d.resolve());
  channel.error((e) => d.reject(new Error(`${what}: subscription error ${JSON.stringify(e)}`)));
  return withTimeout(d.promise, 5000, `${what} to be subscribed`).catch((e) => {
    if (client) e.message += `\n  client states: ${client.states.join(' → ')} socket ${client.socketId}\n  messages:\n    ${client.messages.describe()}`;
    throw e;
  });
}

test('Echo.channel(public).listen(.broadcastAs name) and FQCN names', { timeout: 15000 }, async (t) => {
  const { echo } = makeEcho(t, server, APP);
  const portal = collector('portal.updated');
  const fqcn = collector('App\\Events\\PortalRefreshed');
  const ch = echo.channel('portal').listen('.portal.updated', portal.cb).listen('PortalRefreshed', fqcn.cb);
  await subscribed(ch, 'portal');
  assert.match(echo.socketId(), /^\d+\.\d+$/);

  const res = await backend.trigger('portal', 'portal.updated', { version: 2 });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  assert.deepEqual(await portal.inbox.waitFor(() => true, 5000, 'portal.updated'), { version: 2 });

  await backend.trigger('portal', 'App\\Events\\PortalRefreshed', { at: 'now' });
  assert.deepEqual(await fqcn.inbox.waitFor(() => true, 5000, 'App\\Events\\PortalRefreshed'), { at: 'now' });
});

test('Echo.private(client.7).listen(InvoiceCreated) receives App\\Events\\InvoiceCreated', { timeout: 15000 }, async (t) => {
  const { echo } = makeEcho(t, server, APP);
  const got = collector('InvoiceCreated');
  const ch = echo.private('client.7').listen('InvoiceCreated', got.cb);
  await subscribed(ch, 'private-client.7');
  const payload = { invoice: { id: 991, total: '12.50', url: 'https://x.test/i/991' }, socket: null };
  // Laravel's PusherBroadcaster: json_encode of the payload, FQCN as event name
  await backend.trigger('private-client.7', 'App\\Events\\InvoiceCreated', payload);
  assert.deepEqual(await got.inbox.waitFor(() => true, 5000, 'InvoiceCreated'), payload);
});

test('Echo.private(App.Models.User.5).notification(cb)', { timeout: 15000 }, async (t) => {
  const { echo } = makeEcho(t, server, APP);
  const got = collector('notification');
  const ch = echo.private('App.Models.User.5').notification(got.cb);
  await subscribed(ch, 'private-App.Models.User.5');
  const n = { amount: 42, id: 'f4a5c9d2-0000-4000-8000-000000000001', type: 'App\\Notifications\\InvoicePaid' };
  await backend.trigger('private-App.Models.User.5', 'Illuminate\\Notifications\\Events\\BroadcastNotificationCreated', n);
  assert.deepEqual(await got.inbox.waitFor(() => true, 5000, 'notification'), n);
});

test('Echo.private with a bad signature → .error() fires; later events are not delivered', { timeout: 15000 }, async (t) => {
  const { echo, client } = makeEcho(t, server, APP, { badAuthFor: (name) => name === 'private-secret.1' });
  const errors = collector('error');
  const events = collector('SecretThing');
  echo.private('secret.1').error(errors.cb).listen('.secret.thing', events.cb);
  const ok = echo.channel('public-after-bad');
  const okSubscribed = subscribed(ok, 'public-after-bad', client);
  const marker = collector('marker');
  ok.listen('.marker', marker.cb);

  const err = await errors.inbox.waitFor(() => true, 5000, 'Echo .error() callback');
  assert.equal(err.type, 'AuthError');
  assert.equal(err.status, 401);
  assert.equal(typeof err.error, 'string');
  assert.ok(err.error.length > 0);
  await okSubscribed;
  await client.ping(); // both subscribe frames processed

  await backend.trigger('private-secret.1', 'secret.thing', { leaked: true });
  await backend.trigger('public-after-bad', 'marker', {});
  await marker.inbox.waitFor(() => true, 5000, 'marker');
  assert.equal(events.inbox.items.length, 0, 'event delivered on a channel whose subscription failed');
  assert.equal(client.messages.count((m) => m.channel === 'private-secret.1' && m.event === 'secret.thing'), 0);
});

test('Echo.join: here / joining / whisper / listenForWhisper / leave → leaving', { timeout: 20000 }, async (t) => {
  const alice = makeEcho(t, server, APP, { user: { id: 1, info: { id: 1, name: 'Alice' } }, name: 'alice' });
  const bob = makeEcho(t, server, APP, { user: { id: 2, info: { id: 2, name: 'Bob' } }, name: 'bob' });

  const aHere = collector('alice here');
  const aJoining = collector('alice joining');
  const aLeaving = collector('alice leaving');
  const aTyping = collector('alice typing');
  const pa = alice.echo
    .join('project.3')
    .here(aHere.cb)
    .joining(aJoining.cb)
    .leaving(aLeaving.cb)
    .listenForWhisper('typing', aTyping.cb);
  assert.deepEqual(await aHere.inbox.waitFor(() => true, 5000, 'alice here()'), [{ id: 1, name: 'Alice' }]);

  const bHere = collector('bob here');
  const bTyping = collector('bob typing');
  const pb = bob.echo.join('project.3').here(bHere.cb).listenForWhisper('typing', bTyping.cb);
  const bobMembers = await bHere.inbox.waitFor(() => true, 5000, 'bob here()');
  assert.deepEqual(
    [...bobMembers].sort((x, y) => x.id - y.id),
    [
      { id: 1, name: 'Alice' },
      { id: 2, name: 'Bob' },
    ],
  );
  assert.deepEqual(await aJoining.inbox.waitFor(() => true, 5000, 'alice joining()'), { id: 2, name: 'Bob' });

  // whisper: delivered to the other member, never echoed to the sender
  pb.whisper('typing', { name: 'Bob', typing: true });
  assert.deepEqual(await aTyping.inbox.waitFor(() => true, 5000, 'alice receives whisper'), { name: 'Bob', typing: true });
  pa.whisper('typing', { name: 'Alice', typing: true });
  assert.deepEqual(await bTyping.inbox.waitFor(() => true, 5000, 'bob receives whisper'), { name: 'Alice', typing: true });
  // bob's own whisper was sent before alice's marker whisper reached him
  assert.equal(bTyping.inbox.items.length, 1, `bob got his own whisper echoed: ${bTyping.inbox.describe()}`);
  await alice.client.ping();
  assert.equal(aTyping.inbox.items.length, 1, `alice got her own whisper echoed: ${aTyping.inbox.describe()}`);

  // presence client events carry the sender's user_id
  const raw = await alice.client.waitForMessage((m) => m.event === 'client-typing', 1000, 'raw client-typing');
  assert.equal(raw.user_id, '2');

  bob.echo.leave('project.3');
  assert.deepEqual(await aLeaving.inbox.waitFor(() => true, 5000, 'alice leaving()'), { id: 2, name: 'Bob' });
  assert.equal(aJoining.inbox.items.length, 1);
});

test('Echo.join: disconnecting a member (closing the tab) → leaving', { timeout: 15000 }, async (t) => {
  const channel = uid('room.');
  const a = makeEcho(t, server, APP, { user: { id: 'u-a', info: { name: 'A' } }, name: 'a' });
  const b = makeEcho(t, server, APP, { user: { id: 'u-b', info: { name: 'B' } }, name: 'b' });
  const joining = collector('joining');
  const leaving = collector('leaving');
  const here = collector('here');
  a.echo.join(channel).here(here.cb).joining(joining.cb).leaving(leaving.cb);
  await here.inbox.waitFor(() => true, 5000, 'a here');
  const bHere = collector('b here');
  b.echo.join(channel).here(bHere.cb);
  await bHere.inbox.waitFor(() => true, 5000, 'b here');
  assert.deepEqual(await joining.inbox.waitFor(() => true, 5000, 'joining'), { name: 'B' });
  b.echo.disconnect();
  assert.deepEqual(await leaving.inbox.waitFor(() => true, 5000, 'leaving'), { name: 'B' });
});

test('toOthers(): socket_id from Echo.socketId() excludes that browser only', { timeout: 15000 }, async (t) => {
  const channel = uid('orders.');
  const me = makeEcho(t, server, APP, { name: 'me' });
  const other = makeEcho(t, server, APP, { name: 'other' });
  const mine = collector('mine');
  const theirs = collector('theirs');
  const c1 = me.echo.private(channel).listen('OrderShipped', mine.cb);
  const c2 = other.echo.private(channel).listen('OrderShipped', theirs.cb);
  await Promise.all([subscribed(c1, 'me', me.client), subscribed(c2, 'other', other.client)]);
  const socket = me.echo.socketId();
  assert.match(socket, /^\d+\.\d+$/);
  await backend.trigger(`private-${channel}`, 'App\\Events\\OrderShipped', { order: 1 }, { socket_id: socket });
  await backend.trigger(`private-${channel}`, 'App\\Events\\OrderShipped', { order: 2 });
  assert.deepEqual(await theirs.inbox.waitFor((x) => x.order === 2, 5000, 'other gets #2'), { order: 2 });
  assert.deepEqual(theirs.inbox.items, [{ order: 1 }, { order: 2 }]);
  await mine.inbox.waitFor((x) => x.order === 2, 5000, 'me gets #2');
  assert.deepEqual(mine.inbox.items, [{ order: 2 }], 'the excluded socket received the toOthers() event');
});

test('Echo.encryptedPrivate: REST SDK encrypts, server relays opaquely, Echo decrypts', { timeout: 15000 }, async (t) => {
  const name = uid('vault.');
  const channel = `private-encrypted-${name}`;
  const { echo, client } = makeEcho(t, server, APP, { name: 'enc' });
  const got = collector('SecretUpdated');
  const ch = echo.encryptedPrivate(name).listen('SecretUpdated', got.cb);
  await subscribed(ch, channel, client);

  const payload = { pin: '1234', note: 'only the browser can read this' };
  const res = await backend.trigger(channel, 'App\\Events\\SecretUpdated', payload);
  assert.equal(res.status, 200);
  assert.deepEqual(await got.inbox.waitFor(() => true, 5000, 'decrypted event'), payload);

  // on the wire the data is the SDK's {"nonce","ciphertext"} JSON string, untouched
  const frame = client.messages.items.find((m) => m.event === 'App\\Events\\SecretUpdated');
  assert.deepEqual(Object.keys(frame.data).sort(), ['ciphertext', 'nonce']);
});
