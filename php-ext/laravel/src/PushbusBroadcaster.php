<?php

namespace Pushbus\Laravel;

use Illuminate\Broadcasting\BroadcastException;
use Illuminate\Broadcasting\Broadcasters\Broadcaster;
use Illuminate\Broadcasting\Broadcasters\UsePusherChannelConventions;
use Illuminate\Support\Arr;
use Illuminate\Support\Str;
use Pushbus\Auth;
use Pushbus\Client;
use Pushbus\Exception as PushbusException;
use Symfony\Component\HttpKernel\Exception\AccessDeniedHttpException;
use Symfony\Component\HttpKernel\Exception\BadRequestHttpException;

/**
 * Laravel's broadcaster contract over the pushbus extension: what the stock
 * PusherBroadcaster does, with the signing done by Pushbus\Auth and each broadcast
 * sent through a Pushbus\Client, whose connection stays open for the life of the PHP
 * worker (no TCP handshake and no cURL handle per event).
 *
 * The connection config is the `reverb` one (key, secret, app_id, options.host,
 * options.port, options.scheme), so the REVERB_* variables work unchanged.
 *
 * Triggers are queued (Pushbus\Client's default): broadcast() writes them on the kept-open
 * connection and, unless deferred, waits for the server's answers before it returns,
 * throwing BroadcastException on failure. Deferred (deferFlushTo(), what the
 * service provider does for HTTP requests), broadcast() returns at once and the
 * answers are awaited when the application terminates, after the response is sent;
 * a failure is then reported to the exception handler as a BroadcastException.
 */
class PushbusBroadcaster extends Broadcaster
{
    use UsePusherChannelConventions;

    /** Channels per trigger: the Pusher HTTP API's limit. */
    public const CHUNK_SIZE = 100;

    /** @var array the broadcasting connection's config */
    protected $config;

    /** @var Client|null made on first use */
    protected $client;

    /** @var bool whether broadcast() leaves the wait for the answers to flush() */
    protected $deferred = false;

    public function __construct(array $config)
    {
        foreach (['key', 'secret', 'app_id'] as $required) {
            if (empty($config[$required])) {
                throw new \InvalidArgumentException("The pushbus broadcasting connection needs \"$required\" (REVERB_APP_".strtoupper($required === 'app_id' ? 'ID' : $required).').');
            }
        }
        $this->config = $config;
    }

    /**
     * The options of the Pushbus\Client, from the connection config.
     */
    public static function clientOptions(array $config): array
    {
        $options = $config['options'] ?? [];
        $scheme = $options['scheme'] ?? (($options['useTLS'] ?? false) ? 'https' : 'http');

        return array_filter([
            'app_id' => (string) $config['app_id'],
            'key' => $config['key'],
            'secret' => $config['secret'],
            'host' => $options['host'] ?? '127.0.0.1',
            'port' => $options['port'] ?? ($scheme === 'https' ? 443 : 80),
            'scheme' => $scheme,
            'timeout' => $options['timeout'] ?? ($config['client_options']['timeout'] ?? 5),
            'encryption_master_key_base64' => $options['encryption_master_key_base64'] ?? null,
            'queued' => $options['queued'] ?? null,
        ], fn ($v) => $v !== null && $v !== '');
    }

    /**
     * The client that broadcasts (shared with every Client of the same options in
     * this process).
     */
    public function getClient(): Client
    {
        return $this->client ??= new Client(static::clientOptions($this->config));
    }

    /**
     * Authorises a subscription: 403 for a guarded channel without a user, or when no
     * channel callback allows it.
     *
     * @param  \Illuminate\Http\Request  $request
     * @return mixed
     *
     * @throws \Symfony\Component\HttpKernel\Exception\AccessDeniedHttpException
     */
    public function auth($request)
    {
        $channelName = $this->normalizeChannelName($request->channel_name);

        if (empty($request->channel_name) ||
            ($this->isGuardedChannel($request->channel_name) &&
            ! $this->retrieveUser($request, $channelName))) {
            throw new AccessDeniedHttpException;
        }

        return parent::verifyUserCanAccessChannel($request, $channelName);
    }

