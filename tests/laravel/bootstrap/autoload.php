<?php
// No Composer: the framework comes from Debian's php-laravel-framework package
// (/usr/share/php, on the include path), the app and the pushbus Laravel package
// from this repository.
require_once 'Illuminate/autoload.php';

spl_autoload_register(function (string $class) {
    static $roots = null;
    $roots ??= [
        'App\\' => __DIR__.'/../app/',
        'Database\\Seeders\\' => __DIR__.'/../database/seeders/',
        'Pushbus\\Laravel\\' => __DIR__.'/../../../php-ext/laravel/src/',
    ];
    foreach ($roots as $prefix => $dir) {
        if (str_starts_with($class, $prefix)) {
            $file = $dir.str_replace('\\', '/', substr($class, strlen($prefix))).'.php';
            if (is_file($file)) {
                require $file;
            }

            return;
        }
    }
});
