// Who is online, through both faces: an embedded Server's userStatus / onlineUsers /
// setUserLocation and a Client of the same server's HTTP API, with real pusher-js
// clients signed in (pusher.signin()) and present in a presence channel. Both faces give
// the same objects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pushbus from '../index.js';
import { APP, startServer, pjs, eventually } from './helpers.mjs';

const { Client } = pushbus;

function clientOf(server) {
  return new Client({ host: '127.0.0.1', port: server.port, appId: APP.id, key: APP.key, secret: APP.secret });
}

/** A pusher-js client signed in as `user`, after its pusher:signin_success. */
async function signedIn(server, user, name) {
  const c = pjs(server, { user, name });
  await c.waitConnected();
  c.pusher.signin();
  await c.messages.waitFor((m) => m.event === 'pusher:signin_success', `${name}: signin_success`);
  return c;
}

/** A pusher-js client present in `channel` as `user`. */
async function present(server, user, channel, name) {
  const c = pjs(server, { user, name });
  await c.waitConnected();
  c.pusher.subscribe(channel);
  await c.subscribed(channel);
  return c;
}

test('userStatus, onlineUsers, setUserLocation: Server and Client alike, from sign-in to last_seen', async (t) => {
  const { server, events } = await startServer(t);
  const client = clientOf(server);
  const ann = { id: 'ann-5', info: { name: 'Ann' } };
  // An id with a space, a slash and a non-ASCII letter: the Client percent-encodes it.
  const bob = { id: 'bob é/2', info: { name: 'Bob' } };
  const channel = 'presence-project.3';

  const never = { id: 'nobody', online: false, connections: 0, channels: [] };
  assert.deepStrictEqual(await server.userStatus('nobody'), never);
  assert.deepStrictEqual(await client.userStatus('nobody'), never);

  // Ann signed in in one tab and present in the other; Bob present only.
  const annTab1 = await signedIn(server, ann, 'ann tab 1');
  const annTab2 = await present(server, ann, channel, 'ann tab 2');
  await present(server, bob, channel, 'bob');
  await eventually(async () => (await server.userStatus(ann.id)).connections === 2, 'ann in two tabs');

  const annOnline = { id: ann.id, online: true, connections: 2, channels: [channel], info: ann.info };
  assert.deepStrictEqual(await server.userStatus(ann.id), annOnline);
  assert.deepStrictEqual(await client.userStatus(ann.id), annOnline);
  const bobOnline = { id: bob.id, online: true, connections: 1, channels: [channel], info: bob.info };
  assert.deepStrictEqual(await server.userStatus(bob.id), bobOnline);
  assert.deepStrictEqual(await client.userStatus(bob.id), bobOnline);

  // Locations set through either face, seen through both.
  assert.equal(await server.setUserLocation(ann.id, 'Projects'), true);
  assert.equal(await client.setUserLocation(bob.id, 'Inbox'), true);
  assert.deepStrictEqual(await client.userStatus(ann.id), { ...annOnline, location: 'Projects' });
  assert.deepStrictEqual(await server.userStatus(bob.id), { ...bobOnline, location: 'Inbox' });

  // A page of one: `next` leads to the last page, which has none.
  const first = { users: [{ id: ann.id, connections: 2, location: 'Projects', info: ann.info }], next: ann.id };
  assert.deepStrictEqual(await server.onlineUsers({ limit: 1 }), first);
  assert.deepStrictEqual(await client.onlineUsers({ limit: 1 }), first);
  const last = { users: [{ id: bob.id, connections: 1, location: 'Inbox', info: bob.info }] };
  assert.deepStrictEqual(await server.onlineUsers({ after: first.next, limit: 1 }), last);
  assert.deepStrictEqual(await client.onlineUsers({ after: first.next, limit: 1 }), last);
  assert.deepStrictEqual(await server.onlineUsers(), { users: [...first.users, ...last.users] });
  assert.deepStrictEqual(await client.onlineUsers(), await server.onlineUsers());

  // null clears.
  assert.equal(await client.setUserLocation(ann.id, null), true);
  assert.deepStrictEqual(await server.userStatus(ann.id), annOnline);
  assert.equal(await server.setUserLocation(bob.id, null), true);
  assert.deepStrictEqual(await client.userStatus(bob.id), bobOnline);

  // Ann closes both tabs: offline, last seen when the last one closed.
  await server.setUserLocation(ann.id, 'Projects');
  const before = Date.now();
  const sockets = [annTab1.socketId, annTab2.socketId];
  annTab1.disconnect();
  annTab2.disconnect();
  for (const socketId of sockets) {
    await events.waitFor((e) => e.name === 'connection_closed' && e.socketId === socketId, `${socketId} closed`);
  }
  const gone = await eventually(async () => {
    const s = await server.userStatus(ann.id);
    return s.online ? null : s;
  }, 'ann offline');
  const { last_seen: lastSeen, ...rest } = gone;
  assert.deepStrictEqual(rest, { id: ann.id, online: false, connections: 0, channels: [] }, 'no location or info once offline');
  assert.ok(lastSeen >= before - 1000 && lastSeen <= Date.now() + 1000, `last_seen ${lastSeen}, closed at ${before}`);
  assert.deepStrictEqual(await client.userStatus(ann.id), gone);
  assert.equal(await server.setUserLocation(ann.id, 'Projects'), false, 'an offline user keeps no location');
  assert.equal(await client.setUserLocation(ann.id, 'Projects'), false);
  assert.deepStrictEqual((await client.onlineUsers()).users.map((u) => u.id), [bob.id]);
});

test('user status refusals: coded errors from the Server, the HTTP 400 from the Client', async (t) => {
  const { server } = await startServer(t);
  const client = clientOf(server);
  for (const limit of [0, 1001]) {
    await assert.rejects(server.onlineUsers({ limit }), { code: 'INVALID_ARGUMENT', message: /limit/ });
    await assert.rejects(client.onlineUsers({ limit }), { code: 'HTTP_STATUS', status: 400, body: /limit/ });
  }
  await assert.rejects(server.onlineUsers({ limit: 1.5 }), { code: 'INVALID_ARGUMENT', message: /limit/ });
  await assert.rejects(client.onlineUsers({ limit: '2' }), { code: 'INVALID_ARGUMENT', message: /limit/ });
  await assert.rejects(server.onlineUsers({ page: 2 }), { code: 'INVALID_ARGUMENT', message: /unknown onlineUsers option/ });
  await assert.rejects(server.userStatus('x'.repeat(200)), { code: 'INVALID_ARGUMENT', message: /user id/ });
  await assert.rejects(client.userStatus('x'.repeat(200)), { code: 'HTTP_STATUS', status: 400, body: /user id/ });
  await assert.rejects(client.userStatus(''), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(server.userStatus(7), { code: 'INVALID_ARGUMENT', message: /userId must be a string/ });
  await assert.rejects(server.setUserLocation('5', 'a\nb'), { code: 'INVALID_ARGUMENT', message: /location/ });
  await assert.rejects(client.setUserLocation('5', 'a\nb'), { code: 'HTTP_STATUS', status: 400, body: /location/ });
  await assert.rejects(server.setUserLocation('5', 42), { code: 'INVALID_ARGUMENT', message: /location must be a string/ });
  await assert.rejects(server.userStatus('5', { appId: 'nope' }), { code: 'UNKNOWN_APP' });
});
