// Recovery on a 3-node cluster whatever PUSHBUS_TEST_NODES says: the reconnect lands on
// another node, which resumes the subscription from the history in Redis.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startNodes, app } from '../lib/server.js';
import { makeEcho, rest } from '../lib/clients.js';
import { cuttableProxy, subscribed } from '../lib/cuttable.js';
import { Inbox, uid, waitUntil } from '../lib/util.js';
import { enableRecovery } from '../../../npm/recovery.mjs';

const APP = app({
  history: [
    { channels: 'private-client.*', events: 200, ttl: 120 },
    { channels: 'presence-project.*', events: 200, ttl: 120 },
  ],
});

test('on a 3-node cluster, a reconnect that lands on another node resumes there: 50 missed events, in order, once', { timeout: 60000 }, async (t) => {
  const cluster = await startNodes(3, { apps: [APP] });
  t.after(() => cluster.stop());
  const [a, b, c] = cluster.nodes;
  let target = a.port;
  const via = await cuttableProxy(t, () => target);
  const gaps = [];
  const { echo, client } = makeEcho(t, via, APP, { user: { id: 9, info: { name: 'Ode' } } });
  enableRecovery(echo, { onGap: (ch) => gaps.push(ch) });
  const [clientChannel, project] = [uid('client.'), uid('project.')];
  const got = { priv: new Inbox('private'), pres: new Inbox('presence') };
  const priv = echo.private(clientChannel).listen('.tick', (e) => got.priv.push(e.n));
  const pres = echo.join(project).listen('.tick', (e) => got.pres.push(e.n));
  await Promise.all([subscribed(priv, 'private'), subscribed(pres, 'presence')]);
  // Published through every node in turn: one order, Redis's.
  const sdks = [rest(a, APP), rest(b, APP), rest(c, APP)];
  const publish = async (n) => {
    await sdks[n % 3].trigger(`private-${clientChannel}`, 'tick', { n });
    await sdks[(n + 1) % 3].trigger(`presence-${project}`, 'tick', { n });
  };
  for (let n = 1; n <= 5; n += 1) await publish(n);
  await got.priv.waitFor((n) => n === 5, 5000, 'the first five');
  await got.pres.waitFor((n) => n === 5, 5000, 'the first five (presence)');

  via.cut();
  await waitUntil(() => client.pusher.connection.state !== 'connected', 10000, 'the drop noticed');
  for (let n = 6; n <= 55; n += 1) await publish(n);
  target = c.port; // it comes back on another node
  via.heal();

  await got.priv.waitFor((n) => n === 55, 30000, 'event 55 after resuming on node c');
  await got.pres.waitFor((n) => n === 55, 30000, 'event 55 after resuming on node c (presence)');
  await publish(56);
  await got.priv.waitFor((n) => n === 56, 5000, 'a live one');
  await got.pres.waitFor((n) => n === 56, 5000, 'a live one (presence)');
  const all = Array.from({ length: 56 }, (_, i) => i + 1);
  assert.deepEqual(got.priv.items, all, 'private: all, in order, none twice');
  assert.deepEqual(got.pres.items, all, 'presence: all, in order, none twice');
  assert.deepEqual(gaps, []);
  const page = await (await rest(b, APP).get({ path: `/channels/private-${clientChannel}/events`, params: { since: '50' } })).json();
  assert.deepEqual(page.events.map((e) => JSON.parse(e.data).n), [51, 52, 53, 54, 55, 56], 'REST history from any node');
});
