// Signed raw HTTP requests (for requests the SDKs never send) — spec §6.1.
import http from 'node:http';
import { createHash, createHmac } from 'node:crypto';

export const md5 = (s) => createHash('md5').update(s).digest('hex');
export const hmac = (secret, s) => createHmac('sha256', secret).update(s).digest('hex');

/**
 * Build the signed query string for a request.
 * @param {object} o
 * @param {string} o.method
 * @param {string} o.path        full path, e.g. /apps/3/events
 * @param {object} o.app         {key, secret}
 * @param {object} [o.params]    extra query params (signed, sent unencoded in the string to sign)
 * @param {string} [o.body]      raw body string ('' or undefined = no body)
 * @param {number} [o.timestamp] unix seconds (default now)
 * @param {boolean} [o.md5Always] send body_md5 even for an empty body (Python SDK style)
 * @param {string} [o.secret]    sign with this secret instead of the app's (bad signature)
 */
export function signQuery({ method, path, app, params = {}, body, timestamp, md5Always = false, secret }) {
  const q = {
    auth_key: app.key,
    auth_timestamp: String(timestamp ?? Math.floor(Date.now() / 1000)),
    auth_version: '1.0',
    ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])),
  };
  if (body || md5Always) q.body_md5 = md5(body || '');
  const keys = Object.keys(q).sort();
  const toSign = [method.toUpperCase(), path, keys.map((k) => `${k.toLowerCase()}=${q[k]}`).join('&')].join('\n');
  const signature = hmac(secret ?? app.secret, toSign);
  const qs = keys.map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(q[k])}`).join('&');
  return { query: `${qs}&auth_signature=${signature}`, signature, stringToSign: toSign };
}

/**
 * Perform a request against the server; resolves {status, headers, text, json, socket}.
 * `body` may be an object (JSON-encoded) or a string (sent verbatim).
 * Set `sign: false` for unsigned requests.
 */
export function request(server, { method = 'GET', path, app, params, body, sign = true, agent, timestamp, md5Always, secret, headers = {}, timeoutMs = 5000 }) {
  const bodyStr = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  let fullPath = path;
  if (sign) {
    const { query } = signQuery({ method, path, app, params, body: bodyStr, timestamp, md5Always, secret });
    fullPath = `${path}?${query}`;
  } else if (params && Object.keys(params).length) {
    fullPath = `${path}?${new URLSearchParams(params).toString()}`;
  }
  const reqHeaders = { ...headers };
  if (bodyStr) {
    reqHeaders['content-type'] = 'application/json';
    reqHeaders['content-length'] = Buffer.byteLength(bodyStr);
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: server.host, port: server.port, method, path: fullPath, headers: reqHeaders, agent: agent ?? false },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, headers: res.headers, text, json, socket: req.socket });
        });
        res.on('error', reject);
      },
    );
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`HTTP ${method} ${path} timed out after ${timeoutMs} ms`)));
    req.on('error', reject);
    if (bodyStr) req.write(bodyStr);
    req.end();
  });
}