    /**
     * The answer of /broadcasting/auth: {"auth"} for private channels (with
     * "shared_secret" for private-encrypted- ones), {"auth", "channel_data"} for
     * presence channels, where channel_data carries the user id (as a string) and
     * the callback's return value as user_info.
     *
     * @param  \Illuminate\Http\Request  $request
     * @param  mixed  $result
     * @return mixed
     */
    public function validAuthenticationResponse($request, $result)
    {
        $channel = (string) $request->channel_name;
        $socketId = (string) $request->socket_id;

        try {
            if (Str::startsWith($channel, 'private')) {
                $body = Auth::authorizeChannel(
                    $this->config['key'], $this->config['secret'], $socketId, $channel, null,
                    Str::startsWith($channel, 'private-encrypted-') ? $this->masterKey() : null
                );
            } else {
                $user = $this->retrieveUser($request, $this->normalizeChannelName($channel));
                $userId = method_exists($user, 'getAuthIdentifierForBroadcasting')
                    ? $user->getAuthIdentifierForBroadcasting()
                    : $user->getAuthIdentifier();
                // As the Pusher PHP SDK builds it: the id as a string, user_info when truthy.
                $member = ['user_id' => (string) $userId];
                if ($result) {
                    $member['user_info'] = $result;
                }
                $body = Auth::authorizeChannel(
                    $this->config['key'], $this->config['secret'], $socketId, $channel,
                    json_encode($member, JSON_THROW_ON_ERROR)
                );
            }
        } catch (PushbusException $e) {
            // A malformed socket id or channel name from the client.
            throw new BadRequestHttpException($e->getMessage(), $e);
        }

        return $this->decodeResponse($request, $body);
    }

    /**
     * The answer of /broadcasting/user-auth (Laravel 9 and later; Laravel 8 has no
     * user authentication route): {"auth", "user_data"} for the user that the app's
     * Broadcast::resolveAuthenticatedUserUsing() callback returns.
     *
     * @param  \Illuminate\Http\Request  $request
     * @return array|null
     */
    public function resolveAuthenticatedUser($request)
    {
        if (! method_exists(Broadcaster::class, 'resolveAuthenticatedUser')) {
            return null;
        }
        if (! $user = parent::resolveAuthenticatedUser($request)) {
            return null;
        }
        try {
            return json_decode(Auth::authenticateUser(
                $this->config['key'], $this->config['secret'], (string) $request->socket_id, $user
            ), true);
        } catch (PushbusException $e) {
            throw new BadRequestHttpException($e->getMessage(), $e);
        }
    }

    /**
     * Broadcasts the event: the payload's "socket" (set by toOthers()) is the
     * connection to skip; channels go out in chunks of 100. A failure throws
     * BroadcastException, with the Pushbus\Exception (and its result code) as previous:
     * at once for refused arguments (and for an earlier deferred broadcast that failed),
     * and for a failed delivery unless deferred (then flush() reports it).
     *
     * @throws \Illuminate\Broadcasting\BroadcastException
     */
    public function broadcast(array $channels, $event, array $payload = [])
    {
        $socket = Arr::pull($payload, 'socket');
        $client = $this->getClient();

        try {
            foreach (array_chunk($this->formatChannels($channels), static::CHUNK_SIZE) as $chunk) {
                $client->trigger($chunk, $event, $payload, $socket);
            }
            if (! $this->deferred) {
                $client->flush();
            }
        } catch (PushbusException $e) {
            throw static::broadcastException($e);
        }
    }

    /**
     * Waits for the answers to every queued broadcast.
     *
     * @throws \Illuminate\Broadcasting\BroadcastException for the first that failed
     */
    public function flush(): void
    {
        if ($this->client === null) {
            return;
        }
        try {
            $this->client->flush();
        } catch (PushbusException $e) {
            throw static::broadcastException($e);
        }
    }

    /**
     * Defers the wait for the answers to the end of the application's life (its
     * terminating callbacks: after the HTTP response is sent), where a failure is
     * reported to the exception handler.
     *
     * @param  \Illuminate\Contracts\Foundation\Application  $app
     */
    public function deferFlushTo($app): void
    {
        $this->deferred = true;
        $app->terminating(function () {
            try {
                $this->flush();
            } catch (BroadcastException $e) {
                report($e);
            }
        });
    }

    protected static function broadcastException(PushbusException $e): BroadcastException
    {
        return new BroadcastException(sprintf('Pushbus error: %s.', $e->getMessage()), $e->getCode(), $e);
    }

    /**
     * @param  \Illuminate\Http\Request  $request
     * @return mixed
     */
    protected function decodeResponse($request, string $body)
    {
        if (! $request->input('callback', false)) {
            return json_decode($body, true);
        }

        return response()->json(json_decode($body, true))
            ->withCallback($request->callback);
    }

    protected function masterKey(): ?string
    {
        return $this->config['options']['encryption_master_key_base64'] ?? null;
    }
}
