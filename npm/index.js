// pushbus for Node: an embedded Pusher Channels server (`Server`), a REST client for any
// Pusher-compatible server (`Client`), and the signing functions an auth endpoint needs.
//
// This file is the friendly layer over the native addon (native.d.ts): it checks
// arguments, JSON-encodes event data once, turns lifecycle events into EventEmitter
// events and decides how a server keeps the process alive. Everything else happens in
// Rust. Errors are `Error`s with a stable `code` (see README.md).
'use strict';

const { EventEmitter } = require('node:events');
const { randomBytes } = require('node:crypto');
const native = require('./native');

const USER_CHANNEL_PREFIX = '#server-to-user-';

// ---------------------------------------------------------------------------------------
// Arguments
// ---------------------------------------------------------------------------------------

function argumentError(message, cause) {
  const err = new Error(message, cause === undefined ? undefined : { cause });
  err.code = 'INVALID_ARGUMENT';
  return err;
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function checkString(value, what) {
  if (typeof value !== 'string') throw argumentError(`${what} must be a string, got ${describe(value)}`);
  return value;
}

function optionalString(value, what) {
  return value === undefined || value === null ? undefined : checkString(value, what);
}

function describe(value) {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}

/** `options` with only the `allowed` keys; a typo or an SDK-style key is an error. */
function checkOptions(options, allowed, what, hints = {}) {
  if (options === undefined || options === null) return {};
  if (!isObject(options)) throw argumentError(`${what} options must be an object, got ${describe(options)}`);
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) {
      const hint = hints[key] ? ` (use ${hints[key]})` : ` (known: ${allowed.join(', ')})`;
      throw argumentError(`unknown ${what} option ${JSON.stringify(key)}${hint}`);
    }
  }
  return options;
}

const SDK_HINTS = { socket_id: 'exceptSocketId', socketId: 'exceptSocketId' };

function toChannels(channels) {
  const list = typeof channels === 'string' ? [channels] : channels;
  if (!Array.isArray(list) || !list.every((c) => typeof c === 'string')) {
    throw argumentError(`channels must be a channel name or an array of them, got ${describe(channels)}`);
  }
  return list;
}

/** A string is sent verbatim; anything else is JSON-encoded, once. */
function encodeData(data) {
  if (typeof data === 'string') return data;
  let json;
  try {
    json = JSON.stringify(data);
  } catch (cause) {
    throw argumentError(`data cannot be JSON-encoded: ${cause.message}`, cause);
  }
  if (json === undefined) throw argumentError(`data must be a string or a JSON value, got ${describe(data)}`);
  return json;
}

/** `{ key, secret }` (extra keys, such as an app's `id`, are ignored). */
function checkCredentials(credentials) {
  if (!isObject(credentials)) throw argumentError(`credentials must be an object like { key, secret }, got ${describe(credentials)}`);
  return {
    key: checkString(credentials.key, 'credentials.key'),
    secret: checkString(credentials.secret, 'credentials.secret'),
    masterKey: masterKey(credentials.encryptionMasterKeyBase64),
  };
}

function masterKey(base64) {
  if (base64 === undefined || base64 === null) return undefined;
  checkString(base64, 'encryptionMasterKeyBase64');
  const key = Buffer.from(base64, 'base64');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64) || key.length !== 32) {
    throw argumentError(`encryptionMasterKeyBase64 must be 32 bytes in base64, got ${key.length} bytes`);
  }
  return key;
}

/**
 * Online users listed per page, delivery log records and history events listed, when no
 * `limit` is given: the HTTP API's default.
 */
const DEFAULT_LIMIT = 100;

/**
 * A `limit` of `onlineUsers` (users), `deliveryLog` (records) or `history` (events); its
 * range (1 to 1000) is the server's to check.
 */
function checkLimit(limit, what = 'users') {
  if (limit === undefined || limit === null) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 0 || limit > 2 ** 32 - 1) {
    throw argumentError(`limit must be a whole number of ${what}, got ${describe(limit)}`);
  }
  return limit;
}

