// Shared helpers of the package tests. Every wait is bounded and waits for something
// observable; nothing sleeps a fixed time to let things settle.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import PusherJS from 'pusher-js';
import Echo from 'laravel-echo';
import WebSocket from 'ws';
import pushbus from '../index.js';

export { PusherJS, Echo, WebSocket };

const here = dirname(fileURLToPath(import.meta.url));
export const PKG_DIR = join(here, '..');
export const REPO = join(here, '..', '..');
export const VECTORS = JSON.parse(readFileSync(join(REPO, 'tests', 'fixtures', 'vectors.json'), 'utf8'));
export const PUSHBUS_BIN = process.env.PUSHBUS_BIN || join(REPO, 'target', 'debug', 'pushbus');

export const DEFAULT_TIMEOUT = 5000;

export const APP = Object.freeze({ id: 'portal', key: 'portal-key', secret: 'portal-secret' });

export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Polls `check` (sync or async) until it returns a truthy value; bounded. */
export async function eventually(check, what, timeoutMs = DEFAULT_TIMEOUT) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 10)); // poll interval, not a settle delay
  }
}

/** An append-only log with `waitFor(predicate)`, resolved by the first match (past or future). */
export class Inbox {
  constructor(name) {
    this.name = name;
    this.items = [];
    this.waiters = new Set();
  }

  push(item) {
    this.items.push(item);
    for (const w of [...this.waiters]) {
      if (w.pred(item)) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(item);
      }
    }
  }

  filter(pred) {
    return this.items.filter(pred);
  }

  waitFor(pred, what = 'a matching item', timeoutMs = DEFAULT_TIMEOUT) {
    const found = this.items.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve };
      w.timer = setTimeout(() => {
        this.waiters.delete(w);
        const recent = this.items.slice(-10).map((i) => JSON.stringify(i)).join('\n    ');
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}; last items:\n    ${recent}`));
      }, timeoutMs);
      this.waiters.add(w);
    });
  }
}

/** Records every lifecycle event a `Server` emits. */
export function recordEvents(server) {
  const inbox = new Inbox('lifecycle events');
  for (const name of [
    'connection_opened',
    'connection_closed',
    'channel_occupied',
    'channel_vacated',
    'member_added',
    'member_removed',
    'client_event',
    'user_online',
    'user_offline',
    'event_logged',
    'lagged',
  ]) {
    server.on(name, (event) => inbox.push(event));
  }
  return inbox;
}

// Clients of each server (embedded or binary), disconnected before the server stops:
// stopping first would make pusher-js reconnect (4200) and retry after the test.
const clientsOf = new WeakMap();

function track(target, client) {
  if (!clientsOf.has(target)) clientsOf.set(target, new Set());
  clientsOf.get(target).add(client);
}

function disconnectClients(target) {
  for (const client of clientsOf.get(target) ?? []) client.disconnect();
}

/** Starts an embedded server with one app on 127.0.0.1:0; stopped after the test. */
export async function startServer(t, options = {}) {
  const server = new pushbus.Server({ host: '127.0.0.1', port: 0, apps: [{ ...APP }], ...options });
  const events = recordEvents(server);
  await server.start();
  t.after(async () => {
    disconnectClients(server);
    try {
      await server.stop();
    } catch (err) {
      if (err.code !== 'NOT_RUNNING') throw err;
    }
  });
  return { server, events };
}

function connectionOptions(port) {
  return {
    cluster: '',
    wsHost: '127.0.0.1',
    wsPort: port,
    wssPort: port,
    forceTLS: false,
    enabledTransports: ['ws', 'wss'],
    enableStats: false,
  };
}

/** A pusher-js client whose auth endpoint is this package's own signing functions. */
export class PjsClient {
  constructor(pusher, name) {
    this.pusher = pusher;
    this.name = name;
    this.messages = new Inbox(`${name} messages`);
    this.sockets = new Set();
    pusher.connection.bind('message', (m) => this.messages.push(m));
    pusher.connection.bind('state_change', () => {
      const socket = pusher.connection.connection?.transport?.socket;
      if (socket) this.sockets.add(socket);
    });
  }

  get socketId() {
    return this.pusher.connection.socket_id;
  }

  waitConnected(timeoutMs = DEFAULT_TIMEOUT) {
    const { connection } = this.pusher;
    if (connection.state === 'connected') return Promise.resolve(connection.socket_id);
    const d = deferred();
    const onChange = ({ current }) => {
      if (current === 'connected') d.resolve(connection.socket_id);
      if (current === 'failed') d.reject(new Error(`${this.name}: connection failed`));
    };
    connection.bind('state_change', onChange);
    return withTimeout(d.promise, timeoutMs, `${this.name} to connect`).finally(() => connection.unbind('state_change', onChange));
  }

  waitState(state, timeoutMs = DEFAULT_TIMEOUT) {
    const { connection } = this.pusher;
    if (connection.state === state) return Promise.resolve();
    const d = deferred();
    const onChange = ({ current }) => current === state && d.resolve();
    connection.bind('state_change', onChange);
    return withTimeout(d.promise, timeoutMs, `${this.name} to reach state ${state}`).finally(() => connection.unbind('state_change', onChange));
  }

  /** Resolves once `channel` is subscribed (pusher_internal:subscription_succeeded). */
  subscribed(channel) {
    return this.messages.waitFor(
      (m) => m.event === 'pusher_internal:subscription_succeeded' && m.channel === channel,
      `subscription to ${channel}`,
    );
  }

  /** A round trip to the server: everything it sent before is now received. */
  async ping() {
    const from = this.messages.items.length;
    this.pusher.send_event('pusher:ping', {});
    await this.messages.waitFor((m) => m.event === 'pusher:pong' && this.messages.items.indexOf(m) >= from, 'pusher:pong');
  }

  disconnect() {
    try {
      this.pusher.disconnect();
    } catch {
      /* already gone */
    }
    // pusher-js 8.6.0 (node build) may close an already closed socket; its bundled
    // faye-websocket then arms a 30 s timer that would keep the test process alive.
    for (const socket of this.sockets) socket._closeTimer?.unref?.();
  }
}

function authorizer(app, user) {
  return (socketId, channelName) =>
    pushbus.authorizeChannel(
      app,
      socketId,
      channelName,
      channelName.startsWith('presence-') ? { user_id: String(user.id), user_info: user.info } : undefined,
    );
}

/** A pusher-js client of `app` on `target` (a Server or `{ port }`), disconnected after the test. */
export function pjs(target, { app = APP, user = { id: '1', info: { name: 'One' } }, name = 'pusher-js' } = {}) {
  const authorize = authorizer(app, user);
  const pusher = new PusherJS(app.key, {
    ...connectionOptions(target.port),
    channelAuthorization: {
      customHandler: ({ socketId, channelName }, callback) => {
        try {
          callback(null, authorize(socketId, channelName));
        } catch (err) {
          callback(err, null);
        }
      },
    },
    userAuthentication: {
      customHandler: ({ socketId }, callback) => {
        try {
          callback(null, pushbus.authenticateUser(app, socketId, { id: String(user.id), user_info: user.info }));
        } catch (err) {
          callback(err, null);
        }
      },
    },
  });
  const client = new PjsClient(pusher, name);
  track(target, client);
  return client;
}

/** Laravel Echo (broadcaster `reverb`, driving pusher-js) with a custom authorizer. */
export function echo(target, { app = APP, user = { id: '1', info: { name: 'One' } }, name = 'echo' } = {}) {
  const authorize = authorizer(app, user);
  const instance = new Echo({
    broadcaster: 'reverb',
    key: app.key,
    Pusher: PusherJS,
    wsHost: '127.0.0.1',
    wsPort: target.port,
    wssPort: target.port,
    forceTLS: false,
    enabledTransports: ['ws', 'wss'],
    authorizer: (channel) => ({
      authorize: (socketId, callback) => {
        try {
          callback(null, authorize(socketId, channel.name));
        } catch (err) {
          callback(err, null);
        }
      },
    }),
  });
  const client = new PjsClient(instance.connector.pusher, name);
  track(target, client);
  return { echo: instance, client };
}

/** A raw WebSocket client speaking the protocol, for close codes. */
export async function rawClient(target, key = APP.key) {
  const ws = new WebSocket(`ws://127.0.0.1:${target.port}/app/${key}?protocol=7&client=js&version=8.6.0`);
  const frames = new Inbox('raw frames');
  const closed = deferred();
  ws.on('message', (data) => frames.push(JSON.parse(data.toString())));
  ws.on('close', (code, reason) => closed.resolve({ code, reason: reason.toString() }));
  ws.on('error', () => {});
  track(target, { disconnect: () => ws.terminate() });
  const established = await frames.waitFor((f) => f.event === 'pusher:connection_established', 'connection_established');
  return {
    ws,
    frames,
    closed: closed.promise,
    socketId: JSON.parse(established.data).socket_id,
    send: (frame) => ws.send(JSON.stringify(frame)),
  };
}

