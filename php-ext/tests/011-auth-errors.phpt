--TEST--
Pushbus\Auth: every refusal throws Pushbus\Exception with the library's code and message
--EXTENSIONS--
pushbus
--FILE--
<?php
require __DIR__ . '/inc/helpers.php';
use Pushbus\Auth;
use Pushbus\Exception as E;

$mk = base64_encode(str_repeat("\x07", 32));
expect_exception(E::INVALID_SOCKET_ID, fn () => Auth::authorizeChannel(KEY, SECRET, '1234', 'private-a'), 'socket id without a dot');
expect_exception(E::INVALID_CHANNEL, fn () => Auth::authorizeChannel(KEY, SECRET, '1.1', 'bad name'), 'channel name with a space');
expect_exception(E::INVALID_CHANNEL, fn () => Auth::authorizeChannel(KEY, SECRET, '1.1', 'orders'), 'a public channel needs no signature');
expect_exception(E::INVALID_ARGUMENT, fn () => Auth::authorizeChannel(KEY, SECRET, '1.1', 'presence-a'), 'presence without channel_data');
expect_exception(E::INVALID_ARGUMENT, fn () => Auth::authorizeChannel(KEY, SECRET, '1.1', 'private-a', '{"user_id":"1"}'), 'channel_data on a private channel');
expect_exception(E::INVALID_ARGUMENT, fn () => Auth::authorizeChannel('', SECRET, '1.1', 'private-a'), 'empty key');
expect_exception(E::INVALID_ARGUMENT, fn () => Auth::authorizeChannel(KEY, '', '1.1', 'private-a'), 'empty secret');
expect_exception(E::INVALID_UTF8, fn () => Auth::authorizeChannel(KEY, SECRET, '1.1', "private-\xff"), 'channel not UTF-8');
expect_exception(E::INVALID_ARGUMENT, fn () => Auth::authorizeChannel(KEY, SECRET, '1.1', 'private-encrypted-a'), 'encrypted channel without master key');
expect_exception(E::INVALID_ARGUMENT, fn () => Auth::authorizeChannel(KEY, SECRET, '1.1', 'private-encrypted-a', null, base64_encode('short')), 'master key of 5 bytes');
expect_exception(E::INVALID_ARGUMENT, fn () => Auth::authorizeChannel(KEY, SECRET, '1.1', 'private-encrypted-a', null, '%%%not base64'), 'master key not base64');
check(json_decode(Auth::authorizeChannel(KEY, SECRET, '1.1', 'private-encrypted-a', null, $mk), true)['shared_secret'] === Auth::sharedSecret('private-encrypted-a', $mk), 'encrypted channel with master key');

expect_exception(E::INVALID_SOCKET_ID, fn () => Auth::authenticateUser(KEY, SECRET, 'x', '{"id":"1"}'), 'user auth: bad socket id');
expect_exception(E::INVALID_ARGUMENT, fn () => Auth::authenticateUser(KEY, '', '1.1', '{"id":"1"}'), 'user auth: empty secret');
$e = expect_exception(E::INVALID_ARGUMENT, fn () => Auth::authenticateUser(KEY, SECRET, '1.1', ['id' => "\xff"]), 'user auth: data that json_encode refuses');
check($e && $e->getPrevious() instanceof JsonException, 'the JsonException is kept as previous');
check(json_decode(Auth::authenticateUser(KEY, SECRET, '1.1', ['id' => '1', 'user_info' => ['name' => 'Zoë']]), true)['user_data'] === json_encode(['id' => '1', 'user_info' => ['name' => 'Zoë']]), 'user auth: array user data is json_encode()d');

expect_exception(E::INVALID_ARGUMENT, fn () => Auth::verifyWebhook('', SECRET, KEY, 'ab', '{}'), 'webhook: empty key');
expect_exception(E::INVALID_UTF8, fn () => Auth::verifyWebhook(KEY, SECRET, "\xff", 'ab', '{}'), 'webhook: header not UTF-8');
check(Auth::verifyWebhook(KEY, SECRET, KEY, 'not-hex', '{}') === false, 'webhook: a malformed signature is just false');

