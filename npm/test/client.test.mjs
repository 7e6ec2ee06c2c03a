// Client against a separately started `pushbus serve` binary (and, for parity, against
// an embedded Server), with pusher-js receiving what it triggers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import pushbus from '../index.js';
import { APP, serveBinary, startServer, pjs, Inbox } from './helpers.mjs';

const { Client } = pushbus;
const ENCRYPTION_MASTER_KEY_BASE64 = Buffer.from('pushbus-npm-test-master-key-32b!').toString('base64');

function clientFor(address, extra = {}) {
  return new Client({
    host: address.host ?? '127.0.0.1',
    port: address.port,
    appId: APP.id,
    key: APP.key,
    secret: APP.secret,
    encryptionMasterKeyBase64: ENCRYPTION_MASTER_KEY_BASE64,
    ...extra,
  });
}

test('Client.trigger against `pushbus serve`: public, private, encrypted, batch, exceptSocketId', async (t) => {
  const address = await serveBinary(t, { apps: [APP] });
  const client = clientFor(address);
  const listener = pjs(address, { name: 'listener' });
  const other = pjs(address, { name: 'other' });
  await Promise.all([listener.waitConnected(), other.waitConnected()]);
  for (const c of ['portal', 'private-portal']) {
    listener.pusher.subscribe(c);
    other.pusher.subscribe(c);
    await Promise.all([listener.subscribed(c), other.subscribed(c)]);
  }

  await client.trigger('portal', 'Announcement', { text: 'hi' });
  const m = await listener.messages.waitFor((x) => x.event === 'Announcement', 'Announcement');
  assert.deepEqual(m.data, { text: 'hi' });

  await client.trigger(['portal', 'private-portal'], 'Both', 'raw text', { exceptSocketId: other.socketId });
  await client.trigger('portal', 'After', {});
  for (const channel of ['portal', 'private-portal']) {
    const got = await listener.messages.waitFor((x) => x.event === 'Both' && x.channel === channel, `Both on ${channel}`);
    assert.equal(got.data, 'raw text');
  }
  await other.messages.waitFor((x) => x.event === 'After', 'After on other');
  assert.equal(other.messages.filter((x) => x.event === 'Both').length, 0, 'exceptSocketId skipped "other"');

  await client.triggerBatch([
    { channel: 'portal', name: 'B1', data: { n: 1 } },
    { channel: 'private-portal', name: 'B2', data: 'two', exceptSocketId: other.socketId },
  ]);
  assert.deepEqual((await listener.messages.waitFor((x) => x.event === 'B1', 'B1')).data, { n: 1 });
  assert.equal((await listener.messages.waitFor((x) => x.event === 'B2', 'B2')).data, 'two');

  // Encrypted channels: the client encrypts, pusher-js decrypts with the shared secret
  // our authorizeChannel put into the auth response.
  const secretive = pjs(address, { name: 'secretive', app: { ...APP, encryptionMasterKeyBase64: ENCRYPTION_MASTER_KEY_BASE64 } });
  const decrypted = new Inbox('decrypted');
  secretive.pusher.subscribe('private-encrypted-orders').bind('Paid', (data) => decrypted.push(data));
  await secretive.subscribed('private-encrypted-orders');
  await client.trigger('private-encrypted-orders', 'Paid', { order: 7 });
  assert.deepEqual(await decrypted.waitFor(() => true, 'decrypted event'), { order: 7 });
});

