<?php

namespace Pushbus\Laravel\Events;

/**
 * A user came online (their first connection anywhere signed in or joined a presence
 * channel as them) or went offline (their last one ended and they stayed away for the
 * app's `user_status.offline_delay`), as `php artisan pushbus:start` sees it.
 */
abstract class UserStatusChanged
{
    /** The Pusher-style name of each type, and its class. */
    public const CLASSES = [
        'user_online' => UserOnline::class,
        'user_offline' => UserOffline::class,
    ];

    final public function __construct(public string $userId, public ?string $appId = null)
    {
    }

    /** The event of a `Pushbus\Server::poll()` array, or null for another kind. */
    public static function fromArray(array $e): ?self
    {
        $class = self::CLASSES[$e['name'] ?? ''] ?? null;
        if ($class === null || ! isset($e['user_id'])) {
            return null;
        }

        return new $class((string) $e['user_id'], $e['app_id'] ?? null);
    }
}
