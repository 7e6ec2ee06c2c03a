// An embedded Server with real pusher-js 8.6.0 and Laravel Echo 2.5.0 clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { APP, startServer, pjs, echo, rawClient, Inbox } from './helpers.mjs';

const eventOn = (channel, event) => (m) => m.channel === channel && m.event === event;

test('publish reaches pusher-js on public, private and presence channels, data encoded once', async (t) => {
  const { server } = await startServer(t);
  const client = pjs(server, { user: { id: '5', info: { name: 'Ann' } } });
  await client.waitConnected();
  for (const name of ['client.7', 'private-client.7', 'presence-project.3']) client.pusher.subscribe(name);
  await Promise.all(['client.7', 'private-client.7', 'presence-project.3'].map((c) => client.subscribed(c)));

  server.publish(['client.7', 'private-client.7'], 'InvoiceCreated', { id: 1, total: 99 });
  server.publish('presence-project.3', 'Text', 'verbatim "string"');
  for (const channel of ['client.7', 'private-client.7']) {
    const m = await client.messages.waitFor(eventOn(channel, 'InvoiceCreated'), `InvoiceCreated on ${channel}`);
    assert.deepEqual(m.data, { id: 1, total: 99 }); // pusher-js parses the JSON data string
  }
  const text = await client.messages.waitFor(eventOn('presence-project.3', 'Text'), 'Text on presence');
  assert.equal(text.data, 'verbatim "string"');
});

test('exceptSocketId skips that connection only', async (t) => {
  const { server } = await startServer(t);
  const a = pjs(server, { name: 'a' });
  const b = pjs(server, { name: 'b' });
  await Promise.all([a.waitConnected(), b.waitConnected()]);
  a.pusher.subscribe('orders');
  b.pusher.subscribe('orders');
  await Promise.all([a.subscribed('orders'), b.subscribed('orders')]);

  server.publish('orders', 'Shipped', { n: 1 }, { exceptSocketId: a.socketId });
  server.publish('orders', 'Shipped', { n: 2 });
  await b.messages.waitFor((m) => m.event === 'Shipped' && m.data.n === 2, 'second event on b');
  await a.messages.waitFor((m) => m.event === 'Shipped' && m.data.n === 2, 'second event on a');
  // Events of one channel arrive in order: a saw n=2, so it would have seen n=1 first.
  assert.deepEqual(a.messages.filter((m) => m.event === 'Shipped').map((m) => m.data.n), [2]);
  assert.deepEqual(b.messages.filter((m) => m.event === 'Shipped').map((m) => m.data.n), [1, 2]);
});

test('Laravel Echo: listen on public and private channels, presence here/joining/leaving, whisper', async (t) => {
  const { server, events } = await startServer(t);
  const ann = echo(server, { user: { id: '5', info: { name: 'Ann' } }, name: 'ann' });
  const bob = echo(server, { user: { id: '6', info: { name: 'Bob' } }, name: 'bob' });
  await Promise.all([ann.client.waitConnected(), bob.client.waitConnected()]);

  const received = new Inbox('echo callbacks');
  ann.echo.channel('orders').listen('.OrderShipped', (e) => received.push({ kind: 'public', e }));
  ann.echo.private('client.7').listen('InvoiceCreated', (e) => received.push({ kind: 'private', e }));
  ann.echo
    .join('project.3')
    .here((users) => received.push({ kind: 'here', users }))
    .joining((user) => received.push({ kind: 'joining', user }))
    .leaving((user) => received.push({ kind: 'leaving', user }))
    .listenForWhisper('typing', (e) => received.push({ kind: 'whisper', e }));
  await Promise.all(['orders', 'private-client.7', 'presence-project.3'].map((c) => ann.client.subscribed(c)));
  const here = await received.waitFor((r) => r.kind === 'here', 'here()');
  assert.deepEqual(here.users, [{ name: 'Ann' }]);

  // Echo's default namespace: `InvoiceCreated` listens for `App\Events\InvoiceCreated`.
  server.publish('orders', 'OrderShipped', { order: { id: 1 } });
  server.publish('private-client.7', 'App\\Events\\InvoiceCreated', { id: 1, total: 99 });
  assert.deepEqual((await received.waitFor((r) => r.kind === 'public', 'public event')).e, { order: { id: 1 } });
  assert.deepEqual((await received.waitFor((r) => r.kind === 'private', 'private event')).e, { id: 1, total: 99 });

  const presence = bob.echo.join('project.3');
  const joined = await received.waitFor((r) => r.kind === 'joining', 'joining()');
  assert.deepEqual(joined.user, { name: 'Bob' });
  await events.waitFor((e) => e.name === 'member_added' && e.userId === '6', 'member_added for Bob');
  assert.deepEqual(
    (await server.members('presence-project.3')).map((m) => m.id),
    ['5', '6'],
  );

  presence.whisper('typing', { name: 'Bob' });
  assert.deepEqual((await received.waitFor((r) => r.kind === 'whisper', 'whisper')).e, { name: 'Bob' });
  const clientEvent = await events.waitFor((e) => e.name === 'client_event', 'client_event');
  assert.deepEqual(clientEvent, {
    name: 'client_event',
    appId: APP.id,
    channel: 'presence-project.3',
    event: 'client-typing',
    data: JSON.stringify({ name: 'Bob' }),
    socketId: bob.client.socketId,
    userId: '6',
  });

  bob.echo.leave('project.3');
  const left = await received.waitFor((r) => r.kind === 'leaving', 'leaving()');
  assert.deepEqual(left.user, { name: 'Bob' });
});

