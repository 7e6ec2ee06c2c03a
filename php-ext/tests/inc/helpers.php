<?php
/*
 * Shared by the phpt tests: the repository paths, a `pushbus serve` child process,
 * a minimal WebSocket client speaking the Pusher protocol (what pusher-js sends),
 * and a fake HTTP server child. Every wait has a deadline.
 */

const KEY = '278d425bdf160c739803';
const SECRET = '7ad3773142a6692b25b8';
const APP_ID = '3';
/** How long any single expectation may wait (generous: valgrind is slow). */
const WAIT_MS = 30000;

function repo_root(): string
{
    return getenv('PUSHBUS_ROOT') ?: dirname(__DIR__, 3);
}

function vectors(): array
{
    return json_decode(file_get_contents(repo_root() . '/tests/fixtures/vectors.json'), true, 512, JSON_THROW_ON_ERROR);
}

function check(bool $ok, string $what): void
{
    echo ($ok ? 'ok' : 'FAILED'), ' - ', $what, "\n";
}

function expect_exception(int $code, callable $f, string $what): ?Pushbus\Exception
{
    try {
        $f();
    } catch (Pushbus\Exception $e) {
        $ok = $e->getCode() === $code && $e->getMessage() !== '';
        echo $ok ? 'ok' : 'FAILED', " - $what: Pushbus\\Exception ", $e->getCode(),
            $ok ? '' : ' (' . $e->getMessage() . ')', "\n";
        return $e;
    } catch (Throwable $e) {
        echo "FAILED - $what: ", get_class($e), ': ', $e->getMessage(), "\n";
        return null;
    }
    echo "FAILED - $what: no exception\n";
    return null;
}

function now_ms(): float
{
    return hrtime(true) / 1e6;
}

/** A running `pushbus serve` with a JSON config. */
final class Serve
{
    public int $port;
    private $proc;
    private array $pipes = [];
    private string $dir;
    /** Only the process that started it stops it (not a forked child of the test). */
    private int $owner;

    public function __construct(array $config)
    {
        $this->owner = getmypid();
        $bin = getenv('PUSHBUS_BIN') ?: repo_root() . '/target/debug/pushbus';
        $this->dir = sys_get_temp_dir() . '/pushbus-phpt-' . getmypid() . '-' . bin2hex(random_bytes(4));
        mkdir($this->dir);
        file_put_contents("$this->dir/config.json", json_encode($config + ['host' => '127.0.0.1', 'port' => 0]));
        // No REVERB_*/PUSHBUS_* from the caller's environment, no .env (runs in its own dir).
        $env = array_filter(getenv(), fn ($k) => !str_starts_with($k, 'REVERB_') && !str_starts_with($k, 'PUSHBUS_'), ARRAY_FILTER_USE_KEY);
        $this->proc = proc_open([$bin, 'serve', '--config', "$this->dir/config.json"],
            [0 => ['pipe', 'r'], 1 => ['pipe', 'w'], 2 => ['file', "$this->dir/stderr.log", 'w']],
            $this->pipes, $this->dir, $env);
        if (!is_resource($this->proc)) {
            throw new RuntimeException("cannot start $bin");
        }
        $line = read_line_matching($this->pipes[1], '/listening on http:\/\/[\d.]+:(\d+)/', WAIT_MS);
        if ($line === null) {
            $stderr = @file_get_contents("$this->dir/stderr.log");
            $this->stop(); // (no destructor runs when the constructor throws)
            throw new RuntimeException("pushbus serve did not start: $stderr");
        }
        $this->port = (int) $line[1];
    }

    public function stop(): void
    {
        if (!$this->proc || getmypid() !== $this->owner) {
            return;
        }
        proc_terminate($this->proc, SIGTERM);
        $deadline = now_ms() + WAIT_MS;
        while (proc_get_status($this->proc)['running'] && now_ms() < $deadline) {
            usleep(10000); // polling the exit status, bounded by the deadline
        }
        if (proc_get_status($this->proc)['running']) {
            proc_terminate($this->proc, SIGKILL);
        }
        foreach ($this->pipes as $p) {
            fclose($p);
        }
        proc_close($this->proc);
        $this->proc = null;
        array_map('unlink', glob("$this->dir/*"));
        rmdir($this->dir);
    }

    public function __destruct()
    {
        $this->stop();
    }
}

