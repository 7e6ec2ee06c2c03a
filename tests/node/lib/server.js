// Starts the real pushbus binary for one test file.
//
//   const server = await startServer({ apps: [app()] });
//   ... server.port, server.wsUrl(key), server.stop()
//
// The binary is taken from $PUSHBUS_BIN (default: <repo>/target/debug/pushbus,
// i.e. /work/main/target/debug/pushbus in this checkout).
//
// With PUSHBUS_TEST_NODES=N (N > 1) every startServer() starts N nodes on a
// redis-server of their own instead, and hands back a Cluster that looks like one
// server: each read of `port` names a node chosen at random, never the one named
// just before, so a client and the REST call that follows land on different
// nodes. PUSHBUS_TEST_SEED fixes the choices (the seed is in `logs()`).
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { withTimeout, deferred } from './util.js';
import { startRedis } from './redis.js';

export const PUSHBUS_BIN = process.env.PUSHBUS_BIN || fileURLToPath(new URL('../../../target/debug/pushbus', import.meta.url));

const LISTENING_RE = /listening on https?:\/\/([\d.]+):(\d+)/;

/** The credentials used by the Pusher docs and by spec/vectors.json. */
export const DEFAULT_APP = Object.freeze({
  id: '3',
  key: '278d425bdf160c739803',
  secret: '7ad3773142a6692b25b8',
});

/** Build an app config entry; `overrides` may change any key. */
export function app(overrides = {}) {
  return { ...DEFAULT_APP, ...overrides };
}

export class Server {
  constructor({ proc, host, port, config, configDir, stdout, stderr, exited }) {
    this.proc = proc;
    this.host = host;
    this.port = port;
    this.config = config;
    this.configDir = configDir;
    this.stdoutLines = stdout;
    this.stderrLines = stderr;
    this.exited = exited; // promise of {code, signal}
    this.exitInfo = null;
    exited.then((info) => {
      this.exitInfo = info;
    });
  }

  get baseUrl() {
    return `http://${this.host}:${this.port}`;
  }

  /** ws URL as pusher-js 8.6.0 builds it */
  wsUrl(key = DEFAULT_APP.key, query = 'protocol=7&client=js&version=8.6.0&flash=false') {
    return `ws://${this.host}:${this.port}/app/${key}${query === null ? '' : `?${query}`}`;
  }

  /** The process itself (a Cluster answers with one of its nodes). */
  pick() {
    return this;
  }

  app(id) {
    const a = this.config.apps.find((x) => x.id === id);
    if (!a) throw new Error(`no app ${id} in server config`);
    return a;
  }

  logs() {
    return `--- pushbus stdout ---\n${this.stdoutLines.join('\n')}\n--- pushbus stderr ---\n${this.stderrLines.slice(-50).join('\n')}`;
  }

  /** Send a signal without waiting (used by the graceful-shutdown test). */
  kill(signal = 'SIGTERM') {
    if (this.exitInfo === null) this.proc.kill(signal);
  }

  /** SIGTERM, wait for exit (timeout), then SIGKILL. Returns {code, signal, forced}. */
  async stop(timeoutMs = 10000) {
    try {
      if (this.exitInfo === null) {
        this.proc.kill('SIGTERM');
        try {
          const info = await withTimeout(this.exited, timeoutMs, 'pushbus to exit after SIGTERM');
          return { ...info, forced: false };
        } catch {
          this.proc.kill('SIGKILL');
          const info = await withTimeout(this.exited, 5000, 'pushbus to exit after SIGKILL');
          return { ...info, forced: true };
        }
      }
      return { ...this.exitInfo, forced: false };
    } finally {
      rmSync(this.configDir, { recursive: true, force: true });
    }
  }
}

/**
 * Start pushbus with the given config object (merged over defaults: host
 * 127.0.0.1, port 0, one app with the docs credentials). `options.env` adds
 * environment variables (REVERB_*, PUSHBUS_*) after the developer's are removed.
 */
export async function startServer(config = {}, options = {}) {
  const nodes = Number(process.env.PUSHBUS_TEST_NODES || 1);
  return nodes > 1 ? startCluster(nodes, config, options) : startNode(config, options);
}