test('lifecycle events fire with the right payloads; member_added once per user', async (t) => {
  const { server, events } = await startServer(t);
  const user = { id: '5', info: { name: 'Ann' } };
  const first = pjs(server, { user, name: 'first' });
  const second = pjs(server, { user, name: 'second' });
  await Promise.all([first.waitConnected(), second.waitConnected()]);
  for (const c of [first, second]) {
    await events.waitFor((e) => e.name === 'connection_opened' && e.socketId === c.socketId, `connection_opened of ${c.name}`);
  }
  const opened = events.filter((e) => e.name === 'connection_opened' && e.socketId === first.socketId);
  assert.deepEqual(opened, [{ name: 'connection_opened', appId: APP.id, socketId: first.socketId }]);

  first.pusher.subscribe('presence-project.3');
  await first.subscribed('presence-project.3');
  second.pusher.subscribe('presence-project.3');
  await second.subscribed('presence-project.3');
  const occupied = await events.waitFor((e) => e.name === 'channel_occupied', 'channel_occupied');
  assert.deepEqual(occupied, { name: 'channel_occupied', appId: APP.id, channel: 'presence-project.3' });
  const added = await events.waitFor((e) => e.name === 'member_added', 'member_added');
  assert.deepEqual(added, { name: 'member_added', appId: APP.id, channel: 'presence-project.3', userId: '5' });

  // The second connection of the same user adds no member; its own subscription round
  // trip is done, and lifecycle events of one server arrive in order.
  const info = await server.channel('presence-project.3');
  assert.deepEqual(info, { name: 'presence-project.3', occupied: true, subscriptionCount: 2, userCount: 1 });

  first.pusher.unsubscribe('presence-project.3');
  await first.ping();
  assert.equal((await server.channel('presence-project.3')).subscriptionCount, 1);
  second.pusher.unsubscribe('presence-project.3');
  const removed = await events.waitFor((e) => e.name === 'member_removed', 'member_removed');
  assert.deepEqual(removed, { name: 'member_removed', appId: APP.id, channel: 'presence-project.3', userId: '5' });
  const vacated = await events.waitFor((e) => e.name === 'channel_vacated', 'channel_vacated');
  assert.deepEqual(vacated, { name: 'channel_vacated', appId: APP.id, channel: 'presence-project.3' });
  assert.equal(events.filter((e) => e.name === 'member_added').length, 1);
  assert.equal(events.filter((e) => e.name === 'member_removed').length, 1);

  const socketId = first.socketId;
  first.disconnect();
  const closed = await events.waitFor((e) => e.name === 'connection_closed' && e.socketId === socketId, 'connection_closed');
  assert.deepEqual(closed, { name: 'connection_closed', appId: APP.id, socketId });
});

