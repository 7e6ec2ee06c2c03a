// Liveness (spec §1.6): the server pings idle connections and closes those
// that never answer with 4201; clients that answer stay connected.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, app } from '../lib/server.js';
import { RawClient, connectRaw, openRaw } from '../lib/raw.js';
import { pjs } from '../lib/clients.js';

const IDLE = app({ id: '201', key: 'idlekey', secret: 'idlesecret', activity_timeout: 1, ping_interval: 1, pong_timeout: 1 });
let server;

before(async () => {
  server = await startServer({ apps: [IDLE] });
});
after(async () => {
  await server?.stop();
});

const isPing = (f) => f.event === 'pusher:ping' || f.event === '<control-ping>';

test('silent client: pinged, then closed with 4201; a client answering pings stays', { timeout: 30000 }, async (t) => {
  // never answers anything, not even WebSocket control pings
  const silent = await openRaw(server.wsUrl(IDLE.key), { name: 'silent', autoPong: false }, t);
  // answers pusher:ping with pusher:pong (like pusher-js) and control pings (ws default)
  const lively = await openRaw(server.wsUrl(IDLE.key), { name: 'lively' }, t);
  lively.ws.on('message', (d) => {
    try {
      if (JSON.parse(d.toString()).event === 'pusher:ping') lively.send({ event: 'pusher:pong', data: {} });
    } catch {
      /* ignore */
    }
  });

  const est = await silent.established();
  assert.equal(est.activity_timeout, 1, 'activity_timeout from the app config is announced');
  await lively.established();

  const ping = await silent.waitFor(isPing, 10000, 'a ping (pusher:ping event or control ping)');
  const pingIndex = silent.frames.items.indexOf(ping);
  if (ping.event === 'pusher:ping') assert.equal(ping.data, '{}', `Recommended server ping form is data "{}": ${ping.__raw}`);
  const close = await silent.waitForClose(10000);
  assert.equal(close.code, 4201, `silent client must be closed with 4201, got ${close.code}`);
  assert.ok(pingIndex < silent.framesAtClose, 'the ping came before the close');
  const errIdx = silent.frames.indexOf((f) => f.event === 'pusher:error');
  if (errIdx >= 0) assert.equal(silent.frames.items[errIdx].data.code, 4201, 'pusher:error before the close carries 4201');
  t.diagnostic(`server ping form: ${ping.event}`);

  // the lively client was pinged as well, and survives at least one more
  // ping cycle *after* the silent one was dropped
  await lively.waitFor(isPing, 10000, 'first ping to lively client');
  const from = lively.frames.items.length;
  await lively.waitFor(isPing, 10000, 'another ping after the silent client was closed', { from });
  assert.equal(lively.closeInfo, null, `lively client was closed: ${JSON.stringify(lively.closeInfo)}`);
  await lively.ping();
});

test('pusher-js with activity_timeout 1 keeps its connection (it pings, server pongs)', { timeout: 30000 }, async (t) => {
  const c = pjs(t, server, IDLE);
  const socketId = await c.waitConnected();
  // pusher-js pings after 1 s of silence; wait for several pongs
  for (let i = 0; i < 3; i++) {
    const from = c.messages.items.length;
    await c.waitForMessage((m) => m.event === 'pusher:pong' || m.event === 'pusher:ping', 10000, 'ping/pong traffic', { from });
  }
  assert.equal(c.state, 'connected');
  assert.equal(c.socketId, socketId, 'pusher-js did not have to reconnect');
  assert.deepEqual(c.states.filter((s) => s !== 'connecting' && s !== 'connected' && s !== 'initialized'), []);
});

test('any inbound frame counts as activity: a client that keeps talking is never closed', { timeout: 30000 }, async (t) => {
  const chatty = await connectRaw(server.wsUrl(IDLE.key), { name: 'chatty', autoPong: false }, t);
  const timer = setInterval(() => chatty.isOpen && chatty.send({ event: 'pusher:ping', data: {} }), 300);
  t.after(() => clearInterval(timer));
  // a silent reference client proves the idle timeout really elapsed meanwhile
  const silent = new RawClient(server.wsUrl(IDLE.key), { name: 'silent2', autoPong: false });
  t.after(() => silent.terminate());
  const close = await silent.waitForClose(15000);
  assert.equal(close.code, 4201);
  assert.equal(chatty.closeInfo, null, `chatty client was closed: ${JSON.stringify(chatty.closeInfo)}`);
  await chatty.ping();
});
