// A TCP proxy between a client and pushbus whose connections a test can cut (as a
// network drop would) and hold off, and an Echo channel's subscription as a promise:
// what the recovery tests share.
import net from 'node:net';

/**
 * A TCP proxy whose connections the test can cut, and hold off: to the server, or to
 * the node `target()` names when each connection opens.
 */
export async function cuttableProxy(t, target) {
  const sockets = new Set();
  let refusing = false;
  const proxy = net.createServer((client) => {
    if (refusing) return client.destroy();
    const upstream = net.connect(target(), '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  t.after(() => new Promise((r) => {
    for (const s of sockets) s.destroy();
    proxy.close(r);
  }));
  return {
    host: '127.0.0.1',
    port: proxy.address().port,
    /** Kills every connection (as a network drop would) and refuses new ones. */
    cut() {
      refusing = true;
      for (const s of sockets) s.destroy();
    },
    heal() {
      refusing = false;
    },
  };
}

/** Resolves once an Echo channel is subscribed (bounded). */
export function subscribed(channel, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not subscribed in time`)), 10000);
    channel.subscribed(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
