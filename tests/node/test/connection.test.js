// WebSocket handshake, envelope handling and connection-level errors (spec §1).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startServer, app } from '../lib/server.js';
import { RawClient, openRaw, connectRaw, decodeData } from '../lib/raw.js';
import { pjs, rest } from '../lib/clients.js';
import { uid } from '../lib/util.js';

const MAIN = app();
const SMALL = app({ id: '77', key: 'smallframeskey', secret: 'smallframessecret', max_message_size: 2000 });
let server;

before(async () => {
  server = await startServer({ apps: [MAIN, SMALL] });
});
after(async () => {
  await server?.stop();
});

/** assert a pusher:error frame with an object `data` {code, message} */
function assertErrorFrame(frame, code) {
  assert.equal(frame.event, 'pusher:error');
  assert.equal(typeof frame.data, 'object', `pusher:error data must be an object {code,message}, got ${frame.__raw}`);
  assert.notEqual(frame.data, null);
  assert.equal(frame.data.code, code, `expected error code ${code}, got ${frame.__raw}`);
  assert.equal(typeof frame.data.message, 'string');
}

test('connection_established: JSON-string data, numeric-dot socket_id, default activity_timeout 30', { timeout: 15000 }, async (t) => {
  const a = await openRaw(server.wsUrl(MAIN.key), { name: 'a' }, t);
  const b = await openRaw(server.wsUrl(MAIN.key), { name: 'b' }, t);
  const fa = await a.waitForEvent('pusher:connection_established');
  assert.equal(a.frames.items[0].event, 'pusher:connection_established', 'connection_established must be the first frame');
  assert.equal(typeof fa.data, 'string', 'connection_established data must be a JSON string (P form)');
  const da = decodeData(fa);
  assert.match(da.socket_id, /^\d+\.\d+$/);
  assert.ok(Number.isInteger(da.activity_timeout) && da.activity_timeout > 0, `activity_timeout ${da.activity_timeout}`);
  assert.equal(da.activity_timeout, 30, 'default activity_timeout is 30');
  const db = await b.established();
  assert.match(db.socket_id, /^\d+\.\d+$/);
  assert.notEqual(da.socket_id, db.socket_id, 'socket ids are unique');
});

test('pusher-js connects and gets a valid socket_id', { timeout: 15000 }, async (t) => {
  const c = pjs(t, server, MAIN);
  const socketId = await c.waitConnected();
  assert.match(socketId, /^\d+\.\d+$/);
  assert.equal(c.state, 'connected');
});

test('pusher:ping → pusher:pong', { timeout: 15000 }, async (t) => {
  const c = await connectRaw(server.wsUrl(MAIN.key), {}, t);
  const pong = await c.ping();
  assert.equal(pong.event, 'pusher:pong');
  assert.equal(pong.channel, undefined);
  assert.equal(pong.data, '{}', `Recommended pong form is data "{}" (P): ${pong.__raw}`);
  // the legacy string form of the ping is answered too
  const from = c.frames.items.length;
  c.send({ event: 'pusher:ping', data: '{}' });
  await c.waitFor((f) => f.event === 'pusher:pong', 5000, 'pong to string-data ping', { from });
});

test('unknown app key → pusher:error 4001 then close 4001', { timeout: 15000 }, async (t) => {
  const c = new RawClient(server.wsUrl('nope'), { name: 'nope' });
  t.after(() => c.terminate());
  const close = await c.waitForClose(5000);
  const err = c.frames.items.find((f) => f.event === 'pusher:error');
  assert.ok(err, `expected a pusher:error frame before the close, got: ${c.frames.describe()}`);
  assertErrorFrame(err, 4001);
  assert.equal(close.code, 4001);
  assert.equal(c.frames.items.some((f) => f.event === 'pusher:connection_established'), false);
});

test('unsupported protocol=99 → pusher:error 4007 then close 4007', { timeout: 15000 }, async (t) => {
  const c = new RawClient(server.wsUrl(MAIN.key, 'protocol=99&client=js&version=8.6.0&flash=false'), { name: 'proto99' });
  t.after(() => c.terminate());
  const close = await c.waitForClose(5000);
  const err = c.frames.items.find((f) => f.event === 'pusher:error');
  assert.ok(err, `expected pusher:error, got: ${c.frames.describe()}`);
  assertErrorFrame(err, 4007);
  assert.equal(close.code, 4007);
});

test('missing protocol is treated as 7; odd client/version values are accepted (Recommended §1.1)', { timeout: 15000 }, async (t) => {
  const a = await connectRaw(server.wsUrl(MAIN.key, null), { name: 'noquery' }, t);
  assert.match(a.socketId, /^\d+\.\d+$/);
  const b = await connectRaw(server.wsUrl(MAIN.key, 'protocol=7&client=weird-lib&version=not.a.version'), { name: 'odd' }, t);
  assert.match(b.socketId, /^\d+\.\d+$/);
});

test('unknown path is refused (HTTP 404 before upgrade, or close 4005)', { timeout: 15000 }, async (t) => {
  const c = new RawClient(`ws://${server.host}:${server.port}/nothing/here`, { name: 'badpath' });
  t.after(() => c.terminate());
  const close = await c.waitForClose(5000);
  if (close.httpStatus !== undefined) assert.equal(close.httpStatus, 404);
  else assert.equal(close.code, 4005);
});

