// Rolling a deployment: two nodes on Redis behind a load balancer that routes new
// connections by GET /ready (lib/balancer.js). SIGTERM on the node the clients are on
// turns it not-ready first (drain_delay) while it still serves, then closes its
// connections with 4200; pusher-js reconnects at once, through the balancer, to the
// other node, and resubscribes. Runs on two nodes whatever PUSHBUS_TEST_NODES says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startNodes, app } from '../lib/server.js';
import { startBalancer } from '../lib/balancer.js';
import { pjs, rest } from '../lib/clients.js';
import { deferred, withTimeout } from '../lib/util.js';
import { request } from '../lib/http.js';

const APP = app();
const CHANNEL = 'rolling-feed';
const CLIENTS = 4;
const DRAIN = 2; // seconds

test('SIGTERM: not ready before any 4200; clients move to the other node; every event the draining node accepted reaches them', { timeout: 60000 }, async (t) => {
  const cluster = await startNodes(2, { drain_delay: DRAIN, apps: [APP] });
  t.after(() => cluster.stop());
  const [a, b] = cluster.nodes;
  const lb = await startBalancer([a, b]);
  t.after(() => lb.close());

  // Clients through the balancer: all land on node a, the preferred one.
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) {
    const c = pjs(t, lb, APP, { name: `client-${i}` });
    const seen = [];
    const subscribedTimes = [];
    const told = []; // when it got the 4200
    c.pusher.connection.bind('error', (e) => {
      if (e.data?.code === 4200) told.push(Date.now());
    });
    const first = deferred();
    const ch = c.pusher.subscribe(CHANNEL);
    ch.bind('pusher:subscription_succeeded', () => {
      subscribedTimes.push(Date.now());
      first.resolve();
    });
    ch.bind('seq', (data) => seen.push(data.n));
    await withTimeout(first.promise, 5000, `client ${i} subscribed`);
    clients.push({ c, seen, subscribedTimes, told });
  }
  assert.deepEqual(lb.routes, Array(CLIENTS).fill(0), 'every client reached node a first');

  // Publish through node a, before the SIGTERM and while it drains (it still
  // serves), stopping well before its drain delay ends.
  const sdkA = rest(a, APP);
  let n = 0;
  const accepted = [];
  const publishA = async () => {
    n += 1;
    const res = await sdkA.trigger(CHANNEL, 'seq', { n });
    assert.equal(res.status, 200);
    accepted.push(n);
  };
  for (let i = 0; i < 20; i++) await publishA();

  const killedAt = Date.now();
  a.kill('SIGTERM');
  let notReadyAt;
  const deadline = Date.now() + 5000;
  for (;;) {
    const ready = await request(a, { path: '/ready', sign: false });
    if (ready.status === 503) {
      notReadyAt = Date.now();
      break;
    }
    assert.ok(Date.now() < deadline, '/ready still 200 5 s after SIGTERM');
  }
  while (Date.now() - killedAt < (DRAIN * 1000) / 2) await publishA();
  t.diagnostic(`node a accepted ${accepted.length} events, ${accepted.length - 20} of them while draining`);

  // Every client gets 4200 (after a turned not-ready), reconnects and resubscribes.
  for (const { c, subscribedTimes } of clients) {
    const err = await c.errors.waitFor((e) => e.data?.code === 4200, 10000, `${c.name} gets 4200`);
    assert.ok(err, `${c.name}: no 4200`);
    await withTimeout(
      (async () => {
        while (subscribedTimes.length < 2) await new Promise((r) => setTimeout(r, 20));
      })(),
      10000,
      `${c.name} resubscribed after the 4200`,
    );
    await c.waitConnected(10000);
  }
  const firstTold = Math.min(...clients.map(({ told }) => told[0]));
  assert.ok(notReadyAt < firstTold, 'not ready before the first 4200');
  assert.ok(firstTold - killedAt >= DRAIN * 1000 - 200, `4200 ${firstTold - killedAt} ms after SIGTERM, before the drain delay`);
  const moved = Math.max(...clients.map(({ subscribedTimes }) => subscribedTimes[1]));
  t.diagnostic(`first 4200 ${firstTold - killedAt} ms after SIGTERM; all clients resubscribed on node b ${moved - firstTold} ms after it`);
  assert.deepEqual(lb.routes.slice(CLIENTS), Array(CLIENTS).fill(1), `reconnections went to node b: ${lb.routes}`);

  // Nothing node a accepted was lost, nothing came twice.
  for (const { c, seen } of clients) {
    assert.deepEqual(seen, accepted, `${c.name} got every event node a accepted, in order, once`);
  }

  // On node b now: the live stream goes on.
  const last = n + 1;
  assert.equal((await rest(b, APP).trigger(CHANNEL, 'seq', { n: last })).status, 200);
  for (const { c, seen } of clients) {
    await withTimeout(
      (async () => {
        while (!seen.includes(last)) await new Promise((r) => setTimeout(r, 20));
      })(),
      5000,
      `${c.name} gets the event published on node b`,
    );
  }
  const exit = await withTimeout(a.exited, 15000, 'node a to exit');
  assert.equal(exit.code, 0, `node a exit: ${JSON.stringify(exit)}`);
  const members = await request(b, { path: `/apps/${APP.id}/channels/${CHANNEL}`, app: APP, params: { info: 'subscription_count' } });
  assert.equal(members.json.subscription_count, CLIENTS, members.text);
});
