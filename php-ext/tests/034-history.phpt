--TEST--
Channel history, through Pushbus\Server and a Pushbus\Client of the same server: history() of what WebSocket subscribers received (serials, one epoch, oldest first), the rule's bound, $since and $limit, rewind to a later subscriber, a wildcard rule of private channels, refusals
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

/** [serial, data] of each event of a history. */
function serials(array $h): array
{
    return array_map(fn ($e) => [$e['serial'], $e['data']], $h['events']);
}

$server = new Server(['host' => '127.0.0.1', 'port' => 0, 'apps' => [
    ['id' => APP_ID, 'key' => KEY, 'secret' => SECRET, 'history' => [
        ['channels' => 'activity', 'events' => 3, 'ttl' => 3600, 'rewind' => 2],
        ['channels' => 'private-activity.*', 'events' => 100, 'ttl' => 3600],
    ]],
    ['id' => 'plain', 'key' => 'plain-key', 'secret' => 'plain-secret'],
]]);
$port = $server->start();
$client = new Client(['host' => '127.0.0.1', 'port' => $port, 'app_id' => APP_ID, 'key' => KEY, 'secret' => SECRET]);

$empty = ['channel' => 'activity', 'serial' => 0, 'events' => []];
check($server->history('activity') === $empty, 'Server: nothing published: serial 0, no epoch, no events');
check(same($client->history('activity'), $empty), 'Client: the same');

$first = new Ws($port);
check($first->subscribe('activity')['event'] === 'pusher_internal:subscription_succeeded', 'subscriber 1 in activity');
$before = (int) (microtime(true) * 1000);
$server->publish('activity', 'ActivityFeedUpdated', ['n' => 1]);
$server->publish('activity', 'ActivityFeedUpdated', '{"n":2}');
$got = [];
foreach ([1, 2] as $n) {
    $got[] = $first->expect('ActivityFeedUpdated')['data'] ?? null;
}
check($got === ['{"n":1}', '{"n":2}'], 'subscriber 1 got n=1 and n=2, in order');

$two = $server->history('activity');
check(array_keys($two) === ['channel', 'epoch', 'serial', 'events'], 'Server: the fields, as the core serialises them: ' . implode(',', array_keys($two)));
check(array_keys($two['events'][0] ?? []) === ['serial', 'time', 'event', 'data'], 'Server: the fields of an event');
check($two['channel'] === 'activity' && $two['serial'] === 2 && is_string($two['epoch']) && $two['epoch'] !== ''
    && serials($two) === [[1, '{"n":1}'], [2, '{"n":2}']] && $two['events'][0]['event'] === 'ActivityFeedUpdated',
    'Server: serials 1 and 2, oldest first, the data as published');
check(is_int($two['events'][0]['time']) && $two['events'][0]['time'] >= $before - 1000
    && $two['events'][1]['time'] <= microtime(true) * 1000 + 1000, 'Server: time is when it was published');
check(same($client->history('activity'), $two), 'Client: the same history');

// Two through the HTTP API: the rule keeps 3, so serial 1 is gone; the epoch stays.
$client->trigger('activity', 'ActivityFeedUpdated', ['n' => 3]);
$client->trigger('activity', 'ActivityFeedUpdated', ['n' => 4]);
$got = [];
foreach ([3, 4] as $n) {
    $got[] = $first->expect('ActivityFeedUpdated')['data'] ?? null;
}
check($got === ['{"n":3}', '{"n":4}'], 'subscriber 1 got n=3 and n=4, in order');
$kept = $server->history('activity');
check($kept['epoch'] === $two['epoch'] && $kept['serial'] === 4
    && serials($kept) === [[2, '{"n":2}'], [3, '{"n":3}'], [4, '{"n":4}']], 'Server: the last 3, the same epoch');
check($kept['events'][0] === $two['events'][1], 'a kept event does not change');
check(same($client->history('activity'), $kept), 'Client: the same');

// $since and $limit.
$page = $server->history('activity', 2, 1);
check($page === ['channel' => 'activity', 'epoch' => $kept['epoch'], 'serial' => 4, 'events' => [$kept['events'][1]]], 'Server: since 2, limit 1');
check(same($client->history('activity', 2, 1), $page), 'Client: since 2, limit 1');
check(serials($server->history('activity', 3)) === [[4, '{"n":4}']], 'Server: since 3');
check($client->history('activity', 4)['events'] === [] && $server->history('activity', 4, 10)['events'] === [], 'since 4: none, in both faces');
check(serials($client->history('activity', 0, 2)) === [[2, '{"n":2}'], [3, '{"n":3}']], 'Client: limit 2');
check(same($client->history('activity', 0, 0), $kept), 'Client: limit 0 is the server\'s default');

