// The delivery log through both faces: an embedded Server's deliveryLog and a Client of
// the same server's HTTP API give the same records, with real pusher-js subscribers
// (one excluded by socket id). The embedder also gets event_logged with the record, and
// user_online / user_offline for a pusher-js client that signs in and leaves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import pushbus from '../index.js';
import { APP, startServer, pjs } from './helpers.mjs';

const { Client } = pushbus;

function clientOf(server) {
  return new Client({ host: '127.0.0.1', port: server.port, appId: APP.id, key: APP.key, secret: APP.secret });
}

const sha256 = (text) => createHash('sha256').update(text).digest('hex');

/** A pusher-js client subscribed to `channel`. */
async function subscriber(server, channel, name) {
  const c = pjs(server, { name });
  await c.waitConnected();
  c.pusher.subscribe(channel);
  await c.subscribed(channel);
  return c;
}

const got = (c, event) => c.messages.waitFor((m) => m.event === event && m.channel === 'orders', `${c.name}: ${event}`);

test('deliveryLog: Server and Client alike; event_logged, user_online and user_offline reach the embedder', async (t) => {
  const { server, events } = await startServer(t, {
    apps: [{ ...APP, delivery_log: { events: true }, user_status: { offline_delay: 0 } }],
  });
  const client = clientOf(server);
  assert.deepStrictEqual(await server.deliveryLog(), []);
  assert.deepStrictEqual(await client.deliveryLog(), []);

  const subs = [];
  for (const name of ['pusher-js 1', 'pusher-js 2', 'pusher-js 3']) subs.push(await subscriber(server, 'orders', name));
  const excluded = subs[2].socketId;

  // To everyone but the third subscriber.
  const before = Date.now();
  server.publish('orders', 'paid', { n: 1 }, { exceptSocketId: excluded });
  await got(subs[0], 'paid');
  await got(subs[1], 'paid');
  const logged = await events.waitFor((e) => e.name === 'event_logged' && e.event === 'paid', 'event_logged of paid');
  const [record] = await server.deliveryLog({ limit: 1 });
  const { id, time, ...rest } = record;
  assert.deepStrictEqual(rest, {
    channel: 'orders',
    event: 'paid',
    size: 7,
    digest: sha256('{"n":1}'),
    delivered: 2,
    nodes: 1,
    except: excluded,
    source: 'api',
  });
  assert.match(record.digest, /^[0-9a-f]{64}$/);
  assert.ok(!('data' in record), 'a digest, not the data');
  assert.equal(typeof id, 'string');
  assert.ok(time >= before - 1000 && time <= Date.now() + 1000, `time ${time}, published at ${before}`);
  // The event carries the same record; its own fields are the logged event's.
  assert.deepStrictEqual(logged, { name: 'event_logged', appId: APP.id, channel: 'orders', event: 'paid', record });
  assert.deepStrictEqual(await client.deliveryLog({ limit: 1 }), [record]);

  // To all three, through the HTTP API; the third, in order, never got "paid".
  await client.trigger('orders', 'shipped', { n: 2 });
  for (const c of subs) await got(c, 'shipped');
  assert.equal(subs[2].messages.filter((m) => m.event === 'paid').length, 0, 'the excluded socket got nothing');
  const log = await server.deliveryLog();
  assert.deepStrictEqual(log.map((r) => [r.event, r.delivered, r.except]), [
    ['shipped', 3, undefined],
    ['paid', 2, excluded],
  ]);
  assert.deepStrictEqual(log[1], record);
  assert.equal(log[0].digest, sha256('{"n":2}'));
  assert.deepStrictEqual(await client.deliveryLog(), log);
  assert.deepStrictEqual(await client.deliveryLog({ limit: 2 }), await server.deliveryLog({ limit: 2 }));

  // A pusher-js client signs in: online; it leaves: offline (offline_delay 0).
  const ann = pjs(server, { user: { id: 'ann-5', info: { name: 'Ann' } }, name: 'ann' });
  await ann.waitConnected();
  ann.pusher.signin();
  await ann.messages.waitFor((m) => m.event === 'pusher:signin_success', 'ann: signin_success');
  const online = await events.waitFor((e) => e.name === 'user_online' && e.userId === 'ann-5', 'user_online');
  assert.deepStrictEqual(online, { name: 'user_online', appId: APP.id, userId: 'ann-5' });
  assert.equal(events.filter((e) => e.name === 'user_offline').length, 0);
  ann.disconnect();
  const offline = await events.waitFor((e) => e.name === 'user_offline' && e.userId === 'ann-5', 'user_offline');
  assert.deepStrictEqual(offline, { name: 'user_offline', appId: APP.id, userId: 'ann-5' });
  assert.equal((await server.userStatus('ann-5')).online, false);
});

