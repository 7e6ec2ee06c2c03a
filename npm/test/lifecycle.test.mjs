// Process lifetime and threads: exiting without stop(), ref()/unref(), garbage
// collection, and a JavaScript thread that falls behind the lifecycle events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer, runNode, rawClient, withTimeout, deferred, APP, PKG_DIR } from './helpers.mjs';

const CONFIG = JSON.stringify({ host: '127.0.0.1', port: 0, apps: [APP] });

test('a process that exits without stop() exits promptly, with clients connected', async () => {
  const script = `
    const { Server } = require('./index.js');
    const WebSocket = require('ws');
    const server = new Server(${CONFIG});
    server.on('connection_opened', () => {});
    server.start().then(({ port }) => {
      const ws = new WebSocket('ws://127.0.0.1:' + port + '/app/${APP.key}?protocol=7');
      ws.on('message', () => {
        server.publish('orders', 'E', { pending: true });
        console.log('exiting');
        process.exit(0);
      });
    });`;
  const { code, stdout, ms } = await runNode(script, { timeoutMs: 15000 });
  assert.equal(code, 0);
  assert.equal(stdout.trim(), 'exiting');
  console.log(`exit without stop(): ${ms} ms, process start included`);
});

test('a started server keeps the process alive until stop(); an unref()d one does not', async (t) => {
  // Only the server can keep this child alive: signal handlers do not.
  const script = `
    const { Server } = require('./index.js');
    const server = new Server(${CONFIG});
    process.on('SIGUSR2', () => server.stop().then(() => console.log('stopped')));
    server.start().then(({ port }) => console.log('port ' + port));`;
  const portSeen = deferred();
  const proc = spawn(process.execPath, ['-e', script], { cwd: PKG_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => proc.kill('SIGKILL'));
  let stdout = '';
  proc.stdout.setEncoding('utf8').on('data', (chunk) => {
    stdout += chunk;
    const m = /port (\d+)/.exec(stdout);
    if (m) portSeen.resolve(Number(m[1]));
  });
  const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  const port = await withTimeout(portSeen.promise, 10000, 'the child to print its port');
  // Serving, and the process is alive: nothing but the server holds it.
  const raw = await rawClient({ port });
  assert.match(raw.socketId, /^\d+\.\d+$/);
  assert.equal(proc.exitCode, null);
  raw.ws.terminate();
  proc.kill('SIGUSR2');
  assert.equal(await withTimeout(exited, 10000, 'the child to exit after stop()'), 0);
  assert.match(stdout, /stopped/);

  const unrefd = `
    const { Server } = require('./index.js');
    const server = new Server(${CONFIG});
    server.start().then(({ port }) => { server.unref(); console.log('port ' + port); });`;
  const result = await runNode(unrefd, { timeoutMs: 10000 });
  assert.equal(result.code, 0);
  assert.match(result.stdout, /port \d+/);
});

test('a garbage-collected server shuts down, and the process exits', async () => {
  const script = `
    const { Server } = require('./index.js');
    const net = require('node:net');
    const canConnect = (port) => new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
      s.on('error', () => resolve(false));
    });
    let collected = false;
    const registry = new FinalizationRegistry(() => { collected = true; });
    async function startAndForget() {
      const server = new Server(${CONFIG});
      server.on('member_added', () => {});
      const { port } = await server.start();
      server.unref();
      registry.register(server, 'server');
      return port;
    }
    (async () => {
      const port = await startAndForget();
      if (!(await canConnect(port))) throw new Error('not listening');
      for (let i = 0; i < 200 && !collected; i++) {
        global.gc();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      if (!collected) { console.log('not collected'); process.exit(2); }
      // The native finalizer shuts the server down in the background.
      for (let i = 0; i < 500; i++) {
        if (!(await canConnect(port))) { console.log('closed'); return; }
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      console.log('still listening'); process.exit(3);
    })();`;
  const { code, stdout, stderr } = await runNode(script, { args: ['--expose-gc'], timeoutMs: 20000 });
  assert.equal(stdout.trim(), 'closed', stderr);
  assert.equal(code, 0);
});

test('when JavaScript falls behind, old lifecycle events are dropped and reported as lagged', async (t) => {
  // A tiny event buffer, and a JavaScript thread kept busy while another process opens
  // connections: the server keeps serving on its own threads, and the backlog it
  // cannot hand over is dropped instead of growing.
  const { server, events } = await startServer(t, { event_buffer: 8 });
  const dir = mkdtempSync(join(tmpdir(), 'pushbus-lag-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const flag = join(dir, 'connected');
  const clients = 30;
  const script = `
    const WebSocket = require('ws');
    const fs = require('node:fs');
    let established = 0;
    for (let i = 0; i < ${clients}; i++) {
      const ws = new WebSocket('ws://127.0.0.1:${server.port}/app/${APP.key}?protocol=7');
      ws.on('message', () => { if (++established === ${clients}) fs.writeFileSync(${JSON.stringify(flag)}, 'ok'); });
      ws.on('error', (e) => { console.error(e.message); process.exit(1); });
    }`;
  const child = spawn(process.execPath, ['-e', script], { cwd: PKG_DIR, stdio: 'inherit' });
  t.after(() => child.kill('SIGKILL'));

  // Busy on purpose: nothing on this thread runs until the other process has all its
  // connections — which proves they did not need this thread.
  const deadline = Date.now() + 15000;
  while (!existsSync(flag)) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the connections of the child process');
  }
  assert.equal(await server.connectionCount(), clients, 'all connections were served while this thread was busy');

  // Delivery goes on after the gap, in order: once the next connection's event is here,
  // every earlier one was either delivered or counted as missed.
  const raw = await rawClient(server);
  await events.waitFor((e) => e.name === 'connection_opened' && e.socketId === raw.socketId, 'the next connection_opened');
  const lagged = events.filter((e) => e.name === 'lagged');
  const missed = lagged.reduce((sum, e) => sum + e.missed, 0);
  const delivered = events.filter((e) => e.name === 'connection_opened' && e.socketId !== raw.socketId).length;
  assert.ok(lagged.length > 0 && missed > 0, 'the backlog beyond event_buffer was dropped and reported');
  assert.equal(delivered + missed, clients, `delivered ${delivered} + missed ${missed}`);
  console.log(`lagged: ${delivered} of ${clients} events delivered, ${missed} dropped in ${lagged.length} gap(s)`);
});

test('the addon logs on stderr: a debug app\'s frames with the socket id, filtered by PUSHBUS_LOG', async () => {
  const debugApp = { ...APP, debug: true };
  const script = `
    const { Server } = require('./index.js');
    const WebSocket = require('ws');
    const server = new Server(${JSON.stringify({ host: "127.0.0.1", port: 0, apps: [debugApp] })});
    server.start().then(({ port }) => {
      const ws = new WebSocket('ws://127.0.0.1:' + port + '/app/${APP.key}?protocol=7');
      ws.on('message', (m) => {
        const f = JSON.parse(m);
        if (f.event === 'pusher:connection_established') {
          console.log('socket ' + JSON.parse(f.data).socket_id);
          ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: 'logged' } }));
        } else if (f.event === 'pusher_internal:subscription_succeeded') {
          ws.close();
          ws.on('close', () => server.stop().then(() => process.exit(0)));
        }
      });
    });`;
  const { code, stdout, stderr } = await runNode(script, { timeoutMs: 15000, env: { PUSHBUS_LOG: 'warn,pushbus::frames=info' } });
  assert.equal(code, 0, stderr);
  const socket = /socket (\S+)/.exec(stdout)[1];
  const lines = stderr.split('\n').filter((l) => l.includes(`socket=${socket}`));
  assert.ok(lines.some((l) => /^pushbus: INFO pushbus::frames: <- \{"event":"pusher:subscribe","data":\{"channel":"logged"\}\}/.test(l)), stderr);
  assert.ok(lines.some((l) => l.includes('-> {"event":"pusher_internal:subscription_succeeded"')), stderr);
  assert.ok(lines.some((l) => l.includes('closed: by the client')), stderr);
  // Frames only: the filter keeps other info lines out.
  assert.ok(stderr.split('\n').filter(Boolean).every((l) => l.startsWith('pushbus: INFO pushbus::frames: ')), stderr);
});