/** A `since` of `history`: the serial after which to list (default 0: from the first kept). */
function checkSince(since) {
  if (since === undefined || since === null) return 0;
  if (!Number.isSafeInteger(since) || since < 0) {
    throw argumentError(`since must be a serial (a whole number, 0 or more), got ${describe(since)}`);
  }
  return since;
}

function toBuffer(body, what) {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw argumentError(`${what} must be a string or a Buffer, got ${describe(body)}`);
}

// ---------------------------------------------------------------------------------------
// Signing
// ---------------------------------------------------------------------------------------

/**
 * The JSON body an auth endpoint returns for a private, presence or encrypted channel,
 * exactly as pusher-js and Laravel Echo expect it. `presenceData` (`{ user_id,
 * user_info }`) is required on presence channels; a string is signed verbatim.
 */
function authorizeChannel(credentials, socketId, channel, presenceData) {
  const { key, secret, masterKey: mk } = checkCredentials(credentials);
  checkString(socketId, 'socketId');
  checkString(channel, 'channel');
  let channelData;
  if (presenceData !== undefined && presenceData !== null) {
    if (isObject(presenceData)) {
      const id = presenceData.user_id;
      if (!((typeof id === 'string' && id !== '') || Number.isFinite(id))) {
        throw argumentError('presence data needs a user_id (a non-empty string or a number)');
      }
    }
    channelData = encodeData(presenceData);
  } else if (channel.startsWith('presence-')) {
    throw argumentError(`${JSON.stringify(channel)} is a presence channel: pass presence data { user_id, user_info }`);
  }
  return native.authorizeChannel(key, secret, socketId, channel, channelData, mk);
}

/**
 * The JSON body a user-authentication endpoint returns for `pusher:signin`.
 * `userData` needs an `id`; a string is signed verbatim.
 */
function authenticateUser(credentials, socketId, userData) {
  const { key, secret } = checkCredentials(credentials);
  checkString(socketId, 'socketId');
  if (isObject(userData)) {
    if (typeof userData.id !== 'string' || userData.id === '') {
      throw argumentError('user data needs an id (a non-empty string)');
    }
  } else if (typeof userData !== 'string') {
    throw argumentError(`user data must be an object like { id, user_info } or a string, got ${describe(userData)}`);
  }
  return native.authenticateUser(key, secret, socketId, encodeData(userData));
}

function header(headers, name) {
  if (headers && typeof headers.get === 'function') return headers.get(name) ?? undefined; // fetch Headers
  if (!isObject(headers)) throw argumentError(`headers must be an object, got ${describe(headers)}`);
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === name) return Array.isArray(v) ? v[0] : v;
  }
  return undefined;
}

/**
 * Whether a webhook request really comes from the server: its `X-Pusher-Key` is ours and
 * its `X-Pusher-Signature` signs the raw `body` (compared in constant time).
 */
function verifyWebhook(credentials, headers, body) {
  const { key, secret } = checkCredentials(credentials);
  const keyHeader = header(headers, 'x-pusher-key');
  const signature = header(headers, 'x-pusher-signature');
  if (typeof keyHeader !== 'string' || typeof signature !== 'string') return false;
  return native.verifyWebhook(key, secret, keyHeader, signature, toBuffer(body, 'body'));
}

/** Bytes of a webhook request body the handler reads at most (pushbus sends at most 100 events). */
const MAX_WEBHOOK_BODY = 4 * 1024 * 1024;

/**
 * A `(req, res)` handler for `node:http` (or Express) that receives pushbus (or Pusher)
 * webhooks: it reads the raw body, answers 401 unless `verifyWebhook` accepts it (and
 * the body is JSON with `Content-Type: application/json`), then calls
 * `onEvents(events, { timeMs })` and answers 200 once that (or the promise it returns)
 * succeeds, or 500 when it throws, so that the server retries the request.
 */
