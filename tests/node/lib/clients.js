// Factories for the official clients: pusher-js, Laravel Echo (driving
// pusher-js), and the `pusher` REST SDK acting as the "Laravel backend".
import PusherJS from 'pusher-js';
import Echo from 'laravel-echo';
import PusherRest from 'pusher';
import { Inbox, withTimeout, deferred, DEFAULT_TIMEOUT } from './util.js';

export { PusherJS, Echo, PusherRest };

/**
 * Laravel's `encryption_master_key_base64` for private-encrypted- channels
 * (32 bytes). Only the backend (REST SDK) knows it; the server never does.
 */
export const ENCRYPTION_MASTER_KEY_BASE64 = Buffer.from('pushbus-integration-test-key-32b').toString('base64');

/** REST SDK client for `app` on `server`. */
export function rest(server, app, extra = {}) {
  return new PusherRest({
    appId: app.id,
    key: app.key,
    secret: app.secret,
    host: server.host,
    port: String(server.port),
    useTLS: false,
    timeout: 5000,
    encryptionMasterKeyBase64: ENCRYPTION_MASTER_KEY_BASE64,
    ...extra,
  });
}

/**
 * What a Laravel backend does in /broadcasting/auth: sign with the REST SDK.
 * `user` = {id, info} is used for presence channel_data (id sent as a string,
 * like Laravel, unless `rawUserId` is set). `badAuthFor(channelName)` makes it
 * sign with a wrong secret so the *server* has to reject the subscription.
 */
export function makeAuthorizer(server, app, { user, badAuthFor = () => false } = {}) {
  const good = rest(server, app);
  const bad = rest(server, { ...app, secret: 'not-the-secret-0000000' });
  return (socketId, channelName) => {
    const sdk = badAuthFor(channelName) ? bad : good;
    if (channelName.startsWith('presence-')) {
      if (!user) throw new Error(`no user configured for ${channelName}`);
      return sdk.authorizeChannel(socketId, channelName, { user_id: String(user.id), user_info: user.info });
    }
    return sdk.authorizeChannel(socketId, channelName);
  };
}

/** Wraps a pusher-js instance: records every message it receives. */
export class PjsClient {
  constructor(pusher, name) {
    this.pusher = pusher;
    this.name = name;
    this.messages = new Inbox(`${name} messages`);
    this.errors = new Inbox(`${name} connection errors`);
    this.states = [];
    pusher.connection.bind('message', (m) => this.messages.push(m));
    pusher.connection.bind('error', (e) => this.errors.push(e));
    pusher.connection.bind('state_change', (s) => {
      this.states.push(s.current);
      // remember the underlying (bundled faye-websocket) sockets, see disconnect()
      const sock = pusher.connection.connection?.transport?.socket;
      if (sock) this.sockets.add(sock);
    });
    this.sockets = new Set();
  }

  get socketId() {
    return this.pusher.connection.socket_id;
  }

  get state() {
    return this.pusher.connection.state;
  }

  waitConnected(timeoutMs = DEFAULT_TIMEOUT) {
    return waitConnected(this.pusher, timeoutMs, this.name);
  }

  waitForMessage(pred, timeoutMs = DEFAULT_TIMEOUT, what, opts) {
    return this.messages.waitFor(pred, timeoutMs, what, opts);
  }

  /** Round-trip barrier via pusher:ping / pusher:pong (see RawClient.ping). */
  async ping(timeoutMs = DEFAULT_TIMEOUT) {
    const from = this.messages.items.length;
    this.pusher.send_event('pusher:ping', {});
    return this.messages.waitFor((m) => m.event === 'pusher:pong', timeoutMs, 'pusher:pong', { from });
  }

  disconnect() {
    try {
      this.pusher.disconnect();
    } catch {
      /* ignore */
    }
    // pusher-js 8.6.0 (node build) calls close() again on a socket the server
    // already closed with a 40xx code; its bundled faye-websocket then arms a
    // 30 s close timer that is never cleared and keeps the test process alive.
    // Client-side quirk only: unref those timers.
    for (const sock of this.sockets) sock._closeTimer?.unref?.();
  }
}

export function waitConnected(pusher, timeoutMs = DEFAULT_TIMEOUT, name = 'pusher-js') {
  if (pusher.connection.state === 'connected') return Promise.resolve(pusher.connection.socket_id);
  const d = deferred();
  const onChange = ({ current }) => {
    if (current === 'connected') d.resolve(pusher.connection.socket_id);
    if (current === 'failed') d.reject(new Error(`${name}: connection state became failed`));
  };
  pusher.connection.bind('state_change', onChange);
  return withTimeout(d.promise, timeoutMs, `${name} to reach state "connected"`).finally(() =>
    pusher.connection.unbind('state_change', onChange),
  );
}

/** Options that Laravel's generated Echo/pusher-js config uses for Reverb. */
export function connectionOptions(server) {
  return {
    cluster: '',
    wsHost: '127.0.0.1',
    wsPort: server.port,
    wssPort: server.port,
    forceTLS: false,
    enabledTransports: ['ws', 'wss'],
    enableStats: false,
  };
}

/**
 * A pusher-js client. Channel authorization / user authentication use
 * customHandler, signing with the REST SDK like a Laravel backend.
 * @param t node:test context (disconnects after the test) or null
 */
export function pjs(t, server, app, { user, userData, badAuthFor, name = 'pusher-js', options = {} } = {}) {
  const authorize = makeAuthorizer(server, app, { user, badAuthFor });
  const sdk = rest(server, app);
  const pusher = new PusherJS(app.key, {
    ...connectionOptions(server),
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) => {
        try {
          callback(null, authorize(socketId, channelName));
        } catch (e) {
          callback(e, null);
        }
      },
    },
    userAuthentication: {
      customHandler: ({ socketId }, callback) => {
        try {
          callback(null, sdk.authenticateUser(socketId, userData ?? { id: String(user?.id ?? '1') }));
        } catch (e) {
          callback(e, null);
        }
      },
    },
    ...options,
  });
  const c = new PjsClient(pusher, name);
  if (t) t.after(() => c.disconnect());
  return c;
}

/**
 * A Laravel Echo instance (broadcaster 'reverb', driving pusher-js) using the
 * classic `authorizer` option the way Laravel apps configure a custom authorizer.
 * Returns {echo, client} where client is the PjsClient wrapping echo's pusher.
 */
export function makeEcho(t, server, app, { user, badAuthFor, name = 'echo', options = {} } = {}) {
  const authorize = makeAuthorizer(server, app, { user, badAuthFor });
  const echo = new Echo({
    broadcaster: 'reverb',
    key: app.key,
    Pusher: PusherJS,
    wsHost: '127.0.0.1',
    wsPort: server.port,
    wssPort: server.port,
    forceTLS: false,
    enabledTransports: ['ws', 'wss'],
    authorizer: (channel) => ({
      authorize: (socketId, callback) => {
        try {
          callback(null, authorize(socketId, channel.name));
        } catch (e) {
          callback(e, null);
        }
      },
    }),
    ...options,
  });
  const client = new PjsClient(echo.connector.pusher, name);
  if (t) t.after(() => client.disconnect());
  return { echo, client };
}

/**
 * Collects the first argument of a pusher-js / Echo callback's invocations
 * into an Inbox (pusher-js passes (data, metadata); bind your own callback
 * when the metadata matters).
 */
export function collector(name) {
  const inbox = new Inbox(name);
  const cb = (data) => inbox.push(data);
  return { inbox, cb };
}
