// Channel history through both faces: an embedded Server's history and a Client of the
// same server's HTTP API give the same serials, epoch and events, for what real pusher-js
// subscribers received live; `since` and `limit` filter, the rule's bound drops the
// oldest, a later subscriber is given the rule's rewind, and the refusals are coded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pushbus from '../index.js';
import { APP, startServer, pjs } from './helpers.mjs';

const { Client } = pushbus;

const HISTORY = [
  { channels: 'activity', events: 3, ttl: 3600, rewind: 2 },
  { channels: 'private-activity.*', events: 100, ttl: 3600 },
];

function clientOf(server) {
  return new Client({ host: '127.0.0.1', port: server.port, appId: APP.id, key: APP.key, secret: APP.secret });
}

/** A pusher-js client subscribed to `channel`. */
async function subscriber(server, channel, name) {
  const c = pjs(server, { name });
  await c.waitConnected();
  c.pusher.subscribe(channel);
  await c.subscribed(channel);
  return c;
}

/** A received event's data as the text published (pusher-js parses JSON data). */
const text = (m) => (typeof m.data === 'string' ? m.data : JSON.stringify(m.data));

/** The data of the `ActivityFeedUpdated` events `c` received on `channel`, in order. */
const received = (c, channel) =>
  c.messages.filter((m) => m.event === 'ActivityFeedUpdated' && m.channel === channel).map(text);

/** Waits until `c` received `data` on `channel`. */
const got = (c, channel, data) =>
  c.messages.waitFor((m) => m.event === 'ActivityFeedUpdated' && m.channel === channel && text(m) === data, `${c.name}: ${data}`);

test('history: Server and Client alike, serials and epoch, since and limit, the bound, rewind', async (t) => {
  const { server } = await startServer(t, { apps: [{ ...APP, history: HISTORY }] });
  const client = clientOf(server);

  const empty = { channel: 'activity', serial: 0, events: [] };
  assert.deepStrictEqual(await server.history('activity'), empty);
  assert.deepStrictEqual(await client.history('activity'), empty);

  const first = await subscriber(server, 'activity', 'pusher-js 1');
  const before = Date.now();
  server.publish('activity', 'ActivityFeedUpdated', { n: 1 });
  server.publish('activity', 'ActivityFeedUpdated', '{"n":2}');
  await got(first, 'activity', '{"n":2}');

  const two = await server.history('activity');
  assert.equal(two.channel, 'activity');
  assert.equal(two.serial, 2);
  assert.match(two.epoch, /^\S+$/);
  assert.deepStrictEqual(
    two.events.map(({ serial, event, data }) => ({ serial, event, data })),
    [
      { serial: 1, event: 'ActivityFeedUpdated', data: '{"n":1}' },
      { serial: 2, event: 'ActivityFeedUpdated', data: '{"n":2}' },
    ],
  );
  for (const e of two.events) assert.ok(e.time >= before - 1000 && e.time <= Date.now() + 1000, `time ${e.time}`);
  assert.deepStrictEqual(await client.history('activity'), two);

  // Through the HTTP API: serials 3 and 4; the rule keeps 3, so serial 1 is gone.
  await client.trigger('activity', 'ActivityFeedUpdated', { n: 3 });
  await client.trigger('activity', 'ActivityFeedUpdated', { n: 4 });
  await got(first, 'activity', '{"n":4}');
  assert.deepStrictEqual(received(first, 'activity'), ['{"n":1}', '{"n":2}', '{"n":3}', '{"n":4}']);
  const kept = await server.history('activity');
  assert.equal(kept.epoch, two.epoch, 'the same epoch');
  assert.equal(kept.serial, 4);
  assert.deepStrictEqual(kept.events.map((e) => [e.serial, e.data]), [
    [2, '{"n":2}'],
    [3, '{"n":3}'],
    [4, '{"n":4}'],
  ]);
  assert.deepStrictEqual(kept.events[0], two.events[1], 'a kept event does not change');
  assert.deepStrictEqual(await client.history('activity'), kept);

  // since and limit, the same through both faces.
  const page = await server.history('activity', { since: 2, limit: 1 });
  assert.deepStrictEqual(page, { channel: 'activity', epoch: kept.epoch, serial: 4, events: [kept.events[1]] });
  assert.deepStrictEqual(await client.history('activity', { since: 2, limit: 1 }), page);
  assert.deepStrictEqual((await server.history('activity', { since: 3 })).events, [kept.events[2]]);
  assert.deepStrictEqual((await client.history('activity', { since: 4 })).events, []);
  assert.deepStrictEqual((await client.history('activity', { limit: 2 })).events, kept.events.slice(0, 2));

  // A later subscriber is given the rule's rewind, the last 2, in order, and no more.
  const second = await subscriber(server, 'activity', 'pusher-js 2');
  await got(second, 'activity', '{"n":4}');
  await second.ping();
  assert.deepStrictEqual(received(second, 'activity'), ['{"n":3}', '{"n":4}']);

  // A wildcard rule: each private-activity channel has its own serials and epoch.
  const feed = 'private-activity.client.7';
  const privateSub = await subscriber(server, feed, 'pusher-js private');
  server.publish(feed, 'ActivityFeedUpdated', { c: 7 });
  await got(privateSub, feed, '{"c":7}');
  const own = await client.history(feed);
  assert.equal(own.serial, 1);
  assert.notEqual(own.epoch, kept.epoch);
  assert.deepStrictEqual(own.events.map((e) => [e.serial, e.data]), [[1, '{"c":7}']]);
  assert.deepStrictEqual(await server.history(feed), own);
  assert.equal((await server.history('private-activity.project.1')).serial, 0, 'another channel of the rule');
});

