// An app defined by Laravel Reverb's environment variables: client events on public
// channels are refused as Pusher refuses them (4301), unless the explicit opt-in
// PUSHBUS_CLIENT_EVENTS_ON_PUBLIC=true asks for Reverb's relaying.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, DEFAULT_APP } from '../lib/server.js';
import { connectRaw } from '../lib/raw.js';
import { rest } from '../lib/clients.js';
import { uid } from '../lib/util.js';

const REVERB_ENV = {
  REVERB_APP_ID: DEFAULT_APP.id,
  REVERB_APP_KEY: DEFAULT_APP.key,
  REVERB_APP_SECRET: DEFAULT_APP.secret,
};
const servers = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function reverbServer(extra = {}) {
  const server = await startServer({ apps: [] }, { env: { ...REVERB_ENV, ...extra } });
  servers.push(server);
  return server;
}

async function twoSubscribers(t, server, channel) {
  const a = await connectRaw(server.wsUrl(), { name: 'a' }, t);
  const b = await connectRaw(server.wsUrl(), { name: 'b' }, t);
  await a.subscribe(channel);
  await b.subscribe(channel);
  return [a, b];
}

test('Reverb-env app: a whisper on a public channel gets pusher:error 4301 and reaches no one', { timeout: 20000 }, async (t) => {
  const server = await reverbServer();
  const channel = uid('portal.');
  const [a, b] = await twoSubscribers(t, server, channel);
  a.send({ event: 'client-typing', channel, data: { typing: true } });
  const err = await a.waitForEvent('pusher:error');
  assert.equal(err.data.code, 4301, err.__raw);
  await a.ping();
  assert.ok(a.isOpen, 'the sender stays connected');
  await rest(server, DEFAULT_APP).trigger(channel, 'marker', {});
  await b.waitForEvent('marker', channel);
  assert.equal(b.frames.count((f) => f.event === 'client-typing'), 0, 'the public whisper was relayed');
});

test('Reverb-env app with PUSHBUS_CLIENT_EVENTS_ON_PUBLIC=true: the whisper reaches the others', { timeout: 20000 }, async (t) => {
  const server = await reverbServer({ PUSHBUS_CLIENT_EVENTS_ON_PUBLIC: 'true' });
  const channel = uid('portal.');
  const [a, b] = await twoSubscribers(t, server, channel);
  a.send({ event: 'client-typing', channel, data: { typing: true } });
  const f = await b.waitForEvent('client-typing', channel);
  assert.deepEqual(JSON.parse(f.data), { typing: true });
  await a.ping();
  assert.equal(a.frames.count((x) => x.event === 'pusher:error'), 0, 'the sender got an error');
  assert.equal(a.frames.count((x) => x.event === 'client-typing'), 0, 'the sender got its own whisper');
});
