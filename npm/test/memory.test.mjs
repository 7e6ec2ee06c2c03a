// 100,000 publishes in a loop must not grow memory: RSS is measured before and after
// (after a warm-up, with a forced GC), in a child process so that nothing else in the
// test runner moves the figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runNode, APP } from './helpers.mjs';

const PUBLISHES = 100_000;
// The bound: 8 MB per 100,000 publishes, i.e. under 84 bytes per event. Keeping any
// part of each event (its ~60-byte frame plus bookkeeping) would exceed it.
const MAX_GROWTH_BYTES = 8 * 1024 * 1024;

const script = `
  const { Server } = require('./index.js');
  const WebSocket = require('ws');
  const MB = 1024 * 1024;
  const settle = () => { for (let i = 0; i < 3; i++) global.gc(); return process.memoryUsage(); };
  (async () => {
    const server = new Server({ host: '127.0.0.1', port: 0, apps: [${JSON.stringify(APP)}] });
    const { port } = await server.start();

    // A subscriber, so that the events are serialised, queued and written for real.
    const ws = new WebSocket('ws://127.0.0.1:' + port + '/app/${APP.key}?protocol=7');
    let received = 0;
    let waiting = null;
    let subscribed;
    const subscription = new Promise((resolve) => (subscribed = resolve));
    ws.on('message', (data) => {
      const frame = JSON.parse(data);
      if (frame.event === 'pusher:connection_established') ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'orders' } }));
      if (frame.event === 'pusher_internal:subscription_succeeded') subscribed();
      if (frame.event === 'Tick') received++;
      if (waiting && received >= waiting.count) { const w = waiting; waiting = null; w.resolve(); }
      if (frame.event === 'pusher:error') { console.error(data.toString()); process.exit(1); }
    });
    ws.on('close', (code) => { if (waiting) { console.error('subscriber closed ' + code); process.exit(1); } });
    const receivedAtLeast = (count) => new Promise((resolve) => { if (received >= count) resolve(); else waiting = { count, resolve }; });
    await subscription;

    // Subscribed channel: publish in chunks and let the subscriber catch up after each,
    // as a real publisher's pace would (the server closes a reader 1024 frames behind).
    let sent = 0;
    const publishSubscribed = async (n) => {
      for (let done = 0; done < n; done += 500) {
        for (let i = 0; i < 500; i++) server.publish('orders', 'Tick', { id: ++sent, total: 99, note: 'invoice created' });
        await receivedAtLeast(sent);
      }
    };
    // Unsubscribed channels: the whole publish path (checks, serialisation, fan-out)
    // in one synchronous loop.
    const publishUnsubscribed = (n) => {
      for (let i = 0; i < n; i++) server.publish(['client.' + (i % 50), 'private-client.' + (i % 50)], 'InvoiceCreated', { id: i, total: 99 });
    };

    publishUnsubscribed(10000);
    await publishSubscribed(10000);
    const before = settle();
    let t0 = Date.now();
    publishUnsubscribed(${PUBLISHES});
    const unsubscribedMs = Date.now() - t0;
    const middle = settle();
    t0 = Date.now();
    await publishSubscribed(${PUBLISHES});
    const subscribedMs = Date.now() - t0;
    const after = settle();
    // Stop only once the subscriber is gone: stopping first would send it 4200, which
    // its pusher:error handler above treats as a failure.
    const closed = new Promise((resolve) => ws.once('close', resolve));
    ws.close();
    await closed;
    await server.stop();
    console.log(JSON.stringify({ before, middle, after, unsubscribedMs, subscribedMs, received }));
  })();`;

test(`${PUBLISHES.toLocaleString('en')} publishes do not grow memory`, async () => {
  const { code, stdout, stderr } = await runNode(script, { args: ['--expose-gc'], timeoutMs: 90000 });
  assert.equal(code, 0, stderr);
  const r = JSON.parse(stdout);
  const mb = (bytes) => (bytes / 1024 / 1024).toFixed(1);
  const unsubscribedGrowth = r.middle.rss - r.before.rss;
  const subscribedGrowth = r.after.rss - r.middle.rss;
  console.log(
    `RSS: ${mb(r.before.rss)} MB before; ${mb(r.middle.rss)} MB after ${PUBLISHES} publishes to 2 channels without ` +
      `subscribers (${r.unsubscribedMs} ms, ${mb(unsubscribedGrowth)} MB growth); ${mb(r.after.rss)} MB after ` +
      `${PUBLISHES} publishes delivered to a subscriber (${r.subscribedMs} ms, ${mb(subscribedGrowth)} MB growth); ` +
      `JS heap ${mb(r.before.heapUsed)} -> ${mb(r.after.heapUsed)} MB; bound ${mb(MAX_GROWTH_BYTES)} MB per run`,
  );
  assert.equal(r.received, PUBLISHES + 10000);
  assert.ok(unsubscribedGrowth < MAX_GROWTH_BYTES, `RSS grew ${mb(unsubscribedGrowth)} MB (unsubscribed)`);
  assert.ok(subscribedGrowth < MAX_GROWTH_BYTES, `RSS grew ${mb(subscribedGrowth)} MB (subscribed)`);
});
