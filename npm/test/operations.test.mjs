// Operations from an embedding Node process: TLS certificates renewed without a restart
// (Server.reloadTls, what SIGHUP does for `pushbus serve`), and the metrics text for an
// app that serves /metrics on a route of its own (Server.metricsText).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeCertificates } from '../../tests/node/lib/certs.js';
import { startServer, pjs, withTimeout, deferred } from './helpers.mjs';

const hasCode = (code, message) => (err) => {
  assert.equal(err.code, code, `code of: ${err.message}`);
  if (message) assert.match(err.message, message);
  return true;
};

/** The certificate the server presents to a new TLS connection (SHA-256 fingerprint). */
function presented(port, caFile) {
  const d = deferred();
  const socket = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(caFile) }, () => {
    d.resolve(socket.getPeerX509Certificate().fingerprint256);
    socket.end();
  });
  socket.on('error', d.reject);
  return withTimeout(d.promise, 5000, 'a TLS handshake with pushbus').finally(() => socket.destroy());
}

const fingerprint = (pem) => new X509Certificate(pem).fingerprint256;

test('reloadTls: new connections get the renewed certificate, a broken renewal keeps the old one', async (t) => {
  const certs = makeCertificates();
  t.after(() => certs.remove());
  const cert = join(certs.dir, 'live-cert.pem');
  const key = join(certs.dir, 'live-key.pem');
  writeFileSync(cert, certs.cert);
  writeFileSync(key, certs.key);
  const { server } = await startServer(t, { tls: { cert, key } });
  const { port } = server.address();
  assert.equal(await presented(port, certs.caFile), fingerprint(certs.cert));

  const renewed = certs.issue('renewed');
  writeFileSync(cert, renewed.cert);
  writeFileSync(key, renewed.key);
  server.reloadTls();
  assert.equal(await presented(port, certs.caFile), fingerprint(renewed.cert), 'the renewed certificate');

  writeFileSync(key, 'not a key');
  assert.throws(() => server.reloadTls(), hasCode('CONFIG', /key/));
  assert.equal(await presented(port, certs.caFile), fingerprint(renewed.cert), 'the certificate in use stays');
});

test('reloadTls on a server without TLS, or not running, says so', async (t) => {
  const { server } = await startServer(t);
  assert.throws(() => server.reloadTls(), hasCode('CONFIG', /no certificate/));
  await server.stop();
  assert.throws(() => server.reloadTls(), hasCode('NOT_RUNNING'));
});

test('metricsText: the OpenMetrics exposition, with the connections pusher-js opened', async (t) => {
  const { server } = await startServer(t, { metrics: { enabled: true, token: 'metrics-token-1234' } });
  const client = pjs(server);
  await client.waitConnected();
  const text = server.metricsText();
  assert.match(text, /^pushbus_connections\{app="portal"\} 1$/m);
  assert.match(text, /# EOF\n$/);
});

test('metricsText with metrics off is a CONFIG error naming the setting', async (t) => {
  const { server } = await startServer(t);
  assert.throws(() => server.metricsText(), hasCode('CONFIG', /metrics\.enabled/));
});
