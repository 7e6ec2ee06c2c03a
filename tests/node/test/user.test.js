// User authentication (sign-in), #server-to-user channels, sendToUser and
// terminateUserConnections (spec §4, §6.2).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, app } from '../lib/server.js';
import { connectRaw, decodeData } from '../lib/raw.js';
import { pjs, rest, collector } from '../lib/clients.js';
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

/** Sign a raw socket in as `userData` (object) and wait for signin_success. */
async function signinRaw(c, userData) {
  const { auth, user_data } = sdk.authenticateUser(c.socketId, userData);
  const from = c.frames.items.length;
  c.send({ event: 'pusher:signin', data: { auth, user_data } });
  const f = await c.waitFor((x) => x.event === 'pusher:signin_success' || x.event === 'pusher:error', 5000, 'signin result', { from });
  assert.equal(f.event, 'pusher:signin_success', f.__raw);
  return f;
}

test('pusher-js signin → #server-to-user subscription → pusher.user receives sendToUser events', { timeout: 15000 }, async (t) => {
  const c = pjs(t, server, APP, { userData: { id: '5', user_info: { name: 'Eve' } }, name: 'eve' });
  await c.waitConnected();
  c.pusher.signin();
  const success = await c.waitForMessage((m) => m.event === 'pusher:signin_success', 5000, 'signin_success');
  assert.equal(typeof success.data, 'object', 'signin_success data is an object {user_data}');
  assert.deepEqual(JSON.parse(success.data.user_data), { id: '5', user_info: { name: 'Eve' } });
  await c.waitForMessage(
    (m) => m.event === 'pusher_internal:subscription_succeeded' && m.channel === '#server-to-user-5',
    5000,
    '#server-to-user-5 subscription_succeeded',
  );
  assert.equal(c.pusher.user.user_data.id, '5');

  const got = collector('inbox.updated');
  c.pusher.user.bind('inbox.updated', got.cb);
  const res = await sdk.sendToUser('5', 'inbox.updated', { unread: 3 });
  assert.equal(res.status, 200);
  assert.deepEqual(await got.inbox.waitFor(() => true, 5000, 'user event'), { unread: 3 });
  const frame = c.messages.items.find((m) => m.event === 'inbox.updated');
  assert.equal(frame.channel, '#server-to-user-5');
});

test('sendToUser reaches every socket of that user and nobody else', { timeout: 15000 }, async (t) => {
  const a1 = await connectRaw(server.wsUrl(), { name: 'a1' }, t);
  const a2 = await connectRaw(server.wsUrl(), { name: 'a2' }, t);
  const b = await connectRaw(server.wsUrl(), { name: 'b' }, t);
  await signinRaw(a1, { id: '21' });
  await signinRaw(a2, { id: '21' });
  await signinRaw(b, { id: '22' });
  for (const [c, id] of [[a1, '21'], [a2, '21'], [b, '22']]) {
    const s = await c.subscribe(`#server-to-user-${id}`);
    assert.equal(s.event, 'pusher_internal:subscription_succeeded', s.__raw);
  }
  await sdk.sendToUser('21', 'hello', { to: 21 });
  await sdk.sendToUser('22', 'marker', {});
  for (const c of [a1, a2]) {
    const f = await c.waitForEvent('hello', '#server-to-user-21');
    assert.deepEqual(decodeData(f), { to: 21 });
  }
  await b.waitForEvent('marker', '#server-to-user-22');
  assert.equal(b.frames.count((f) => f.event === 'hello'), 0);
});

test('#server-to-user-5 without signing in → subscription_error; signed in as 6 → error too', { timeout: 15000 }, async (t) => {
  const anon = await connectRaw(server.wsUrl(), { name: 'anon' }, t);
  const f = await anon.subscribe('#server-to-user-5');
  assert.equal(f.event, 'pusher:subscription_error', f.__raw);
  assert.equal(f.channel, '#server-to-user-5');
  assert.equal(f.data.type, 'AuthError');
  assert.equal(f.data.status, 401);
  assert.ok(anon.isOpen);

  const six = await connectRaw(server.wsUrl(), { name: 'six' }, t);
  await signinRaw(six, { id: '6' });
  const g = await six.subscribe('#server-to-user-5');
  assert.equal(g.event, 'pusher:subscription_error', g.__raw);

  // and nothing sent to user 5 reaches them
  const mine = await six.subscribe('#server-to-user-6');
  assert.equal(mine.event, 'pusher_internal:subscription_succeeded');
  await sdk.sendToUser('5', 'secret', {});
  await sdk.sendToUser('6', 'marker', {});
  await six.waitForEvent('marker', '#server-to-user-6');
  await anon.ping();
  assert.equal(six.frames.count((x) => x.event === 'secret'), 0);
  assert.equal(anon.frames.count((x) => x.event === 'secret'), 0);
});

test('bad signin signature → pusher:error 4009 and close 4009', { timeout: 15000 }, async (t) => {
  const c = await connectRaw(server.wsUrl(), {}, t);
  c.send({ event: 'pusher:signin', data: { auth: `${APP.key}:${'ab'.repeat(32)}`, user_data: '{"id":"5"}' } });
  const close = await c.waitForClose(5000);
  const err = c.frames.items.find((f) => f.event === 'pusher:error');
  assert.ok(err, c.frames.describe());
  assert.equal(err.data.code, 4009, err.__raw);
  assert.equal(close.code, 4009);
});