/** Reads lines from $stream until one matches $regex; its matches, or null at the deadline. */
function read_line_matching($stream, string $regex, int $timeoutMs): ?array
{
    $deadline = now_ms() + $timeoutMs;
    $buf = '';
    while (now_ms() < $deadline) {
        while (($nl = strpos($buf, "\n")) !== false) {
            $line = substr($buf, 0, $nl);
            $buf = substr($buf, $nl + 1);
            if (preg_match($regex, $line, $m)) {
                return $m;
            }
        }
        $r = [$stream];
        $w = $e = null;
        $left = max(1, (int) ($deadline - now_ms()));
        if (@stream_select($r, $w, $e, intdiv($left, 1000), ($left % 1000) * 1000) < 1) {
            continue;
        }
        $chunk = fread($stream, 8192);
        if ($chunk === '' || $chunk === false) {
            return null; // end of output
        }
        $buf .= $chunk;
    }
    return null;
}

/**
 * A WebSocket client of the Pusher protocol: what pusher-js does on the wire, enough
 * to subscribe, whisper and watch events.
 */
final class Ws
{
    public string $socketId;
    public ?int $closeCode = null;
    private $sock;
    private string $buf = '';

    public function __construct(int $port, string $key = KEY)
    {
        $this->sock = stream_socket_client("tcp://127.0.0.1:$port", $errno, $err, WAIT_MS / 1000);
        if (!$this->sock) {
            throw new RuntimeException("connect: $err");
        }
        stream_set_blocking($this->sock, false);
        $wsKey = base64_encode(random_bytes(16));
        $this->write("GET /app/$key?protocol=7&client=php-test&version=8.6.0 HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n"
            . "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: $wsKey\r\nSec-WebSocket-Version: 13\r\n\r\n");
        $deadline = now_ms() + WAIT_MS;
        while (($end = strpos($this->buf, "\r\n\r\n")) === false) {
            if (!$this->fill($deadline)) {
                throw new RuntimeException('no handshake answer');
            }
        }
        $head = substr($this->buf, 0, $end);
        $this->buf = substr($this->buf, $end + 4);
        if (!str_starts_with($head, 'HTTP/1.1 101')) {
            throw new RuntimeException("handshake refused: $head");
        }
        $est = $this->expect('pusher:connection_established');
        $this->socketId = json_decode($est['data'], true)['socket_id'];
    }

    public function send(array $message): void
    {
        $payload = json_encode($message);
        $len = strlen($payload);
        $head = "\x81";
        if ($len < 126) {
            $head .= chr(0x80 | $len);
        } elseif ($len < 65536) {
            $head .= chr(0x80 | 126) . pack('n', $len);
        } else {
            $head .= chr(0x80 | 127) . pack('J', $len);
        }
        $mask = random_bytes(4);
        $masked = '';
        for ($i = 0; $i < $len; $i++) {
            $masked .= $payload[$i] ^ $mask[$i % 4];
        }
        $this->write($head . $mask . $masked);
    }

    public function subscribe(string $channel, ?string $auth = null, ?string $channelData = null): array
    {
        $data = ['channel' => $channel];
        if ($auth !== null) {
            $data['auth'] = $auth;
        }
        if ($channelData !== null) {
            $data['channel_data'] = $channelData;
        }
        $this->send(['event' => 'pusher:subscribe', 'data' => $data]);
        return $this->expect(fn ($m) => in_array($m['event'], ['pusher_internal:subscription_succeeded', 'pusher:subscription_error', 'pusher:error'], true)
            && ($m['channel'] ?? $channel) === $channel);
    }

    /**
     * The next message matching $match (an event name or a predicate), skipping the
     * others; null at the deadline or when the connection closes.
     */
    public function expect(string|callable $match, int $timeoutMs = WAIT_MS): ?array
    {
        $deadline = now_ms() + $timeoutMs;
        while (true) {
            $m = $this->next($deadline);
            if ($m === null) {
                return null;
            }
            if (is_string($match) ? $m['event'] === $match : $match($m)) {
                return $m;
            }
        }
    }

    /**
     * Every message up to the first $event (excluded): to check that something did
     * NOT arrive, publish a marker after it and look at what came before the marker.
     * Null at the deadline.
     */
    public function until(string $event, int $timeoutMs = WAIT_MS): ?array
    {
        $seen = [];
        $deadline = now_ms() + $timeoutMs;
        while (($m = $this->next($deadline)) !== null) {
            if ($m['event'] === $event) {
                return $seen;
            }
            $seen[] = $m;
        }
        return null;
    }

    /** Waits for the server to close the connection; its close code, or null. */
    public function waitClose(int $timeoutMs = WAIT_MS): ?int
    {
        $deadline = now_ms() + $timeoutMs;
        while ($this->closeCode === null && $this->next($deadline) !== null) {
        }
        return $this->closeCode;
    }

