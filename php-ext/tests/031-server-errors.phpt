--TEST--
Pushbus\Server: every refusal throws Pushbus\Exception with the library's code; a server of the parent answers FORKED in a child
--EXTENSIONS--
pushbus
pcntl
--FILE--
<?php
require __DIR__ . '/inc/helpers.php';
use Pushbus\Exception as E;
use Pushbus\Server;

$app = ['id' => APP_ID, 'key' => KEY, 'secret' => SECRET];
expect_exception(E::CONFIG, fn () => new Server([]), 'no apps');
expect_exception(E::CONFIG, fn () => new Server(['apps' => [['id' => 'a']]]), 'an app without key and secret');
expect_exception(E::CONFIG, fn () => new Server(['port' => 'eighty', 'apps' => [$app]]), 'port of the wrong type');
expect_exception(E::CONFIG, fn () => new Server(['apps' => [['id' => "\xff"] + $app]]), 'config that is not UTF-8');

$server = new Server(['host' => '127.0.0.1', 'port' => 0, 'apps' => [$app, ['id' => 'off', 'key' => 'k2', 'secret' => 's2', 'enabled' => false]]]);
expect_exception(E::NOT_RUNNING, fn () => $server->stop(), 'stop() before start()');
expect_exception(E::NOT_RUNNING, fn () => $server->reloadTls(), 'reloadTls() before start()');
$e = expect_exception(E::CONFIG, fn () => $server->metricsText(), 'metricsText() with metrics off');
check($e && str_contains($e->getMessage(), 'metrics.enabled'), 'the message names the setting');
$port = $server->start();
expect_exception(E::ALREADY_STARTED, fn () => $server->start(), 'start() twice');
$e = expect_exception(E::CONFIG, fn () => $server->reloadTls(), 'reloadTls() without a certificate');
check($e && str_contains($e->getMessage(), 'no certificate configured'), 'the message says why');
$other = new Server(['apps' => [$app]]);
expect_exception(E::BIND, fn () => $other->start("127.0.0.1:$port"), 'a port in use');

expect_exception(E::UNKNOWN_APP, fn () => $server->publish('a', 'e', [], null, 'nope'), 'publish: unknown app');
// A disabled app refuses connections and the HTTP API (403); in-process publishing is the embedder's own.
$e = expect_exception(E::HTTP_STATUS, fn () => (new Pushbus\Client(['port' => $port, 'app_id' => 'off', 'key' => 'k2', 'secret' => 's2', 'queued' => false]))->trigger('a', 'e', []), 'HTTP API of a disabled app');
check($e && str_contains($e->getMessage(), '403'), 'answered 403');
expect_exception(E::INVALID_CHANNEL, fn () => $server->publish('bad name', 'e', []), 'publish: invalid channel');
expect_exception(E::NO_CHANNELS, fn () => $server->publish([], 'e', []), 'publish: no channels');
expect_exception(E::TOO_MANY_CHANNELS, fn () => $server->publish(array_map(fn ($i) => "c$i", range(1, 101)), 'e', []), 'publish: 101 channels');
expect_exception(E::ENCRYPTED_WITH_OTHERS, fn () => $server->publish(['private-encrypted-a', 'b'], 'e', '{}'), 'publish: encrypted with others');
expect_exception(E::INVALID_EVENT_NAME, fn () => $server->publish('a', 'pusher:x', []), 'publish: reserved event name');
expect_exception(E::DATA_TOO_LARGE, fn () => $server->publish('a', 'e', str_repeat('x', 20000)), 'publish: data too large');
expect_exception(E::INVALID_SOCKET_ID, fn () => $server->publish('a', 'e', [], 'x'), 'publish: invalid socket id');
expect_exception(E::INVALID_UTF8, fn () => $server->publish("\xff", 'e', []), 'publish: channel not UTF-8');
expect_exception(E::INVALID_ARGUMENT, fn () => $server->publish([['a']], 'e', []), 'publish: channel not a string');
expect_exception(E::INVALID_ARGUMENT, fn () => $server->publish('a', 'e', ['x' => INF]), 'publish: data json_encode refuses');

