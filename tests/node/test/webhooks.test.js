// Pusher webhooks (spec §7) to real HTTP receivers, each request checked with the
// official `pusher` SDK's webhook validator (and the Python SDK's validate_webhook):
// every event type with its exact fields, filters and headers, batching, the delay
// (a reload sends nothing), retries after a 500 and after a timeout, and a receiver
// that never answers neither delays another target nor queues without bound.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer, app } from '../lib/server.js';
import { connectRaw } from '../lib/raw.js';
import { rest } from '../lib/clients.js';
import { startReceiver } from '../lib/webhooks.js';
import { makeCertificates } from '../lib/certs.js';
import { uid } from '../lib/util.js';

const ALL = ['channel_occupied', 'channel_vacated', 'member_added', 'member_removed', 'client_event', 'cache_miss', 'subscription_count'];
const cleanup = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

async function receiver(name, answer, options) {
  const r = await startReceiver(name, answer, options);
  cleanup.push(() => r.close());
  return r;
}

async function server(apps) {
  const s = await startServer({ apps });
  cleanup.push(() => s.stop());
  return s;
}

/** The first event matching `pred` in any request, waiting for it. */
async function waitEvent(r, pred, what, timeoutMs = 10000) {
  const req = await r.requests.waitFor((q) => (q.body?.events ?? []).some(pred), timeoutMs, what);
  return req.body.events.find(pred);
}

const is = (name, channel, extra = {}) => (e) =>
  e.name === name && e.channel === channel && Object.entries(extra).every(([k, v]) => e[k] === v);

/** A raw connection subscribed to `channel` (signed, with presence data for presence). */
async function member(t, s, a, channel, userId) {
  const c = await connectRaw(s.wsUrl(a.key), { name: `user-${userId ?? 'anon'}` }, t);
  if (channel.startsWith('presence-')) {
    const { auth, channel_data } = rest(s, a).authorizeChannel(c.socketId, channel, { user_id: userId, user_info: { name: `u${userId}` } });
    await c.subscribe(channel, { auth, channel_data });
  } else if (channel.startsWith('private-')) {
    await c.subscribe(channel, { auth: rest(s, a).authorizeChannel(c.socketId, channel).auth });
  } else {
    await c.subscribe(channel);
  }
  return c;
}

function checkSignedByPusher(s, a, r) {
  const sdk = rest(s, a);
  for (const q of r.requests.items) {
    assert.equal(q.method, 'POST');
    assert.equal(q.headers['content-type'], 'application/json');
    assert.equal(q.headers['x-pusher-key'], a.key);
    const hook = sdk.webhook({ headers: q.headers, rawBody: q.rawBody });
    assert.ok(hook.isValid(), `the pusher SDK accepts ${q.rawBody}`);
    assert.ok(Math.abs(hook.getTime().getTime() - Date.now()) < 60000, 'time_ms is now');
    assert.ok(hook.getEvents().length >= 1 && hook.getEvents().length <= 100);
  }
}

const PY_DIR = fileURLToPath(new URL('../../python/', import.meta.url));
const PYTHON = `${PY_DIR}.venv/bin/python`;

function validateWithPython(a, requests) {
  const input = JSON.stringify(
    requests.map((q) => ({ key: q.headers['x-pusher-key'], signature: q.headers['x-pusher-signature'], body: q.rawBody })),
  );
  return new Promise((resolve, reject) => {
    const child = execFile(
      PYTHON,
      // The SDK wants a numeric app id, which validating a webhook does not use.
      [`${PY_DIR}validate_webhooks.py`, '--app-id', '1', '--key', a.key, '--secret', a.secret],
      { timeout: 20000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout))),
    );
    child.stdin.end(input);
  });
}