/** Runs `pushbus serve --config` with `config`; resolves with `{ host, port }`; stopped after the test. */
export async function serveBinary(t, config) {
  if (!existsSync(PUSHBUS_BIN)) {
    throw new Error(`pushbus binary not found at ${PUSHBUS_BIN}: run \`cargo build -p pushbus-cli\` or set PUSHBUS_BIN`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'pushbus-npm-test-'));
  const file = join(dir, 'config.json');
  writeFileSync(file, JSON.stringify({ host: '127.0.0.1', port: 0, ...config }));
  // Run in the temp dir without REVERB_*/PUSHBUS_* variables so that only `config` applies.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(REVERB|PUSHBUS)_/.test(k)));
  const proc = spawn(PUSHBUS_BIN, ['serve', '--config', file], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const listening = deferred();
  let output = '';
  const onData = (chunk) => {
    output += chunk;
    const m = /listening on http:\/\/([\d.]+):(\d+)/.exec(output);
    if (m) listening.resolve({ host: m[1], port: Number(m[2]) });
  };
  proc.stdout.setEncoding('utf8').on('data', onData);
  proc.stderr.setEncoding('utf8').on('data', (chunk) => (output += chunk));
  exited.then(({ code, signal }) => listening.reject(new Error(`pushbus exited (${code ?? signal}) before listening:\n${output}`)));
  const address = { port: undefined, host: undefined };
  t.after(async () => {
    disconnectClients(address);
    proc.kill('SIGTERM');
    try {
      await withTimeout(exited, 10000, 'pushbus serve to exit');
    } catch {
      proc.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  });
  Object.assign(address, await withTimeout(listening.promise, 15000, 'pushbus serve to print its address'));
  return address;
}

/** Runs `node -e script` with this package resolvable; resolves with its exit and output. */
export function runNode(script, { args = [], env = {}, timeoutMs = 20000, onStdout } = {}) {
  const proc = spawn(process.execPath, [...args, '-e', script], {
    cwd: PKG_DIR,
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk) => {
    stdout += chunk;
    if (onStdout) onStdout(stdout, proc);
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const started = Date.now();
  return withTimeout(exited, timeoutMs, 'the child node process to exit')
    .then((r) => ({ ...r, stdout, stderr, ms: Date.now() - started }))
    .catch((err) => {
      proc.kill('SIGKILL');
      err.message += `\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`;
      throw err;
    });
}