test('Client queries against `pushbus serve`: channels, channel, members, terminateUserConnections, sendToUser', async (t) => {
  const address = await serveBinary(t, { apps: [APP] });
  const client = clientFor(address);
  const ann = pjs(address, { user: { id: '5', info: { name: 'Ann' } }, name: 'ann' });
  const bob = pjs(address, { user: { id: '6' }, name: 'bob' });
  await Promise.all([ann.waitConnected(), bob.waitConnected()]);
  ann.pusher.subscribe('presence-project.3');
  ann.pusher.subscribe('orders');
  bob.pusher.subscribe('presence-project.3');
  await Promise.all([ann.subscribed('presence-project.3'), ann.subscribed('orders'), bob.subscribed('presence-project.3')]);

  assert.deepEqual(await client.channels(), [
    { name: 'orders', occupied: true },
    { name: 'presence-project.3', occupied: true },
  ]);
  assert.deepEqual(await client.channels({ prefix: 'presence-', info: 'user_count' }), [
    { name: 'presence-project.3', occupied: true, userCount: 2 },
  ]);
  assert.deepEqual(await client.channel('presence-project.3', { info: ['user_count'] }), {
    name: 'presence-project.3',
    occupied: true,
    userCount: 2,
  });
  assert.deepEqual(await client.channel('orders', { info: 'subscription_count' }), {
    name: 'orders',
    occupied: true,
    subscriptionCount: 1,
  });
  assert.deepEqual(await client.channel('private-nobody'), { name: 'private-nobody', occupied: false });
  assert.deepEqual(await client.members('presence-project.3'), [{ id: '5' }, { id: '6' }]);

  const notices = new Inbox('user notices');
  bob.pusher.user.bind('Notice', (data) => notices.push(data));
  bob.pusher.signin();
  await bob.subscribed('#server-to-user-6');
  await client.sendToUser('6', 'Notice', { text: 'for bob' });
  assert.deepEqual(await notices.waitFor(() => true, 'notice'), { text: 'for bob' });

  await client.terminateUserConnections('5');
  const error = await ann.messages.waitFor((x) => x.event === 'pusher:error', 'pusher:error on ann');
  assert.equal(error.data.code, 4009);
});

test('Client errors carry codes; HTTP errors carry status and body', async (t) => {
  const address = await serveBinary(t, { apps: [APP] });

  const wrongSecret = clientFor(address, { secret: 'not-the-secret' });
  const err = await wrongSecret.trigger('portal', 'E', {}).then(
    () => assert.fail('expected a rejection'),
    (e) => e,
  );
  assert.equal(err.code, 'HTTP_STATUS');
  assert.equal(err.status, 401);
  assert.match(err.body, /signature/i);
  assert.ok(err instanceof Error);

  await assert.rejects(clientFor(address, { appId: 'nope' }).channels(), { code: 'HTTP_STATUS', status: 404 });
  await assert.rejects(clientFor(address).trigger('bad name', 'E', {}), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(clientFor(address).trigger('a', 'E', {}, { socket_id: '1.2' }), {
    code: 'INVALID_ARGUMENT',
    message: /exceptSocketId/,
  });

  // Nothing listens on a port we just had and closed.
  const closedPort = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
  await assert.rejects(clientFor({ port: closedPort }).trigger('a', 'E', {}), { code: 'CONNECT' });

  // A server that accepts and never answers.
  const silent = net.createServer(() => {});
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    silent.close();
  });
  silent.on('connection', (socket) => t.after(() => socket.destroy()));
  await assert.rejects(clientFor({ port: silent.address().port }, { timeout: 200 }).trigger('a', 'E', {}), { code: 'TIMEOUT' });

  assert.throws(() => new Client({ host: '127.0.0.1', appId: '1', key: 'k' }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => new Client({ appId: '1', key: 'k', secret: 's' }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => new Client({ host: 'a/b', appId: '1', key: 'k', secret: 's' }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => new Client({ host: 'h', port: 70000, appId: '1', key: 'k', secret: 's' }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => new Client({ host: 'h', app_id: '1', key: 'k', secret: 's' }), { code: 'INVALID_ARGUMENT', message: /appId/ });
});

test('Client against an embedded Server gives the same answers as the Server itself', async (t) => {
  const { server } = await startServer(t);
  const client = clientFor(server);
  const ann = pjs(server, { user: { id: '5', info: { name: 'Ann' } } });
  await ann.waitConnected();
  ann.pusher.subscribe('presence-project.3');
  await ann.subscribed('presence-project.3');
  await client.trigger('presence-project.3', 'Hello', { from: 'client' });
  assert.deepEqual((await ann.messages.waitFor((m) => m.event === 'Hello', 'Hello')).data, { from: 'client' });
  const { subscriptionCount, ...presence } = await server.channel('presence-project.3');
  assert.equal(subscriptionCount, 1);
  assert.deepEqual(await client.channel('presence-project.3', { info: 'user_count' }), presence);
  assert.deepEqual(
    await client.members('presence-project.3'),
    (await server.members('presence-project.3')).map(({ id }) => ({ id })),
  );
});