function webhookHandler(credentials, onEvents) {
  checkCredentials(credentials);
  if (typeof onEvents !== 'function') throw argumentError(`onEvents must be a function, got ${describe(onEvents)}`);
  return (req, res) => {
    const chunks = [];
    let size = 0;
    const answer = (status, text) => {
      if (res.headersSent) return;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(text);
    };
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_WEBHOOK_BODY) {
        answer(413, 'webhook body too large');
        req.destroy();
      } else {
        chunks.push(chunk);
      }
    });
    req.on('end', () => {
      if (size > MAX_WEBHOOK_BODY) return;
      const body = Buffer.concat(chunks);
      const type = header(req.headers, 'content-type');
      if (req.method !== 'POST' || type !== 'application/json' || !verifyWebhook(credentials, req.headers, body)) {
        answer(401, 'invalid webhook signature');
        return;
      }
      let parsed;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        answer(400, 'webhook body is not JSON');
        return;
      }
      Promise.resolve()
        .then(() => onEvents(Array.isArray(parsed.events) ? parsed.events : [], { timeMs: parsed.time_ms }))
        .then(
          () => answer(200, 'ok'),
          () => answer(500, 'webhook handler failed'),
        );
    });
  };
}

/**
 * The signed query string of an HTTP API request (as the `pusher` SDK's
 * `createSignedQueryString`). `timestamp` (Unix seconds) defaults to now.
 */
function createSignedQueryString(credentials, request) {
  const { key, secret } = checkCredentials(credentials);
  const { method, path, params, body, timestamp } = checkOptions(
    request,
    ['method', 'path', 'params', 'body', 'timestamp'],
    'createSignedQueryString',
  );
  if (params !== undefined && !isObject(params)) throw argumentError(`params must be an object, got ${describe(params)}`);
  const extra = Object.entries(params ?? {}).map(([name, value]) => ({ name, value: String(value) }));
  const ts = timestamp ?? Math.floor(Date.now() / 1000);
  if (!Number.isInteger(ts) || ts < 0) throw argumentError(`timestamp must be Unix time in seconds, got ${describe(ts)}`);
  const signed = native.signRequest(
    key,
    secret,
    checkString(method, 'method'),
    checkString(path, 'path'),
    extra,
    toBuffer(body ?? '', 'body'),
    ts,
  );
  return new URLSearchParams(signed.map((p) => [p.name, p.value])).toString();
}

/**
 * The `data` of an event on a `private-encrypted-` channel, for `Server.publish`:
 * `data` encrypted with the channel's key (derived from `encryptionMasterKeyBase64`)
 * under a fresh random nonce. (`Client.trigger` encrypts by itself.)
 */
function encryptEventData(credentials, channel, data, options) {
  const mk = masterKey(isObject(credentials) ? credentials.encryptionMasterKeyBase64 : undefined);
  if (!mk) throw argumentError('encryptionMasterKeyBase64 is required to encrypt event data');
  const { nonce } = checkOptions(options, ['nonce'], 'encryptEventData');
  const n = nonce === undefined ? randomBytes(24) : toBuffer(nonce, 'nonce');
  return native.encryptEventData(checkString(channel, 'channel'), mk, Buffer.from(encodeData(data), 'utf8'), n);
}

// ---------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------

/** Running, ref'd servers: the reference that keeps them from being collected. */
const keptAlive = new Set();

/**
 * The function the native side calls with each batch of lifecycle events. It holds the
 * server only weakly, so that an unref'd server can be garbage-collected (and then
 * shuts down), and it never throws into native code: a listener's exception is
 * rethrown on the next tick, where it is an uncaught exception like any other.
 */
function eventDispatcher(serverRef) {
  return (batch) => {
    const server = serverRef.deref();
    if (server === undefined) return;
    for (const event of batch) {
      try {
        server.emit(event.name, event);
      } catch (err) {
        process.nextTick(() => {
          throw err;
        });
      }
    }
  };
}

const SERVER_OPTIONS_HINT = 'options must be an object like { apps: [{ id, key, secret }], host, port }';

/**
 * An embedded pushbus server. Events: `connection_opened`, `connection_closed`,
 * `channel_occupied`, `channel_vacated`, `member_added`, `member_removed`,
 * `client_event`, `cache_miss`, `subscription_count` (`subscriptionCount`; only with a
 * webhook target that asks for it), `user_online` and `user_offline` (`userId`),
 * `event_logged` (`channel`, `event`, and the delivery log's `record`; only with
 * `delivery_log.events`), `lagged` (listeners were too slow; `missed` events were
 * dropped) and `close` (after `stop()`).
 */
