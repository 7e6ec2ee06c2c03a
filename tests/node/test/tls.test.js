// TLS on pushbus's own port (rustls): Laravel Echo with forceTLS (wss://) and the
// `pusher` SDK over https://, trusting a CA the test makes through NODE_EXTRA_CA_CERTS,
// as a deployment with a private CA would; then a renewed certificate is put in place
// and SIGHUP makes new connections get it while the open wss connection stays.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import tls from 'node:tls';
import net from 'node:net';
import { startServer, app } from '../lib/server.js';
import { makeCertificates } from '../lib/certs.js';
import { withTimeout, waitUntil, uid, deferred } from '../lib/util.js';

const APP = app();
let certs;
let server;
let certFile;
let keyFile;

before(async () => {
  certs = makeCertificates();
  certFile = join(certs.dir, 'live-cert.pem');
  keyFile = join(certs.dir, 'live-key.pem');
  writeFileSync(certFile, certs.cert);
  writeFileSync(keyFile, certs.key);
  server = await startServer({ apps: [APP], tls: { cert: certFile, key: keyFile } });
});
after(async () => {
  await server?.stop();
  certs?.remove();
});

/** The certificate the server presents to a new TLS connection (SHA-256 fingerprint). */
function presented(port) {
  const d = deferred();
  const socket = tls.connect({ host: '127.0.0.1', port, ca: readFileSync(certs.caFile), servername: undefined }, () => {
    d.resolve(socket.getPeerX509Certificate().fingerprint256);
    socket.end();
  });
  socket.on('error', d.reject);
  return withTimeout(d.promise, 5000, 'a TLS handshake with pushbus').finally(() => socket.destroy());
}

/** Runs lib/tls-client.js with the test CA trusted; its JSON lines arrive in order. */
function startClient(port, channels) {
  const child = spawn(process.execPath, [fileURLToPath(new URL('../lib/tls-client.js', import.meta.url))], {
    env: { ...process.env, NODE_EXTRA_CA_CERTS: certs.caFile, TLS_TEST: JSON.stringify({ port, app: APP, channels }) },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines = [];
  const waiting = [];
  let stderr = '';
  let buf = '';
  child.stdout.on('data', (chunk) => {
    buf += chunk;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(JSON.parse(buf.slice(0, i)));
      buf = buf.slice(i + 1);
      for (const w of waiting.splice(0)) w();
    }
  });
  child.stderr.on('data', (c) => (stderr += c));
  const next = (step) => {
    const d = deferred();
    const check = () => {
      const line = lines.find((l) => l.step === step || l.step === 'error');
      if (!line) return waiting.push(check);
      if (line.step === 'error') d.reject(new Error(`tls client: ${line.error}`));
      else d.resolve(line);
    };
    check();
    child.on('exit', (code) => setImmediate(() => d.reject(new Error(`tls client exited (${code}) before "${step}"\n${stderr}`))));
    return withTimeout(d.promise, 20000, `the tls client's "${step}" step`);
  };
  return { child, next, stderr: () => stderr };
}

test('Echo with forceTLS over wss and the pusher SDK over https; SIGHUP serves a renewed certificate and keeps the open connection', { timeout: 60000 }, async (t) => {
  const original = new X509Certificate(certs.cert).fingerprint256;
  assert.equal(await presented(server.port), original);

  const channels = [uid('tls-'), uid('private-tls-')];
  const client = startClient(server.port, channels);
  t.after(() => client.child.kill('SIGKILL'));
  const ready = await client.next('ready');
  assert.equal(ready.triggerStatus, 200, 'the SDK trigger over https');
  assert.deepEqual(ready.data, { n: 1 });
  if (ready.transportUrl !== null) assert.match(ready.transportUrl, /^wss:\/\/127\.0\.0\.1:\d+\/app\//);

  // A renewal, as certbot writes it: new key and certificate over the same files.
  const renewed = certs.issue('renewed');
  writeFileSync(certFile, renewed.cert);
  writeFileSync(keyFile, renewed.key);
  const fresh = new X509Certificate(renewed.cert).fingerprint256;
  assert.notEqual(fresh, original);
  const nodes = server.nodes ?? [server];
  const reloaded = () => nodes.filter((n) => n.stdoutLines.some((l) => l.includes('TLS certificate reloaded'))).length;
  for (const n of nodes) n.kill('SIGHUP');
  await waitUntil(() => reloaded() === nodes.length, 10000, 'every node to log the reload');
  for (const n of nodes) assert.equal(await presented(n.port), fresh, `node on ${n.port} presents the renewed certificate`);

  client.child.stdin.write('again\n');
  const done = await client.next('done');
  assert.equal(done.triggerStatus, 200);
  assert.equal(done.socketId, ready.socketId, 'the wss connection opened before the reload is still the same one');
  assert.deepEqual(done.states, ['connected'], 'and it never reconnected (Echo was already connecting when the state listener was bound)');
  for (const n of nodes) assert.equal(n.exitInfo, null, 'every node still runs');
});

test('a broken renewal keeps the certificate in use, and a plain-http client gets no answer but others are served', { timeout: 30000 }, async () => {
  const before = await presented(server.port);
  writeFileSync(keyFile, 'not a key\n');
  const nodes = server.nodes ?? [server];
  const refused = () => nodes.filter((n) => n.stderrLines.some((l) => l.includes('the certificate in use stays'))).length;
  for (const n of nodes) n.kill('SIGHUP');
  await waitUntil(() => refused() === nodes.length, 10000, 'every node to refuse the broken key');
  const line = nodes[0].stderrLines.find((l) => l.includes('the certificate in use stays'));
  assert.match(line, /private key/, line);
  assert.equal(await presented(server.port), before);

  // Plain HTTP on the TLS port: the handshake fails, the connection is closed.
  const port = server.port;
  const closed = deferred();
  const sock = net.connect(port, '127.0.0.1', () => sock.write('GET /up HTTP/1.1\r\nHost: x\r\n\r\n'));
  let answer = '';
  sock.on('data', (c) => (answer += c));
  sock.on('close', () => closed.resolve());
  sock.on('error', () => closed.resolve());
  await withTimeout(closed.promise, 15000, 'the plain-http connection to be closed');
  assert.doesNotMatch(answer, /HTTP\/1\.1 200/);
  assert.equal(await presented(port), before, 'TLS clients are still served');
});
