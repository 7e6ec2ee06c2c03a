--TEST--
The delivery log, through Pushbus\Server and a Pushbus\Client of the same server: deliveryLog() of an event excluding one of three subscribers (delivered count, SHA-256 digest, no data), newest first; payloads kept, a log that is off; poll() arrays of event_logged, user_online and user_offline; refusals
--EXTENSIONS--
pushbus
--FILE--
<?php
require __DIR__ . '/inc/helpers.php';
use Pushbus\Auth;
use Pushbus\Client;
use Pushbus\Exception;
use Pushbus\Server;

/** $a sorted by key, recursively: the client's answer has the server's JSON keys sorted. */
function sorted(array $a): array
{
    ksort($a);
    return array_map(fn ($v) => is_array($v) ? sorted($v) : $v, $a);
}

/** The same arrays, key order aside (strictly: types and values). */
function same(array $a, array $b): bool
{
    return sorted($a) === sorted($b);
}

/** The first polled event for which $match is true (the others are skipped); null at the deadline. */
function poll_for(Server $s, callable $match): ?array
{
    $deadline = now_ms() + WAIT_MS;
    while (now_ms() < $deadline) {
        foreach ($s->poll(200) as $ev) {
            if ($match($ev)) {
                return $ev;
            }
        }
    }
    return null;
}

$server = new Server(['host' => '127.0.0.1', 'port' => 0, 'apps' => [
    ['id' => APP_ID, 'key' => KEY, 'secret' => SECRET, 'delivery_log' => ['events' => true], 'user_status' => ['offline_delay' => 0]],
    ['id' => 'kept', 'key' => 'kept-key', 'secret' => 'kept-secret', 'delivery_log' => ['size' => 5, 'payloads' => 'payload']],
    ['id' => 'off', 'key' => 'off-key', 'secret' => 'off-secret', 'delivery_log' => ['size' => 0]],
]]);
$port = $server->start();
$client = new Client(['host' => '127.0.0.1', 'port' => $port, 'app_id' => APP_ID, 'key' => KEY, 'secret' => SECRET]);

check($server->deliveryLog() === [] && $client->deliveryLog() === [], 'nothing published: an empty log in both faces');

$subs = [new Ws($port), new Ws($port), new Ws($port)];
foreach ($subs as $i => $ws) {
    check($ws->subscribe('orders')['event'] === 'pusher_internal:subscription_succeeded', 'subscriber ' . ($i + 1) . ' in orders');
}
$excluded = $subs[2]->socketId;

// To everyone but the third.
$before = (int) (microtime(true) * 1000);
$server->publish('orders', 'paid', ['n' => 1], $excluded);
check($subs[0]->expect('paid') !== null && $subs[1]->expect('paid') !== null, 'the first two got paid');
$log = $server->deliveryLog(1);
$record = $log[0] ?? [];
check(array_keys($record) === ['id', 'time', 'channel', 'event', 'size', 'digest', 'delivered', 'nodes', 'except', 'source'],
    'Server: the record\'s fields, as the core serialises them: ' . implode(',', array_keys($record)));
check(count($log) === 1 && $record['channel'] === 'orders' && $record['event'] === 'paid' && $record['size'] === 7
    && $record['delivered'] === 2 && $record['nodes'] === 1 && $record['except'] === $excluded && $record['source'] === 'api',
    'Server: paid reached 2 connections on 1 node, the third excluded');
check(preg_match('/^[0-9a-f]{64}$/', $record['digest']) === 1 && $record['digest'] === hash('sha256', '{"n":1}')
    && !array_key_exists('data', $record), 'Server: the data\'s SHA-256, not the data');
check(is_int($record['time']) && $record['time'] >= $before - 1000 && $record['time'] <= microtime(true) * 1000 + 1000, 'Server: time is when it was published');
check(same($client->deliveryLog(1), $log), 'Client: the same record');

// poll(): event_logged with the record as JSON in data.
$logged = poll_for($server, fn ($ev) => $ev['name'] === 'event_logged');
check($logged !== null && array_keys($logged) === ['name', 'app_id', 'channel', 'event', 'data', 'lost']
    && $logged['app_id'] === APP_ID && $logged['channel'] === 'orders' && $logged['event'] === 'paid' && $logged['lost'] === 0,
    'poll(): event_logged with name, app_id, channel, event, data');
check($logged !== null && json_decode($logged['data'], true) === $record, 'event_logged: data is the record, as JSON');

