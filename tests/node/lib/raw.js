// A raw `ws` client that records every frame, for wire-level assertions.
import WebSocket from 'ws';
import { Inbox, deferred, withTimeout, DEFAULT_TIMEOUT } from './util.js';

/** Decode a frame's `data` the way pusher-js does (JSON string → value). */
export function decodeData(frame) {
  const d = frame.data;
  if (typeof d !== 'string') return d;
  try {
    return JSON.parse(d);
  } catch {
    return d;
  }
}

export const isEvent = (event, channel) => (f) => f.event === event && (channel === undefined || f.channel === channel);

export class RawClient {
  /**
   * @param {string} url
   * @param {object} [opts] ws options (origin, headers, autoPong, …) plus `name`
   */
  constructor(url, opts = {}) {
    const { name = 'raw', ...wsOpts } = opts;
    this.name = name;
    this.url = url;
    this.frames = new Inbox(`${name} frames`);
    this.rawFrames = [];
    this.controlPings = 0;
    this.closeInfo = null;
    this.closed = deferred();
    this.opened = deferred();
    this.framesAtClose = -1;
    this.socketId = null;
    this.ws = new WebSocket(url, { handshakeTimeout: 5000, ...wsOpts });
    this.ws.on('open', () => this.opened.resolve());
    this.ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString('utf8');
      this.rawFrames.push(text);
      let frame;
      try {
        frame = JSON.parse(text);
      } catch {
        frame = { event: '<unparseable>', raw: text };
      }
      frame.__raw = text;
      this.frames.push(frame);
    });
    this.ws.on('ping', () => {
      this.controlPings += 1;
      // record control pings in the frame log too so ordering can be asserted
      this.frames.push({ event: '<control-ping>' });
    });
    this.ws.on('unexpected-response', (req, res) => {
      const info = { code: null, reason: '', httpStatus: res.statusCode };
      this.closeInfo = info;
      this.opened.reject(new Error(`${name}: HTTP ${res.statusCode} instead of upgrade`));
      this.closed.resolve(info);
      req.destroy();
    });
    this.ws.on('error', (err) => {
      this.lastError = err;
      this.opened.reject(err);
    });
    this.ws.on('close', (code, reason) => {
      if (this.closeInfo === null) {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        this.framesAtClose = this.frames.items.length;
      }
      this.closed.resolve(this.closeInfo);
      // nothing else can arrive: fail pending waits at once instead of at their timeout
      setImmediate(() => this.frames.failAll(`socket closed (code ${this.closeInfo.code})`));
    });
    // avoid unhandled rejections when a test never awaits them
    this.opened.promise.catch(() => {});
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  waitFor(pred, timeoutMs = DEFAULT_TIMEOUT, what = 'a matching frame', opts) {
    const p = this.frames.waitFor(pred, timeoutMs, what, opts);
    if (this.closeInfo !== null && this.frames.indexOf(pred, opts?.from ?? 0) < 0) {
      this.frames.failAll(`socket already closed (code ${this.closeInfo.code}) — cannot receive ${what}`);
    }
    return p;
  }

  waitForEvent(event, channel, timeoutMs = DEFAULT_TIMEOUT, opts) {
    return this.waitFor(isEvent(event, channel), timeoutMs, `frame ${event}${channel ? ` on ${channel}` : ''}`, opts);
  }

  /** Resolve with {code, reason} once the server closes the socket. */
  waitForClose(timeoutMs = DEFAULT_TIMEOUT) {
    return withTimeout(this.closed.promise, timeoutMs, `${this.name} to be closed by the server (frames so far:\n    ${this.frames.describe()})`);
  }

  /** Wait for pusher:connection_established; returns its decoded data. */
  async established(timeoutMs = DEFAULT_TIMEOUT) {
    const f = await this.waitForEvent('pusher:connection_established', undefined, timeoutMs);
    const d = decodeData(f);
    this.socketId = d.socket_id;
    return d;
  }

  /**
   * Send pusher:subscribe and wait for subscription_succeeded / subscription_error
   * for that channel (whichever comes first). Returns the frame.
   */
  async subscribe(channel, { auth = '', channel_data, timeoutMs = DEFAULT_TIMEOUT } = {}) {
    const from = this.frames.items.length;
    const data = { auth, channel };
    if (channel_data !== undefined) data.channel_data = channel_data;
    this.send({ event: 'pusher:subscribe', data });
    return this.waitFor(
      (f) =>
        f.channel === channel && (f.event === 'pusher_internal:subscription_succeeded' || f.event === 'pusher:subscription_error'),
      timeoutMs,
      `subscription result for ${channel}`,
      { from },
    );
  }

  unsubscribe(channel) {
    this.send({ event: 'pusher:unsubscribe', data: { channel } });
  }

  /**
   * Round-trip barrier: send pusher:ping and wait for pusher:pong. Since the
   * server handles one connection's frames in order, every frame sent before
   * has been processed once the pong arrives.
   */
  async ping(timeoutMs = DEFAULT_TIMEOUT) {
    const from = this.frames.items.length;
    this.send({ event: 'pusher:ping', data: {} });
    return this.waitFor((f) => f.event === 'pusher:pong', timeoutMs, 'pusher:pong', { from });
  }

  close() {
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) {
      try {
        this.ws.close(1000);
      } catch {
        /* ignore */
      }
    }
  }

  terminate() {
    try {
      this.ws.terminate();
    } catch {
      /* ignore */
    }
  }

  /** Close and wait until the TCP connection is gone (bounded). */
  async closeAndWait(timeoutMs = 3000) {
    this.close();
    try {
      await withTimeout(this.closed.promise, timeoutMs, `${this.name} close`);
    } catch {
      this.terminate();
    }
  }
}

/**
 * Open a raw client; registers cleanup on the node:test context `t` if given.
 * Resolves once the socket is open (not necessarily established).
 */
export async function openRaw(url, opts = {}, t) {
  const c = new RawClient(url, opts);
  if (t) t.after(() => c.closeAndWait());
  await withTimeout(c.opened.promise, 5000, `${c.name} websocket open ${url}`);
  return c;
}

/** Open a raw client and wait for connection_established. */
export async function connectRaw(url, opts = {}, t) {
  const c = await openRaw(url, opts, t);
  await c.established();
  return c;
}
