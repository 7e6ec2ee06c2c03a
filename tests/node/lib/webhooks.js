// A webhook receiver for the tests: a real HTTP server that records every request
// (headers and raw body) and answers as the test tells it to.
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { Inbox } from './util.js';

/**
 * `answer(request, n)` decides the answer of the n-th request (from 0): a status
 * (default 200), or `{ status, afterMs }`, or `'hang'` (never answer). With `tls`
 * ({ key, cert }) it is an https:// receiver.
 */
export async function startReceiver(name, answer = () => 200, { tls } = {}) {
  const requests = new Inbox(`${name} webhook requests`);
  const hanging = new Set();
  let n = 0;
  const handler = (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const record = { method: req.method, url: req.url, headers: req.headers, rawBody, body: safeJson(rawBody) };
      const decision = answer(record, n++);
      requests.push(record);
      if (decision === 'hang') {
        hanging.add(res);
        return;
      }
      const { status, afterMs } = typeof decision === 'number' ? { status: decision, afterMs: 0 } : decision;
      const reply = () => {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(status < 300 ? 'ok' : 'failed');
      };
      if (afterMs) setTimeout(reply, afterMs);
      else reply();
    });
  };
  const server = tls ? createTlsServer(tls, handler) : createServer(handler);
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/pusher/webhook`,
    requests,
    /** Every event received so far, in order. */
    events() {
      return requests.items.flatMap((r) => r.body?.events ?? []);
    },
    close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections?.();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
