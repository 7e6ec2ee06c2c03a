--TEST--
Pushbus\Client against a running `pushbus serve`: trigger (queued and not), batch, user events, queries, termination; the connection outlives the object
--EXTENSIONS--
pushbus
--FILE--
<?php
require __DIR__ . '/inc/helpers.php';
use Pushbus\Auth;
use Pushbus\Client;

$serve = new Serve(['apps' => [['id' => APP_ID, 'key' => KEY, 'secret' => SECRET]]]);
$opts = ['host' => '127.0.0.1', 'port' => (string) $serve->port, 'scheme' => 'http',
    'app_id' => APP_ID, 'key' => KEY, 'secret' => SECRET, 'timeout' => 5];

$a = new Ws($serve->port);
$b = new Ws($serve->port);
check($a->subscribe('orders')['event'] === 'pusher_internal:subscription_succeeded', 'a subscribed to orders');
check($b->subscribe('orders')['event'] === 'pusher_internal:subscription_succeeded', 'b subscribed to orders');
$auth = json_decode(Auth::authorizeChannel(KEY, SECRET, $b->socketId, 'private-orders.1'), true)['auth'];
check($b->subscribe('private-orders.1', $auth)['event'] === 'pusher_internal:subscription_succeeded', 'b subscribed to private-orders.1 with Auth::authorizeChannel');

$client = new Client(['queued' => false] + $opts); // each call waits for the server
$payload = ['order' => ['id' => 1], 'url' => 'https://x.test/o/1', 'name' => 'Zoë'];
$client->trigger('orders', 'App\Events\OrderShipped', $payload);
foreach (['a' => $a, 'b' => $b] as $name => $ws) {
    $m = $ws->expect('App\Events\OrderShipped');
    check($m && $m['channel'] === 'orders' && $m['data'] === json_encode($payload), "$name got the event, data json_encode()d");
}
$client->trigger(['orders', 'private-orders.1'], 'text', 'plain text, sent verbatim');
$m = $b->expect(fn ($m) => $m['event'] === 'text' && $m['channel'] === 'private-orders.1');
check($m && $m['data'] === 'plain text, sent verbatim', 'a string is sent verbatim, to a list of channels');

// toOthers(): the sender's socket is skipped.
$client->trigger('orders', 'except-a', ['n' => 1], $a->socketId);
$client->trigger('orders', 'marker', []);
$beforeMarker = $a->until('marker');
check($beforeMarker !== null && !in_array('except-a', array_column($beforeMarker, 'event'), true), 'a (the excluded socket) did not get it');
check($b->expect('except-a') !== null, 'b got it');

$client->triggerBatch([
    ['channel' => 'orders', 'name' => 'batch-1', 'data' => ['i' => 1]],
    ['channel' => 'private-orders.1', 'name' => 'batch-2', 'data' => '{"i":2}', 'socket_id' => $a->socketId],
]);
check(($m = $b->expect('batch-1')) && $m['data'] === '{"i":1}', 'batch event 1');
check(($m = $b->expect('batch-2')) && $m['data'] === '{"i":2}', 'batch event 2');

// Presence and queries.
$member = json_encode(['user_id' => '7', 'user_info' => ['name' => 'Ann', 'avatar' => 'https://x.test/a.png']]);
$auth = json_decode(Auth::authorizeChannel(KEY, SECRET, $a->socketId, 'presence-room', $member), true)['auth'];
check($a->subscribe('presence-room', $auth, $member)['event'] === 'pusher_internal:subscription_succeeded', 'a joined presence-room');
$channels = $client->channels();
check(isset($channels['channels']['orders'], $channels['channels']['private-orders.1'], $channels['channels']['presence-room']), 'channels()');
$presence = $client->channels('presence-', 'user_count');
check(($presence['channels']['presence-room']['user_count'] ?? null) === 1 && count($presence['channels']) === 1, 'channels(prefix, info)');
$info = $client->channel('orders', 'subscription_count');
check($info['occupied'] === true && $info['subscription_count'] === 2, 'channel(name, info)');
check($client->channel('nobody-here')['occupied'] === false, 'channel() of an empty channel');
check($client->users('presence-room') === ['users' => [['id' => '7']]], 'users()');

// User sign-in, sendToUser, terminateUserConnections.
$userData = json_encode(['id' => '7', 'user_info' => ['name' => 'Ann']]);
$a->send(['event' => 'pusher:signin', 'data' => json_decode(Auth::authenticateUser(KEY, SECRET, $a->socketId, $userData), true)]);
check($a->expect('pusher:signin_success') !== null, 'a signed in with Auth::authenticateUser');
// As pusher-js does after a sign-in: subscribe to the user's own channel.
check($a->subscribe('#server-to-user-7')['event'] === 'pusher_internal:subscription_succeeded', 'a subscribed to #server-to-user-7');
$client->sendToUser('7', 'private-note', ['text' => 'hi']);
check(($m = $a->expect('private-note')) && $m['data'] === '{"text":"hi"}', 'sendToUser()');
$client->terminateUserConnections('7');
check($a->waitClose() === 4009, 'terminateUserConnections() closed a with 4009');

$a->close();
$b->close();

// Persistence: the native client and its connection outlive the PHP object, as they
// outlive a request in an FPM worker; a client with persistent=false does not.
check(count(connections_to($serve->port)) >= 1, 'connected to the server');
unset($client);
// Waiting calls and queued triggers take turns on one connection, in order (written by
// this thread, answers read later): exactly one, whatever the number of requests and
// Client objects.
$before = connections_to($serve->port);
check(count($before) === 1, 'the calls above used one connection');
$used = [];
for ($i = 0; $i < 20; $i++) {
    $again = new Client($opts); // a new object each time, as in a new request
    $again->trigger('orders', 'again', ['i' => $i]);
    $again->flush(); // (the trigger was queued: wait for it)
    $used += array_flip(connections_to($serve->port));
    unset($again);
}
check(array_keys($used) === $before, '20 triggers from 20 Client objects with the same options share it');
$shared = connections_to($serve->port);
$own = new Client(['persistent' => false] + $opts);
$own->trigger('orders', 'own', []);
$own->flush();
$ownPorts = array_values(array_diff(connections_to($serve->port), $shared));
check(count($ownPorts) === 1, 'persistent=false opens its own');
unset($own);
check(wait_for(fn () => array_intersect(connections_to($serve->port), $ownPorts) === []) !== null, 'and closes it with the object');
$other = new Client(['timeout' => 2] + $opts);
$other->trigger('orders', 'other', []);
$other->flush();
check(count(array_diff(connections_to($serve->port), $shared)) >= 1, 'other options, another native client');

$serve->stop();
echo "done\n";
?>
--EXPECT--
ok - a subscribed to orders
ok - b subscribed to orders
ok - b subscribed to private-orders.1 with Auth::authorizeChannel
ok - a got the event, data json_encode()d
ok - b got the event, data json_encode()d
ok - a string is sent verbatim, to a list of channels
ok - a (the excluded socket) did not get it
ok - b got it
ok - batch event 1
ok - batch event 2
ok - a joined presence-room
ok - channels()
ok - channels(prefix, info)
ok - channel(name, info)
ok - channel() of an empty channel
ok - users()
ok - a signed in with Auth::authenticateUser
ok - a subscribed to #server-to-user-7
ok - sendToUser()
ok - terminateUserConnections() closed a with 4009
ok - connected to the server
ok - the calls above used one connection
ok - 20 triggers from 20 Client objects with the same options share it
ok - persistent=false opens its own
ok - and closes it with the object
ok - other options, another native client
done