    public function close(): void
    {
        if ($this->sock) {
            fclose($this->sock);
            $this->sock = null;
        }
    }

    /** One decoded Pusher message, answering pings; null at the deadline or on close. */
    private function next(float $deadline): ?array
    {
        while ($this->closeCode === null) {
            $frame = $this->frame();
            if ($frame === null) {
                if (!$this->fill($deadline)) {
                    return null;
                }
                continue;
            }
            [$op, $payload] = $frame;
            if ($op === 0x1) {
                $m = json_decode($payload, true);
                if ($m['event'] === 'pusher:ping') {
                    $this->send(['event' => 'pusher:pong', 'data' => []]);
                    continue;
                }
                return $m;
            }
            if ($op === 0x8) {
                $this->closeCode = strlen($payload) >= 2 ? unpack('n', $payload)[1] : 1005;
                return null;
            }
            if ($op === 0x9) { // ping: pong with the same payload
                $this->write("\x8A" . chr(0x80 | strlen($payload)) . "\0\0\0\0" . $payload);
            }
        }
        return null;
    }

    /** One complete frame from the buffer: [opcode, payload], or null. */
    private function frame(): ?array
    {
        if (strlen($this->buf) < 2) {
            return null;
        }
        $op = ord($this->buf[0]) & 0x0f;
        $len = ord($this->buf[1]) & 0x7f;
        $off = 2;
        if ($len === 126) {
            if (strlen($this->buf) < 4) {
                return null;
            }
            $len = unpack('n', substr($this->buf, 2, 2))[1];
            $off = 4;
        } elseif ($len === 127) {
            if (strlen($this->buf) < 10) {
                return null;
            }
            $len = unpack('J', substr($this->buf, 2, 8))[1];
            $off = 10;
        }
        if (strlen($this->buf) < $off + $len) {
            return null;
        }
        $payload = substr($this->buf, $off, $len);
        $this->buf = substr($this->buf, $off + $len);
        return [$op, $payload];
    }

    private function fill(float $deadline): bool
    {
        $left = $deadline - now_ms();
        if ($left <= 0 || !$this->sock) {
            return false;
        }
        $r = [$this->sock];
        $w = $e = null;
        $left = (int) ceil($left);
        if (@stream_select($r, $w, $e, intdiv($left, 1000), ($left % 1000) * 1000) < 1) {
            return now_ms() < $deadline;
        }
        $chunk = fread($this->sock, 65536);
        if ($chunk === '' || $chunk === false) {
            if (feof($this->sock)) {
                $this->closeCode ??= 1006;
                return false;
            }
            return true;
        }
        $this->buf .= $chunk;
        return true;
    }

    private function write(string $bytes): void
    {
        $deadline = now_ms() + WAIT_MS;
        while ($bytes !== '' && now_ms() < $deadline) {
            $n = @fwrite($this->sock, $bytes);
            if ($n === false) {
                throw new RuntimeException('write failed');
            }
            $bytes = substr($bytes, $n);
            if ($bytes !== '') {
                $r = null;
                $w = [$this->sock];
                $e = null;
                stream_select($r, $w, $e, 1);
            }
        }
    }
}

/** Waits until $poll() returns a non-null value; that value, or null at the deadline. */
function wait_for(callable $poll, int $timeoutMs = WAIT_MS)
{
    $deadline = now_ms() + $timeoutMs;
    do {
        $v = $poll();
        if ($v !== null && $v !== false) {
            return $v;
        }
        usleep(5000); // between polls of a condition, bounded by the deadline
    } while (now_ms() < $deadline);
    return null;
}

/**
 * The local ports of this process's established TCP connections to 127.0.0.1:$port
 * (from /proc/net/tcp and the process's socket inodes).
 */
function connections_to(int $port): array
{
    $inodes = [];
    foreach (glob('/proc/self/fd/*') as $fd) {
        $target = @readlink($fd);
        if ($target && preg_match('/^socket:\[(\d+)\]$/', $target, $m)) {
            $inodes[$m[1]] = true;
        }
    }
    $ports = [];
    foreach (array_slice(file('/proc/net/tcp'), 1) as $line) {
        $f = preg_split('/\s+/', trim($line));
        [, $lport] = explode(':', $f[1]);
        [$raddr, $rport] = explode(':', $f[2]);
        if ($f[3] === '01' && $raddr === '0100007F' && hexdec($rport) === $port && isset($inodes[$f[9]])) {
            $ports[] = hexdec($lport);
        }
    }
    sort($ports);
    return $ports;
}