test('every event type, with Pusher\'s fields, signed as both SDKs check; filters and headers per target', { timeout: 30000 }, async (t) => {
  const everything = await receiver('everything');
  const team = await receiver('team');
  const a = app({
    id: 'hooks-types',
    key: 'hooks-types-key',
    webhooks: [
      { url: everything.url, event_types: ALL },
      { url: team.url, event_types: ['member_added'], filter: { channel_name_starts_with: 'presence-team.' }, headers: { 'X-Team': 't1' } },
    ],
    webhook_options: { delay: 0.3 },
  });
  const s = await server([a]);
  const room = uid('presence-room.');
  const teamRoom = uid('presence-team.');
  const cache = uid('cache-prices.');

  const ann = await member(t, s, a, room, '5');
  assert.deepEqual(await waitEvent(everything, is('channel_occupied', room), 'channel_occupied'), { name: 'channel_occupied', channel: room });
  assert.deepEqual(await waitEvent(everything, is('member_added', room), 'member_added'), { name: 'member_added', channel: room, user_id: '5' });

  const reader = await member(t, s, a, cache);
  assert.deepEqual(await waitEvent(everything, is('cache_miss', cache), 'cache_miss'), { name: 'cache_miss', channel: cache });
  assert.deepEqual(await waitEvent(everything, is('subscription_count', cache), 'subscription_count'), {
    name: 'subscription_count',
    channel: cache,
    subscription_count: 1,
  });

  ann.send({ event: 'client-typing', channel: room, data: { typing: true } });
  assert.deepEqual(await waitEvent(everything, is('client_event', room), 'client_event'), {
    name: 'client_event',
    channel: room,
    event: 'client-typing',
    data: '{"typing":true}',
    socket_id: ann.socketId,
    user_id: '5',
  });

  await member(t, s, a, teamRoom, '6');
  const teamAdded = await waitEvent(team, is('member_added', teamRoom), 'member_added on the team target');
  assert.deepEqual(teamAdded, { name: 'member_added', channel: teamRoom, user_id: '6' });
  assert.equal(team.requests.items[0].headers['x-team'], 't1', 'the target\'s own header');

  ann.unsubscribe(room);
  assert.deepEqual(await waitEvent(everything, is('member_removed', room), 'member_removed'), { name: 'member_removed', channel: room, user_id: '5' });
  assert.deepEqual(await waitEvent(everything, is('channel_vacated', room), 'channel_vacated'), { name: 'channel_vacated', channel: room });
  reader.unsubscribe(cache);
  await waitEvent(everything, is('subscription_count', cache, { subscription_count: 0 }), 'subscription_count 0');
  await waitEvent(everything, is('channel_vacated', cache), 'the cache channel vacated');

  // The team target got its one event type, on its channels only.
  assert.deepEqual(
    team.events().map((e) => `${e.name} ${e.channel}`),
    [`member_added ${teamRoom}`],
  );
  checkSignedByPusher(s, a, everything);
  checkSignedByPusher(s, a, team);
  if (existsSync(PYTHON)) {
    const requests = everything.requests.items.slice(); // what has arrived so far
    const validated = await validateWithPython(a, requests);
    assert.equal(validated.length, requests.length);
    assert.ok(validated.every((events) => Array.isArray(events)), `the Python SDK accepts every request: ${JSON.stringify(validated)}`);
    assert.deepEqual(validated.flat(), requests.flatMap((q) => q.body.events));
  } else {
    t.diagnostic(`no Python venv at ${PYTHON}: the Python SDK check is skipped`);
  }
});

test('events of a burst are batched, at most 100 per request, each once, in order', { timeout: 30000 }, async (t) => {
  const r = await receiver('batched');
  const a = app({ id: 'hooks-batch', key: 'hooks-batch-key', webhooks: [{ url: r.url }], webhook_options: { batch_window: 0.2 } });
  const s = await server([a]);
  const channel = uid('presence-batch.');
  const n = 30;
  await Promise.all(Array.from({ length: n }, (_, i) => member(t, s, a, channel, String(i))));
  await r.requests.waitFor(() => r.events().filter((e) => e.name === 'member_added').length === n, 10000, `${n} member_added`);
  const added = r.events().filter((e) => e.name === 'member_added').map((e) => e.user_id);
  assert.equal(new Set(added).size, n, 'each once');
  assert.ok(r.requests.items.length < n, `batched: ${r.requests.items.length} requests for ${n + 1} events`);
  assert.ok(r.requests.items.every((q) => q.body.events.length <= 100));
  // In decision order, also in a cluster (one node sends all of a channel's events).
  assert.equal(r.events()[0].name, 'channel_occupied', 'occupied comes first');
  assert.equal(r.events().filter((e) => e.name === 'channel_occupied').length, 1, 'occupied once');
  checkSignedByPusher(s, a, r);
});

