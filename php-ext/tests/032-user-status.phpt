--TEST--
Who is online, through Pushbus\Server and a Pushbus\Client of the same server: userStatus(), onlineUsers() page by page, setUserLocation(), last_seen once offline; refusals
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

/** Waits for the connection_closed of each socket id (polled on this thread). */
function closed(Server $s, array $socketIds): bool
{
    $left = array_flip($socketIds);
    $deadline = now_ms() + WAIT_MS;
    while ($left && now_ms() < $deadline) {
        foreach ($s->poll(200) as $ev) {
            if ($ev['name'] === 'connection_closed') {
                unset($left[$ev['socket_id']]);
            }
        }
    }
    return !$left;
}

function present(Ws $ws, string $channel, string $userId, array $info): bool
{
    $member = json_encode(['user_id' => $userId, 'user_info' => $info]);
    $auth = json_decode(Auth::authorizeChannel(KEY, SECRET, $ws->socketId, $channel, $member), true)['auth'];
    return $ws->subscribe($channel, $auth, $member)['event'] === 'pusher_internal:subscription_succeeded';
}

$server = new Server(['host' => '127.0.0.1', 'port' => 0, 'apps' => [['id' => APP_ID, 'key' => KEY, 'secret' => SECRET]]]);
$port = $server->start();
$client = new Client(['host' => '127.0.0.1', 'port' => $port, 'app_id' => APP_ID, 'key' => KEY, 'secret' => SECRET]);

$never = ['id' => 'nobody', 'online' => false, 'connections' => 0, 'channels' => []];
check($server->userStatus('nobody') === $never, 'Server: a user never seen is offline');
check(same($client->userStatus('nobody'), $never), 'Client: the same');

// User 7 signed in on one connection and present on another; Bob (an id the client
// percent-encodes) present only.
$bob = 'bob é/2';
$a = new Ws($port);
$a->send(['event' => 'pusher:signin', 'data' => json_decode(Auth::authenticateUser(KEY, SECRET, $a->socketId, json_encode(['id' => '7', 'user_info' => ['name' => 'Ann']])), true)]);
check($a->expect('pusher:signin_success') !== null, 'a signed in as 7');
$b = new Ws($port);
check(present($b, 'presence-room', '7', ['name' => 'Ann']), 'b present in presence-room as 7');
$c = new Ws($port);
check(present($c, 'presence-room', $bob, ['name' => 'Bob']), 'c present in presence-room as bob');
check(wait_for(fn () => $server->userStatus('7')['connections'] === 2) !== null, '7 has two connections');

$seven = ['id' => '7', 'online' => true, 'connections' => 2, 'channels' => ['presence-room'], 'info' => ['name' => 'Ann']];
check($server->userStatus('7') === $seven, 'Server: userStatus() of 7, online in two connections');
check(same($client->userStatus('7'), $seven), 'Client: the same');
$bobOnline = ['id' => $bob, 'online' => true, 'connections' => 1, 'channels' => ['presence-room'], 'info' => ['name' => 'Bob']];
check($server->userStatus($bob) === $bobOnline, 'Server: userStatus() of bob');
check(same($client->userStatus($bob), $bobOnline), 'Client: the same, the id percent-encoded');

check($server->setUserLocation('7', 'Projects') === true, 'Server: setUserLocation() of an online user is true');
check($client->setUserLocation($bob, 'Inbox') === true, 'Client: the same');
check($client->userStatus('7')['location'] === 'Projects' && $server->userStatus($bob)['location'] === 'Inbox', 'each face sees the other\'s location');

$first = ['users' => [['id' => '7', 'connections' => 2, 'location' => 'Projects', 'info' => ['name' => 'Ann']]], 'next' => '7'];
check($server->onlineUsers('', 1) === $first, 'Server: onlineUsers("", 1), with next');
check(same($client->onlineUsers('', 1), $first), 'Client: the same');
$last = ['users' => [['id' => $bob, 'connections' => 1, 'location' => 'Inbox', 'info' => ['name' => 'Bob']]]];
check($server->onlineUsers($first['next'], 1) === $last, 'Server: the last page, without next');
check(same($client->onlineUsers($first['next'], 1), $last), 'Client: the same');
check(array_column($server->onlineUsers()['users'], 'id') === ['7', $bob] && same($client->onlineUsers(), $server->onlineUsers()), 'onlineUsers() with the defaults: both, alike');

