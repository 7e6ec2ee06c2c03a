<?php

namespace Pushbus\Laravel\Console;

use Illuminate\Console\Command;
use Pushbus\Laravel\Events\PushbusEvent;
use Pushbus\Laravel\Events\UserStatusChanged;
use Pushbus\Server;

/**
 * `php artisan pushbus:start`: runs the pushbus server inside this artisan process
 * (on the extension's threads), where `reverb:start` ran before; meant for Supervisor.
 *
 * The PHP thread polls the server's lifecycle events and dispatches each as a
 * Laravel event named "pushbus.<name>" (pushbus.member_added, pushbus.client_event,
 * ...) with the event array as its payload, and as the class the webhook route
 * dispatches (Pushbus\Laravel\Events\MemberAdded, ...; as they happen, without the
 * webhook delay). SIGTERM and SIGINT stop the server
 * gracefully: clients are told to reconnect (close code 4200).
 */
class StartCommand extends Command
{
    protected $signature = 'pushbus:start
        {--host= : The address to listen on (default: the connection\'s server.host, REVERB_SERVER_HOST or 0.0.0.0)}
        {--port= : The port (default: server.port, REVERB_SERVER_PORT or 8080; 0 picks a free one)}
        {--connection=pushbus : The broadcasting connection whose app it serves}';

    protected $description = 'Start the pushbus server (Pusher protocol, WebSocket and HTTP API) in this process';

    /** Set by SIGTERM / SIGINT. */
    private bool $stopping = false;

    public function handle(): int
    {
        $name = $this->option('connection');
        $connection = $this->laravel['config']["broadcasting.connections.$name"];
        if (! is_array($connection) || empty($connection['app_id']) || empty($connection['key']) || empty($connection['secret'])) {
            $this->error("The broadcasting connection \"$name\" needs app_id, key and secret.");

            return 1;
        }

        $server = new Server(static::serverConfig($connection, $this->option('host'), $this->option('port')));
        $port = $server->start();
        $host = $this->option('host') ?? $connection['server']['host'] ?? '0.0.0.0';
        // The first line is what process managers and tests wait for.
        $this->line("pushbus listening on http://$host:$port");
        $this->line("app {$connection['app_id']} (key {$connection['key']}); stop with Ctrl+C or SIGTERM");

        if (extension_loaded('pcntl')) {
            pcntl_async_signals(true);
            foreach ([SIGTERM, SIGINT] as $signal) {
                pcntl_signal($signal, function () {
                    $this->stopping = true;
                });
            }
        }

        $events = $this->laravel['events'];
        while (! $this->stopping) {
            // Signals are handled between polls: a stop takes at most this long.
            foreach ($server->poll(250) as $event) {
                if ($event['lost'] > 0) {
                    $this->warn("pushbus: {$event['lost']} lifecycle events were lost (the event loop fell behind)");
                }
                if ($this->output->isVerbose()) {
                    $this->line(json_encode($event));
                }
                $events->dispatch('pushbus.'.$event['name'], [$event]);
                // The same classes as the webhook route dispatches.
                if (($class = PushbusEvent::fromArray($event)) !== null) {
                    $events->dispatch($class);
                }
                if (($status = UserStatusChanged::fromArray($event)) !== null) {
                    $events->dispatch($status);
                }
            }
        }

        $this->line('pushbus stopping: closing connections');
        $server->stop();
        $this->line('pushbus stopped');

        return 0;
    }

    /**
     * The server's JSON config from a broadcasting connection: the app's credentials,
     * the bind address, and the optional `server.options` (top-level keys of the
     * config file: path, max_request_size, ...) and `server.app` (per-app keys:
     * allowed_origins, max_connections, ...).
     */
    public static function serverConfig(array $connection, ?string $host = null, $port = null): array
    {
        $server = $connection['server'] ?? [];

        return [
            'host' => $host ?? $server['host'] ?? env('REVERB_SERVER_HOST', '0.0.0.0'),
            'port' => (int) ($port ?? $server['port'] ?? env('REVERB_SERVER_PORT', 8080)),
            'apps' => [[
                'id' => (string) $connection['app_id'],
                'key' => $connection['key'],
                'secret' => $connection['secret'],
            ] + ($server['app'] ?? [])],
        ] + ($server['options'] ?? []);
    }
}