test('malformed JSON → pusher:error 4200 (not fatal); both sockets keep receiving events', { timeout: 15000 }, async (t) => {
  const channel = uid('malformed-');
  const bad = await connectRaw(server.wsUrl(MAIN.key), { name: 'bad' }, t);
  const other = await connectRaw(server.wsUrl(MAIN.key), { name: 'other' }, t);
  assert.equal((await bad.subscribe(channel)).event, 'pusher_internal:subscription_succeeded');
  assert.equal((await other.subscribe(channel)).event, 'pusher_internal:subscription_succeeded');

  bad.send('this is {not json');
  const err = await bad.waitForEvent('pusher:error');
  assertErrorFrame(err, 4200);
  assert.match(err.data.message, /invalid message format/i);

  // an envelope without "event" is also an invalid message
  const from = bad.frames.items.length;
  bad.send({ data: { foo: 1 } });
  const err2 = await bad.waitFor((f) => f.event === 'pusher:error', 5000, 'second pusher:error', { from });
  assertErrorFrame(err2, 4200);

  const res = await rest(server, MAIN).trigger(channel, 'after-garbage', { ok: true });
  assert.equal(res.status, 200);
  for (const c of [bad, other]) {
    const f = await c.waitForEvent('after-garbage', channel);
    assert.deepEqual(decodeData(f), { ok: true });
  }
  assert.equal(bad.closeInfo, null, 'socket must stay open after a malformed message');
  assert.ok(bad.isOpen);
});

test('unknown pusher:* client events are ignored (Recommended §1.2)', { timeout: 15000 }, async (t) => {
  const c = await connectRaw(server.wsUrl(MAIN.key), {}, t);
  const from = c.frames.items.length;
  c.send({ event: 'pusher:some_future_extension', data: {} });
  await c.ping();
  const between = c.frames.items.slice(from).filter((f) => f.event !== 'pusher:pong');
  assert.deepEqual(between.map((f) => f.__raw), [], 'no reply expected to an unknown pusher: event');
  assert.ok(c.isOpen);
});

test('oversized frame (> max_message_size) closes that socket; other clients keep working', { timeout: 15000 }, async (t) => {
  const channel = uid('big-');
  const big = await connectRaw(server.wsUrl(SMALL.key), { name: 'big' }, t);
  const other = await connectRaw(server.wsUrl(SMALL.key), { name: 'other' }, t);
  await other.subscribe(channel);
  await big.subscribe(channel);
  big.send({ event: 'pusher:ping', data: { pad: 'x'.repeat(5000) } });
  const close = await big.waitForClose(5000);
  assert.ok(typeof close.code === 'number' && close.code !== 1000, `expected an error close code, got ${close.code}`);

  const res = await rest(server, SMALL).trigger(channel, 'still-alive', { n: 1 });
  assert.equal(res.status, 200);
  await other.waitForEvent('still-alive', channel);
  assert.ok(other.isOpen);
});

test('a frame just under max_message_size is accepted', { timeout: 15000 }, async (t) => {
  const c = await connectRaw(server.wsUrl(SMALL.key), {}, t);
  const frame = JSON.stringify({ event: 'pusher:ping', data: { pad: 'y'.repeat(1800) } });
  assert.ok(Buffer.byteLength(frame) < 2000);
  const from = c.frames.items.length;
  c.send(frame);
  await c.waitFor((f) => f.event === 'pusher:pong', 5000, 'pong', { from });
  assert.ok(c.isOpen);
});

test('ws client sends binary frame: no crash, socket still usable or closed with 1003', { timeout: 15000 }, async (t) => {
  const c = await connectRaw(server.wsUrl(MAIN.key), {}, t);
  c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
  const from = c.frames.items.length;
  c.send({ event: 'pusher:ping', data: {} });
  const r = await Promise.race([
    c.waitFor((f) => f.event === 'pusher:pong', 5000, 'pong', { from }).then(() => 'pong'),
    c.closed.promise.then((i) => i),
  ]);
  if (r !== 'pong') assert.equal(r.code, 1003, `binary frame: unexpected close ${JSON.stringify(r)}`);
});

test('two sockets on one app are independent (closing one does not affect the other)', { timeout: 15000 }, async (t) => {
  const a = await connectRaw(server.wsUrl(MAIN.key), { name: 'a' }, t);
  const b = await connectRaw(server.wsUrl(MAIN.key), { name: 'b' }, t);
  await a.closeAndWait();
  await b.ping();
  assert.ok(b.isOpen);
  assert.equal(WebSocket.OPEN, b.ws.readyState);
});

test("a client's close is answered: ws reports its own code and a clean close (RFC 6455 §5.5.1)", { timeout: 15000 }, async () => {
  for (const code of [1000, 4000]) {
    const ws = new WebSocket(server.wsUrl(MAIN.key));
    await new Promise((resolve, reject) => {
      ws.once('message', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise((resolve) => ws.once('close', (c, reason) => resolve({ c, reason: reason.toString() })));
    ws.close(code, 'bye');
    const { c, reason } = await closed;
    assert.equal(c, code, `ws saw close ${c} (1006 means the server never answered)`);
    assert.equal(reason, 'bye');
  }
});
