// HTTP API authentication and validation errors, keep-alive (spec §6.1, §6.3).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer, app } from '../lib/server.js';
import { connectRaw } from '../lib/raw.js';
import { rest } from '../lib/clients.js';
import { request, signQuery } from '../lib/http.js';
import { uid } from '../lib/util.js';

const APP = app();
let server;
const EVENTS = `/apps/${APP.id}/events`;

before(async () => {
  server = await startServer({ apps: [APP] });
});
after(async () => {
  await server?.stop();
});

function assertJsonError(r, status) {
  assert.equal(r.status, status, `expected HTTP ${status}, got ${r.status}: ${r.text}`);
  assert.ok(r.json && typeof r.json === 'object', `error body must be JSON {"error":...}, got: ${r.text}`);
  assert.equal(typeof r.json.error, 'string', `error body must have a string "error": ${r.text}`);
  assert.ok(r.json.error.length > 0, 'error message must be non-empty');
}

const okEvent = (channel = 'errors-test') => ({ name: 'e', channels: [channel], data: '{}' });

test('the signing helper reproduces the spec vectors (and the SDK)', () => {
  const vectorsPath = fileURLToPath(new URL('../../fixtures/vectors.json', import.meta.url));
  const vectors = JSON.parse(readFileSync(vectorsPath, 'utf8')).vectors.filter((v) => v.kind === 'rest_request_signature');
  assert.ok(vectors.length > 0);
  for (const v of vectors) {
    const { auth_key, auth_timestamp, auth_version, body_md5, ...params } = v.input.query_without_signature;
    void auth_version;
    const { signature, stringToSign } = signQuery({
      method: v.input.method,
      path: v.input.path,
      app: { key: auth_key, secret: APP.secret },
      params,
      body: v.input.body,
      timestamp: Number(auth_timestamp),
      md5Always: body_md5 !== undefined,
    });
    assert.equal(stringToSign, v.string_to_sign, v.id);
    assert.equal(signature, v.expected.auth_signature, v.id);
  }
});

test('a valid signed request succeeds (control)', { timeout: 15000 }, async () => {
  const r = await request(server, { method: 'POST', path: EVENTS, app: APP, body: okEvent() });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, {});
});

test('bad signature → 401', { timeout: 15000 }, async () => {
  assertJsonError(await request(server, { method: 'POST', path: EVENTS, app: APP, body: okEvent(), secret: 'wrong-secret' }), 401);
  assertJsonError(await request(server, { path: `/apps/${APP.id}/channels`, app: APP, secret: 'wrong-secret' }), 401);
});

test('body tampered after signing (body_md5 mismatch) → 401', { timeout: 15000 }, async () => {
  const signedBody = JSON.stringify(okEvent());
  const { query } = signQuery({ method: 'POST', path: EVENTS, app: APP, body: signedBody });
  const r = await new Promise((resolve, reject) => {
    const body = JSON.stringify(okEvent('tampered'));
    const req = http.request(
      { host: server.host, port: server.port, method: 'POST', path: `${EVENTS}?${query}`, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            /* ignore */
          }
          resolve({ status: res.statusCode, text, json });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  assertJsonError(r, 401);
});

test('missing auth params / wrong auth_key / wrong auth_version → 401', { timeout: 15000 }, async () => {
  assertJsonError(await request(server, { method: 'GET', path: `/apps/${APP.id}/channels`, sign: false }), 401);
  assertJsonError(await request(server, { path: `/apps/${APP.id}/channels`, app: { key: 'someotherkey', secret: APP.secret } }), 401);
  // auth_version 2.0, otherwise correctly signed
  const ts = Math.floor(Date.now() / 1000);
  const toSign = `GET\n/apps/${APP.id}/channels\nauth_key=${APP.key}&auth_timestamp=${ts}&auth_version=2.0`;
  const { hmac } = await import('../lib/http.js');
  const r = await new Promise((resolve, reject) => {
    http
      .get(
        { host: server.host, port: server.port, path: `/apps/${APP.id}/channels?auth_key=${APP.key}&auth_timestamp=${ts}&auth_version=2.0&auth_signature=${hmac(APP.secret, toSign)}` },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode, text, json: (() => { try { return JSON.parse(text); } catch { return undefined; } })() }));
        },
      )
      .on('error', reject);
  });
  assertJsonError(r, 401);
});

test('stale timestamp (1000 s old) → 401; 100 s old is fine', { timeout: 15000 }, async () => {
  const now = Math.floor(Date.now() / 1000);
  assertJsonError(await request(server, { method: 'POST', path: EVENTS, app: APP, body: okEvent(), timestamp: now - 1000 }), 401);
  assertJsonError(await request(server, { method: 'POST', path: EVENTS, app: APP, body: okEvent(), timestamp: now + 1000 }), 401);
  const ok = await request(server, { method: 'POST', path: EVENTS, app: APP, body: okEvent(), timestamp: now - 100 });
  assert.equal(ok.status, 200, ok.text);
});

test('unknown app id → 404', { timeout: 15000 }, async () => {
  assertJsonError(await request(server, { method: 'POST', path: '/apps/999999/events', app: APP, body: okEvent() }), 404);
});

test('event data > 10240 bytes → 413; exactly 10240 → 200', { timeout: 15000 }, async () => {
  const tooBig = { name: 'big', channels: ['big-data'], data: 'x'.repeat(10241) };
  assertJsonError(await request(server, { method: 'POST', path: EVENTS, app: APP, body: tooBig }), 413);
  const limit = { name: 'big', channels: ['big-data'], data: 'x'.repeat(10240) };
  const r = await request(server, { method: 'POST', path: EVENTS, app: APP, body: limit });
  assert.equal(r.status, 200, r.text);
  // and the SDK surfaces the 413 as a RequestError
  await assert.rejects(rest(server, APP).trigger('big-data', 'big', 'y'.repeat(10241)), (e) => e.status === 413);
});

