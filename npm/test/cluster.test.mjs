// Two embedded servers on one real redis-server, configured through the same JSON
// config as `pushbus serve` (its `cluster` key): one logical server for pusher-js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, pjs } from './helpers.mjs';
import { startRedis } from '../../tests/node/lib/redis.js';

test('two embedded servers with a cluster config are one server: events and presence cross', async (t) => {
  const redis = await startRedis();
  t.after(() => redis.stop());
  const cluster = { redis_url: redis.url, prefix: 'npm-test', node_lease: 5 };
  const { server: a } = await startServer(t, { cluster });
  const { server: b } = await startServer(t, { cluster });

  const ann = pjs(a, { user: { id: '5', info: { name: 'Ann' } }, name: 'ann' });
  await ann.waitConnected();
  ann.pusher.subscribe('presence-project.3');
  ann.pusher.subscribe('orders');
  await Promise.all([ann.subscribed('presence-project.3'), ann.subscribed('orders')]);

  const bob = pjs(b, { user: { id: '6', info: { name: 'Bob' } }, name: 'bob' });
  await bob.waitConnected();
  const channel = bob.pusher.subscribe('presence-project.3');
  await bob.subscribed('presence-project.3');
  // Bob, on b, sees Ann (on a) in the member list; Ann hears of Bob once.
  assert.deepEqual(
    Object.keys(channel.members.members).sort(),
    ['5', '6'],
  );
  const added = await ann.messages.waitFor(
    (m) => m.event === 'pusher_internal:member_added' && m.channel === 'presence-project.3',
    'member_added on a',
  );
  assert.equal(added.data.user_id, '6');

  // Published through b, delivered on a.
  b.publish('orders', 'Shipped', { n: 1 });
  const m = await ann.messages.waitFor((x) => x.event === 'Shipped', 'Shipped on a');
  assert.deepEqual(m.data, { n: 1 });
  // Queries answer for both nodes, from either.
  const info = await a.channel('presence-project.3');
  assert.equal(info.userCount, 2, JSON.stringify(info));
  assert.equal(await b.connectionCount(), 2);
  assert.deepEqual((await a.members('presence-project.3')).map((m) => m.id), ['5', '6']);
});
