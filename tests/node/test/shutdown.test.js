// Graceful shutdown (spec §1.4 code 4200): on SIGTERM connected clients are
// told to reconnect (close 4200) after already-accepted events were delivered.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, app } from '../lib/server.js';
import { connectRaw, decodeData } from '../lib/raw.js';
import { pjs, rest, collector } from '../lib/clients.js';
import { deferred, withTimeout } from '../lib/util.js';
import { request } from '../lib/http.js';

const APP = app();
let server;

before(async () => {
  server = await startServer({ apps: [APP] });
});
after(async () => {
  await server?.stop();
});

test('SIGTERM: event triggered before is delivered, then raw ws sees close 4200; process exits', { timeout: 30000 }, async (t) => {
  const channel = 'shutdown-news';
  const raw = await connectRaw(server.wsUrl(), { name: 'raw' }, t);
  await raw.subscribe(channel);
  const raw2 = await connectRaw(server.wsUrl(), { name: 'raw-idle' }, t); // no subscriptions

  const p = pjs(t, server, APP, { name: 'pjs' });
  const got = collector('final');
  const sub = deferred();
  const ch = p.pusher.subscribe(channel);
  ch.bind('pusher:subscription_succeeded', () => sub.resolve());
  // Disconnect pusher-js as soon as it has the event: after the server's 4200
  // close it would otherwise retry (ws, then wss) against a dead port.
  ch.bind('final', (data) => {
    got.cb(data);
    p.disconnect();
  });
  await withTimeout(sub.promise, 5000, 'pusher-js subscribed');

  const res = await rest(server, APP).trigger(channel, 'final', { last: true });
  assert.equal(res.status, 200);
  server.kill('SIGTERM');

  // the accepted event still arrives, before the close
  const f = await raw.waitForEvent('final', channel, 5000);
  assert.deepEqual(decodeData(f), { last: true });
  const close = await raw.waitForClose(10000);
  assert.equal(close.code, 4200, `expected close 4200 on shutdown, got ${close.code}`);
  assert.ok(raw.frames.items.indexOf(f) < raw.framesAtClose);
  const errIdx = raw.frames.indexOf((x) => x.event === 'pusher:error');
  if (errIdx >= 0) assert.equal(raw.frames.items[errIdx].data.code, 4200);

  const close2 = await raw2.waitForClose(10000);
  assert.equal(close2.code, 4200);

  assert.deepEqual(await got.inbox.waitFor(() => true, 5000, 'pusher-js got the final event'), { last: true });

  const exit = await withTimeout(server.exited, 10000, 'pushbus to exit after SIGTERM');
  t.diagnostic(`pushbus exit: ${JSON.stringify(exit)}`);
  assert.equal(exit.code, 0, `pushbus should exit 0 after a graceful SIGTERM, got ${JSON.stringify(exit)}`);
});

test('drain_delay: on SIGTERM /ready turns 503 while connections are still served, then they are closed with 4200', { timeout: 30000 }, async (t) => {
  const draining = await startServer({ drain_delay: 1.5, apps: [APP] });
  t.after(() => draining.stop());
  const node = draining.pick(); // one process: its readiness, its connections
  const raw = await connectRaw(node.wsUrl(), { name: 'raw' }, t);
  await raw.subscribe('drain-news');
  const killedAt = Date.now();
  node.kill('SIGTERM');
  // Not ready at once...
  const deadline = Date.now() + 5000;
  let ready;
  do {
    ready = await request(node, { path: '/ready', sign: false });
  } while (ready.status === 200 && Date.now() < deadline);
  assert.equal(ready.status, 503, ready.text);
  assert.match(ready.json.reason, /draining/);
  // ... while the connection is still served.
  assert.ok(raw.isOpen, 'still connected while draining');
  await raw.ping();
  const close = await raw.waitForClose(10000);
  assert.equal(close.code, 4200);
  assert.ok(Date.now() - killedAt >= 1000, `closed after the drain delay (${Date.now() - killedAt} ms)`);
});