test('channel and member queries', async (t) => {
  const { server } = await startServer(t);
  const ann = pjs(server, { user: { id: '5', info: { name: 'Ann' } }, name: 'ann' });
  const bob = pjs(server, { user: { id: '6' }, name: 'bob' });
  await Promise.all([ann.waitConnected(), bob.waitConnected()]);
  ann.pusher.subscribe('presence-project.3');
  ann.pusher.subscribe('orders');
  bob.pusher.subscribe('presence-project.3');
  await Promise.all([ann.subscribed('presence-project.3'), ann.subscribed('orders'), bob.subscribed('presence-project.3')]);

  assert.deepEqual(await server.channels(), [
    { name: 'orders', occupied: true, subscriptionCount: 1 },
    { name: 'presence-project.3', occupied: true, subscriptionCount: 2, userCount: 2 },
  ]);
  assert.deepEqual(await server.channels({ prefix: 'presence-' }), [
    { name: 'presence-project.3', occupied: true, subscriptionCount: 2, userCount: 2 },
  ]);
  assert.deepEqual(await server.channel('private-nobody'), { name: 'private-nobody', occupied: false, subscriptionCount: 0 });
  assert.deepEqual(await server.members('presence-project.3'), [
    { id: '5', info: { name: 'Ann' } },
    { id: '6' },
  ]);
  assert.deepEqual(await server.members('presence-empty'), []);
  assert.equal(await server.connectionCount(), 2);
  await assert.rejects(server.members('orders'), { code: 'NOT_PRESENCE_CHANNEL' });
  await assert.rejects(server.channel('bad name'), { code: 'INVALID_CHANNEL' });
});

test('terminateUserConnections closes every connection of that user with 4009', async (t) => {
  const { server, events } = await startServer(t);
  const user = { id: '5', info: { name: 'Ann' } };
  const a = pjs(server, { user, name: 'a' });
  const b = pjs(server, { user, name: 'b' });
  const other = pjs(server, { user: { id: '6' }, name: 'other' });
  await Promise.all([a.waitConnected(), b.waitConnected(), other.waitConnected()]);
  for (const c of [a, b, other]) c.pusher.subscribe('presence-project.3');
  await Promise.all([a, b, other].map((c) => c.subscribed('presence-project.3')));

  assert.equal(await server.terminateUserConnections('5'), 2);
  // pusher-js treats 4009 as "unauthorized": it does not reconnect.
  for (const c of [a, b]) {
    const error = await c.messages.waitFor((m) => m.event === 'pusher:error', `pusher:error on ${c.name}`);
    assert.equal(error.data.code, 4009);
  }
  await events.waitFor((e) => e.name === 'member_removed' && e.userId === '5', 'member_removed for user 5');
  assert.deepEqual((await server.members('presence-project.3')).map((m) => m.id), ['6']);
  assert.equal(await server.terminateUserConnections('nobody'), 0);
});

test('sendToUser reaches the signed-in user', async (t) => {
  const { server } = await startServer(t);
  const client = pjs(server, { user: { id: '7' } });
  await client.waitConnected();
  const got = new Inbox('user events');
  client.pusher.user.bind('Notice', (data) => got.push(data));
  client.pusher.signin();
  await client.subscribed('#server-to-user-7');
  server.sendToUser('7', 'Notice', { text: 'hi' });
  assert.deepEqual(await got.waitFor(() => true, 'user event'), { text: 'hi' });
});

test('stop() flushes published events and closes clients with 4200', async (t) => {
  const { server, events } = await startServer(t);
  const raw = await rawClient(server);
  raw.send({ event: 'pusher:subscribe', data: { channel: 'orders' } });
  await raw.frames.waitFor((f) => f.event === 'pusher_internal:subscription_succeeded', 'subscribed');
  let closeEvents = 0;
  server.on('close', () => closeEvents++);

  for (let i = 0; i < 100; i++) server.publish('orders', 'Tick', { i });
  await server.stop();
  const { code } = await raw.closed;
  assert.equal(code, 4200);
  assert.equal(raw.frames.filter((f) => f.event === 'Tick').length, 100, 'every published event was flushed');
  // The last lifecycle events were delivered before stop() resolved.
  assert.ok(events.filter((e) => e.name === 'connection_closed' && e.socketId === raw.socketId).length === 1);
  assert.equal(closeEvents, 1);
  await assert.rejects(server.stop(), { code: 'NOT_RUNNING' });
  await assert.rejects(server.start(), { code: 'ALREADY_STARTED' });
});

test('a listener that throws is an uncaught exception, and delivery goes on', async (t) => {
  const { server, events } = await startServer(t);
  const uncaught = new Inbox('uncaught exceptions');
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  process.on('uncaughtException', (err) => uncaught.push(err));
  t.after(() => {
    process.removeAllListeners('uncaughtException');
    for (const l of listeners) process.on('uncaughtException', l);
  });
  server.once('connection_opened', () => {
    throw new Error('listener bug');
  });
  const client = pjs(server);
  await client.waitConnected();
  assert.equal((await uncaught.waitFor(() => true, 'the uncaught exception')).message, 'listener bug');
  client.pusher.subscribe('orders');
  await events.waitFor((e) => e.name === 'channel_occupied', 'later events still delivered');
});
