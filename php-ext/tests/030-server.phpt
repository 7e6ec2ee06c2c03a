--TEST--
Pushbus\Server embedded in PHP: start, lifecycle events through poll() on the PHP thread, publish, queries, termination, graceful stop
--EXTENSIONS--
pushbus
--FILE--
<?php
require __DIR__ . '/inc/helpers.php';
use Pushbus\Auth;
use Pushbus\Server;

/**
 * The first event matching $want (name => value), from those polled but not yet taken
 * or from new polls; null at the deadline. $seen gets every event polled.
 */
function poll_for(Server $s, array $want, array &$seen = []): ?array
{
    static $backlog = [];
    $deadline = now_ms() + WAIT_MS;
    do {
        foreach ($backlog as $i => $ev) {
            if (array_intersect_assoc($want, $ev) == $want) {
                unset($backlog[$i]);
                return $ev;
            }
        }
        foreach ($s->poll(200) as $ev) {
            $seen[] = $ev;
            $backlog[] = $ev;
        }
    } while (now_ms() < $deadline);
    return null;
}

$server = new Server(['host' => '127.0.0.1', 'port' => 0,
    'apps' => [['id' => APP_ID, 'key' => KEY, 'secret' => SECRET, 'client_events' => true]],
    'metrics' => ['enabled' => true, 'token' => 'php-metrics-token']]);
check($server->port() === null, 'no port before start()');
check($server->poll(0) === [], 'poll(0) returns at once with nothing');
$port = $server->start();
check($port > 0 && $server->port() === $port, "started on a free port");

$ws = new Ws($port);
$ev = poll_for($server, ['name' => 'connection_opened', 'socket_id' => $ws->socketId]);
check($ev !== null && $ev['app_id'] === APP_ID && $ev['lost'] === 0, 'connection_opened, with the socket id');
check($server->connectionCount() === 1, 'connectionCount()');
$metrics = $server->metricsText();
check(str_contains($metrics, "\npushbus_connections{app=\"" . APP_ID . "\"} 1\n") && str_ends_with($metrics, "# EOF\n"), 'metricsText() counts the connection');

$member = json_encode(['user_id' => '7', 'user_info' => ['id' => 7, 'name' => 'Ann', 'avatar' => 'https://x.test/a.png']]);
$auth = json_decode(Auth::authorizeChannel(KEY, SECRET, $ws->socketId, 'presence-project.1', $member), true)['auth'];
check($ws->subscribe('presence-project.1', $auth, $member)['event'] === 'pusher_internal:subscription_succeeded', 'joined presence-project.1');
check(poll_for($server, ['name' => 'channel_occupied', 'channel' => 'presence-project.1']) !== null, 'channel_occupied');
check(poll_for($server, ['name' => 'member_added', 'channel' => 'presence-project.1', 'user_id' => '7']) !== null, 'member_added with the user id');
check($server->members('presence-project.1') === [['id' => '7', 'info' => ['id' => 7, 'name' => 'Ann', 'avatar' => 'https://x.test/a.png']]], 'members() with the user_info as info');
check($server->channel('presence-project.1') === ['occupied' => true, 'subscription_count' => 1, 'user_count' => 1], 'channel() of a presence channel');
check($server->channel('orders') === ['occupied' => false, 'subscription_count' => 0], 'channel() of an empty channel');
check(array_keys($server->channels()) === ['presence-project.1'] && $server->channels('private-') === [], 'channels(), with a prefix');

$server->publish('presence-project.1', 'ProjectUpdated', ['id' => 1, 'name' => 'Portal']);
check(($m = $ws->expect('ProjectUpdated')) && $m['data'] === '{"id":1,"name":"Portal"}', 'publish() reaches the WebSocket client');
$server->publish(['presence-project.1'], 'skipped', [], $ws->socketId);
$server->publish(['presence-project.1'], 'marker', '{}', null, APP_ID);
$before = $ws->until('marker');
check($before !== null && !in_array('skipped', array_column($before, 'event'), true), 'publish() with a socket id skips that connection');

// A whisper: delivered to PHP as a client_event, only when PHP polls.
$ws->send(['event' => 'client-typing', 'channel' => 'presence-project.1', 'data' => ['typing' => true]]);
$ev = poll_for($server, ['name' => 'client_event']);
check($ev && $ev['event'] === 'client-typing' && $ev['channel'] === 'presence-project.1' && $ev['user_id'] === '7'
    && $ev['socket_id'] === $ws->socketId && json_decode($ev['data'], true) === ['typing' => true], 'client_event with event, data, socket and user');

// poll($timeout, $max) takes at most $max events.
$w2 = new Ws($port);
$w3 = new Ws($port);
$got = wait_for(fn () => $server->connectionCount() === 3 ? true : null);
$one = $server->poll(1000, 1);
check($got && count($one) === 1 && $one[0]['name'] === 'connection_opened', 'poll(timeout, 1) returns one event');
check(poll_for($server, ['name' => 'connection_opened', 'socket_id' => $w3->socketId]) !== null, 'the next one is still queued');

check($server->terminateUserConnections('7') === 1, 'terminateUserConnections() closed one connection');
check($ws->waitClose() === 4009, 'with code 4009');
check(poll_for($server, ['name' => 'member_removed', 'channel' => 'presence-project.1', 'user_id' => '7']) !== null, 'member_removed');
check(poll_for($server, ['name' => 'channel_vacated', 'channel' => 'presence-project.1']) !== null, 'channel_vacated');

$server->stop();
check($w2->waitClose() === 4200 && $w3->waitClose() === 4200, 'stop(): clients are closed with 4200 (reconnect)');
check(poll_for($server, ['name' => 'connection_closed', 'socket_id' => $w3->socketId]) !== null, 'events can still be polled after stop()');
check($server->connectionCount() === 0, 'no connection left');
unset($server);
echo "done\n";
?>
--EXPECT--
ok - no port before start()
ok - poll(0) returns at once with nothing
ok - started on a free port
ok - connection_opened, with the socket id
ok - connectionCount()
ok - metricsText() counts the connection
ok - joined presence-project.1
ok - channel_occupied
ok - member_added with the user id
ok - members() with the user_info as info
ok - channel() of a presence channel
ok - channel() of an empty channel
ok - channels(), with a prefix
ok - publish() reaches the WebSocket client
ok - publish() with a socket id skips that connection
ok - client_event with event, data, socket and user
ok - poll(timeout, 1) returns one event
ok - the next one is still queued
ok - terminateUserConnections() closed one connection
ok - with code 4009
ok - member_removed
ok - channel_vacated
ok - stop(): clients are closed with 4200 (reconnect)
ok - events can still be polled after stop()
ok - no connection left
done