class Server extends EventEmitter {
  #native;
  #appIds;
  #address = null;
  #running = false;
  #refed = true;
  #keepAliveTimer = null;

  /** `options` is the JSON config of `pushbus serve --config` (README), as an object. */
  constructor(options) {
    super();
    if (!isObject(options)) throw argumentError(`${SERVER_OPTIONS_HINT}, got ${describe(options)}`);
    let json;
    try {
      json = JSON.stringify(options);
    } catch (cause) {
      throw argumentError(`options cannot be JSON-encoded: ${cause.message}`, cause);
    }
    this.#native = new native.NativeServer(json, eventDispatcher(new WeakRef(this)));
    this.#appIds = options.apps.map((app) => app.id); // validated by the native side
  }

  /** Bound address once started, else null. */
  address() {
    return this.#address && { ...this.#address };
  }

  get host() {
    return this.#address ? this.#address.host : null;
  }

  get port() {
    return this.#address ? this.#address.port : null;
  }

  /** Starts listening; resolves with `{ host, port }` (port 0 in the options picks one). */
  async start() {
    const address = await this.#native.start();
    this.#address = address;
    this.#running = true;
    this.#updateKeepAlive();
    return { ...address };
  }

  /**
   * Graceful stop: events already published are flushed, clients are closed with 4200
   * (pusher-js reconnects at once) and the last lifecycle events are emitted. A stopped
   * server cannot be started again.
   */
  async stop() {
    await this.#native.stop();
    this.#running = false;
    this.#updateKeepAlive();
    this.emit('close');
  }

  /** Like `net.Server`: a running server keeps the process alive unless unref'd. */
  ref() {
    this.#refed = true;
    this.#updateKeepAlive();
    return this;
  }

  unref() {
    this.#refed = false;
    this.#updateKeepAlive();
    return this;
  }

  #updateKeepAlive() {
    const keep = this.#running && this.#refed;
    if (keep && this.#keepAliveTimer === null) {
      // A ref'd timer is the cheapest handle that keeps the event loop alive.
      this.#keepAliveTimer = setInterval(() => {}, 2 ** 31 - 1);
      keptAlive.add(this);
    } else if (!keep && this.#keepAliveTimer !== null) {
      clearInterval(this.#keepAliveTimer);
      this.#keepAliveTimer = null;
      keptAlive.delete(this);
    }
  }

  #appId(appId) {
    if (appId !== undefined && appId !== null) return checkString(appId, 'appId');
    if (this.#appIds.length === 1) return this.#appIds[0];
    throw argumentError('appId is required: this server has several apps');
  }

