// Helpers of the Laravel tests (test/*.test.mjs): child processes (artisan, php -S) watched line by
// line, bounded waits, Echo clients. Every wait has a timeout; nothing sleeps a fixed
// time to let things settle.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Echo from 'laravel-echo';
import Pusher from 'pusher-js';

export const APP_DIR = dirname(fileURLToPath(import.meta.url));
export const PHP = process.env.PHP || 'php';
/** The pushbus extension to load (php-ext/scripts/build.sh prints its path). */
export const EXT = process.env.PUSHBUS_PHP_EXT;
export const WAIT = 20000;

/** The app's credentials, as `php artisan reverb:install` would write them. */
export const REVERB = { id: '428771', key: 'nnlpkpbbzzsmoxdmyedn', secret: 'q8xczyhsxbngfxnulvrk' };

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Received items, and a bounded wait for the first one matching a predicate. */
export class Inbox {
  constructor(name) {
    this.name = name;
    this.items = [];
    this.waiters = [];
  }

  push(item) {
    this.items.push(item);
    this.waiters = this.waiters.filter((w) => !(w.pred(item) && (w.resolve(item), true)));
  }

  waitFor(pred = () => true, ms = WAIT, what = `an item in ${this.name}`) {
    const found = this.items.find(pred);
    if (found !== undefined) return Promise.resolve(found);
    return withTimeout(new Promise((resolve) => this.waiters.push({ pred, resolve })), ms, what).catch((e) => {
      e.message += `\n  ${this.name} had: ${this.items.map((i) => JSON.stringify(i)).join('\n    ')}`;
      throw e;
    });
  }
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A fresh storage directory (caches, logs, SQLite database) and the app's environment. */
export function appEnvironment() {
  const storage = mkdtempSync(join(tmpdir(), 'pushbus-laravel-'));
  for (const d of ['framework/cache', 'framework/views', 'logs']) mkdirSync(join(storage, d), { recursive: true });
  writeFileSync(join(storage, 'database.sqlite'), '');
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(REVERB_|BROADCAST_|PUSHBUS_|APP_|DB_)/.test(k)));
  Object.assign(env, {
    PUSHBUS_LARAVEL_STORAGE: storage,
    DB_DATABASE: join(storage, 'database.sqlite'),
    // Laravel's bootstrap caches, out of the source tree.
    APP_SERVICES_CACHE: join(storage, 'services.php'),
    APP_PACKAGES_CACHE: join(storage, 'packages.php'),
    APP_CONFIG_CACHE: join(storage, 'config.php'),
    APP_ROUTES_CACHE: join(storage, 'routes.php'),
    APP_EVENTS_CACHE: join(storage, 'events.php'),
    BROADCAST_DRIVER: 'pushbus', // Laravel 8; BROADCAST_CONNECTION in Laravel 11+
    QUEUE_CONNECTION: 'sync',
    REVERB_APP_ID: REVERB.id,
    REVERB_APP_KEY: REVERB.key,
    REVERB_APP_SECRET: REVERB.secret,
    REVERB_HOST: '127.0.0.1',
    REVERB_SCHEME: 'http',
  });
  return { storage, env, cleanup: () => rmSync(storage, { recursive: true, force: true }) };
}

export function phpArgs(...args) {
  if (!EXT) throw new Error('PUSHBUS_PHP_EXT must name the built pushbus.so');
  return ['-d', `extension=${EXT}`, ...args];
}

/** Runs `php artisan ...` to completion (bounded). */
export function artisan(env, ...args) {
  const r = spawnSync(PHP, phpArgs('artisan', ...args), { cwd: APP_DIR, env, encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) throw new Error(`artisan ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** A long-running child whose output lines are kept in an Inbox. */
export class Child {
  constructor(name, args, env) {
    this.name = name;
    this.lines = new Inbox(`${name} output`);
    // Its own process group: `php -S` with PHP_CLI_SERVER_WORKERS leaves its forked
    // workers running when only the parent is signalled.
    this.proc = spawn(PHP, phpArgs(...args), { cwd: APP_DIR, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const group = -this.proc.pid;
    const killGroup = () => {
      try {
        process.kill(group, 'SIGKILL');
      } catch {
        // already gone
      }
    };
    process.once('exit', killGroup);
    this.signal = (sig) => {
      try {
        process.kill(group, sig);
      } catch {
        // already gone
      }
    };
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    for (const stream of [this.proc.stdout, this.proc.stderr]) {
      let buf = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        buf += chunk;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
          this.lines.push(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
        }
      });
    }
  }

  waitLine(re, ms = WAIT) {
    return this.lines.waitFor((l) => re.test(l), ms, `${this.name}: a line matching ${re}`);
  }

  /** SIGTERM to its group, then SIGKILL if it has not exited within 10 s. Its exit. */
  async stop() {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      this.signal('SIGTERM');
      try {
        await withTimeout(this.exited, 10000, `${this.name} to exit`);
      } catch {
        this.signal('SIGKILL');
      }
    }
    const exit = await this.exited;
    this.signal('SIGKILL'); // anything left in its group (forked workers)
    return exit;
  }
}

/** Polls `fn` until it returns a truthy value (bounded). */
export async function until(fn, what, ms = WAIT) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50)); // between polls of a condition
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

/** Laravel Echo 2.5 (broadcaster reverb: pusher-js 8.6) as the portal's front end sets it up. */
export function makeEcho(t, { wsPort, appUrl, token }) {
  const echo = new Echo({
    broadcaster: 'reverb',
    key: REVERB.key,
    Pusher,
    wsHost: '127.0.0.1',
    wsPort,
    wssPort: wsPort,
    forceTLS: false,
    enabledTransports: ['ws', 'wss'],
    // The app's real /broadcasting/auth, with the user's API token. Echo writes
    // bearerToken into its options' auth.headers, which, when not given, is an object
    // shared by every Echo instance (harmless with one Echo per page, not here): each
    // instance gets its own.
    authEndpoint: `${appUrl}/broadcasting/auth`,
    bearerToken: token,
    auth: { headers: {} },
    userAuthentication: { endpoint: `${appUrl}/broadcasting/user-auth`, headers: {} },
  });
  t.after(() => echo.disconnect());
  return echo;
}

/** Resolves when Echo's .subscribed() fires; rejects with the error Echo reports. */
export function subscribed(channel, what) {
  return withTimeout(
    new Promise((resolve, reject) => {
      channel.subscribed(() => resolve());
      channel.error((e) => reject(Object.assign(new Error(`${what}: subscription error ${JSON.stringify(e)}`), { status: e?.status })));
    }),
    WAIT,
    `${what} to be subscribed`,
  );
}

/** Resolves with the error Echo reports for a refused subscription. */
export function refused(channel, what) {
  return withTimeout(
    new Promise((resolve, reject) => {
      channel.subscribed(() => reject(new Error(`${what}: subscribed, but should have been refused`)));
      channel.error((e) => resolve(e));
    }),
    WAIT,
    `${what} to be refused`,
  );
}
