// Per-app admission rules: allowed origins, connection quota, disabled apps,
// client-event switches (spec §1.1, §1.4).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, app } from '../lib/server.js';
import { RawClient, connectRaw } from '../lib/raw.js';
import { pjs, rest } from '../lib/clients.js';
import { waitUntil, uid } from '../lib/util.js';

const ORIGIN = app({ id: '101', key: 'originkey', secret: 'originsecret', allowed_origins: ['portal.test'] });
const WILD = app({ id: '102', key: 'wildkey', secret: 'wildsecret', allowed_origins: ['*.portal.test'] });
const QUOTA = app({ id: '103', key: 'quotakey', secret: 'quotasecret', max_connections: 1 });
const DISABLED = app({ id: '104', key: 'disabledkey', secret: 'disabledsecret', enabled: false });
const OPEN = app({ id: '105', key: 'openkey', secret: 'opensecret' });

let server;
before(async () => {
  server = await startServer({ apps: [ORIGIN, WILD, QUOTA, DISABLED, OPEN] });
});
after(async () => {
  await server?.stop();
});

/** Connect and wait for the server to refuse with pusher:error + close. */
async function expectRefused(t, url, opts, code) {
  const c = new RawClient(url, opts);
  t.after(() => c.terminate());
  const close = await c.waitForClose(5000);
  const err = c.frames.items.find((f) => f.event === 'pusher:error');
  assert.ok(err, `expected pusher:error ${code} before close, frames: ${c.frames.describe()}`);
  assert.equal(typeof err.data, 'object', `pusher:error data must be an object, got ${err.__raw}`);
  assert.equal(err.data.code, code, `expected error code ${code}, got ${err.__raw}`);
  assert.ok(typeof err.data.message === 'string' && err.data.message.length > 0);
  assert.equal(close.code, code, `expected close code ${code}, got ${close.code}`);
  assert.equal(
    c.frames.items.some((f) => f.event === 'pusher:connection_established'),
    false,
    'a refused connection must not be established',
  );
  return { err, close };
}

test('origin not allowed → 4009; allowed origin connects', { timeout: 15000 }, async (t) => {
  await expectRefused(t, server.wsUrl(ORIGIN.key), { origin: 'http://evil.test', name: 'evil' }, 4009);
  const ok = await connectRaw(server.wsUrl(ORIGIN.key), { origin: 'http://portal.test', name: 'good' }, t);
  assert.match(ok.socketId, /^\d+\.\d+$/);
  const okPort = await connectRaw(server.wsUrl(ORIGIN.key), { origin: 'https://portal.test:8443', name: 'good-port' }, t);
  assert.match(okPort.socketId, /^\d+\.\d+$/, 'the host is compared, not scheme/port');
});

test('origin wildcard pattern *.portal.test', { timeout: 15000 }, async (t) => {
  const ok = await connectRaw(server.wsUrl(WILD.key), { origin: 'https://app.portal.test', name: 'sub' }, t);
  assert.match(ok.socketId, /^\d+\.\d+$/);
  await expectRefused(t, server.wsUrl(WILD.key), { origin: 'https://portal.test.evil.test', name: 'evil' }, 4009);
});

test('app over its connection quota → 4004; a slot frees up after a disconnect', { timeout: 20000 }, async (t) => {
  const first = await connectRaw(server.wsUrl(QUOTA.key), { name: 'first' }, t);
  await expectRefused(t, server.wsUrl(QUOTA.key), { name: 'second' }, 4004);
  assert.ok(first.isOpen, 'the first connection is unaffected');
  await first.ping();

  // after the first socket closes, the quota must be released (poll: the
  // server learns about the close asynchronously)
  await first.closeAndWait();
  const third = await waitUntil(
    async () => {
      const c = new RawClient(server.wsUrl(QUOTA.key), { name: 'third' });
      t.after(() => c.terminate());
      const r = await Promise.race([
        c.waitForEvent('pusher:connection_established', undefined, 3000).then(() => 'ok'),
        c.closed.promise.then(() => 'closed'),
      ]);
      if (r === 'ok') return c;
      return null;
    },
    8000,
    'a new connection is admitted after the only one closed',
    100,
  );
  assert.ok(third.isOpen);
});

test('disabled app → 4003', { timeout: 15000 }, async (t) => {
  await expectRefused(t, server.wsUrl(DISABLED.key), { name: 'disabled' }, 4003);
});

test('disabled app: HTTP API is refused (403)', { timeout: 15000 }, async () => {
  const sdk = rest(server, DISABLED);
  await assert.rejects(sdk.trigger('x', 'e', {}), (e) => {
    assert.equal(e.status, 403, `expected 403, got ${e.status} ${e.body}`);
    return true;
  });
});

test('pusher-js against a disabled app gets the 4003 error and gives up (state disconnected, never connected)', { timeout: 15000 }, async (t) => {
  const c = pjs(t, server, DISABLED);
  const e = await c.errors.waitFor((x) => x?.error?.data?.code === 4003, 5000, 'connection error with code 4003');
  assert.equal(e.type, 'WebSocketError');
  await waitUntil(() => c.state === 'disconnected', 5000, 'pusher-js state "disconnected"');
  assert.equal(c.states.includes('connected'), false);
});

test('different apps are isolated: events do not cross apps', { timeout: 15000 }, async (t) => {
  const channel = uid('iso-');
  const a = await connectRaw(server.wsUrl(OPEN.key), { name: 'open' }, t);
  const b = await connectRaw(server.wsUrl(ORIGIN.key), { name: 'origin', origin: 'http://portal.test' }, t);
  await a.subscribe(channel);
  await b.subscribe(channel);
  await rest(server, OPEN).trigger(channel, 'only-open', {});
  await rest(server, ORIGIN).trigger(channel, 'marker', {});
  await a.waitForEvent('only-open', channel);
  await b.waitForEvent('marker', channel);
  assert.equal(b.frames.count((f) => f.event === 'only-open'), 0, 'event leaked into another app');
});

test('REST with one app\'s credentials against another app id → 401', { timeout: 15000 }, async () => {
  // app id 105 but signed with app 101's key/secret
  const sdk = rest(server, { ...ORIGIN, id: OPEN.id });
  await assert.rejects(sdk.trigger('x', 'e', {}), (e) => {
    assert.equal(e.status, 401, `expected 401, got ${e.status} ${e.body}`);
    return true;
  });
});

