<?php

namespace Pushbus\Laravel;

use Illuminate\Broadcasting\BroadcastManager;
use Illuminate\Contracts\Events\Dispatcher;
use Illuminate\Http\Request;
use Illuminate\Support\ServiceProvider;
use Pushbus\Laravel\Console\StartCommand;
use Pushbus\Laravel\Http\WebhookController;

/**
 * Registers the `pushbus` broadcast driver and the `pushbus:start` command.
 *
 * Serving HTTP, broadcasts are deferred: broadcast() returns once the events are
 * queued, and the answers are awaited after the response is sent (failures are
 * reported to the exception handler). In the console (queue workers, artisan
 * commands), broadcast() waits and throws BroadcastException, so that a failed
 * broadcast job is retried. `'deferred' => false` in the connection config makes
 * every broadcast wait.
 *
 * Each `pushbus` connection also gets a webhook route, POST /pushbus/webhook (CSRF-exempt:
 * no middleware; `'webhook' => ['path' => '/hooks/pushbus']` moves it, `'webhook' =>
 * false` turns it off), which dispatches Pushbus\Laravel\Events\MemberAdded and the
 * other event classes for the requests signed with the connection's key and secret.
 */
class PushbusServiceProvider extends ServiceProvider
{
    public function register()
    {
        // The driver is added when the broadcast manager is first built, not in boot():
        // a provider that boots before this one (listed earlier by hand, or an app's own
        // provider calling Broadcast::connection() in its boot()) then finds it too,
        // instead of failing with "Driver [pushbus] is not supported".
        $this->app->afterResolving(BroadcastManager::class, fn (BroadcastManager $manager) => $this->extend($manager));
        if ($this->app->resolved(BroadcastManager::class)) {
            $this->extend($this->app->make(BroadcastManager::class));
        }
    }

    public function boot()
    {
        if ($this->app->runningInConsole()) {
            $this->commands([StartCommand::class]);
        }
        $this->registerWebhookRoutes();
    }

    private function extend(BroadcastManager $manager): void
    {
        $manager->extend('pushbus', function ($app, array $config) {
            $broadcaster = new PushbusBroadcaster($config);
            if (($config['deferred'] ?? true) && ! $app->runningInConsole()) {
                $broadcaster->deferFlushTo($app);
            }

            return $broadcaster;
        });
    }

    private function registerWebhookRoutes(): void
    {
        $seen = [];
        foreach ((array) $this->app['config']['broadcasting.connections'] as $name => $connection) {
            if (! is_array($connection) || ($connection['driver'] ?? null) !== 'pushbus' || ($connection['webhook'] ?? []) === false) {
                continue;
            }
            $path = '/'.ltrim($connection['webhook']['path'] ?? '/pushbus/webhook', '/');
            if (isset($seen[$path])) {
                continue;
            }
            $seen[$path] = true;
            $this->app['router']
                ->post($path, fn (Request $request, Dispatcher $events) => (new WebhookController($connection))($request, $events))
                ->name("pushbus.webhook.$name");
        }
    }
}
