<?php
// A fake HTTP API for the client's error tests: answers every request with 200 and
// a body that is not JSON. Prints its port, serves until stdin closes.
$server = stream_socket_server('tcp://127.0.0.1:0', $errno, $err);
echo parse_url('tcp://' . stream_socket_get_name($server, false), PHP_URL_PORT), "\n";
$clients = [];
$bufs = [];
while (true) {
    $r = array_merge([$server, STDIN], $clients);
    $w = $e = null;
    if (stream_select($r, $w, $e, null) < 1) {
        continue;
    }
    foreach ($r as $s) {
        if ($s === STDIN) {
            if (fread(STDIN, 1) === '' && feof(STDIN)) {
                exit(0);
            }
        } elseif ($s === $server) {
            $c = stream_socket_accept($server);
            $clients[(int) $c] = $c;
            $bufs[(int) $c] = '';
        } else {
            $chunk = fread($s, 65536);
            if ($chunk === '' || $chunk === false) {
                fclose($s);
                unset($clients[(int) $s], $bufs[(int) $s]);
                continue;
            }
            $bufs[(int) $s] .= $chunk;
            while (($end = strpos($bufs[(int) $s], "\r\n\r\n")) !== false) {
                $head = substr($bufs[(int) $s], 0, $end);
                $len = preg_match('/content-length:\s*(\d+)/i', $head, $m) ? (int) $m[1] : 0;
                if (strlen($bufs[(int) $s]) < $end + 4 + $len) {
                    break;
                }
                $bufs[(int) $s] = substr($bufs[(int) $s], $end + 4 + $len);
                fwrite($s, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\nnot json");
            }
        }
    }
}
