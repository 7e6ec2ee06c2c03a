// Prometheus metrics (GET /metrics): the exposition parsed by the official Python
// client's strict OpenMetrics parser (PyPI prometheus-client, tests/python/parse_metrics.py),
// counters moved by real pusher-js clients. On a cluster run every scrape and client
// goes to one node (metrics are per node).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer, app } from '../lib/server.js';
import { pjs, rest } from '../lib/clients.js';
import { deferred, withTimeout, uid } from '../lib/util.js';

const PY_DIR = fileURLToPath(new URL('../../python/', import.meta.url));
const PYTHON = `${PY_DIR}.venv/bin/python`;
const HAVE_VENV = existsSync(PYTHON);
const skip = HAVE_VENV ? false : `no Python venv at ${PYTHON} (see README)`;

const TOKEN = 'metrics-token-for-the-test';
const APP = app({ client_event_rate: 5 });
let server;
let node;

before(async () => {
  if (!HAVE_VENV) return;
  server = await startServer({ apps: [APP], metrics: { enabled: true, token: TOKEN } });
  node = server.pick();
});
after(async () => {
  await server?.stop();
});

function fetchMetrics(base, token) {
  const headers = token ? { authorization: `Bearer ${token}` } : {};
  return fetch(`${base}/metrics`, { headers, signal: AbortSignal.timeout(5000) });
}

/** The samples of one exposition, as the Python parser reads them. */
function parse(text) {
  return new Promise((resolve, reject) => {
    const child = execFile(PYTHON, [`${PY_DIR}parse_metrics.py`], { timeout: 20000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`the OpenMetrics parser refused the exposition: ${stderr}\n${text.slice(0, 2000)}`));
      resolve(JSON.parse(stdout));
    });
    child.stdin.end(text);
  });
}

async function scrape(base = node.baseUrl, token = TOKEN) {
  const res = await fetchMetrics(base, token);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^application\/openmetrics-text; version=1\.0\.0/);
  return parse(await res.text());
}

