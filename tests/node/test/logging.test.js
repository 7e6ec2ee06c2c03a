// Logs of `pushbus serve`: `tracing` lines on stderr, as text or JSON
// (PUSHBUS_LOG_FORMAT), filtered by PUSHBUS_LOG; a per-app debug mode (`debug: true`)
// that logs every frame of that app's connections with the connection's id; HTTP
// requests with a request id. (The bindings' plain output: npm/ and tests/c.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, app } from '../lib/server.js';
import { connectRaw } from '../lib/raw.js';
import { rest } from '../lib/clients.js';
import { withTimeout } from '../lib/util.js';

const DEBUGGED = app({ id: 'debugged', key: 'debugged-key', secret: 'debugged-secret', debug: true });
const QUIET = app({ id: 'quiet', key: 'quiet-key', secret: 'quiet-secret' });

/** Waits (bounded) until some stderr line of `server` satisfies `pred`. */
async function logged(server, pred, what) {
  return withTimeout(
    (async () => {
      for (;;) {
        const line = server.stderrLines.find(pred);
        if (line) return line;
        await new Promise((r) => setTimeout(r, 20));
      }
    })(),
    5000,
    `a log line: ${what}\n${server.stderrLines.slice(-20).join('\n')}`,
  );
}

test('a debug app logs every frame of its connections, both ways, with the socket id; other apps none', { timeout: 20000 }, async (t) => {
  const server = await startServer({ apps: [DEBUGGED, QUIET] });
  t.after(() => server.stop());
  const node = server.pick();
  const c = await connectRaw(node.wsUrl(DEBUGGED.key), { name: 'debugged' }, t);
  await c.subscribe('debug-news');
  await rest(node, DEBUGGED).trigger('debug-news', 'hello', { text: 'frames' });
  await c.waitForEvent('hello', 'debug-news');
  const q = await connectRaw(node.wsUrl(QUIET.key), { name: 'quiet' }, t);
  await q.subscribe('quiet-news');

  const socket = c.socketId;
  const mine = (l) => l.includes('pushbus::frames') && l.includes(socket);
  await logged(node, (l) => mine(l) && l.includes('connected'), 'connected');
  await logged(node, (l) => mine(l) && l.includes('<- {"event":"pusher:subscribe"') && l.includes('debug-news'), 'the subscribe read');
  await logged(node, (l) => mine(l) && l.includes('-> {"event":"pusher_internal:subscription_succeeded"'), 'subscription_succeeded written');
  await logged(node, (l) => mine(l) && l.includes('-> {"event":"hello"') && l.includes('frames'), 'the event written');
  c.close();
  await logged(node, (l) => mine(l) && l.includes('closed: by the client'), 'the close');
  await q.ping();
  assert.ok(!node.stderrLines.some((l) => l.includes(q.socketId)), 'the quiet app logged frames');
  assert.ok(!node.stderrLines.some((l) => l.includes('quiet-news')), 'the quiet app logged frames');
});

test('PUSHBUS_LOG_FORMAT=json: one JSON object per line, with level, target, message, the socket and the request id', { timeout: 20000 }, async (t) => {
  const server = await startServer({ apps: [DEBUGGED] }, { env: { PUSHBUS_LOG_FORMAT: 'json', PUSHBUS_LOG: 'info,pushbus::server=debug' } });
  t.after(() => server.stop());
  const node = server.pick();
  const c = await connectRaw(node.wsUrl(DEBUGGED.key), { name: 'json' }, t);
  await c.subscribe('json-news');
  await rest(node, DEBUGGED).trigger('json-news', 'hi', {});
  await c.waitForEvent('hi', 'json-news');

  const frame = JSON.parse(
    await logged(node, (l) => l.includes('pushbus::frames') && l.includes('pusher_internal:subscription_succeeded'), 'a frame line'),
  );
  assert.equal(frame.level, 'INFO');
  assert.equal(frame.target, 'pushbus::frames');
  assert.match(frame.fields.message, /^-> \{"event":"pusher_internal:subscription_succeeded"/);
  assert.equal(frame.fields.socket, c.socketId);
  assert.equal(frame.fields.app, DEBUGGED.id);

  // The HTTP API request, at debug, with its request id.
  const req = JSON.parse(await logged(node, (l) => l.includes('/apps/debugged/events'), 'the request line'));
  assert.equal(req.level, 'DEBUG');
  assert.match(req.fields.message, /^POST \/apps\/debugged\/events -> 200 in \d+ µs$/);
  assert.equal(req.span.name, 'http');
  assert.ok(Number.isInteger(req.span.req) && req.span.req > 0, JSON.stringify(req.span));
  for (const line of node.stderrLines) assert.doesNotThrow(() => JSON.parse(line), `not JSON: ${line}`);
});

test('a bad PUSHBUS_LOG or log format is a readable start error', { timeout: 15000 }, async () => {
  await assert.rejects(startServer({ apps: [QUIET] }, { env: { PUSHBUS_LOG: 'info,=== ' } }), /log filter/);
  await assert.rejects(startServer({ apps: [QUIET] }, { env: { PUSHBUS_LOG_FORMAT: 'xml' } }), /log format "xml": expected text or json/);
});
