--TEST--
Pushbus\Client: bad options, refused arguments and network failures throw Pushbus\Exception with the library's code
--EXTENSIONS--
pushbus
--FILE--
<?php
require __DIR__ . '/inc/helpers.php';
use Pushbus\Client;
use Pushbus\Exception as E;

$base = ['app_id' => APP_ID, 'key' => KEY, 'secret' => SECRET];
// Options.
expect_exception(E::INVALID_ARGUMENT, fn () => new Client(['key' => KEY, 'secret' => SECRET]), 'no app_id');
expect_exception(E::INVALID_ARGUMENT, fn () => new Client(['secret' => ''] + $base), 'empty secret');
expect_exception(E::INVALID_ARGUMENT, fn () => new Client(['key' => ['x']] + $base), 'key of the wrong type');
expect_exception(E::INVALID_ARGUMENT, fn () => new Client(['scheme' => 'ftp'] + $base), 'scheme ftp');
expect_exception(E::INVALID_ARGUMENT, fn () => new Client(['port' => 70000] + $base), 'port 70000');
expect_exception(E::INVALID_ARGUMENT, fn () => new Client(['port' => 'eighty'] + $base), 'port not a number');
expect_exception(E::INVALID_ARGUMENT, fn () => new Client(['timeout' => 0] + $base), 'timeout 0');
expect_exception(E::INVALID_ARGUMENT, fn () => new Client(['host' => 'a b'] + $base), 'host with a space (refused by the library)');
expect_exception(E::INVALID_UTF8, fn () => new Client(['host' => "\xff"] + $base), 'host not UTF-8');
expect_exception(E::INVALID_ARGUMENT, fn () => new Client(['encryption_master_key_base64' => 'c2hvcnQ='] + $base), 'master key of 5 bytes');

// Refused before anything is sent (nothing listens on this port: no request is made).
$probe = stream_socket_server('tcp://127.0.0.1:0');
$freePort = parse_url('tcp://' . stream_socket_get_name($probe, false), PHP_URL_PORT);
fclose($probe);
// queued => false: each call waits for the server and throws what went wrong
// (queued triggers report the same failures later: 023-client-queued.phpt).
$c = new Client(['port' => $freePort, 'timeout' => 2, 'queued' => false] + $base);
expect_exception(E::INVALID_ARGUMENT, fn () => $c->trigger('bad name', 'e', []), 'invalid channel name');
expect_exception(E::INVALID_ARGUMENT, fn () => $c->trigger('a', '', []), 'empty event name');
expect_exception(E::INVALID_ARGUMENT, fn () => $c->trigger('a', 'e', [], 'not-a-socket'), 'invalid socket id');
expect_exception(E::INVALID_ARGUMENT, fn () => $c->trigger([], 'e', []), 'no channels');
expect_exception(E::INVALID_ARGUMENT, fn () => $c->trigger(array_map(fn ($i) => "c$i", range(1, 101)), 'e', []), '101 channels');
expect_exception(E::INVALID_ARGUMENT, fn () => $c->trigger([1], 'e', []), 'a channel that is not a string');
expect_exception(E::INVALID_ARGUMENT, fn () => $c->trigger(['private-encrypted-a'], 'e', []), 'encrypted channel without a master key');
expect_exception(E::INVALID_UTF8, fn () => $c->trigger('a', "\xff", []), 'event name not UTF-8');
$e = expect_exception(E::INVALID_ARGUMENT, fn () => $c->trigger('a', 'e', NAN), 'data json_encode refuses');
check($e && $e->getPrevious() instanceof JsonException, 'with the JsonException as previous');
expect_exception(E::INVALID_ARGUMENT, fn () => $c->triggerBatch([]), 'empty batch');
expect_exception(E::INVALID_ARGUMENT, fn () => $c->triggerBatch([['channel' => 'a', 'data' => []]]), 'batch event without name');
expect_exception(E::INVALID_ARGUMENT, fn () => $c->triggerBatch(['x']), 'batch event not an array');

// Network failures.
$t = now_ms();
expect_exception(E::CONNECT, fn () => $c->trigger('a', 'e', []), 'nothing listening: connection refused');
$silent = stream_socket_server('tcp://127.0.0.1:0'); // listens, never accepts
$silentPort = parse_url('tcp://' . stream_socket_get_name($silent, false), PHP_URL_PORT);
$t = now_ms();
expect_exception(E::TIMEOUT, fn () => (new Client(['port' => $silentPort, 'timeout' => 0.3, 'queued' => false] + $base))->trigger('a', 'e', []), 'a server that never answers: timeout');
check(now_ms() - $t < 10000, 'the timeout was honoured');
fclose($silent);

