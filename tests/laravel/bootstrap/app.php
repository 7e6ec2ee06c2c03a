<?php

require_once __DIR__.'/autoload.php';

$app = new Illuminate\Foundation\Application(dirname(__DIR__));

// Writable state (caches, logs, the SQLite database) lives outside the source tree
// when PUSHBUS_LARAVEL_STORAGE says where (the test runner sets it).
if ($storage = getenv('PUSHBUS_LARAVEL_STORAGE')) {
    $app->useStoragePath($storage);
}

$app->singleton(Illuminate\Contracts\Http\Kernel::class, App\Http\Kernel::class);
$app->singleton(Illuminate\Contracts\Console\Kernel::class, App\Console\Kernel::class);
$app->singleton(Illuminate\Contracts\Debug\ExceptionHandler::class, App\Exceptions\Handler::class);

return $app;
