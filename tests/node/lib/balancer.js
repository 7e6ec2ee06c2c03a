// A TCP load balancer in front of pushbus nodes, as a deployment has one: before
// forwarding a new connection it asks each backend's GET /ready in order and sends the
// connection to the first that answers 200 (a health-checked pool with a preferred
// node). Records which backend each connection went to.
import { createServer, connect } from 'node:net';

export async function startBalancer(backends) {
  const routes = []; // index of the backend of each accepted connection, in order
  const sockets = new Set();
  async function pick() {
    for (let i = 0; i < backends.length; i++) {
      try {
        const res = await fetch(`${backends[i].baseUrl}/ready`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return i;
      } catch {
        /* down: try the next */
      }
    }
    return -1;
  }
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    client.pause();
    pick().then((i) => {
      routes.push(i);
      if (i < 0) return client.destroy();
      const upstream = connect({ host: backends[i].host, port: backends[i].port });
      sockets.add(upstream);
      upstream.on('close', () => {
        sockets.delete(upstream);
        client.destroy();
      });
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    host: '127.0.0.1',
    port: server.address().port,
    routes,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}
