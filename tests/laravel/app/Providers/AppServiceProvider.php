<?php

namespace App\Providers;

use Illuminate\Support\Facades\Broadcast;
use Illuminate\Support\ServiceProvider;

class AppServiceProvider extends ServiceProvider
{
    public function boot()
    {
        // What a package or an app does when it configures broadcasting at boot (a
        // broadcaster macro, a health check): it resolves the default connection before
        // PushbusServiceProvider, listed after this one in config/app.php, has booted.
        Broadcast::connection();
    }
}
