<?php

namespace Pushbus\Laravel;

use Illuminate\Broadcasting\BroadcastManager;
use Illuminate\Support\ServiceProvider;
use Pushbus\Laravel\Console\StartCommand;

/**
 * Registers the `pushbus` broadcast driver and the `pushbus:start` command.
 *
 * Serving HTTP, broadcasts are deferred: broadcast() returns once the events are
 * queued, and the answers are awaited after the response is sent (failures are
 * reported to the exception handler). In the console (queue workers, artisan
 * commands), broadcast() waits and throws BroadcastException, so that a failed
 * broadcast job is retried. `'deferred' => false` in the connection config makes
 * every broadcast wait.
 */
class PushbusServiceProvider extends ServiceProvider
{
    public function boot()
    {
        $this->app->make(BroadcastManager::class)->extend('pushbus', function ($app, array $config) {
            $broadcaster = new PushbusBroadcaster($config);
            if (($config['deferred'] ?? true) && ! $app->runningInConsole()) {
                $broadcaster->deferFlushTo($app);
            }

            return $broadcaster;
        });

        if ($this->app->runningInConsole()) {
            $this->commands([StartCommand::class]);
        }
    }
}
