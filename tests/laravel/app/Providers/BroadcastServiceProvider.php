<?php

namespace App\Providers;

use Illuminate\Support\Facades\Broadcast;
use Illuminate\Support\ServiceProvider;

class BroadcastServiceProvider extends ServiceProvider
{
    public function boot()
    {
        // A token-authenticated client portal (an SPA or a mobile app): the auth
        // endpoint takes the same bearer token as the API. A session-based app keeps
        // the default Broadcast::routes() (web middleware, CSRF token).
        Broadcast::routes(['middleware' => ['api', 'auth:api']]);

        require base_path('routes/channels.php');
    }
}