async function startNode(config = {}, options = {}) {
  if (!existsSync(PUSHBUS_BIN)) {
    throw new Error(`pushbus binary not found at ${PUSHBUS_BIN} (build it with \`cargo build -p pushbus-cli\` or set PUSHBUS_BIN)`);
  }
  const full = { host: '127.0.0.1', port: 0, apps: [app()], ...config };
  const configDir = mkdtempSync(join(tmpdir(), 'pushbus-test-'));
  const configFile = join(configDir, 'config.json');
  writeFileSync(configFile, JSON.stringify(full, null, 2));

  // Run in the temp dir (so no ./.env is picked up) and without REVERB_* /
  // PUSHBUS_* variables from the developer's shell, so only our config applies.
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('REVERB_') && !k.startsWith('PUSHBUS_')),
  );
  const proc = spawn(PUSHBUS_BIN, ['serve', '--config', configFile], {
    cwd: configDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { RUST_BACKTRACE: '1', ...env, ...(options.env || {}) },
  });
  const stdout = [];
  const stderr = [];
  const listening = deferred();
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  proc.on('error', (err) => listening.reject(err));
  exited.then(({ code, signal }) =>
    listening.reject(
      new Error(`pushbus exited before listening (code ${code}, signal ${signal})\n${stderr.slice(-30).join('\n')}\n${stdout.join('\n')}`),
    ),
  );

  const lineReader = (sink, onLine) => {
    let buf = '';
    return (chunk) => {
      buf += chunk.toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (sink.length > 2000) sink.shift();
        sink.push(line);
        if (onLine) onLine(line);
      }
    };
  };
  const onLine = (line) => {
    const m = LISTENING_RE.exec(line);
    if (m) listening.resolve({ host: m[1], port: Number(m[2]) });
  };
  proc.stdout.on('data', lineReader(stdout, onLine));
  // tolerate a server that logs the line on stderr instead (reported as a bug elsewhere if so)
  proc.stderr.on('data', lineReader(stderr, null));

  let addr;
  try {
    addr = await withTimeout(listening.promise, 15000, `pushbus "listening on http://..." line on stdout`);
  } catch (e) {
    proc.kill('SIGKILL');
    rmSync(configDir, { recursive: true, force: true });
    throw e;
  }
  return new Server({ proc, host: addr.host, port: addr.port, config: full, configDir, stdout, stderr, exited });
}

/** A small seeded generator (mulberry32), so a failing cluster run can be replayed. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** N nodes of one logical server on one Redis; used where a Server is. */
export class Cluster {
  constructor({ nodes, redis, config, seed }) {
    this.nodes = nodes;
    this.redis = redis;
    this.config = config;
    this.host = nodes[0].host;
    this.seed = seed;
    this.random = random(seed);
    this.last = -1;
    this.exited = Promise.all(nodes.map((n) => n.exited)).then((all) => all.find((x) => x.code !== 0) ?? all[0]);
  }

  /** A node's port, at random, never the one returned just before. */
  get port() {
    let i = Math.floor(this.random() * (this.nodes.length - 1));
    if (this.last >= 0 && i >= this.last) i += 1;
    else if (this.last < 0) i = Math.floor(this.random() * this.nodes.length);
    this.last = i;
    return this.nodes[i].port;
  }

  get baseUrl() {
    return `http://${this.host}:${this.port}`;
  }

  wsUrl(key = DEFAULT_APP.key, query = 'protocol=7&client=js&version=8.6.0&flash=false') {
    return `ws://${this.host}:${this.port}/app/${key}${query === null ? '' : `?${query}`}`;
  }

  /** One node, at random, for what concerns one process (an HTTP keep-alive socket). */
  pick() {
    const port = this.port;
    return this.nodes.find((n) => n.port === port);
  }

  app(id) {
    return Server.prototype.app.call(this, id);
  }

  get stdoutLines() {
    return this.nodes.flatMap((n) => n.stdoutLines);
  }

  get stderrLines() {
    return this.nodes.flatMap((n) => n.stderrLines);
  }

  logs() {
    const each = this.nodes.map((n, i) => `=== node ${i} (port ${n.port}) ===\n${n.logs()}`);
    return [`cluster of ${this.nodes.length} nodes on ${this.redis.url}, PUSHBUS_TEST_SEED=${this.seed}`, ...each].join('\n');
  }

  kill(signal = 'SIGTERM') {
    for (const n of this.nodes) n.kill(signal);
  }

  async stop(timeoutMs = 10000) {
    try {
      const all = await Promise.all(this.nodes.map((n) => n.stop(timeoutMs)));
      return all.find((x) => x.forced || x.code !== 0) ?? all[0];
    } finally {
      await this.redis.stop();
    }
  }
}

/** `count` nodes on a redis-server of their own, whatever PUSHBUS_TEST_NODES says. */
export function startNodes(count, config = {}, options = {}) {
  return startCluster(count, config, options);
}

async function startCluster(count, config, options) {
  const seed = process.env.PUSHBUS_TEST_SEED ? Number(process.env.PUSHBUS_TEST_SEED) : Math.floor(Math.random() * 2 ** 31);
  const redis = await startRedis();
  // config.cluster adds to the Redis settings (node_lease, …).
  const full = { ...config, cluster: { redis_url: redis.url, prefix: 'pushbus-test', ...(config.cluster || {}) } };
  const started = await Promise.allSettled(Array.from({ length: count }, () => startNode(full, options)));
  const nodes = started.filter((r) => r.status === 'fulfilled').map((r) => r.value);
  const failed = started.find((r) => r.status === 'rejected');
  if (failed) {
    await Promise.all(nodes.map((n) => n.stop()));
    await redis.stop();
    throw failed.reason;
  }
  return new Cluster({ nodes, redis, config: nodes[0].config, seed });
}