check($client->setUserLocation('7', null) === true && !array_key_exists('location', $server->userStatus('7')), 'Client: null clears the location');
check($server->setUserLocation($bob, null) === true && !array_key_exists('location', $client->userStatus($bob)), 'Server: the same');

expect_exception(Exception::INVALID_ARGUMENT, fn () => $server->onlineUsers('', 0), 'Server: limit 0');
expect_exception(Exception::INVALID_ARGUMENT, fn () => $server->onlineUsers('', 1001), 'Server: limit 1001');
expect_exception(Exception::INVALID_ARGUMENT, fn () => $server->onlineUsers('', -1), 'Server: a negative limit');
expect_exception(Exception::HTTP_STATUS, fn () => $client->onlineUsers('', 0), 'Client: limit 0, the server\'s 400');
expect_exception(Exception::INVALID_ARGUMENT, fn () => $server->userStatus(str_repeat('x', 200)), 'Server: a user id too long');
expect_exception(Exception::HTTP_STATUS, fn () => $client->userStatus(str_repeat('x', 200)), 'Client: the same, the server\'s 400');
expect_exception(Exception::INVALID_ARGUMENT, fn () => $server->setUserLocation('7', "a\nb"), 'Server: a location with a control character');
expect_exception(Exception::HTTP_STATUS, fn () => $client->setUserLocation('7', "a\nb"), 'Client: the same, the server\'s 400');
expect_exception(Exception::UNKNOWN_APP, fn () => $server->userStatus('7', 'nope'), 'Server: an unknown app');

// 7 leaves: offline, with when it was last seen.
$server->setUserLocation('7', 'Projects');
$before = (int) (microtime(true) * 1000);
$sockets = [$a->socketId, $b->socketId];
$a->close();
$b->close();
check(closed($server, $sockets), 'both connections of 7 closed');
$gone = wait_for(function () use ($server) {
    $s = $server->userStatus('7');
    return $s['online'] ? null : $s;
});
check($gone !== null && array_keys($gone) === ['id', 'online', 'connections', 'channels', 'last_seen']
    && $gone['connections'] === 0 && $gone['channels'] === [], 'Server: 7 offline, no location or info, a last_seen');
$lastSeen = $gone['last_seen'] ?? 0;
check(is_int($lastSeen) && $lastSeen >= $before - 1000 && $lastSeen <= microtime(true) * 1000 + 1000, 'last_seen is when the last connection closed');
check($gone !== null && same($client->userStatus('7'), $gone), 'Client: the same');
check($server->setUserLocation('7', 'Projects') === false, 'Server: no location is kept for an offline user');
check($client->setUserLocation('7', 'Projects') === false, 'Client: the same');
check(array_column($client->onlineUsers()['users'], 'id') === [$bob], 'only bob is online');

$c->close();
$server->stop();
echo "done\n";
?>
--EXPECT--
ok - Server: a user never seen is offline
ok - Client: the same
ok - a signed in as 7
ok - b present in presence-room as 7
ok - c present in presence-room as bob
ok - 7 has two connections
ok - Server: userStatus() of 7, online in two connections
ok - Client: the same
ok - Server: userStatus() of bob
ok - Client: the same, the id percent-encoded
ok - Server: setUserLocation() of an online user is true
ok - Client: the same
ok - each face sees the other's location
ok - Server: onlineUsers("", 1), with next
ok - Client: the same
ok - Server: the last page, without next
ok - Client: the same
ok - onlineUsers() with the defaults: both, alike
ok - Client: null clears the location
ok - Server: the same
ok - Server: limit 0: Pushbus\Exception 4
ok - Server: limit 1001: Pushbus\Exception 4
ok - Server: a negative limit: Pushbus\Exception 4
ok - Client: limit 0, the server's 400: Pushbus\Exception 201
ok - Server: a user id too long: Pushbus\Exception 4
ok - Client: the same, the server's 400: Pushbus\Exception 201
ok - Server: a location with a control character: Pushbus\Exception 4
ok - Client: the same, the server's 400: Pushbus\Exception 201
ok - Server: an unknown app: Pushbus\Exception 101
ok - both connections of 7 closed
ok - Server: 7 offline, no location or info, a last_seen
ok - last_seen is when the last connection closed
ok - Client: the same
ok - Server: no location is kept for an offline user
ok - Client: the same
ok - only bob is online
done
