// The delivery log (the seed's `realtime_events`): every published event gets an id
// and a record of what it reached, read over REST signed by the Node SDK. With
// PUSHBUS_TEST_NODES=3 the subscribers land on nodes at random, so the delivered
// count is summed over the nodes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startServer, app } from '../lib/server.js';
import { connectRaw } from '../lib/raw.js';
import { rest } from '../lib/clients.js';
import { uid, waitUntil } from '../lib/util.js';

const DIGEST = app({ id: 'digest-app', key: 'digest-key', secret: 'digest-secret' });
const PAYLOAD = app({
  id: 'payload-app',
  key: 'payload-key',
  secret: 'payload-secret',
  delivery_log: { size: 5, payloads: 'payload', client_events: true },
});
const OFF = app({ id: 'off-app', key: 'off-key', secret: 'off-secret', delivery_log: { size: 0 } });
let server;

before(async () => {
  server = await startServer({ apps: [DIGEST, PAYLOAD, OFF] });
});
after(async () => {
  await server?.stop();
});

async function log(sdk, params) {
  const res = await sdk.get({ path: '/delivery_log', params });
  assert.equal(res.status, 200);
  return (await res.json()).events;
}

/** Waits until the record of `channel` shows `delivered` connections. */
function record(sdk, channel, delivered) {
  return waitUntil(
    async () => (await log(sdk, { limit: '100' })).find((r) => r.channel === channel && r.delivered === delivered),
    10000,
    `a record of ${channel} with ${delivered} deliveries`,
  );
}

test('an event to 3 subscribers, one excluded, is logged as delivered to 2; digest mode keeps no payload', { timeout: 30000 }, async (t) => {
  const sdk = rest(server, DIGEST);
  const channel = uid('orders.');
  const subs = [];
  for (let i = 0; i < 3; i += 1) {
    const c = await connectRaw(server.wsUrl(DIGEST.key), { name: `sub ${i}` }, t);
    const s = await c.subscribe(channel);
    assert.equal(s.event, 'pusher_internal:subscription_succeeded');
    subs.push(c);
  }
  const data = JSON.stringify({ secret: 'card 4242', n: 1 });
  const res = await sdk.trigger(channel, 'order.paid', JSON.parse(data), { socket_id: subs[0].socketId });
  assert.equal(res.status, 200);
  for (const c of subs.slice(1)) await c.waitForEvent('order.paid', channel);

  const r = await record(sdk, channel, 2);
  assert.equal(r.event, 'order.paid');
  assert.equal(r.size, Buffer.byteLength(data));
  assert.equal(r.except, subs[0].socketId);
  assert.equal(r.source, 'api');
  assert.equal(r.digest, createHash('sha256').update(data).digest('hex'));
  assert.equal(r.data, undefined, 'no payload in digest mode');
  assert.ok(!JSON.stringify(await log(sdk, { limit: '100' })).includes('card 4242'), 'the payload is nowhere');
  assert.ok(r.nodes >= 1 && r.nodes <= 2, `nodes ${r.nodes}`);
  assert.ok(Math.abs(r.time - Date.now()) < 60000);
  assert.match(String(r.id), /\S/);
});

test('payload mode keeps the data, the ring keeps its size, client events are logged when asked', { timeout: 30000 }, async (t) => {
  const sdk = rest(server, PAYLOAD);
  const channel = uid('private-feed.');
  const a = await connectRaw(server.wsUrl(PAYLOAD.key), { name: 'a' }, t);
  const b = await connectRaw(server.wsUrl(PAYLOAD.key), { name: 'b' }, t);
  for (const c of [a, b]) {
    const { auth } = sdk.authorizeChannel(c.socketId, channel);
    await c.subscribe(channel, { auth });
  }
  for (let i = 0; i < 8; i += 1) await sdk.trigger(channel, 'tick', { i });
  await b.waitFor((f) => f.event === 'tick' && JSON.parse(f.data).i === 7, 5000, 'the last tick');
  a.send({ event: 'client-typing', channel, data: { typing: true } });
  await b.waitForEvent('client-typing', channel);

  const events = await waitUntil(async () => {
    const got = await log(sdk, { limit: '5' });
    return got[0]?.event === 'client-typing' && got.length === 5 && got;
  }, 10000, 'the client event at the head of the log');
  assert.equal(events.length, 5, 'the ring holds delivery_log.size records');
  assert.equal(events[0].source, 'client');
  assert.equal(events[0].except, a.socketId);
  assert.equal(events[0].data, JSON.stringify({ typing: true }));
  assert.deepEqual(events.slice(1).map((r) => JSON.parse(r.data).i), [7, 6, 5, 4], 'newest first, payloads kept');
  assert.equal(events[1].digest, undefined);

  assert.equal((await log(sdk, { limit: '6' })).length, 5, 'a limit above the size gives what is kept');
  await assert.rejects(sdk.get({ path: '/delivery_log', params: { limit: '1001' } }), (e) => {
    assert.equal(e.status, 400);
    assert.match(String(e.body), /limit/);
    return true;
  });
});

test('unmodified clients get byte-identical frames whether the delivery log is on or off', { timeout: 30000 }, async (t) => {
  /** One scripted session against `a`; its frames with ids made comparable. */
  async function session(a) {
    const sdk = rest(server, a);
    const n = uid('');
    const [pub, room] = [`news.${n}`, `presence-room.${n}`];
    const c = await connectRaw(server.wsUrl(a.key), { name: `${a.id} client` }, t);
    await c.subscribe(pub);
    const { auth, channel_data } = sdk.authorizeChannel(c.socketId, room, { user_id: 'u1', user_info: { name: 'A' } });
    await c.subscribe(room, { auth, channel_data });
    const signin = sdk.authenticateUser(c.socketId, { id: 'u1' });
    c.send({ event: 'pusher:signin', data: signin });
    await c.waitForEvent('pusher:signin_success');
    const other = await connectRaw(server.wsUrl(a.key), { name: `${a.id} other` }, t);
    const o = sdk.authorizeChannel(other.socketId, room, { user_id: 'u2' });
    await other.subscribe(room, { auth: o.auth, channel_data: o.channel_data });
    await c.waitForEvent('pusher_internal:member_added', room);
    await sdk.trigger([pub, room], 'update', { v: 1 });
    await c.waitFor((f) => f.event === 'update' && f.channel === room, 5000, 'update on the room');
    await other.closeAndWait();
    await c.waitForEvent('pusher_internal:member_removed', room);
    await c.ping();
    return c.rawFrames.map((f) => f.replaceAll(c.socketId, 'SOCKET').replaceAll(n, 'N'));
  }
  const on = await session(DIGEST);
  const off = await session(OFF);
  assert.deepEqual(on, off);
  assert.ok(on.length >= 8, on.join('\n'));
  assert.ok(!on.some((f) => f.includes('pushbus')), 'no pushbus frame');
});
