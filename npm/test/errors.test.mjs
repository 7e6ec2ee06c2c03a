// Bad input is a thrown (or rejected) Error with a stable `code`, and the process, the
// addon and running servers stay healthy afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import pushbus from '../index.js';
import { APP, startServer, pjs, runNode } from './helpers.mjs';

const { Server } = pushbus;
const native = createRequire(import.meta.url)('../native.js');

const hasCode = (code, message) => (err) => {
  assert.ok(err instanceof Error, `expected an Error, got ${err}`);
  assert.equal(err.code, code, `code of: ${err.message}`);
  if (message) assert.match(err.message, message);
  return true;
};

test('bad server options throw INVALID_ARGUMENT or CONFIG', () => {
  assert.throws(() => new Server(), hasCode('INVALID_ARGUMENT', /apps/));
  assert.throws(() => new Server('config.json'), hasCode('INVALID_ARGUMENT'));
  assert.throws(() => new Server({}), hasCode('CONFIG', /no apps/));
  assert.throws(() => new Server({ apps: [] }), hasCode('CONFIG'));
  assert.throws(() => new Server({ apps: [{ id: 'a', key: 'k' }] }), hasCode('CONFIG', /secret/));
  assert.throws(() => new Server({ apps: [{ ...APP }], prot: 8080 }), hasCode('CONFIG', /prot/));
  assert.throws(() => new Server({ apps: [{ ...APP, max_connections: 'many' }] }), hasCode('CONFIG'));
  assert.throws(() => new Server({ apps: [{ ...APP }], port: 70000 }), hasCode('CONFIG'));
  assert.throws(() => new Server({ apps: [{ ...APP }, { ...APP }] }), hasCode('CONFIG'));
  const cyclic = { apps: [{ ...APP }] };
  cyclic.self = cyclic;
  assert.throws(() => new Server(cyclic), hasCode('INVALID_ARGUMENT'));
});

test('invalid publish input throws coded errors and delivers nothing', async (t) => {
  const { server } = await startServer(t);
  const client = pjs(server);
  await client.waitConnected();
  client.pusher.subscribe('orders');
  await client.subscribed('orders');

  assert.throws(() => server.publish('bad name', 'E', {}), hasCode('INVALID_CHANNEL', /bad name/));
  assert.throws(() => server.publish(['orders', 'bad:name'], 'E', {}), hasCode('INVALID_CHANNEL'));
  assert.throws(() => server.publish('#foo', 'E', {}), hasCode('INVALID_CHANNEL'));
  assert.throws(() => server.publish('a'.repeat(201), 'E', {}), hasCode('INVALID_CHANNEL'));
  assert.throws(() => server.publish([], 'E', {}), hasCode('NO_CHANNELS'));
  assert.throws(() => server.publish(Array.from({ length: 101 }, (_, i) => `c${i}`), 'E', {}), hasCode('TOO_MANY_CHANNELS'));
  assert.throws(() => server.publish('orders', 'pusher:x', {}), hasCode('INVALID_EVENT_NAME'));
  assert.throws(() => server.publish('orders', '', {}), hasCode('INVALID_EVENT_NAME'));
  assert.throws(() => server.publish('orders', 'E', 'x'.repeat(10241)), hasCode('DATA_TOO_LARGE'));
  assert.throws(() => server.publish('orders', 'E', {}, { exceptSocketId: 'nope' }), hasCode('INVALID_SOCKET_ID'));
  assert.throws(() => server.publish(['private-encrypted-a', 'b'], 'E', {}), hasCode('ENCRYPTED_WITH_OTHERS'));
  assert.throws(() => server.publish('orders', 'E', {}, { appId: 'nope' }), hasCode('UNKNOWN_APP'));
  assert.throws(() => server.publish('orders', 'E', undefined), hasCode('INVALID_ARGUMENT'));
  assert.throws(() => server.publish('orders', 'E', 10n), hasCode('INVALID_ARGUMENT'));
  assert.throws(() => server.publish(7, 'E', {}), hasCode('INVALID_ARGUMENT'));
  assert.throws(() => server.publish('orders', 7, {}), hasCode('INVALID_ARGUMENT'));
  assert.throws(() => server.publish('orders', 'E', {}, { socket_id: '1.2' }), hasCode('INVALID_ARGUMENT', /exceptSocketId/));
  assert.throws(() => server.publish('orders', 'E', {}, 'x'), hasCode('INVALID_ARGUMENT'));
  await assert.rejects(server.members('presence-a', { appId: 'nope' }), hasCode('UNKNOWN_APP'));
  await assert.rejects(server.channels({ filterByPrefix: 'x' }), hasCode('INVALID_ARGUMENT', /prefix/));

  // Still healthy: the next valid event is the first one the client sees.
  server.publish('orders', 'Valid', { ok: true });
  await client.messages.waitFor((m) => m.event === 'Valid', 'the valid event');
  assert.deepEqual(
    client.messages.filter((m) => m.channel === 'orders' && !m.event.startsWith('pusher')).map((m) => m.event),
    ['Valid'],
  );
});

test('a port in use rejects start() with BIND, cause EADDRINUSE; both servers stay usable', async (t) => {
  const { server: first } = await startServer(t);
  const second = new Server({ host: '127.0.0.1', port: first.port, apps: [{ ...APP }] });
  await assert.rejects(second.start(), (err) => {
    hasCode('BIND', new RegExp(`${first.port}`))(err);
    assert.equal(err.cause.code, 'EADDRINUSE');
    return true;
  });
  assert.equal(second.port, null);
  // The failed server can still start elsewhere; the first one still serves.
  const third = new Server({ host: '127.0.0.1', port: 0, apps: [{ ...APP }] });
  await third.start();
  await third.stop();
  const client = pjs(first);
  await client.waitConnected();
});

test('start twice, stop before start, several apps without appId', async (t) => {
  const { server } = await startServer(t);
  await assert.rejects(server.start(), hasCode('ALREADY_STARTED'));
  const idle = new Server({ port: 0, apps: [{ ...APP }] });
  await assert.rejects(idle.stop(), hasCode('NOT_RUNNING'));

  const multi = new Server({ port: 0, apps: [{ ...APP }, { id: 'b', key: 'b-key', secret: 'b-secret' }] });
  assert.throws(() => multi.publish('orders', 'E', {}), hasCode('INVALID_ARGUMENT', /appId/));
  multi.publish('orders', 'E', {}, { appId: 'b' }); // fine before start: nobody listens
});

test('a panic in the addon becomes a JS exception with code INTERNAL', { skip: !native.__panicForTesting && 'release build' }, async () => {
  // In a child process, to keep the panic messages out of this output.
  const script = `
    const native = require('./native.js');
    const pushbus = require('./index.js');
    const seen = [];
    try { native.__panicForTesting(false); } catch (err) { seen.push([err.code, err.message]); }
    native.__panicForTesting(true).catch((err) => {
      seen.push([err.code, err.message]);
      // The addon still works after both.
      seen.push(typeof pushbus.authorizeChannel({ key: 'k', secret: 's' }, '1.2', 'private-a').auth);
      console.log(JSON.stringify(seen));
    });`;
  const { code, stdout, stderr } = await runNode(script, { env: { RUST_BACKTRACE: '0' } });
  assert.equal(code, 0, stderr);
  assert.deepEqual(JSON.parse(stdout), [
    ['PANIC', 'pushbus panicked: deliberate panic (sync)'],
    ['PANIC', 'pushbus panicked: deliberate panic (async)'],
    'string',
  ]);
  assert.match(stderr, /deliberate panic/, 'the panic is still reported on stderr');
});