/** Two nodes of a cluster run (the reload moves to another node), else the server twice. */
function twoNodes(s) {
  return s.nodes ? [s.nodes[0], s.nodes[1]] : [s, s];
}

test('Pusher\'s delay: a reload within 3 s sends nothing, also onto another node; a real leave is sent once, after the delay', { timeout: 30000 }, async (t) => {
  const r = await receiver('delayed');
  const a = app({ id: 'hooks-delay', key: 'hooks-delay-key', webhooks: [{ url: r.url }] }); // default delay: 3 s
  const s = await server([a]);
  const [here, there] = twoNodes(s);
  const room = uid('presence-reload.');
  const first = await member(t, here, a, room, '5');
  await waitEvent(r, is('member_added', room), 'member_added');
  const before = r.events().length;

  // The page reloads: the old connection closes, a new one joins as the same user (in
  // a cluster run, through another node).
  await first.closeAndWait();
  const again = await member(t, there, a, room, '5');
  // A marker that leaves for good after the reload: its member_removed is due after
  // the reload's would have been, so once it arrives nothing of the reload can follow.
  const marker = uid('presence-marker.');
  const m = await member(t, here, a, marker, '9');
  const leftAt = Date.now();
  await m.closeAndWait();
  await waitEvent(r, is('member_removed', marker), 'the marker\'s member_removed', 10000);
  const waited = Date.now() - leftAt;
  assert.ok(waited >= 2500, `held for the delay (${waited} ms)`);
  const reload = r.events().slice(before).filter((e) => e.channel === room);
  assert.deepEqual(reload, [], 'the reload sent no webhook');

  again.unsubscribe(room);
  await waitEvent(r, is('member_removed', room), 'member_removed after the real leave', 10000);
  await waitEvent(r, is('channel_vacated', room), 'channel_vacated after the real leave', 10000);
  // Once each, though several nodes saw the channel.
  const count = (name) => r.events().filter(is(name, room)).length;
  assert.deepEqual(
    ['channel_occupied', 'member_added', 'member_removed', 'channel_vacated'].map(count),
    [1, 1, 1, 1],
  );
});

test('a receiver that fails is retried: after a 500 and after a timeout the events still arrive', { timeout: 30000 }, async (t) => {
  const r = await receiver('flaky', (_, n) => (n === 0 ? 500 : n === 1 ? { status: 200, afterMs: 1500 } : 200));
  const a = app({ id: 'hooks-retry', key: 'hooks-retry-key', webhooks: [{ url: r.url }], webhook_options: { timeout: 0.5, batch_window: 0 } });
  const s = await server([a]);
  const channel = uid('retried.');
  await member(t, s, a, channel);
  // 500, then no answer within the timeout, then 200: the same events three times.
  await r.requests.waitFor(() => r.requests.items.length >= 3, 15000, 'three attempts');
  const [one, two, three] = r.requests.items;
  assert.equal(one.rawBody.includes(channel), true);
  assert.deepEqual(two.body.events, one.body.events);
  assert.deepEqual(three.body.events, one.body.events);
  checkSignedByPusher(s, a, r);
  // And the next event goes through at once.
  const next = uid('after-retry.');
  await member(t, s, a, next);
  await waitEvent(r, is('channel_occupied', next), 'the next event');
});

