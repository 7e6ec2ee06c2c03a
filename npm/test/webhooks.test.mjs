// webhookHandler: a Node service receiving the webhooks of an embedded server (as it
// would those of a separate `pushbus serve`), and refusing requests it cannot verify.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import pushbus from '../index.js';
import { APP, startServer, pjs, Inbox } from './helpers.mjs';

async function listen(t, handler) {
  const server = createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${server.address().port}/hooks`;
}

function post(url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('webhookHandler gets the server\'s events, answers 500 when the callback fails (retried), 401 when unsigned', async (t) => {
  const received = new Inbox('webhook events');
  let failNext = true;
  const url = await listen(
    t,
    pushbus.webhookHandler(APP, (events) => {
      if (failNext && events.some((e) => e.name === 'member_added')) {
        failNext = false;
        throw new Error('database down');
      }
      for (const e of events) received.push(e);
    }),
  );
  const { server } = await startServer(t, { apps: [{ ...APP, webhooks: [{ url }], webhook_options: { batch_window: 0 } }] });
  const client = pjs(server, { user: { id: '5', info: { name: 'Ann' } } });
  await client.waitConnected();
  client.pusher.subscribe('presence-project.3');
  await client.subscribed('presence-project.3');
  // The first request fails in the callback (500); the server retries it a second later.
  const added = await received.waitFor((e) => e.name === 'member_added', 'member_added', 10000);
  assert.deepEqual(added, { name: 'member_added', channel: 'presence-project.3', user_id: '5' });

  const body = JSON.stringify({ time_ms: Date.now(), events: [{ name: 'channel_occupied', channel: 'forged' }] });
  assert.equal(await post(url, { 'content-type': 'application/json', 'x-pusher-key': APP.key, 'x-pusher-signature': 'f'.repeat(64) }, body), 401);
  assert.equal(await post(url, { 'content-type': 'application/json' }, body), 401);
  assert.equal(received.filter((e) => e.channel === 'forged').length, 0);
  const stats = server.webhookStats();
  assert.ok(stats.requests >= 1 && stats.sent >= 2 && stats.failures >= 1 && stats.dropped === 0, JSON.stringify(stats));
});
