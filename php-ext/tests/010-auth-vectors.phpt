--TEST--
Pushbus\Auth against every auth vector of tests/fixtures/vectors.json (same bytes as the official SDKs)
--EXTENSIONS--
pushbus
--FILE--
<?php
require __DIR__ . '/inc/helpers.php';

$fx = vectors();
['key' => $key, 'secret' => $secret] = $fx['credentials'];
// The master key of the encrypted vectors: bytes 0x00..0x1f (see their notes).
$masterKey = base64_encode(implode('', array_map('chr', range(0, 31))));
check($masterKey === 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=', 'master key of the vectors');

$counts = [];
$fail = function (array $v, string $why, $got) {
    echo "FAILED - {$v['kind']} {$v['id']}: $why: ", var_export($got, true), "\n";
};
foreach ($fx['vectors'] as $v) {
    $in = $v['input'] ?? [];
    switch ($v['kind']) {
        case 'channel_authorization':
            $encrypted = str_starts_with($in['channel_name'], 'private-encrypted-');
            $body = Pushbus\Auth::authorizeChannel($key, $secret, $in['socket_id'], $in['channel_name'],
                $in['channel_data'] ?? null, $encrypted ? $masterKey : null);
            // The answer Echo gets: the same object, and the very bytes the PHP SDK
            // returns (its key order: auth, channel_data, shared_secret).
            $expected = array_filter(array_merge(['auth' => null, 'channel_data' => null, 'shared_secret' => null], $v['expected_response']));
            if (json_decode($body, true) != $v['expected_response']) {
                $fail($v, 'answer', $body);
            } elseif ($body !== json_encode($expected)) {
                $fail($v, 'bytes', $body);
            }
            if ($encrypted && Pushbus\Auth::sharedSecret($in['channel_name'], $masterKey) !== $v['expected_response']['shared_secret']) {
                $fail($v, 'sharedSecret', null);
            }
            break;
        case 'user_authentication':
            $body = Pushbus\Auth::authenticateUser($key, $secret, $in['socket_id'], $in['user_data']);
            if (json_decode($body, true) !== $v['expected_response'] || $body !== json_encode($v['expected_response'])) {
                $fail($v, 'answer', $body);
            }
            break;
        case 'webhook_signature':
            $h = $v['expected_headers'];
            if (Pushbus\Auth::verifyWebhook($key, $secret, $h['X-Pusher-Key'], $h['X-Pusher-Signature'], $in['body']) !== true) {
                $fail($v, 'genuine webhook refused', false);
            }
            if (Pushbus\Auth::verifyWebhook($key, $secret, $h['X-Pusher-Key'], $h['X-Pusher-Signature'], $in['body'] . ' ') !== false) {
                $fail($v, 'tampered body accepted', true);
            }
            if (Pushbus\Auth::verifyWebhook($key, $secret, 'another-key', $h['X-Pusher-Signature'], $in['body']) !== false) {
                $fail($v, 'wrong key accepted', true);
            }
            break;
        case 'rest_request_signature':
            // Every parameter but the signature goes in; the library sets auth_* and
            // body_md5 itself, and must agree with the vector's values.
            $q = $in['query_without_signature'];
            $query = Pushbus\Auth::signRequest($key, $secret, $in['method'], $in['path'], $q, $in['body'], (int) $q['auth_timestamp']);
            parse_str($query, $params);
            if (($params['auth_signature'] ?? null) !== $v['expected']['auth_signature']) {
                $fail($v, 'auth_signature', $query);
            }
            if (!str_ends_with($query, '&auth_signature=' . $v['expected']['auth_signature'])) {
                $fail($v, 'auth_signature last', $query);
            }
            break;
        case 'encrypted_event_data':
            $data = Pushbus\Auth::encryptData($in['channel'], $in['encryption_master_key_base64'], $in['plaintext'], hex2bin($in['nonce_hex']));
            if ($data !== $v['expected_data_field']) {
                $fail($v, 'data', $data);
            }
            // A real publish gets a fresh nonce each time.
            $a = json_decode(Pushbus\Auth::encryptData($in['channel'], $in['encryption_master_key_base64'], $in['plaintext']), true);
            $b = json_decode(Pushbus\Auth::encryptData($in['channel'], $in['encryption_master_key_base64'], $in['plaintext']), true);
            if ($a['nonce'] === $b['nonce'] || strlen(base64_decode($a['nonce'])) !== 24) {
                $fail($v, 'random nonces', [$a, $b]);
            }
            break;
        default:
            continue 2; // not a signature vector (name validation, Echo mapping, wire frames)
    }
    $counts[$v['kind']] = ($counts[$v['kind']] ?? 0) + 1;
}
ksort($counts);
foreach ($counts as $kind => $n) {
    echo "$kind: $n vectors\n";
}

// Socket ids: the vectors' acceptance rules (two integers joined by a dot).
foreach ($fx['vectors'] as $v) {
    if ($v['kind'] !== 'validation') {
        continue;
    }
    foreach ($v['socket_ids'] ?? [] as $sid => $accepted) {
        $ok = is_array($accepted) ? ($accepted['php'] ?? $accepted['node'] ?? null) : $accepted;
        if ($ok === null) {
            continue;
        }
        try {
            Pushbus\Auth::authorizeChannel($key, $secret, (string) $sid, 'private-a');
            $got = true;
        } catch (Pushbus\Exception $e) {
            $got = $e->getCode() === Pushbus\Exception::INVALID_SOCKET_ID ? false : $e->getCode();
        }
        if ($got !== $ok) {
            echo "FAILED - socket id ", json_encode($sid), ': ', var_export($got, true), "\n";
        }
    }
}
echo "done\n";
?>
--EXPECT--
ok - master key of the vectors
channel_authorization: 9 vectors
encrypted_event_data: 1 vectors
rest_request_signature: 11 vectors
user_authentication: 3 vectors
webhook_signature: 2 vectors
done
