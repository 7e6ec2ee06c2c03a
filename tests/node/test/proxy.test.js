// The documented reverse-proxy configurations (docs/deploy/nginx.conf and
// docs/deploy/apache.conf) in front of pushbus, each run in Debian's nginx or apache2
// with only its ports changed: Laravel Echo connects through the proxy, and the
// `pusher` REST SDK publishes and queries through the proxy's /apps path.
//
// In a cluster run (PUSHBUS_TEST_NODES=3) the proxies stand in front of one node,
// picked once, as a proxy on each node's machine does.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, app } from '../lib/server.js';
import { startProxy } from '../lib/proxy.js';
import { makeEcho, rest, collector } from '../lib/clients.js';
import { deferred, withTimeout, waitUntil, uid } from '../lib/util.js';

const APP = app();
let server;

before(async () => {
  server = await startServer({ apps: [APP] });
});
after(async () => {
  await server?.stop();
});

/** Resolve when Echo's .subscribed() fires (bounded). */
function subscribed(channel, what, client) {
  const d = deferred();
  channel.subscribed(() => d.resolve());
  channel.error((e) => d.reject(new Error(`${what}: subscription error ${JSON.stringify(e)}`)));
  return withTimeout(d.promise, 5000, `${what} to be subscribed`).catch((e) => {
    if (client) e.message += `\n  client states: ${client.states.join(' → ')} socket ${client.socketId}\n  messages:\n    ${client.messages.describe()}`;
    throw e;
  });
}

/**
 * An Echo client through `proxy`. After the test its TCP sockets are destroyed: once
 * disconnected, pusher-js's bundled faye-websocket (node build) stops reading and
 * leaves the socket half-closed, which holds apache2's shutdown for 10 s.
 */
function echoThrough(t, proxy, opts) {
  const e = makeEcho(t, proxy, APP, { ...opts, options: throughProxy(proxy) });
  t.after(() => {
    for (const sock of e.client.sockets) sock._stream?.destroy();
  });
  return e;
}