// To all three through the HTTP API: the third got shipped, and nothing before it.
$client->trigger('orders', 'shipped', ['n' => 2]);
$beforeShipped = $subs[2]->until('shipped');
check($beforeShipped !== null && !in_array('paid', array_column($beforeShipped, 'event'), true), 'the excluded subscriber never got paid');
check($subs[0]->expect('shipped') !== null && $subs[1]->expect('shipped') !== null, 'the others got shipped');
$log = $server->deliveryLog();
check(array_column($log, 'event') === ['shipped', 'paid'] && array_column($log, 'delivered') === [3, 2]
    && !array_key_exists('except', $log[0]) && $log[0]['digest'] === hash('sha256', '{"n":2}'), 'Server: newest first, shipped to all three');
check(same($client->deliveryLog(), $log) && same($client->deliveryLog(0), $log), 'Client: the same (limit 0: the server\'s default)');
check(count($server->deliveryLog(1)) === 1 && same($client->deliveryLog(1), $server->deliveryLog(1)), 'limit 1: the newest only, in both faces');

// A pusher:signin: user_online; the connection closes: user_offline (offline_delay 0).
$ann = new Ws($port);
$ann->send(['event' => 'pusher:signin', 'data' => json_decode(Auth::authenticateUser(KEY, SECRET, $ann->socketId, json_encode(['id' => 'ann-5', 'user_info' => ['name' => 'Ann']])), true)]);
check($ann->expect('pusher:signin_success') !== null, 'ann signed in');
$online = poll_for($server, fn ($ev) => $ev['name'] === 'user_online');
check($online === ['name' => 'user_online', 'app_id' => APP_ID, 'user_id' => 'ann-5', 'lost' => 0], 'poll(): user_online with user_id');
$ann->close();
$offline = poll_for($server, fn ($ev) => $ev['name'] === 'user_offline');
check($offline === ['name' => 'user_offline', 'app_id' => APP_ID, 'user_id' => 'ann-5', 'lost' => 0], 'poll(): user_offline with user_id');

// An app that keeps payloads, one whose log is off.
$server->publish('orders', 'paid', ['n' => 1], null, 'kept');
$kept = $server->deliveryLog(5, 'kept');
check(count($kept) === 1 && $kept[0]['data'] === '{"n":1}' && !array_key_exists('digest', $kept[0])
    && $kept[0]['delivered'] === 0 && $kept[0]['nodes'] === 0, 'payloads kept: the data, no digest; nobody subscribed there');
$server->publish('orders', 'paid', ['n' => 1], null, 'off');
check($server->deliveryLog(100, 'off') === [] && $server->deliveryLog(1, 'off') === [], 'a log that is off has no records');

expect_exception(Exception::INVALID_ARGUMENT, fn () => $server->deliveryLog(0), 'Server: limit 0');
expect_exception(Exception::INVALID_ARGUMENT, fn () => $server->deliveryLog(1001), 'Server: limit above 1000');
check(count($server->deliveryLog(100, 'kept')) === 1, 'Server: a limit above a small log\'s size gives what it keeps');
expect_exception(Exception::INVALID_ARGUMENT, fn () => $server->deliveryLog(-1), 'Server: a negative limit');
expect_exception(Exception::HTTP_STATUS, fn () => $client->deliveryLog(1001), 'Client: limit above 1000, the server\'s 400');
expect_exception(Exception::INVALID_ARGUMENT, fn () => $client->deliveryLog(-1), 'Client: a negative limit');
expect_exception(Exception::UNKNOWN_APP, fn () => $server->deliveryLog(1, 'nope'), 'Server: an unknown app');

foreach ($subs as $ws) {
    $ws->close();
}
$server->stop();
echo "done\n";
?>
--EXPECT--
ok - nothing published: an empty log in both faces
ok - subscriber 1 in orders
ok - subscriber 2 in orders
ok - subscriber 3 in orders
ok - the first two got paid
ok - Server: the record's fields, as the core serialises them: id,time,channel,event,size,digest,delivered,nodes,except,source
ok - Server: paid reached 2 connections on 1 node, the third excluded
ok - Server: the data's SHA-256, not the data
ok - Server: time is when it was published
ok - Client: the same record
ok - poll(): event_logged with name, app_id, channel, event, data
ok - event_logged: data is the record, as JSON
ok - the excluded subscriber never got paid
ok - the others got shipped
ok - Server: newest first, shipped to all three
ok - Client: the same (limit 0: the server's default)
ok - limit 1: the newest only, in both faces
ok - ann signed in
ok - poll(): user_online with user_id
ok - poll(): user_offline with user_id
ok - payloads kept: the data, no digest; nobody subscribed there
ok - a log that is off has no records
ok - Server: limit 0: Pushbus\Exception 4
ok - Server: limit above 1000: Pushbus\Exception 4
ok - Server: a limit above a small log's size gives what it keeps
ok - Server: a negative limit: Pushbus\Exception 4
ok - Client: limit above 1000, the server's 400: Pushbus\Exception 201
ok - Client: a negative limit: Pushbus\Exception 4
ok - Server: an unknown app: Pushbus\Exception 101
done
