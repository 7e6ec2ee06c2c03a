// A pusher-js client driven by a C test through lines on stdin and stdout.
//
//   node driver.mjs <port> <app key> <channel,channel,...> [presence user id]
//
// It connects to ws://127.0.0.1:<port>, subscribes to the channels and reports:
//   connected <socket_id>            once connected
//   auth <socket_id> <channel> [<channel_data>]
//                                    asks the C side to sign; it answers "auth <auth>"
//   subscribed <channel>             pusher:subscription_succeeded
//   sub_error <channel> <status>     pusher:subscription_error
//   event <channel> <event> <data>   every other event (data re-serialised as JSON)
//   closed <new state>               the connection left the "connected" state
// Commands on stdin: "auth <auth>", "unsubscribe <channel>",
// "whisper <channel> <event> <json>", "quit". It exits when stdin ends, and after two
// minutes whatever happens, so a crashed test never leaves it behind.
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// pusher-js 8.6.0 as installed by `npm ci` in tests/node.
const require = createRequire(join(dirname(fileURLToPath(import.meta.url)), '../node/package.json'));
const pusherModule = require('pusher-js');
const Pusher = pusherModule.default ?? pusherModule;

const [port, key, channelList, userId = '7'] = process.argv.slice(2);
if (!port || !key || !channelList) {
  console.error('usage: node driver.mjs <port> <key> <channels> [user id]');
  process.exit(2);
}

const say = (line) => process.stdout.write(`${line}\n`);
const pendingAuth = []; // callbacks waiting for the C side's signature, in order

const pusher = new Pusher(key, {
  cluster: '',
  wsHost: '127.0.0.1',
  wsPort: Number(port),
  wssPort: Number(port),
  forceTLS: false,
  enabledTransports: ['ws'],
  enableStats: false,
  channelAuthorization: {
    customHandler: ({ socketId, channelName }, callback) => {
      let channelData;
      if (channelName.startsWith('presence-')) {
        channelData = JSON.stringify({ user_id: userId, user_info: { name: 'Ada' } });
      }
      pendingAuth.push((auth) =>
        callback(null, channelData === undefined ? { auth } : { auth, channel_data: channelData }),
      );
      say(`auth ${socketId} ${channelName}${channelData === undefined ? '' : ` ${channelData}`}`);
    },
  },
});

pusher.connection.bind('state_change', ({ previous, current }) => {
  if (current === 'connected') say(`connected ${pusher.connection.socket_id}`);
  if (previous === 'connected') say(`closed ${current}`);
});

function subscribe(name) {
  const channel = pusher.subscribe(name);
  channel.bind_global((event, data) => {
    if (event === 'pusher:subscription_succeeded') return say(`subscribed ${name}`);
    if (event === 'pusher:subscription_error') return say(`sub_error ${name} ${data?.status}`);
    if (event.startsWith('pusher:') || event.startsWith('pusher_internal:')) return;
    say(`event ${name} ${event} ${typeof data === 'string' ? data : JSON.stringify(data)}`);
  });
}
channelList.split(',').filter(Boolean).forEach(subscribe);

function quit(code = 0) {
  pusher.disconnect();
  say('bye');
  process.exit(code);
}

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  const [command, ...rest] = line.split(' ');
  if (command === 'auth') {
    const answer = pendingAuth.shift();
    if (answer) answer(rest.join(' '));
  } else if (command === 'unsubscribe') {
    pusher.unsubscribe(rest[0]);
  } else if (command === 'whisper') {
    const [channel, event, ...json] = rest;
    pusher.channel(channel).trigger(event, JSON.parse(json.join(' ')));
  } else if (command === 'quit') {
    quit(0);
  }
});
input.on('close', () => quit(0));
setTimeout(() => {
  say('timeout');
  quit(3);
}, 120000).unref();