/** Every request in the proxy's access log went to /app/ or /apps/, none elsewhere. */
function assertDocumentedPaths(proxy) {
  const lines = proxy.accessLog();
  assert.ok(lines.length > 0, `${proxy.kind}: empty access log`);
  for (const line of lines) {
    const m = /"([A-Z]+) (\S+) HTTP\/1\.1"/.exec(line);
    assert.ok(m, `${proxy.kind}: unexpected access log line ${line}`);
    assert.match(m[2], /^\/apps?\//, `${proxy.kind}: a request outside /app/ and /apps/: ${line}`);
  }
}

/** Echo's options for a page whose Echo talks to `proxy` over plain ws. */
const throughProxy = (proxy) => ({
  wsHost: '127.0.0.1',
  wsPort: proxy.port,
  wssPort: proxy.port,
  forceTLS: false,
  enabledTransports: ['ws'],
});

for (const kind of ['nginx', 'apache2']) {
  describe(`${kind} with the documented config`, () => {
    let proxy;
    let node;
    let sdk;

    before(async () => {
      node = server.pick();
      proxy = await startProxy(kind, { upstreamPort: node.port });
      // The backend publishes through the proxy, as Laravel does when REVERB_HOST names it.
      sdk = rest(proxy, APP);
    });
    after(async () => {
      // Every client has hung up: wait until pushbus has seen each tunnel end, so that
      // the proxy is not stopped in the middle of closing one (apache2 then waits 10 s).
      if (proxy) {
        const direct = rest(node, APP);
        await waitUntil(
          async () => (await (await direct.get({ path: '/connections' })).json()).connections === 0,
          5000,
          `pushbus to count no connection once the ${kind} clients hung up`,
        ).finally(() => proxy.stop());
      }
    });

    /** Adds the proxy's and the server's logs to a failure. */
    async function withLogs(fn) {
      try {
        await fn();
      } catch (e) {
        e.message += `\n${proxy.logs()}\n${server.logs()}`;
        throw e;
      }
    }

    test(`${kind}: Echo subscribes through the proxy and gets an event the SDK published through /apps`, { timeout: 20000 }, (t) =>
      withLogs(async () => {
        const channel = uid('portal.');
        const { echo, client } = echoThrough(t, proxy, { name: `${kind} echo` });
        const got = collector('portal.updated');
        const ch = echo.channel(channel).listen('.portal.updated', got.cb);
        await subscribed(ch, channel, client);
        assert.match(echo.socketId(), /^\d+\.\d+$/);

        const res = await sdk.trigger(channel, 'portal.updated', { version: 3, via: kind });
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), {});
        assert.deepEqual(await got.inbox.waitFor(() => true, 5000, 'portal.updated through the proxy'), { version: 3, via: kind });

        // A signed GET with a query string through the proxy: the proxy must pass the
        // path and query as the SDK signed them.
        const info = await sdk.get({ path: `/channels/${channel}`, params: { info: 'subscription_count' } });
        assert.equal(info.status, 200);
        assert.deepEqual(await info.json(), { occupied: true, subscription_count: 1 });

        // The publish went through the proxy (its access log), like every request it saw.
        await waitUntil(
          () => proxy.accessLog().some((l) => l.includes(`POST /apps/${APP.id}/events?`) && / 200 /.test(`${l} `)),
          5000,
          `${kind}'s access log to show POST /apps/${APP.id}/events answered 200`,
        );
        assertDocumentedPaths(proxy);
      }),
    );

    test(`${kind}: presence through the proxy: two members see each other, whisper, and leave`, { timeout: 20000 }, (t) =>
      withLogs(async () => {
        const name = uid('project.');
        const alice = echoThrough(t, proxy, { user: { id: 1, info: { name: 'Alice' } }, name: `${kind} alice` });
        const bob = echoThrough(t, proxy, { user: { id: 2, info: { name: 'Bob' } }, name: `${kind} bob` });

        const aHere = collector('alice here');
        const aJoining = collector('alice joining');
        const aLeaving = collector('alice leaving');
        const aTyping = collector('alice typing');
        alice.echo.join(name).here(aHere.cb).joining(aJoining.cb).leaving(aLeaving.cb).listenForWhisper('typing', aTyping.cb);
        assert.deepEqual(await aHere.inbox.waitFor(() => true, 5000, 'alice here()'), [{ name: 'Alice' }]);

        const bHere = collector('bob here');
        const pb = bob.echo.join(name).here(bHere.cb);
        const members = await bHere.inbox.waitFor(() => true, 5000, 'bob here()');
        assert.deepEqual([...members].map((m) => m.name).sort(), ['Alice', 'Bob']);
        assert.deepEqual(await aJoining.inbox.waitFor(() => true, 5000, 'alice joining()'), { name: 'Bob' });

        // A frame from a client up through the proxy and down to the other client.
        pb.whisper('typing', { typing: true });
        assert.deepEqual(await aTyping.inbox.waitFor(() => true, 5000, 'alice receives bob whisper'), { typing: true });

        const users = await sdk.get({ path: `/channels/presence-${name}/users` });
        assert.equal(users.status, 200);
        assert.deepEqual((await users.json()).users.map((u) => u.id).sort(), ['1', '2']);

        // Bob closes the tab: the proxy must close its upstream connection too, or
        // pushbus would keep him present.
        bob.echo.disconnect();
        assert.deepEqual(await aLeaving.inbox.waitFor(() => true, 5000, 'alice leaving() after bob disconnected'), { name: 'Bob' });

        // The proxy logs a WebSocket when it ends: bob's, upgraded (101).
        await waitUntil(
          () => proxy.accessLog().some((l) => l.includes(`GET /app/${APP.key}?`) && / 101 /.test(`${l} `)),
          5000,
          `${kind}'s access log to show GET /app/${APP.key} answered 101`,
        );
        assertDocumentedPaths(proxy);
      }),
    );
  });
}