expect_exception(E::NOT_PRESENCE_CHANNEL, fn () => $server->members('orders'), 'members() of a non-presence channel');
expect_exception(E::INVALID_CHANNEL, fn () => $server->channel('bad name'), 'channel(): invalid name');
expect_exception(E::UNKNOWN_APP, fn () => $server->channels(null, 'nope'), 'channels(): unknown app');
expect_exception(E::UNKNOWN_APP, fn () => $server->connectionCount('nope'), 'connectionCount(): unknown app');
expect_exception(E::UNKNOWN_APP, fn () => $server->terminateUserConnections('1', 'nope'), 'terminateUserConnections(): unknown app');
expect_exception(E::INVALID_ARGUMENT, fn () => $server->poll(-1), 'poll(): negative timeout');
expect_exception(E::INVALID_ARGUMENT, fn () => $server->poll(0, 0), 'poll(): max 0');

// A forked child has none of the parent's threads: the parent's server refuses there.
$pid = pcntl_fork();
if ($pid === 0) {
    $codes = [];
    foreach ([fn () => $server->publish('a', 'e', []), fn () => $server->poll(0), fn () => $server->connectionCount()] as $f) {
        try {
            $f();
            $codes[] = 0;
        } catch (Pushbus\Exception $e) {
            $codes[] = $e->getCode();
        }
    }
    exit($codes === [E::FORKED, E::FORKED, E::FORKED] ? 0 : 1);
}
$status = wait_for(function () use ($pid) {
    return pcntl_waitpid($pid, $status, WNOHANG) === $pid ? $status : null;
});
check($status !== null && pcntl_wifexited($status) && pcntl_wexitstatus($status) === 0, 'in a forked child the parent\'s server answers FORKED');
$server->publish('a', 'e', []);
echo "ok - and keeps working in the parent\n";

$server->stop();
expect_exception(E::NOT_RUNNING, fn () => $server->stop(), 'stop() twice');
expect_exception(E::ALREADY_STARTED, fn () => $server->start(), 'start() after stop()');
?>
--EXPECT--
ok - no apps: Pushbus\Exception 100
ok - an app without key and secret: Pushbus\Exception 100
ok - port of the wrong type: Pushbus\Exception 100
ok - config that is not UTF-8: Pushbus\Exception 100
ok - stop() before start(): Pushbus\Exception 114
ok - reloadTls() before start(): Pushbus\Exception 114
ok - metricsText() with metrics off: Pushbus\Exception 100
ok - the message names the setting
ok - start() twice: Pushbus\Exception 113
ok - reloadTls() without a certificate: Pushbus\Exception 100
ok - the message says why
ok - a port in use: Pushbus\Exception 112
ok - publish: unknown app: Pushbus\Exception 101
ok - HTTP API of a disabled app: Pushbus\Exception 201
ok - answered 403
ok - publish: invalid channel: Pushbus\Exception 103
ok - publish: no channels: Pushbus\Exception 104
ok - publish: 101 channels: Pushbus\Exception 105
ok - publish: encrypted with others: Pushbus\Exception 106
ok - publish: reserved event name: Pushbus\Exception 107
ok - publish: data too large: Pushbus\Exception 108
ok - publish: invalid socket id: Pushbus\Exception 109
ok - publish: channel not UTF-8: Pushbus\Exception 3
ok - publish: channel not a string: Pushbus\Exception 4
ok - publish: data json_encode refuses: Pushbus\Exception 4
ok - members() of a non-presence channel: Pushbus\Exception 111
ok - channel(): invalid name: Pushbus\Exception 103
ok - channels(): unknown app: Pushbus\Exception 101
ok - connectionCount(): unknown app: Pushbus\Exception 101
ok - terminateUserConnections(): unknown app: Pushbus\Exception 101
ok - poll(): negative timeout: Pushbus\Exception 4
ok - poll(): max 0: Pushbus\Exception 4
ok - in a forked child the parent's server answers FORKED
ok - and keeps working in the parent
ok - stop() twice: Pushbus\Exception 114
ok - start() after stop(): Pushbus\Exception 113