expect_exception(E::INVALID_CHANNEL, fn () => Auth::sharedSecret('private-a', $mk), 'shared secret of a non-encrypted channel');
expect_exception(E::INVALID_ARGUMENT, fn () => Auth::sharedSecret('private-encrypted-a', ''), 'shared secret with an empty key');
expect_exception(E::INVALID_ARGUMENT, fn () => Auth::encryptData('private-encrypted-a', $mk, '{}', 'short'), 'nonce of 5 bytes');
expect_exception(E::INVALID_CHANNEL, fn () => Auth::encryptData('orders', $mk, '{}'), 'encrypting for a public channel');

expect_exception(E::INVALID_ARGUMENT, fn () => Auth::signRequest(KEY, SECRET, 'POST', 'apps/3/events'), 'sign: path without /');
expect_exception(E::INVALID_ARGUMENT, fn () => Auth::signRequest(KEY, SECRET, '', '/apps/3/events'), 'sign: empty method');
expect_exception(E::INVALID_ARGUMENT, fn () => Auth::signRequest(KEY, SECRET, 'GET', '/apps/3/channels', [], '', -1), 'sign: negative timestamp');
expect_exception(E::INVALID_ARGUMENT, fn () => Auth::signRequest(KEY, SECRET, 'GET', '/apps/3/channels', ['info' => ['a']]), 'sign: array query value');
$q = Auth::signRequest(KEY, SECRET, 'GET', '/apps/3/channels', ['filter_by_prefix' => 'presence-', 'info' => 'user_count']);
parse_str($q, $p);
check(abs($p['auth_timestamp'] - time()) < 60 && $p['info'] === 'user_count' && strlen($p['auth_signature']) === 64, 'sign: timestamp 0 is now');

// Wrong PHP types are PHP's TypeError, as for any function.
try {
    Auth::authorizeChannel(KEY, SECRET, '1.1', ['private-a']);
} catch (TypeError $e) {
    echo "ok - TypeError for an array channel\n";
}
?>
--EXPECT--
ok - socket id without a dot: Pushbus\Exception 109
ok - channel name with a space: Pushbus\Exception 103
ok - a public channel needs no signature: Pushbus\Exception 103
ok - presence without channel_data: Pushbus\Exception 4
ok - channel_data on a private channel: Pushbus\Exception 4
ok - empty key: Pushbus\Exception 4
ok - empty secret: Pushbus\Exception 4
ok - channel not UTF-8: Pushbus\Exception 3
ok - encrypted channel without master key: Pushbus\Exception 4
ok - master key of 5 bytes: Pushbus\Exception 4
ok - master key not base64: Pushbus\Exception 4
ok - encrypted channel with master key
ok - user auth: bad socket id: Pushbus\Exception 109
ok - user auth: empty secret: Pushbus\Exception 4
ok - user auth: data that json_encode refuses: Pushbus\Exception 4
ok - the JsonException is kept as previous
ok - user auth: array user data is json_encode()d
ok - webhook: empty key: Pushbus\Exception 4
ok - webhook: header not UTF-8: Pushbus\Exception 3
ok - webhook: a malformed signature is just false
ok - shared secret of a non-encrypted channel: Pushbus\Exception 103
ok - shared secret with an empty key: Pushbus\Exception 4
ok - nonce of 5 bytes: Pushbus\Exception 4
ok - encrypting for a public channel: Pushbus\Exception 103
ok - sign: path without /: Pushbus\Exception 4
ok - sign: empty method: Pushbus\Exception 4
ok - sign: negative timestamp: Pushbus\Exception 4
ok - sign: array query value: Pushbus\Exception 4
ok - sign: timestamp 0 is now
ok - TypeError for an array channel
