<?php
/*
 * The cost of one broadcast from PHP: Pushbus\Client::trigger (the extension, its
 * connection kept open; queued, the default: the request is written by this thread
 * and its answer read later; back to back; and waiting for the server) next to
 * PHP's curl doing the same signed POST
 * /apps/{id}/events with a fresh handle per call, as Laravel's Pusher broadcaster
 * does per request (new TCP connection, request signed in PHP). Also shown: curl
 * with one handle reused (keep-alive), for reference.
 *
 *   php -d extension=pushbus.so trigger.php --port=PORT [--host=127.0.0.1]
 *       [--app-id=ID --key=KEY --secret=SECRET] [--iterations=5000] [--warmup=500]
 *
 * Each call is timed alone (hrtime); the report gives median, p99 and mean in µs.
 * bench/run.sh starts a release `pushbus serve` and runs this against it.
 */
$o = getopt('', ['host:', 'port:', 'app-id:', 'key:', 'secret:', 'iterations:', 'warmup:']);
$host = $o['host'] ?? '127.0.0.1';
$port = (int) ($o['port'] ?? 8080);
$appId = $o['app-id'] ?? 'bench';
$key = $o['key'] ?? 'bench-key';
$secret = $o['secret'] ?? 'bench-secret';
$n = (int) ($o['iterations'] ?? 5000);
$warmup = (int) ($o['warmup'] ?? 500);

$channel = 'private-client.7';
$event = 'invoice.created';
$payload = ['id' => 41, 'number' => 'INV-0041', 'total' => '1250.00', 'url' => 'https://portal.test/invoices/41'];

/**
 * Runs $f $warmup + $n times; the $n timings in µs, sorted. $after runs after each
 * call, untimed (for queued triggers: wait until it is delivered, so that each call is
 * timed as a request that broadcasts once pays it, not behind a backlog).
 */
function measure(callable $f, int $n, int $warmup, ?callable $after = null): array
{
    for ($i = 0; $i < $warmup; $i++) {
        $f($i);
        $after && $after();
    }
    $t = [];
    for ($i = 0; $i < $n; $i++) {
        $start = hrtime(true);
        $f($i);
        $t[] = (hrtime(true) - $start) / 1000;
        $after && $after();
    }
    sort($t);
    return $t;
}

function pct(array $sorted, float $p): float
{
    return $sorted[min(count($sorted) - 1, (int) floor($p * count($sorted)))];
}

/** The signed query string of the Pusher HTTP API, computed in PHP as the Pusher PHP SDK does. */
function signed_query(string $key, string $secret, string $path, string $body): string
{
    $params = ['auth_key' => $key, 'auth_timestamp' => time(), 'auth_version' => '1.0', 'body_md5' => md5($body)];
    ksort($params);
    $query = http_build_query($params, '', '&', PHP_QUERY_RFC3986);
    $params['auth_signature'] = hash_hmac('sha256', "POST\n$path\n" . urldecode($query), $secret);
    return http_build_query($params, '', '&', PHP_QUERY_RFC3986);
}

$path = "/apps/$appId/events";
$curlPost = function ($ch, int $i) use ($host, $port, $key, $secret, $path, $channel, $event, $payload) {
    $body = json_encode(['name' => $event, 'data' => json_encode($payload + ['i' => $i]), 'channels' => [$channel]]);
    curl_setopt_array($ch, [
        CURLOPT_URL => "http://$host:$port$path?" . signed_query($key, $secret, $path, $body),
        CURLOPT_POST => true,
        CURLOPT_POSTFIELDS => $body,
        CURLOPT_HTTPHEADER => ['Content-Type: application/json', 'X-Pusher-Library: pusher-http-php bench'],
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_TIMEOUT => 5,
    ]);
    $answer = curl_exec($ch);
    if (curl_getinfo($ch, CURLINFO_RESPONSE_CODE) !== 200) {
        throw new RuntimeException('curl: ' . curl_error($ch) . ' ' . $answer);
    }
};

$options = ['host' => $host, 'port' => $port, 'app_id' => $appId, 'key' => $key, 'secret' => $secret];
$client = new Pushbus\Client($options);
$waiting = new Pushbus\Client(['queued' => false, 'timeout' => 6] + $options); // another native client
$results = [];
// Queued (the default): checked, handed to the library's thread, sent in order on the
// kept-open connection; the caller does not wait for the server.
$results['Pushbus\Client::trigger (queued, the default)'] = measure(
    fn ($i) => $client->trigger($channel, $event, $payload + ['i' => $i]), $n, $warmup, fn () => $client->flush());
// A request that broadcasts many events (a notification to 100 users): each trigger
// after the first goes out while the server is awake with the previous ones.
$calls = 0;
$results['Pushbus\Client::trigger, 100 back to back (each)'] = measure(
    fn ($i) => $client->trigger($channel, $event, $payload + ['i' => $i]), $n, $warmup,
    function () use ($client, &$calls) {
        if (++$calls % 100 === 0) {
            $client->flush();
        }
    });
$results['Pushbus\Client::trigger (queued => false: waits)'] = measure(
    fn ($i) => $waiting->trigger($channel, $event, $payload + ['i' => $i]), $n, $warmup);
$results['curl, fresh handle per call (Laravel\'s Pusher path)'] = measure(function ($i) use ($curlPost) {
    $ch = curl_init();
    $curlPost($ch, $i);
    curl_close($ch);
}, $n, $warmup);
$shared = curl_init();
$results['curl, one handle reused (keep-alive), for reference'] = measure(fn ($i) => $curlPost($shared, $i), $n, $warmup);

printf("%d calls each after %d warm-up calls; PHP %s, libpushbus %s, curl %s\n", $n, $warmup, PHP_VERSION,
    Pushbus\version(), curl_version()['version']);
printf("%-52s %10s %10s %10s\n", 'one trigger of a ' . strlen(json_encode($payload)) . '-byte event', 'median µs', 'p99 µs', 'mean µs');
foreach ($results as $name => $t) {
    printf("%-52s %10.1f %10.1f %10.1f\n", $name, pct($t, 0.5), pct($t, 0.99), array_sum($t) / count($t));
}
$ext = pct($results['Pushbus\Client::trigger (queued, the default)'], 0.5);
$fresh = pct($results['curl, fresh handle per call (Laravel\'s Pusher path)'], 0.5);
printf("median: Pushbus\\Client::trigger is %.1fx faster than curl with a fresh handle\n", $fresh / $ext);