test('terminateUserConnections(5) closes that user\'s sockets with 4009, others stay', { timeout: 20000 }, async (t) => {
  const u5a = await connectRaw(server.wsUrl(), { name: 'u5a' }, t);
  const u5b = await connectRaw(server.wsUrl(), { name: 'u5b' }, t);
  const u6 = await connectRaw(server.wsUrl(), { name: 'u6' }, t);
  const anon = await connectRaw(server.wsUrl(), { name: 'anon' }, t);
  await signinRaw(u5a, { id: '5' });
  await signinRaw(u5b, { id: '5' });
  await signinRaw(u6, { id: '6' });
  await u6.subscribe('#server-to-user-6');
  // pusher-js signed in as 5 as well
  const p5 = pjs(t, server, APP, { userData: { id: '5' }, name: 'pjs5' });
  await p5.waitConnected();
  p5.pusher.signin();
  await p5.waitForMessage((m) => m.event === 'pusher:signin_success', 5000, 'pjs signin_success');

  const res = await sdk.terminateUserConnections('5');
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), {});
  for (const c of [u5a, u5b]) {
    const close = await c.waitForClose(5000);
    assert.equal(close.code, 4009, `${c.name} close code`);
  }
  const e = await p5.errors.waitFor(() => true, 5000, 'pusher-js error event').catch(() => null);
  t.diagnostic(`pusher-js error on terminate: ${JSON.stringify(e)}`);

  // the other user and anonymous sockets are untouched
  await u6.ping();
  await anon.ping();
  await sdk.sendToUser('6', 'still-here', {});
  await u6.waitForEvent('still-here', '#server-to-user-6');
  assert.equal(u6.closeInfo, null);
  assert.equal(anon.closeInfo, null);
});

test('terminate also drops presence-only users (Recommended §6.2: sign-in and presence id)', { timeout: 15000 }, async (t) => {
  const channel = uid('presence-term.');
  const c = await connectRaw(server.wsUrl(), { name: 'presence-only' }, t);
  const cd = JSON.stringify({ user_id: '88' });
  const { auth, channel_data } = sdk.authorizeChannel(c.socketId, channel, { user_id: '88' });
  assert.equal(channel_data, cd);
  const s = await c.subscribe(channel, { auth, channel_data });
  assert.equal(s.event, 'pusher_internal:subscription_succeeded', s.__raw);
  await sdk.terminateUserConnections('88');
  const close = await c.waitForClose(5000);
  assert.equal(close.code, 4009);
});

test('sign-in with a numeric id is refused (pjs requires a string id) → 4009', { timeout: 15000 }, async (t) => {
  const c = await connectRaw(server.wsUrl(), {}, t);
  const user_data = '{"id":5}';
  const { hmac } = await import('../lib/http.js');
  c.send({ event: 'pusher:signin', data: { auth: `${APP.key}:${hmac(APP.secret, `${c.socketId}::user::${user_data}`)}`, user_data } });
  const close = await c.waitForClose(5000);
  const err = c.frames.items.find((f) => f.event === 'pusher:error');
  assert.ok(err, c.frames.describe());
  assert.equal(err.data.code, 4009, err.__raw);
  assert.equal(close.code, 4009);
  assert.equal(c.frames.count((f) => f.event === 'pusher:signin_success'), 0);
});

test('signing in again as a different user on the same socket fails', { timeout: 15000 }, async (t) => {
  const c = await connectRaw(server.wsUrl(), {}, t);
  await signinRaw(c, { id: '31' });
  const { auth, user_data } = sdk.authenticateUser(c.socketId, { id: '32' });
  const from = c.frames.items.length;
  c.send({ event: 'pusher:signin', data: { auth, user_data } });
  const f = await c.waitFor((x) => x.event === 'pusher:signin_success' || x.event === 'pusher:error', 5000, 'second signin result', { from });
  assert.equal(f.event, 'pusher:error', `re-signin as another user must fail: ${f.__raw}`);
  // either the socket is closed (like a failed first sign-in), or it stays user 31
  const state = await Promise.race([c.ping().then(() => 'open', () => 'closed'), c.closed.promise.then(() => 'closed')]);
  t.diagnostic(`after a conflicting re-signin the socket is ${state}`);
  if (state === 'open') {
    const s = await c.subscribe('#server-to-user-32');
    assert.equal(s.event, 'pusher:subscription_error', s.__raw);
  }
});

test('signed-in socket joins a presence channel without channel_data: identity from user_data (§2.5)', { timeout: 15000 }, async (t) => {
  const channel = uid('presence-signed.');
  const c = await connectRaw(server.wsUrl(), { name: 'signed' }, t);
  await signinRaw(c, { id: '41', user_info: { name: 'Signed In' } });
  const { auth } = sdk.authorizeChannel(c.socketId, channel); // socket_id:channel only
  const s = await c.subscribe(channel, { auth });
  assert.equal(s.event, 'pusher_internal:subscription_succeeded', s.__raw);
  assert.deepEqual(decodeData(s).presence, { ids: ['41'], hash: { 41: { name: 'Signed In' } }, count: 1 });
});
