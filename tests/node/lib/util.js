// Small async helpers shared by the integration tests.
// Every wait in this suite is bounded: nothing here sleeps a fixed time to
// "let things settle"; we always wait for an observable event, with a timeout.

export const DEFAULT_TIMEOUT = 5000;

export function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function preview(item) {
  try {
    const s = typeof item === 'string' ? item : JSON.stringify(item);
    return s.length > 300 ? s.slice(0, 300) + '…' : s;
  } catch {
    return String(item);
  }
}

/**
 * An append-only log of received items (frames, events) with
 * `waitFor(predicate, timeoutMs)`, which resolves with the first matching
 * item that has been received so far or that arrives before the timeout.
 */
export class Inbox {
  constructor(name = 'inbox') {
    this.name = name;
    this.items = [];
    this.waiters = new Set();
  }

  push(item) {
    this.items.push(item);
    for (const w of [...this.waiters]) {
      if (this.items.length - 1 >= w.from && w.pred(item)) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve(item);
      }
    }
  }

  /** index of the first item matching pred (starting at `from`), or -1 */
  indexOf(pred, from = 0) {
    for (let i = from; i < this.items.length; i++) if (pred(this.items[i])) return i;
    return -1;
  }

  count(pred) {
    return this.items.filter(pred).length;
  }

  filter(pred) {
    return this.items.filter(pred);
  }

  waitFor(pred, timeoutMs = DEFAULT_TIMEOUT, what = 'a matching item', { from = 0 } = {}) {
    const i = this.indexOf(pred, from);
    if (i >= 0) return Promise.resolve(this.items[i]);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve, reject, from };
      w.timer = setTimeout(() => {
        this.waiters.delete(w);
        const recent = this.items.slice(-15).map(preview).join('\n    ');
        reject(
          new Error(
            `${this.name}: timed out after ${timeoutMs} ms waiting for ${what}; ` +
              `received ${this.items.length} item(s), last ones:\n    ${recent}`,
          ),
        );
      }, timeoutMs);
      this.waiters.add(w);
    });
  }

  /** Reject every pending waiter now (e.g. the source closed, nothing more can arrive). */
  failAll(reason) {
    for (const w of [...this.waiters]) {
      this.waiters.delete(w);
      clearTimeout(w.timer);
      w.reject(new Error(`${this.name}: ${reason} while waiting (received ${this.items.length} item(s), last ones:\n    ${this.items.slice(-15).map(preview).join('\n    ')})`));
    }
  }

  describe() {
    return this.items.map(preview).join('\n    ');
  }
}

/** Poll `fn` (async allowed) until it returns a truthy value; bounded. */
export async function waitUntil(fn, timeoutMs, what, intervalMs = 50) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting until ${what} (last result: ${preview(last && last.message ? last.message : last)})`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

let uniq = 0;
/** unique-ish suffix so tests never collide on channel names */
export function uid(prefix = '') {
  uniq += 1;
  return `${prefix}${process.pid}x${uniq}${Math.floor(Math.random() * 1e6)}`;
}