  /**
   * Publishes `event` on `channels` (a name or an array). `data` may be a string (sent
   * verbatim) or a value (JSON-encoded once). Synchronous: throws on invalid input,
   * never blocks.
   */
  publish(channels, event, data, options) {
    const { exceptSocketId, appId } = checkOptions(options, ['exceptSocketId', 'appId'], 'publish', SDK_HINTS);
    this.#native.publish(
      this.#appId(appId),
      toChannels(channels),
      checkString(event, 'event'),
      encodeData(data),
      optionalString(exceptSocketId, 'exceptSocketId'),
    );
  }

  /** Sends `event` to every connection signed in as `userId` (pusher-js `user.bind`). */
  sendToUser(userId, event, data, options) {
    const { appId } = checkOptions(options, ['appId'], 'sendToUser');
    this.publish(USER_CHANNEL_PREFIX + checkString(userId, 'userId'), event, data, { appId });
  }

  /** Occupied channels (whose names start with `prefix`), sorted by name. */
  async channels(options) {
    const { prefix, appId } = checkOptions(options, ['prefix', 'appId'], 'channels', { filterByPrefix: 'prefix' });
    return this.#native.channels(this.#appId(appId), optionalString(prefix, 'prefix') ?? '');
  }

  /** One channel, occupied or not. */
  async channel(name, options) {
    const { appId } = checkOptions(options, ['appId'], 'channel');
    return this.#native.channel(this.#appId(appId), checkString(name, 'channel'));
  }

  /** Members (`{ id, info }`) of a presence channel, sorted by id. */
  async members(channel, options) {
    const { appId } = checkOptions(options, ['appId'], 'members');
    return this.#native.members(this.#appId(appId), checkString(channel, 'channel'));
  }

  /** Closes every connection of `userId` (4009: pusher-js does not reconnect); resolves with how many. */
  async terminateUserConnections(userId, options) {
    const { appId } = checkOptions(options, ['appId'], 'terminateUserConnections');
    return this.#native.terminateUserConnections(this.#appId(appId), checkString(userId, 'userId'));
  }

  /**
   * One user's status, cluster-wide: `{ id, online, connections, channels }` (online
   * while a connection is signed in or present as the user; `channels`: their presence
   * channels), plus `location` and `info` while online, `last_seen` (ms) once offline.
   */
  async userStatus(userId, options) {
    const { appId } = checkOptions(options, ['appId'], 'userStatus');
    return this.#native.userStatus(this.#appId(appId), checkString(userId, 'userId'));
  }

  /**
   * A page of the online users, sorted by id: `{ users: [{ id, connections, location?,
   * info? }], next? }`. `after` (default: from the first) is the previous page's
   * `next`; `limit` is 1 to 1000, default 100.
   */
  async onlineUsers(options) {
    const { after, limit, appId } = checkOptions(options, ['after', 'limit', 'appId'], 'onlineUsers');
    return this.#native.onlineUsers(this.#appId(appId), optionalString(after, 'after') ?? '', checkLimit(limit));
  }

  /**
   * Sets the location of an online user (`null` clears it), shown in their status until
   * they go offline; resolves with whether they were online (an offline user's location
   * is not kept).
   */
  async setUserLocation(userId, location, options) {
    const { appId } = checkOptions(options, ['appId'], 'setUserLocation');
    return this.#native.setUserLocation(
      this.#appId(appId),
      checkString(userId, 'userId'),
      optionalString(location, 'location'),
    );
  }

  /**
   * The newest records of the delivery log, newest first: `[{ id, time, channel, event,
   * size, digest (or data), delivered, nodes, except?, source, user_id? }]`. `limit` is
   * 1 to 1000, default 100 (a log keeping fewer gives what it keeps); an app whose log
   * is off (size 0) has none.
   */
  async deliveryLog(options) {
    const { limit, appId } = checkOptions(options, ['limit', 'appId'], 'deliveryLog');
    return this.#native.deliveryLog(this.#appId(appId), checkLimit(limit, 'records'));
  }

  /**
   * A history channel's kept events (for channels one of the app's `history` rules
   * names): `{ channel, epoch?, serial, events: [{ serial, time, event, data }] }`, the
   * events after serial `since` (default 0: from the first kept), oldest first, at most
   * `limit` (1 to 1000, default 100); `serial` is the channel's last, `epoch` changes
   * whenever its history started over (absent while it has none).
   */
  async history(channel, options) {
    const { since, limit, appId } = checkOptions(options, ['since', 'limit', 'appId'], 'history');
    return this.#native.history(
      this.#appId(appId),
      checkString(channel, 'channel'),
      checkSince(since),
      checkLimit(limit, 'events'),
    );
  }

  /** Live WebSocket connections. */
  async connectionCount(options) {
    const { appId } = checkOptions(options, ['appId'], 'connectionCount');
    return this.#native.connectionCount(this.#appId(appId));
  }

  /** Counters of the app's webhooks since start: `{ requests, sent, failures, dropped }`. */
  webhookStats(options) {
    const { appId } = checkOptions(options, ['appId'], 'webhookStats');
    return this.#native.webhookStats(this.#appId(appId));
  }

  /**
   * Reads the TLS certificate and key files again (after a renewal): new connections get
   * the new certificate, open ones keep theirs. Throws (code `CONFIG`) when the new files
   * are unusable; the certificate in use then stays.
   */
  reloadTls() {
    return this.#native.reloadTls();
  }

  /** The metrics in the OpenMetrics text format, as `GET /metrics` answers (throws `CONFIG` when metrics are off). */
  metricsText() {
    return this.#native.metricsText();
  }

  /** `await using server = new Server(...)` stops it at the end of the scope. */
  async [Symbol.asyncDispose]() {
    if (this.#running) await this.stop();
  }
}