$serve = new Serve(['apps' => [['id' => APP_ID, 'key' => KEY, 'secret' => SECRET]]]);
$e = expect_exception(E::HTTP_STATUS, fn () => (new Client(['port' => $serve->port, 'secret' => 'wrong-secret', 'queued' => false] + $base))->trigger('a', 'e', []), 'wrong secret');
check($e && str_contains($e->getMessage(), '401'), 'the message has the status: ' . ($e ? substr($e->getMessage(), 0, 40) : ''));
$good = new Client(['port' => $serve->port] + $base);
$e = expect_exception(E::HTTP_STATUS, fn () => $good->triggerBatch(array_fill(0, 11, ['channel' => 'a', 'name' => 'e', 'data' => []])), 'batch of 11 (the server allows 10)');
check($e && str_contains($e->getMessage(), '400'), 'answered 400');
expect_exception(E::HTTP_STATUS, fn () => $good->users('orders'), 'users() of a non-presence channel');
expect_exception(E::HTTP_STATUS, fn () => (new Client(['port' => $serve->port, 'app_id' => 'nope'] + $base))->channels(), 'unknown app id');
$serve->stop();

// A server answering 200 with a body that is not JSON.
$fake = proc_open([PHP_BINARY, '-n', __DIR__ . '/inc/fake-http.php'], [0 => ['pipe', 'r'], 1 => ['pipe', 'w']], $pipes);
$port = (int) read_line_matching($pipes[1], '/^(\d+)$/', WAIT_MS)[1];
$f = new Client(['port' => $port, 'queued' => false] + $base);
expect_exception(E::INVALID_RESPONSE, fn () => $f->channels(), 'channels(): 200 but not JSON');
expect_exception(E::INVALID_RESPONSE, fn () => $f->channel('a'), 'channel(): 200 but not JSON');
expect_exception(E::INVALID_RESPONSE, fn () => $f->trigger('a', 'e', []), 'trigger(): 200 but not JSON');
fclose($pipes[0]);
fclose($pipes[1]);
proc_close($fake);
?>
--EXPECTF--
ok - no app_id: Pushbus\Exception 4
ok - empty secret: Pushbus\Exception 4
ok - key of the wrong type: Pushbus\Exception 4
ok - scheme ftp: Pushbus\Exception 4
ok - port 70000: Pushbus\Exception 4
ok - port not a number: Pushbus\Exception 4
ok - timeout 0: Pushbus\Exception 4
ok - host with a space (refused by the library): Pushbus\Exception 4
ok - host not UTF-8: Pushbus\Exception 3
ok - master key of 5 bytes: Pushbus\Exception 4
ok - invalid channel name: Pushbus\Exception 4
ok - empty event name: Pushbus\Exception 4
ok - invalid socket id: Pushbus\Exception 4
ok - no channels: Pushbus\Exception 4
ok - 101 channels: Pushbus\Exception 4
ok - a channel that is not a string: Pushbus\Exception 4
ok - encrypted channel without a master key: Pushbus\Exception 4
ok - event name not UTF-8: Pushbus\Exception 3
ok - data json_encode refuses: Pushbus\Exception 4
ok - with the JsonException as previous
ok - empty batch: Pushbus\Exception 4
ok - batch event without name: Pushbus\Exception 4
ok - batch event not an array: Pushbus\Exception 4
ok - nothing listening: connection refused: Pushbus\Exception 200
ok - a server that never answers: timeout: Pushbus\Exception 7
ok - the timeout was honoured
ok - wrong secret: Pushbus\Exception 201
ok - the message has the status: %s
ok - batch of 11 (the server allows 10): Pushbus\Exception 201
ok - answered 400
ok - users() of a non-presence channel: Pushbus\Exception 201
ok - unknown app id: Pushbus\Exception 201
ok - channels(): 200 but not JSON: Pushbus\Exception 202
ok - channel(): 200 but not JSON: Pushbus\Exception 202
ok - trigger(): 200 but not JSON: Pushbus\Exception 202
