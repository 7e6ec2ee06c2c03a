<?php
// PHPUnit bootstrap: Debian's Laravel (php-laravel-framework), the package's classes,
// and the phpt helpers (the Pusher-protocol WebSocket client).
require_once 'Illuminate/autoload.php';
require_once __DIR__.'/../../tests/inc/helpers.php';

spl_autoload_register(function (string $class) {
    if (str_starts_with($class, 'Pushbus\\Laravel\\')) {
        $file = __DIR__.'/../src/'.str_replace('\\', '/', substr($class, strlen('Pushbus\\Laravel\\'))).'.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