// ---------------------------------------------------------------------------------------
// Client
// ---------------------------------------------------------------------------------------

const CLIENT_OPTIONS = ['appId', 'key', 'secret', 'host', 'port', 'useTLS', 'cluster', 'timeout', 'encryptionMasterKeyBase64'];

function channelSummary(name, attributes) {
  const out = { name, occupied: attributes.occupied ?? true };
  if (attributes.subscription_count !== undefined) out.subscriptionCount = attributes.subscription_count;
  if (attributes.user_count !== undefined) out.userCount = attributes.user_count;
  if (attributes.cache !== undefined) out.cache = attributes.cache;
  return out;
}

/**
 * A client of the Pusher HTTP API, for pushbus or any Pusher-compatible server. Keeps
 * its connections alive between requests. Query results have the same shape as
 * `Server`'s.
 */
class Client {
  #native;
  #credentials;

  constructor(options) {
    if (!isObject(options)) throw argumentError(`options must be an object like { host, port, appId, key, secret }, got ${describe(options)}`);
    const o = checkOptions(options, CLIENT_OPTIONS, 'Client', { app_id: 'appId', encrypted: 'useTLS' });
    const cluster = optionalString(o.cluster, 'cluster');
    const host = optionalString(o.host, 'host') ?? (cluster !== undefined ? `api-${cluster}.pusher.com` : undefined);
    if (host === undefined) throw argumentError('host (or cluster) is required');
    const tls = o.useTLS ?? false;
    if (typeof tls !== 'boolean') throw argumentError(`useTLS must be a boolean, got ${describe(tls)}`);
    const port = o.port === undefined ? (tls ? 443 : 80) : Number(o.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw argumentError(`port must be 1 to 65535, got ${describe(o.port)}`);
    const timeout = o.timeout ?? 5000;
    if (!Number.isInteger(timeout) || timeout <= 0 || timeout > 2 ** 32 - 1) {
      throw argumentError(`timeout must be a positive number of milliseconds, got ${describe(timeout)}`);
    }
    const { key, secret, masterKey: encryptionMasterKey } = checkCredentials(o);
    this.#native = new native.NativeClient({
      host,
      port,
      tls,
      appId: String(checkDefined(o.appId, 'appId')),
      key,
      secret,
      timeoutMs: timeout,
      encryptionMasterKey,
    });
    this.#credentials = { key, secret, encryptionMasterKeyBase64: o.encryptionMasterKeyBase64 };
  }

  /** Triggers `event` on `channels`; `data` as in `Server.publish`. */
  async trigger(channels, event, data, options) {
    const { exceptSocketId } = checkOptions(options, ['exceptSocketId'], 'trigger', SDK_HINTS);
    await this.#native.trigger(
      toChannels(channels),
      checkString(event, 'event'),
      encodeData(data),
      optionalString(exceptSocketId, 'exceptSocketId'),
    );
  }

  /** Several events in one request: `[{ channel, name, data, exceptSocketId? }]`. */
  async triggerBatch(events) {
    if (!Array.isArray(events)) throw argumentError(`events must be an array, got ${describe(events)}`);
    const batch = events.map((e, i) => {
      const { channel, name, data, exceptSocketId } = checkOptions(
        e,
        ['channel', 'name', 'data', 'exceptSocketId'],
        `triggerBatch event #${i}`,
        SDK_HINTS,
      );
      return {
        channel: checkString(channel, `events[${i}].channel`),
        name: checkString(name, `events[${i}].name`),
        data: encodeData(data),
        socketId: optionalString(exceptSocketId, `events[${i}].exceptSocketId`),
      };
    });
    await this.#native.triggerBatch(batch);
  }

  /** Sends `event` to every connection signed in as `userId`. */
  async sendToUser(userId, event, data) {
    await this.#native.sendToUser(checkString(userId, 'userId'), checkString(event, 'event'), encodeData(data));
  }

  /** Occupied channels; `info: 'user_count'` with a `presence-` prefix adds `userCount`. */
  async channels(options) {
    const { prefix, info } = checkOptions(options, ['prefix', 'info'], 'channels', { filter_by_prefix: 'prefix' });
    const body = await this.#native.channels(optionalString(prefix, 'prefix'), infoList(info));
    return Object.entries(body.channels ?? {})
      .map(([name, attributes]) => channelSummary(name, attributes))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** One channel; `info` may ask for `user_count`, `subscription_count`, `cache`. */
  async channel(name, options) {
    const { info } = checkOptions(options, ['info'], 'channel');
    checkString(name, 'channel');
    return channelSummary(name, await this.#native.channel(name, infoList(info)));
  }

  /** Members (`{ id }`) of a presence channel. */
  async members(channel) {
    const body = await this.#native.users(checkString(channel, 'channel'));
    return (body.users ?? []).map((u) => ({ id: String(u.id) }));
  }

  /** Closes every connection of `userId`. */
  async terminateUserConnections(userId) {
    await this.#native.terminateUserConnections(checkString(userId, 'userId'));
  }

  /** A user's status (pushbus's `GET /users/{id}`), in the shape of `Server.userStatus`. */
  async userStatus(userId) {
    return this.#native.userStatus(checkString(userId, 'userId'));
  }

  /** A page of the online users (pushbus's `GET /users`), as `Server.onlineUsers`. */
  async onlineUsers(options) {
    const { after, limit } = checkOptions(options, ['after', 'limit'], 'onlineUsers');
    return this.#native.onlineUsers(optionalString(after, 'after'), checkLimit(limit));
  }

  /** The newest records of the delivery log (pushbus's `GET /delivery_log`), as `Server.deliveryLog`. */
  async deliveryLog(options) {
    const { limit } = checkOptions(options, ['limit'], 'deliveryLog');
    const body = await this.#native.deliveryLog(checkLimit(limit, 'records'));
    return body.events;
  }

  /** A history channel's kept events (pushbus's `GET /channels/{name}/events`), as `Server.history`. */
  async history(channel, options) {
    const { since, limit } = checkOptions(options, ['since', 'limit'], 'history');
    return this.#native.history(checkString(channel, 'channel'), checkSince(since), checkLimit(limit, 'events'));
  }

  /** Sets (`null`: clears) an online user's location; resolves with whether they were online. */
  async setUserLocation(userId, location) {
    const body = await this.#native.setUserLocation(checkString(userId, 'userId'), optionalString(location, 'location'));
    return body.online === true;
  }

  /** `authorizeChannel` with this client's credentials. */
  authorizeChannel(socketId, channel, presenceData) {
    return authorizeChannel(this.#credentials, socketId, channel, presenceData);
  }

  /** `authenticateUser` with this client's credentials. */
  authenticateUser(socketId, userData) {
    return authenticateUser(this.#credentials, socketId, userData);
  }

  /** `verifyWebhook` with this client's credentials. */
  verifyWebhook(headers, body) {
    return verifyWebhook(this.#credentials, headers, body);
  }

  /** `createSignedQueryString` with this client's credentials. */
  createSignedQueryString(request) {
    return createSignedQueryString(this.#credentials, request);
  }
}

function checkDefined(value, what) {
  if (value === undefined || value === null || value === '') throw argumentError(`${what} is required`);
  if (typeof value !== 'string' && typeof value !== 'number') throw argumentError(`${what} must be a string, got ${describe(value)}`);
  return value;
}

function infoList(info) {
  if (info === undefined || info === null) return undefined;
  if (Array.isArray(info)) return info.map((i) => checkString(i, 'info')).join(',');
  return checkString(info, 'info');
}

/** The version of pushbus (the addon's, the same number as every other face of pushbus). */
const version = native.version();

// Shorthand properties only: Node's cjs-module-lexer reads these names as the named
// exports of `import { Server, version } from 'pushbus'`.
module.exports = {
  version,
  Server,
  Client,
  authorizeChannel,
  authenticateUser,
  verifyWebhook,
  webhookHandler,
  createSignedQueryString,
  encryptEventData,
};