test('a receiver that never answers delays no other target, and what waits for it is bounded', { timeout: 40000 }, async (t) => {
  const dead = await receiver('dead', () => 'hang');
  const alive = await receiver('alive');
  const a = app({
    id: 'hooks-dead',
    key: 'hooks-dead-key',
    webhooks: [{ url: dead.url }, { url: alive.url }],
    webhook_options: { timeout: 1, retry_for: 2, max_queued_events: 20 },
  });
  const s = await server([a]);
  // 100 events, ten at a time, each ten delivered to the live target before the next:
  // it never waits behind the dead one, and never has more than ten queued.
  const sockets = [];
  for (let round = 0; round < 10; round++) {
    const channels = Array.from({ length: 10 }, () => uid('busy.'));
    for (const ch of channels) sockets.push(await member(t, s, a, ch));
    await alive.requests.waitFor(
      () => channels.every((ch) => alive.events().some(is('channel_occupied', ch))),
      5000,
      `round ${round}: 10 channel_occupied on the live target`,
    );
  }
  // The dead target got its first batch (and never answered); the rest waited in a
  // queue of 20 and the oldest were dropped, counted and logged.
  await dead.requests.waitFor(() => true, 5000, 'a request to the dead target');
  const logged = () => s.stderrLines.some((l) => l.includes(`webhooks to ${dead.url}: `) && /\d+ events dropped, its queue is full/.test(l));
  const deadline = Date.now() + 10000;
  while (!logged()) {
    assert.ok(Date.now() < deadline, `no drop was logged:\n${s.logs()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
});

test('a Reverb-env app gets webhooks from PUSHBUS_WEBHOOK_URL and PUSHBUS_WEBHOOK_EVENTS', { timeout: 20000 }, async (t) => {
  const r = await receiver('reverb-env');
  const a = app({ id: '77', key: 'reverb-hooks-key', secret: 'reverb-hooks-secret' });
  const s = await startServer(
    { apps: [] },
    {
      env: {
        REVERB_APP_ID: a.id,
        REVERB_APP_KEY: a.key,
        REVERB_APP_SECRET: a.secret,
        PUSHBUS_WEBHOOK_URL: r.url,
        PUSHBUS_WEBHOOK_EVENTS: 'member_added',
      },
    },
  );
  cleanup.push(() => s.stop());
  const room = uid('presence-env.');
  await member(t, s, a, room, '3');
  assert.deepEqual(await waitEvent(r, is('member_added', room), 'member_added'), { name: 'member_added', channel: room, user_id: '3' });
  assert.ok(r.events().every((e) => e.name === 'member_added'), 'only the named type');
  checkSignedByPusher(s, a, r);
});

test('SIGTERM: a leave held for the delay is decided and sent at once, before the process exits', { timeout: 30000 }, async (t) => {
  const r = await receiver('shutdown');
  const a = app({ id: 'hooks-stop', key: 'hooks-stop-key', webhooks: [{ url: r.url }] }); // delay 3 s
  const s = await server([a]);
  const room = uid('presence-stop.');
  const c = await member(t, s, a, room, '4');
  await waitEvent(r, is('member_added', room), 'member_added');
  c.unsubscribe(room);
  await c.ping(); // the leave is decided
  const stoppedAt = Date.now();
  s.kill('SIGTERM');
  await waitEvent(r, is('member_removed', room), 'member_removed at shutdown', 10000);
  assert.ok(Date.now() - stoppedAt < 2500, `sent at shutdown, not after the 3 s delay (${Date.now() - stoppedAt} ms)`);
  const exit = await s.exited;
  assert.equal(exit.code, 0, JSON.stringify(exit));
});

test('https:// targets: a receiver whose certificate chains to the ca_file gets the events; without it, nothing is sent', { timeout: 30000 }, async (t) => {
  const certs = makeCertificates();
  cleanup.push(() => certs.remove());
  const trusted = await receiver('https trusted', undefined, { tls: { key: certs.key, cert: certs.cert } });
  const untrusted = await receiver('https untrusted', undefined, { tls: { key: certs.key, cert: certs.cert } });
  const a = app({
    id: 'hooks-tls',
    key: 'hooks-tls-key',
    webhooks: [{ url: trusted.url, ca_file: certs.caFile }, { url: untrusted.url }],
    webhook_options: { timeout: 1, retry_for: 1 },
  });
  const s = await server([a]);
  const room = uid('presence-tls.');
  await member(t, s, a, room, '5');
  assert.deepEqual(await waitEvent(trusted, is('member_added', room), 'member_added over https'), { name: 'member_added', channel: room, user_id: '5' });
  checkSignedByPusher(s, a, trusted);
  // The other target does not trust the private CA: the TLS handshake fails, logged.
  const logged = () => s.stderrLines.some((l) => l.includes(`webhooks to ${untrusted.url}: TLS with 127.0.0.1`));
  const deadline = Date.now() + 10000;
  while (!logged()) {
    assert.ok(Date.now() < deadline, `no TLS failure was logged:\n${s.logs()}`);
    await new Promise((res) => setTimeout(res, 100));
  }
  assert.equal(untrusted.requests.items.length, 0);
});