test('history refusals: coded errors from the Server, the HTTP 400 from the Client', async (t) => {
  const { server } = await startServer(t, {
    apps: [{ ...APP, history: HISTORY }, { id: 'other', key: 'other-key', secret: 'other-secret' }],
  });
  const client = clientOf(server);
  const app = { appId: APP.id };
  await assert.rejects(server.history('orders', app), { code: 'INVALID_ARGUMENT', message: /no history rule/ });
  await assert.rejects(client.history('orders'), { code: 'HTTP_STATUS', status: 400, body: /no history rule/ });
  await assert.rejects(server.history('activity', { appId: 'other' }), { code: 'INVALID_ARGUMENT', message: /no history rule/ });
  for (const limit of [0, 1001]) {
    await assert.rejects(server.history('activity', { limit, ...app }), { code: 'INVALID_ARGUMENT', message: /limit/ });
    await assert.rejects(client.history('activity', { limit }), { code: 'HTTP_STATUS', status: 400, body: /limit/ });
  }
  await assert.rejects(server.history('bad name', app), { code: 'INVALID_CHANNEL' });
  await assert.rejects(client.history('bad name'), { code: 'INVALID_ARGUMENT', message: /bad name/ });
  for (const since of [-1, 1.5, '2']) {
    await assert.rejects(server.history('activity', { since, ...app }), { code: 'INVALID_ARGUMENT', message: /since/ });
    await assert.rejects(client.history('activity', { since }), { code: 'INVALID_ARGUMENT', message: /since/ });
  }
  await assert.rejects(server.history('activity', { limit: 1.5, ...app }), { code: 'INVALID_ARGUMENT', message: /whole number of events/ });
  await assert.rejects(server.history(7, app), { code: 'INVALID_ARGUMENT', message: /channel/ });
  await assert.rejects(server.history('activity', { after: 2, ...app }), { code: 'INVALID_ARGUMENT', message: /unknown history option/ });
  await assert.rejects(client.history('activity', { appId: APP.id }), { code: 'INVALID_ARGUMENT', message: /unknown history option/ });
  await assert.rejects(server.history('activity', { appId: 'nope' }), { code: 'UNKNOWN_APP' });
  await assert.rejects(server.history('activity'), { code: 'INVALID_ARGUMENT', message: /appId is required/ });
  assert.equal((await server.history('activity', app)).serial, 0, 'the app with the rule answers');
});
