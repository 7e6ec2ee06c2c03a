// pushbus recovery for pusher-js and Laravel Echo, in the browser (or anywhere
// pusher-js runs): no event of a history channel is lost across a reconnect.
//
//   import { enableRecovery } from 'pushbus/recovery';
//   enableRecovery(window.Echo, { onGap: (channel) => refetch(channel) });
//
// The connection asks pushbus for `recovery` (a `pushbus:enable` frame, before its first
// subscribe); pushbus then sends, before each event of a channel its `history` rules
// name, a `pushbus:serial` frame with the event's place in the channel's history. When
// pusher-js reconnects and subscribes again, each subscribe carries the last place seen
// (`pushbus_since`), and pushbus replays what was missed, in order, before the live
// events, none twice: the app's `.listen()` callbacks get them as if nothing happened.
// When the missed events are no longer kept (evicted, expired, another epoch), pushbus
// says so (`pushbus:gap`) and `onGap(channel, position)` is called, for the app to
// refetch what it shows. Servers other than pushbus ignore all of this.

const FEATURE = 'recovery';

/**
 * @param {object} target a Laravel Echo instance (its `connector.pusher` is used) or a
 *   pusher-js `Pusher`
 * @param {{onGap?: (channel: string, position: {epoch: string, serial: number}) => void}} [options]
 */
export function enableRecovery(target, options = {}) {
  const pusher = target && target.connector && target.connector.pusher ? target.connector.pusher : target;
  if (!pusher || typeof pusher.send_event !== 'function' || !pusher.connection) {
    throw new TypeError('enableRecovery needs a Laravel Echo instance or a pusher-js Pusher');
  }
  const onGap = typeof options.onGap === 'function' ? options.onGap : () => {};
  const positions = new Map(); // channel -> {epoch, serial}: everything up to it seen
  const pending = new Map(); // channel -> the place of the event that comes next
  const original = pusher.send_event;
  let enabledOn = null; // the socket id the feature was asked for on

  const send = (name, data, channel) => original.call(pusher, name, data, channel);
  const enable = () => {
    const socketId = pusher.connection.socket_id;
    if (!socketId || enabledOn === socketId) return;
    enabledOn = socketId;
    send('pushbus:enable', { features: [FEATURE] });
  };

  pusher.send_event = function sendEvent(name, data, channel) {
    // pusher-js subscribes again on `connected` before any other callback runs: the
    // feature is asked for in front of the first frame of each connection.
    enable();
    if (name === 'pusher:subscribe' && data && positions.has(data.channel)) {
      data = { ...data, pushbus_since: positions.get(data.channel) };
    } else if (name === 'pusher:unsubscribe' && data) {
      positions.delete(data.channel);
      pending.delete(data.channel);
    }
    return original.call(pusher, name, data, channel);
  };

  const onConnected = () => enable();
  const onMessage = (message) => {
    const { event, channel, data } = message;
    if (!channel) return;
    if (event === 'pushbus:serial') {
      pending.set(channel, { epoch: data.epoch, serial: data.serial });
    } else if (event === 'pushbus:position') {
      pending.delete(channel);
      positions.set(channel, { epoch: data.epoch, serial: data.serial });
    } else if (event === 'pushbus:gap') {
      pending.delete(channel);
      const position = { epoch: data.epoch, serial: data.serial };
      positions.set(channel, position);
      onGap(channel, position);
    } else if (pending.has(channel) && !event.startsWith('pusher')) {
      // The event its serial frame announced: seen now, not before.
      positions.set(channel, pending.get(channel));
      pending.delete(channel);
    }
  };
  pusher.connection.bind('connected', onConnected);
  pusher.connection.bind('message', onMessage);
  if (pusher.connection.state === 'connected') enable();

  return {
    /** The last place seen in `channel`'s history, if any. */
    position(channel) {
      const p = positions.get(channel);
      return p ? { ...p } : undefined;
    },
    /** Stops: subscribes no longer resume (what was asked of the server stays). */
    disable() {
      pusher.send_event = original;
      pusher.connection.unbind('connected', onConnected);
      pusher.connection.unbind('message', onMessage);
    },
  };
}
