// The client side of test/tls.test.js, in a process of its own because Node reads
// NODE_EXTRA_CA_CERTS (the test's CA) only at start: Laravel Echo with pusher-js
// (forceTLS, wss://) and the `pusher` SDK (useTLS, https://) against pushbus.
//
// Input: env TLS_TEST = {"port":…,"app":{id,key,secret},"channels":["tls-…","private-tls-…"]}.
// Output: one JSON line per step on stdout. On a line "again" on stdin it publishes
// once more over a new https connection and checks the old wss one still receives.
import { createInterface } from 'node:readline';
import { Echo, PusherJS, PusherRest, makeAuthorizer } from './clients.js';
import { deferred, withTimeout } from './util.js';

const { port, app, channels } = JSON.parse(process.env.TLS_TEST);
const say = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);
const fail = (e) => {
  say({ step: 'error', error: String(e?.stack ?? e) });
  process.exit(1);
};
process.on('unhandledRejection', fail);

const sdk = new PusherRest({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(port), useTLS: true, timeout: 5000 });
const authorize = makeAuthorizer({ host: '127.0.0.1', port }, app);
const echo = new Echo({
  broadcaster: 'reverb',
  key: app.key,
  Pusher: PusherJS,
  wsHost: '127.0.0.1',
  wsPort: port,
  wssPort: port,
  forceTLS: true,
  enabledTransports: ['ws', 'wss'],
  enableStats: false,
  authorizer: (channel) => ({
    authorize: (socketId, callback) => {
      try {
        callback(null, authorize(socketId, channel.name));
      } catch (e) {
        callback(e, null);
      }
    },
  }),
});
const pusher = echo.connector.pusher;
const states = [];
pusher.connection.bind('state_change', ({ current }) => states.push(current));

/** Events each channel's .listen() got, by event name. */
const got = new Map();
const waiters = [];
function arrived(channel, event, data) {
  got.set(`${channel}/${event}`, data);
  for (const w of waiters.splice(0)) w();
}
function until(keys, what) {
  const d = deferred();
  const check = () => (keys.every((k) => got.has(k)) ? d.resolve() : waiters.push(check));
  check();
  return withTimeout(d.promise, 10000, what);
}

const subscribed = channels.map((name) => {
  const d = deferred();
  const ch = name.startsWith('private-') ? echo.private(name.slice('private-'.length)) : echo.channel(name);
  ch.subscribed(() => d.resolve());
  ch.error((e) => d.reject(new Error(`${name}: ${JSON.stringify(e)}`)));
  for (const event of ['first', 'second']) ch.listen(`.${event}`, (data) => arrived(name, event, data));
  return withTimeout(d.promise, 10000, `${name} subscribed over wss`);
});
await Promise.all(subscribed);
const transportUrl = pusher.connection.connection?.transport?.url ?? null;
const first = await sdk.trigger(channels, 'first', { n: 1 });
await until(channels.map((c) => `${c}/first`), 'the first event on both channels');
say({ step: 'ready', socketId: pusher.connection.socket_id, transportUrl, triggerStatus: first.status, data: got.get(`${channels[1]}/first`) });

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (line.trim() !== 'again') continue;
  const second = await sdk.trigger(channels[1], 'second', { n: 2 });
  await until([`${channels[1]}/second`], 'the second event on the private channel');
  say({ step: 'done', socketId: pusher.connection.socket_id, states, triggerStatus: second.status });
  pusher.disconnect();
  process.exit(0);
}
