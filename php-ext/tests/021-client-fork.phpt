--TEST--
Pushbus\Client after fork(): the child transparently makes its own native client (the PHP-FPM pattern); the parent keeps its connection
--EXTENSIONS--
pushbus
pcntl
--FILE--
<?php
require __DIR__ . '/inc/helpers.php';
use Pushbus\Client;

$serve = new Serve(['apps' => [['id' => APP_ID, 'key' => KEY, 'secret' => SECRET]]]);
$opts = ['port' => $serve->port, 'app_id' => APP_ID, 'key' => KEY, 'secret' => SECRET];
$ws = new Ws($serve->port);
$ws->subscribe('orders');

// The parent uses the library first: its runtime threads run, its connection is open.
$client = new Client($opts);
$client->trigger('orders', 'from-parent', ['n' => 1]);
check($ws->expect('from-parent') !== null, 'the parent triggers');
$parentConn = connections_to($serve->port);

$pid = pcntl_fork();
if ($pid === 0) {
    // The child: the same object (made before the fork), and a new one with the same
    // options (the shared native client), both work.
    $ok = true;
    try {
        $client->trigger('orders', 'from-child', ['pid' => getmypid()]);
        (new Client($opts))->trigger('orders', 'from-child-new', ['pid' => getmypid()]);
        $ok = $client->channel('orders')['occupied'] === true;
    } catch (Throwable $e) {
        fwrite(STDERR, "child: $e\n");
        $ok = false;
    }
    exit($ok ? 0 : 1);
}
check($pid > 0, 'forked');
$status = wait_for(function () use ($pid) {
    $r = pcntl_waitpid($pid, $status, WNOHANG);
    return $r === $pid ? $status : null;
});
check($status !== null && pcntl_wifexited($status) && pcntl_wexitstatus($status) === 0, 'the child succeeded');
$m = $ws->expect('from-child');
check($m && json_decode($m['data'], true)['pid'] === $pid, 'the child\'s event arrived, from the child');
check($ws->expect('from-child-new') !== null, 'a Client made in the child works too');

$client->trigger('orders', 'parent-again', []);
check($ws->expect('parent-again') !== null, 'the parent keeps working after the fork');
check(array_diff($parentConn, connections_to($serve->port)) === [], 'on its own connection, still open');
$ws->close();
$serve->stop();
?>
--EXPECT--
ok - the parent triggers
ok - forked
ok - the child succeeded
ok - the child's event arrived, from the child
ok - a Client made in the child works too
ok - the parent keeps working after the fork
ok - on its own connection, still open