test('deliveryLog: kept payloads, a log that is off, events only when asked for', async (t) => {
  const { server, events } = await startServer(t, {
    apps: [
      { ...APP, delivery_log: { size: 5, payloads: 'payload', events: true } },
      { id: 'quiet', key: 'quiet-key', secret: 'quiet-secret' },
      { id: 'off', key: 'off-key', secret: 'off-secret', delivery_log: { size: 0, events: true } },
    ],
  });
  server.publish('orders', 'paid', { n: 1 }, { appId: 'quiet' });
  server.publish('orders', 'paid', { n: 1 }, { appId: 'off' });
  server.publish('orders', 'paid', { n: 1 }, { appId: APP.id });
  const logged = await events.waitFor((e) => e.name === 'event_logged', 'event_logged');
  const [record] = await server.deliveryLog({ limit: 5, appId: APP.id });
  assert.equal(record.data, '{"n":1}');
  assert.ok(!('digest' in record), 'the data, not a digest');
  assert.deepStrictEqual([record.delivered, record.nodes, record.size], [0, 0, 7]);
  assert.deepStrictEqual(logged.record, record);
  assert.equal(logged.data, undefined, 'the payload is in the record only');
  assert.equal(logged.appId, APP.id, 'the other apps did not ask for event_logged (or keep no log)');
  assert.equal(events.filter((e) => e.name === 'event_logged').length, 1);
  assert.equal((await server.deliveryLog({ appId: 'quiet' }))[0].event, 'paid');
  assert.deepStrictEqual(await server.deliveryLog({ appId: 'off' }), []);
  assert.deepStrictEqual(await server.deliveryLog({ appId: 'off', limit: 1 }), []);
});

test('delivery log refusals: coded errors from the Server, the HTTP 400 from the Client', async (t) => {
  const { server } = await startServer(t, { apps: [{ ...APP, delivery_log: { size: 10 } }] });
  const client = clientOf(server);
  for (const limit of [0, 1001]) {
    await assert.rejects(server.deliveryLog({ limit }), { code: 'INVALID_ARGUMENT', message: /limit/ });
    await assert.rejects(client.deliveryLog({ limit }), { code: 'HTTP_STATUS', status: 400, body: /limit/ });
  }
  // The default, 100, is more than this log keeps: it gives what it keeps.
  assert.deepStrictEqual(await server.deliveryLog(), []);
  assert.deepStrictEqual(await server.deliveryLog({ limit: 10 }), []);
  await assert.rejects(server.deliveryLog({ limit: 1.5 }), { code: 'INVALID_ARGUMENT', message: /whole number of records/ });
  await assert.rejects(client.deliveryLog({ limit: '2' }), { code: 'INVALID_ARGUMENT', message: /limit/ });
  await assert.rejects(server.deliveryLog({ count: 2 }), { code: 'INVALID_ARGUMENT', message: /unknown deliveryLog option/ });
  await assert.rejects(client.deliveryLog({ appId: APP.id }), { code: 'INVALID_ARGUMENT', message: /unknown deliveryLog option/ });
  await assert.rejects(server.deliveryLog({ appId: 'nope' }), { code: 'UNKNOWN_APP' });
});