/** The sum of the samples named `name` whose labels include `labels`. */
function value(samples, name, labels = {}) {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

function subscribed(client, name) {
  const d = deferred();
  const ch = client.pusher.subscribe(name);
  ch.bind('pusher:subscription_succeeded', () => d.resolve(ch));
  ch.bind('pusher:subscription_error', (e) => d.reject(new Error(JSON.stringify(e))));
  return withTimeout(d.promise, 5000, `${client.name} subscribed to ${name}`);
}

/** Scrapes until `pred(samples)` holds (bounded): gauges settle after a close. */
async function scrapeUntil(pred, what, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const samples = await scrape();
    if (pred(samples)) return samples;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('/metrics asks for the bearer token', { timeout: 15000, skip }, async () => {
  const none = await fetchMetrics(node.baseUrl);
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate'), /^Bearer/);
  assert.match((await none.json()).error, /metrics token/);
  assert.equal((await fetchMetrics(node.baseUrl, 'wrong')).status, 401);
  assert.equal((await fetchMetrics(node.baseUrl, TOKEN)).status, 200);
});

test('counters move as pusher-js clients connect, subscribe, receive, whisper and are rate-limited', { timeout: 30000, skip }, async (t) => {
  const a0 = { app: APP.id };
  const before = await scrape();
  const a = pjs(t, node, APP, { user: { id: 'metrics-a', info: {} }, name: 'a' });
  const b = pjs(t, node, APP, { user: { id: 'metrics-b', info: {} }, name: 'b' });
  const channel = uid('presence-metrics.');
  const chA = await subscribed(a, channel);
  const chB = await subscribed(b, channel);

  await rest(node, APP).trigger(channel, 'published', { n: 1 });
  await a.waitForMessage((m) => m.event === 'published', 5000, 'a gets the event');
  await b.waitForMessage((m) => m.event === 'published', 5000, 'b gets the event');

  chA.trigger('client-typing', { typing: true });
  await b.waitForMessage((m) => m.event === 'client-typing', 5000, 'b gets the whisper');
  // A burst over the rate limit (5/s): some are refused with 4301.
  for (let i = 0; i < 20; i++) chA.trigger('client-burst', { i });
  await a.ping();
  const refused = a.errors.count((e) => e.data?.code === 4301);
  assert.ok(refused > 0, 'the burst got no 4301');

  const after = await scrape();
  const delta = (name, labels = a0) => value(after, name, labels) - value(before, name, labels);
  assert.equal(delta('pushbus_connections_opened_total'), 2);
  assert.equal(delta('pushbus_connections'), 2);
  assert.equal(delta('pushbus_channels', { ...a0, type: 'presence' }), 1);
  assert.equal(delta('pushbus_subscriptions', { ...a0, type: 'presence' }), 2);
  assert.equal(delta('pushbus_presence_members'), 2);
  assert.equal(delta('pushbus_events_published_total'), 1);
  assert.equal(delta('pushbus_http_requests_total', { ...a0, route: 'events', status: '200' }), 1);
  assert.equal(delta('pushbus_client_events_rate_limited_total'), refused);
  assert.equal(delta('pushbus_client_events_total'), 21 - refused);
  // 2 subscribes, 21 client events, a ping: text frames the server read.
  assert.ok(delta('pushbus_ws_messages_received_total') >= 24, `received ${delta('pushbus_ws_messages_received_total')}`);
  assert.ok(delta('pushbus_ws_received_bytes_total') > 24 * 20);
  // connection_established ×2, subscription_succeeded ×2, member_added, the event ×2,
  // the whisper, 4301 errors, the pong.
  assert.ok(delta('pushbus_ws_messages_sent_total') >= 9 + refused, `sent ${delta('pushbus_ws_messages_sent_total')}`);
  assert.ok(delta('pushbus_ws_sent_bytes_total') > 9 * 20);

  // The histogram: each delivered event was in a write; buckets are cumulative.
  const h = 'pushbus_publish_to_write_seconds';
  assert.ok(delta(`${h}_count`) >= 3, `histogram count grew by ${delta(`${h}_count`)}`);
  assert.ok(value(after, `${h}_sum`, a0) > 0);
  const buckets = after
    .filter((s) => s.name === `${h}_bucket` && s.labels.app === APP.id)
    .map((s) => [s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), s.value])
    .sort((x, y) => x[0] - y[0]);
  assert.ok(buckets.length > 5);
  for (let i = 1; i < buckets.length; i++) assert.ok(buckets[i][1] >= buckets[i - 1][1], 'buckets are cumulative');
  assert.equal(buckets.at(-1)[1], value(after, `${h}_count`, a0));

  assert.ok(value(after, 'process_resident_memory_bytes') > 1e6);
  assert.ok(value(after, 'process_open_fds') > 3);
  assert.ok(after.some((s) => s.name === 'process_cpu_seconds_total'));
  const started = value(after, 'process_start_time_seconds');
  assert.ok(Math.abs(Date.now() / 1000 - started) < 600, `process_start_time_seconds ${started}`);
  assert.equal(value(after, 'pushbus_ready'), 1);
  if (server.nodes) {
    // A cluster node reports its backend: up, with a measured Redis round trip.
    assert.equal(value(after, 'pushbus_cluster_backend_up', a0), 1);
    const rtt = value(after, 'pushbus_cluster_redis_rtt_seconds', a0);
    assert.ok(rtt > 0 && rtt < 1, `Redis round trip ${rtt} s`);
    assert.equal(value(after, 'pushbus_cluster_writes_dropped_total', a0), 0);
  } else {
    assert.ok(!after.some((s) => s.name.startsWith('pushbus_cluster_')), 'no cluster figures on a single node');
  }

  // A client that leaves: the close is counted, the gauges go back.
  b.disconnect();
  const closed = await scrapeUntil(
    (s) => value(s, 'pushbus_connections', a0) === value(before, 'pushbus_connections', a0) + 1,
    'the connection gauge to drop',
  );
  assert.equal(value(closed, 'pushbus_connections_closed_total', { ...a0, by: 'client' }) - value(before, 'pushbus_connections_closed_total', { ...a0, by: 'client' }), 1);
  assert.equal(value(closed, 'pushbus_subscriptions', { ...a0, type: 'presence' }) - value(before, 'pushbus_subscriptions', { ...a0, type: 'presence' }), 1);
});

test('a connection the server closes counts its last frames (the pusher:error) as sent', { timeout: 20000, skip }, async (t) => {
  const a0 = { app: APP.id };
  const user = uid('metrics-terminated-');
  const c = pjs(t, node, APP, { userData: { id: user }, name: 'terminated' });
  await c.waitConnected();
  c.pusher.signin();
  await c.waitForMessage((m) => m.event === 'pusher:signin_success', 5000, 'signin_success');
  await c.ping();
  // Every frame to this client so far is counted once its write is done.
  const before = await scrapeUntil(
    (s) => value(s, 'pushbus_ws_messages_sent_total', a0) > 0,
    'frames sent before the termination',
  );
  const res = await rest(node, APP).terminateUserConnections(user);
  assert.equal(res.status, 200);
  await c.errors.waitFor((e) => e.data?.code === 4009, 5000, 'the 4009 pusher:error');
  const closed = await scrapeUntil(
    (s) => value(s, 'pushbus_connections_closed_total', { ...a0, by: 'server' }) > value(before, 'pushbus_connections_closed_total', { ...a0, by: 'server' }),
    'the server-side close to be counted',
  );
  const sent = value(closed, 'pushbus_ws_messages_sent_total', a0) - value(before, 'pushbus_ws_messages_sent_total', a0);
  assert.ok(sent >= 1, `frames counted as sent during the close: ${sent}`);
});

test('a separate metrics address answers without the main port, which then has no /metrics', { timeout: 20000, skip }, async () => {
  const other = await startServer({ apps: [APP], metrics: { enabled: true, address: '127.0.0.1:0' } });
  try {
    const n = other.pick();
    // Printed just after the "listening on" line that startServer waits for.
    const end = Date.now() + 5000;
    let line;
    while (!(line = n.stdoutLines.find((l) => /metrics: http:\/\//.test(l))) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.ok(line, `no metrics line in\n${n.stdoutLines.join('\n')}`);
    const base = line.match(/(http:\/\/[\d.]+:\d+)\/metrics/)[1];
    const samples = await scrape(base, null);
    assert.equal(value(samples, 'pushbus_connections', { app: APP.id }), 0);
    assert.equal((await fetch(`${base}/ready`)).status, 200);
    assert.equal((await fetchMetrics(n.baseUrl, null)).status, 404);
  } finally {
    await other.stop();
  }
});

test('metrics on the main port without a token is a readable start error', { timeout: 15000, skip }, async () => {
  await assert.rejects(startServer({ apps: [APP], metrics: { enabled: true } }), /metrics on the server's own port need a token/);
});
