--TEST--
The extension loads without starting any thread; classes, constants and version
--EXTENSIONS--
pushbus
--FILE--
<?php
require __DIR__ . '/inc/helpers.php';

check(extension_loaded('pushbus'), 'extension loaded');
check(preg_match('/^\d+\.\d+\.\d+/', Pushbus\version()) === 1, 'Pushbus\version() ' . Pushbus\version());
foreach (['Pushbus\Auth', 'Pushbus\Client', 'Pushbus\Server'] as $class) {
    check((new ReflectionClass($class))->isFinal(), "$class is final");
}
check(is_subclass_of('Pushbus\Exception', 'RuntimeException'), 'Pushbus\Exception extends RuntimeException');
// The library's stable result numbers.
$codes = (new ReflectionClass('Pushbus\Exception'))->getConstants();
check($codes['INVALID_ARGUMENT'] === 4 && $codes['FORKED'] === 6 && $codes['INVALID_CHANNEL'] === 103
    && $codes['CONNECT'] === 200 && $codes['HTTP_STATUS'] === 201 && count($codes) === 27, 'result codes as constants');
// Loading the library starts no thread (PHP-FPM forks after module init).
$threads = (int) preg_replace('/\D/', '', current(preg_grep('/^Threads:/', file('/proc/self/status'))));
check($threads === 1, "one thread after loading ($threads)");
// Pure functions start none either.
Pushbus\Auth::authorizeChannel(KEY, SECRET, '1.1', 'private-a');
$threads = (int) preg_replace('/\D/', '', current(preg_grep('/^Threads:/', file('/proc/self/status'))));
check($threads === 1, "one thread after signing ($threads)");
$objects = [
    new Pushbus\Client(['app_id' => APP_ID, 'key' => KEY, 'secret' => SECRET]),
    new Pushbus\Server(['apps' => [['id' => APP_ID, 'key' => KEY, 'secret' => SECRET]]]),
];
foreach ($objects as $o) {
    try {
        serialize($o);
        echo 'FAILED - ', get_class($o), " serialized\n";
    } catch (Exception $e) {
        echo 'ok - ', get_class($o), ' is not serializable: ', $e->getMessage(), "\n";
    }
    try {
        clone $o;
    } catch (Error $e) {
        echo 'ok - ', get_class($o), ' cannot be cloned', "\n";
    }
}
$threads = (int) preg_replace('/\D/', '', current(preg_grep('/^Threads:/', file('/proc/self/status'))));
check($threads === 1, "making a Client and a Server starts no thread ($threads)");
?>
--EXPECT--
ok - extension loaded
ok - Pushbus\version() 0.1.0
ok - Pushbus\Auth is final
ok - Pushbus\Client is final
ok - Pushbus\Server is final
ok - Pushbus\Exception extends RuntimeException
ok - result codes as constants
ok - one thread after loading (1)
ok - one thread after signing (1)
ok - Pushbus\Client is not serializable: Serialization of 'Pushbus\Client' is not allowed
ok - Pushbus\Client cannot be cloned
ok - Pushbus\Server is not serializable: Serialization of 'Pushbus\Server' is not allowed
ok - Pushbus\Server cannot be cloned
ok - making a Client and a Server starts no thread (1)