test('101 channels → 400; 100 channels → 200', { timeout: 15000 }, async () => {
  const chans = (n) => Array.from({ length: n }, (_, i) => `fan-${i}`);
  assertJsonError(await request(server, { method: 'POST', path: EVENTS, app: APP, body: { name: 'e', channels: chans(101), data: '{}' } }), 400);
  const ok = await request(server, { method: 'POST', path: EVENTS, app: APP, body: { name: 'e', channels: chans(100), data: '{}' } });
  assert.equal(ok.status, 200, ok.text);
});

test('11 batch items → 400; 10 → 200', { timeout: 15000 }, async () => {
  const items = (n) => Array.from({ length: n }, (_, i) => ({ name: 'e', channel: `batch-${i}`, data: '{}' }));
  const path = `/apps/${APP.id}/batch_events`;
  assertJsonError(await request(server, { method: 'POST', path, app: APP, body: { batch: items(11) } }), 400);
  const ok = await request(server, { method: 'POST', path, app: APP, body: { batch: items(10) } });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json, {});
});

test('invalid socket_id → 400', { timeout: 15000 }, async () => {
  for (const socket_id of ['abc', '1.2.3', '-1.2', '1.', ' 1.2', '1.2\n']) {
    assertJsonError(await request(server, { method: 'POST', path: EVENTS, app: APP, body: { ...okEvent(), socket_id } }), 400);
  }
});

test('bad channel name → 400', { timeout: 15000 }, async () => {
  for (const channel of ['bad channel', 'bad:channel', '', 'x'.repeat(201), '#not-a-user-channel']) {
    assertJsonError(await request(server, { method: 'POST', path: EVENTS, app: APP, body: okEvent(channel) }), 400);
  }
});

test('event name longer than 200 characters → 400; 200 is fine', { timeout: 15000 }, async () => {
  assertJsonError(await request(server, { method: 'POST', path: EVENTS, app: APP, body: { name: 'n'.repeat(201), channels: ['names'], data: '{}' } }), 400);
  const ok = await request(server, { method: 'POST', path: EVENTS, app: APP, body: { name: 'n'.repeat(200), channels: ['names'], data: '{}' } });
  assert.equal(ok.status, 200, ok.text);
});

test('malformed bodies → 400 (invalid JSON, missing name, missing data, non-string data, no channels)', { timeout: 15000 }, async () => {
  const bodies = [
    '{"name": "e", "channels": ["x"], ',
    { channels: ['x'], data: '{}' },
    { name: 'e', channels: ['x'] },
    { name: 'e', channels: ['x'], data: { not: 'a string' } },
    { name: 'e', data: '{}' },
    { name: 'e', channels: [], data: '{}' },
  ];
  for (const body of bodies) {
    assertJsonError(await request(server, { method: 'POST', path: EVENTS, app: APP, body }), 400);
  }
});

test('event names reserved for the protocol (pusher: / pusher_internal:) are rejected (Recommended §3.1)', { timeout: 15000 }, async (t) => {
  const channel = uid('reserved-');
  const c = await connectRaw(server.wsUrl(), {}, t);
  await c.subscribe(channel);
  for (const name of ['pusher:subscription_succeeded', 'pusher_internal:member_added']) {
    const r = await request(server, { method: 'POST', path: EVENTS, app: APP, body: { name, channels: [channel], data: '{}' } });
    assert.ok(r.status >= 400 && r.status < 500, `publishing ${name} should be refused, got ${r.status}`);
  }
  await rest(server, APP).trigger(channel, 'marker', {});
  await c.waitForEvent('marker', channel);
  assert.equal(c.frames.count((f) => f.event.startsWith('pusher_internal:member') || (f.event === 'pusher:subscription_succeeded')), 0);
});

test('unknown route under /apps/{id} → 404', { timeout: 15000 }, async () => {
  const r = await request(server, { path: `/apps/${APP.id}/nothing-here`, app: APP });
  assert.equal(r.status, 404, r.text);
});

test('keep-alive: two signed requests over one socket both succeed', { timeout: 15000 }, async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const node = server.pick(); // one socket reaches one process
  try {
    const r1 = await request(node, { method: 'POST', path: EVENTS, app: APP, body: okEvent(), agent });
    assert.equal(r1.status, 200, r1.text);
    const r2 = await request(node, { path: `/apps/${APP.id}/channels`, app: APP, agent });
    assert.equal(r2.status, 200, r2.text);
    const r3 = await request(node, { method: 'POST', path: EVENTS, app: APP, body: okEvent(), agent });
    assert.equal(r3.status, 200, r3.text);
    assert.equal(r1.socket, r2.socket, 'the second request did not reuse the keep-alive socket');
    assert.equal(r2.socket, r3.socket, 'the third request did not reuse the keep-alive socket');
    assert.notEqual(r1.headers.connection, 'close');
  } finally {
    agent.destroy();
  }
});

test('the REST SDK reports 401 for wrong credentials as a RequestError', { timeout: 15000 }, async () => {
  const bad = rest(server, { ...APP, secret: 'nope' });
  await assert.rejects(bad.trigger('x', 'e', {}), (e) => {
    assert.equal(e.status, 401);
    return true;
  });
});
