// History past its byte bound (`history_max_bytes`): the oldest events go, and the
// server's memory stays within the bound (on one node; on a cluster the history is in
// Redis, where the eviction shows). A file of its own: it publishes 16,000 events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startServer, app } from '../lib/server.js';
import { rest } from '../lib/clients.js';

test('filling history past its byte bound evicts the oldest and keeps the server within it', { timeout: 120000 }, async () => {
  const bounded = app({
    id: 'bounded',
    key: 'bounded-key',
    secret: 'bounded-secret',
    history: [{ channels: 'feed.*', events: 100000, ttl: 3600 }],
    history_max_bytes: 4 << 20,
  });
  const own = await startServer({ apps: [bounded] });
  try {
    // On one node the history is in the process; on a cluster, in Redis (its bound
    // shows in what is evicted).
    const pid = own.proc?.pid;
    const rss = () => {
      if (!pid) return 0;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)[1]) * 1024;
    };
    const b = rest(own, bounded);
    const data = { pad: 'x'.repeat(1000) };
    const fill = async (batches) => {
      for (let i = 0; i < batches; i += 1) {
        const batch = Array.from({ length: 10 }, (_, k) => ({ channel: `feed.${k}`, name: 'e', data }));
        await b.triggerBatch(batch);
      }
    };
    // Warm up to the bound, then 5 times as much again: 4 MiB kept at most.
    await fill(400);
    const before = rss();
    await fill(1200);
    const after = rss();
    const page = await (await b.get({ path: '/channels/feed.0/events', params: { since: '0', limit: '1000' } })).json();
    assert.equal(page.serial, 1600, 'every event got a serial');
    assert.ok(page.events[0].serial > 1000, `the oldest were evicted (first kept: ${page.events[0].serial})`);
    assert.ok(after - before < 8 << 20, `RSS grew ${((after - before) / 1048576).toFixed(1)} MiB after 13 MB more history`);
  } finally {
    await own.stop();
  }
});