// A later subscriber is given the rule's rewind: the last two, then nothing before a marker.
$second = new Ws($port);
check($second->subscribe('activity')['event'] === 'pusher_internal:subscription_succeeded', 'subscriber 2 in activity');
$server->publish('activity', 'Marker', 'end');
$rewound = $second->until('Marker');
check($rewound !== null && array_column($rewound, 'data') === ['{"n":3}', '{"n":4}'], 'subscriber 2 was given n=3 and n=4 only');

// A wildcard rule: each private-activity channel has its own serials and epoch.
$feed = 'private-activity.client.7';
$private = new Ws($port);
$auth = json_decode(Auth::authorizeChannel(KEY, SECRET, $private->socketId, $feed), true)['auth'];
check($private->subscribe($feed, $auth)['event'] === 'pusher_internal:subscription_succeeded', 'a private subscriber');
$server->publish($feed, 'ActivityFeedUpdated', ['c' => 7]);
check(($private->expect('ActivityFeedUpdated')['data'] ?? null) === '{"c":7}', 'the private subscriber got c=7');
$own = $client->history($feed);
check($own['serial'] === 1 && $own['epoch'] !== $kept['epoch'] && serials($own) === [[1, '{"c":7}']], 'Client: the channel\'s own serial and epoch');
check(same($server->history($feed), $own), 'Server: the same');
check($server->history('private-activity.project.1')['serial'] === 0, 'another channel of the rule: none yet');

// Refusals.
expect_exception(Exception::INVALID_ARGUMENT, fn () => $server->history('orders'), 'Server: a channel no rule names');
expect_exception(Exception::HTTP_STATUS, fn () => $client->history('orders'), 'Client: a channel no rule names, the server\'s 400');
expect_exception(Exception::INVALID_ARGUMENT, fn () => $server->history('activity', 0, 100, 'plain'), 'Server: an app without rules');
expect_exception(Exception::INVALID_ARGUMENT, fn () => $server->history('activity', 0, 0), 'Server: limit 0');
expect_exception(Exception::INVALID_ARGUMENT, fn () => $server->history('activity', 0, 1001), 'Server: limit above 1000');
expect_exception(Exception::HTTP_STATUS, fn () => $client->history('activity', 0, 1001), 'Client: limit above 1000, the server\'s 400');
expect_exception(Exception::INVALID_ARGUMENT, fn () => $server->history('activity', -1), 'Server: a negative since');
expect_exception(Exception::INVALID_ARGUMENT, fn () => $client->history('activity', -1), 'Client: a negative since');
expect_exception(Exception::INVALID_ARGUMENT, fn () => $server->history('activity', 0, -1), 'Server: a negative limit');
expect_exception(Exception::INVALID_ARGUMENT, fn () => $client->history('activity', 0, -1), 'Client: a negative limit');
expect_exception(Exception::INVALID_CHANNEL, fn () => $server->history('bad name'), 'Server: a bad channel name');
expect_exception(Exception::INVALID_ARGUMENT, fn () => $client->history('bad name'), 'Client: a bad channel name');
expect_exception(Exception::UNKNOWN_APP, fn () => $server->history('activity', 0, 10, 'nope'), 'Server: an unknown app');

foreach ([$first, $second, $private] as $ws) {
    $ws->close();
}
$server->stop();
echo "done\n";
?>
--EXPECT--
ok - Server: nothing published: serial 0, no epoch, no events
ok - Client: the same
ok - subscriber 1 in activity
ok - subscriber 1 got n=1 and n=2, in order
ok - Server: the fields, as the core serialises them: channel,epoch,serial,events
ok - Server: the fields of an event
ok - Server: serials 1 and 2, oldest first, the data as published
ok - Server: time is when it was published
ok - Client: the same history
ok - subscriber 1 got n=3 and n=4, in order
ok - Server: the last 3, the same epoch
ok - a kept event does not change
ok - Client: the same
ok - Server: since 2, limit 1
ok - Client: since 2, limit 1
ok - Server: since 3
ok - since 4: none, in both faces
ok - Client: limit 2
ok - Client: limit 0 is the server's default
ok - subscriber 2 in activity
ok - subscriber 2 was given n=3 and n=4 only
ok - a private subscriber
ok - the private subscriber got c=7
ok - Client: the channel's own serial and epoch
ok - Server: the same
ok - another channel of the rule: none yet
ok - Server: a channel no rule names: Pushbus\Exception 4
ok - Client: a channel no rule names, the server's 400: Pushbus\Exception 201
ok - Server: an app without rules: Pushbus\Exception 4
ok - Server: limit 0: Pushbus\Exception 4
ok - Server: limit above 1000: Pushbus\Exception 4
ok - Client: limit above 1000, the server's 400: Pushbus\Exception 201
ok - Server: a negative since: Pushbus\Exception 4
ok - Client: a negative since: Pushbus\Exception 4
ok - Server: a negative limit: Pushbus\Exception 4
ok - Client: a negative limit: Pushbus\Exception 4
ok - Server: a bad channel name: Pushbus\Exception 103
ok - Client: a bad channel name: Pushbus\Exception 4
ok - Server: an unknown app: Pushbus\Exception 101
done
