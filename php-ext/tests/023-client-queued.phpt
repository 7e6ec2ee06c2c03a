--TEST--
Pushbus\Client queued triggers (the default): in order, never silent (flush(), the next trigger, or a warning at the end of the request)
--EXTENSIONS--
pushbus
--FILE--
<?php
require __DIR__ . '/inc/helpers.php';
use Pushbus\Client;
use Pushbus\Exception as E;

$serve = new Serve(['apps' => [['id' => APP_ID, 'key' => KEY, 'secret' => SECRET]]]);
$base = ['app_id' => APP_ID, 'key' => KEY, 'secret' => SECRET];
$ws = new Ws($serve->port);
$ws->subscribe('orders');

// 50 triggers return without waiting for the server, and arrive in order.
$client = new Client(['port' => $serve->port] + $base);
for ($i = 0; $i < 50; $i++) {
    $client->trigger('orders', 'queued', ['n' => $i]);
}
$got = [];
while (count($got) < 50 && ($m = $ws->expect('queued')) !== null) {
    $got[] = json_decode($m['data'], true)['n'];
}
check($got === range(0, 49), '50 queued triggers arrived in order');
$client->flush();
echo "ok - flush(): all delivered\n";
// Plain http: this thread wrote them and read the answers; the library started none.
check(count(glob('/proc/self/task/*')) === 1, 'no thread was started (' . count(glob('/proc/self/task/*')) . ' in the process)');
// Refused arguments still throw at once.
expect_exception(E::INVALID_ARGUMENT, fn () => $client->trigger('bad name', 'e', []), 'a refused channel name, at once');
expect_exception(E::INVALID_ARGUMENT, fn () => $client->flush(-1), 'flush(-1)');

// Deliveries that fail: flush() throws the first, with how many failed; once.
$probe = stream_socket_server('tcp://127.0.0.1:0');
$deadPort = parse_url('tcp://' . stream_socket_get_name($probe, false), PHP_URL_PORT);
fclose($probe); // nothing listens there now
$dead = new Client(['port' => $deadPort, 'timeout' => 2] + $base);
$dead->trigger('orders', 'lost-1', []);
echo "ok - a queued trigger to a dead server returns\n";
$e = expect_exception(E::CONNECT, fn () => $dead->flush(), 'flush() throws the failure');
check($e && str_contains($e->getMessage(), (string) $deadPort), 'and says where it could not connect');
$dead->flush();
echo "ok - a failure is reported once\n";

// Without flush(), the next trigger throws it.
$dead->trigger('orders', 'lost-3', []);
$thrown = wait_for(function () use ($dead) {
    try {
        $dead->trigger('orders', 'more', []);
    } catch (Pushbus\Exception $e) {
        return $e;
    }
    return null;
});
check($thrown instanceof Pushbus\Exception && $thrown->getCode() === E::CONNECT, 'a later trigger() throws an earlier failure');
try {
    $dead->flush();
} catch (Pushbus\Exception $e) {
    // the triggers queued while waiting failed too
}

// A server that accepts but never answers: the client's timeout applies to each trigger.
$silent = stream_socket_server('tcp://127.0.0.1:0');
$silentPort = parse_url('tcp://' . stream_socket_get_name($silent, false), PHP_URL_PORT);
$slow = new Client(['port' => $silentPort, 'timeout' => 0.5] + $base);
$slow->trigger('orders', 'slow', []);
$e = expect_exception(E::TIMEOUT, fn () => $slow->flush(0), 'flush(0) while it is pending');
check($e && str_contains($e->getMessage(), '1 queued triggers are not answered'), 'says how many are pending');
expect_exception(E::TIMEOUT, fn () => $slow->flush(10), 'flush(10): its request timed out');
fclose($silent);

$ws->close();
$serve->stop();

// Not flushed when the request ends: reported then, as a warning.
(new Client(['port' => $deadPort] + $base))->trigger('orders', 'never-flushed', []);
echo "end of script\n";
?>
--EXPECTF--
ok - 50 queued triggers arrived in order
ok - flush(): all delivered
ok - no thread was started (1 in the process)
ok - a refused channel name, at once: Pushbus\Exception 4
ok - flush(-1): Pushbus\Exception 4
ok - a queued trigger to a dead server returns
ok - flush() throws the failure: Pushbus\Exception 200
ok - and says where it could not connect
ok - a failure is reported once
ok - a later trigger() throws an earlier failure
ok - flush(0) while it is pending: Pushbus\Exception 7
ok - says how many are pending
ok - flush(10): its request timed out: Pushbus\Exception 7
end of script

Warning: PHP Request Shutdown: Pushbus\Client: a queued trigger failed (code 200): connection failed: %s in Unknown on line 0
