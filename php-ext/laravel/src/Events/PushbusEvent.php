<?php

namespace Pushbus\Laravel\Events;

/**
 * What happened in a pushbus app, as a Laravel event: from a webhook request
 * (POST /pushbus/webhook, WebhookController) or, in `php artisan pushbus:start`, from
 * the in-process server's lifecycle events. One class per Pusher webhook type; the
 * fields that do not apply to a type are null.
 */
abstract class PushbusEvent
{
    /** The Pusher name of each type, and its class. */
    public const CLASSES = [
        'channel_occupied' => ChannelOccupied::class,
        'channel_vacated' => ChannelVacated::class,
        'member_added' => MemberAdded::class,
        'member_removed' => MemberRemoved::class,
        'client_event' => ClientEvent::class,
        'cache_miss' => CacheMiss::class,
        'subscription_count' => SubscriptionCount::class,
        'event_logged' => EventLogged::class,
    ];

    /**
     * @param  string  $channel  the channel it is about
     * @param  string|null  $userId  member events; client events on presence channels
     * @param  string|null  $event  client events: the event name (client-…)
     * @param  string|null  $data  client events: the data string as the client sent it
     * @param  string|null  $socketId  client events: the sender
     * @param  int|null  $subscriptionCount  subscription_count
     * @param  int|null  $timeMs  when it happened (webhooks: the request's time_ms)
     * @param  string|null  $appId  the app (in-process events)
     */
    final public function __construct(
        public string $channel,
        public ?string $userId = null,
        public ?string $event = null,
        public ?string $data = null,
        public ?string $socketId = null,
        public ?int $subscriptionCount = null,
        public ?int $timeMs = null,
        public ?string $appId = null,
    ) {
    }

    /** The Pusher name of this type (`member_added`, …). */
    public function name(): string
    {
        return array_search(static::class, self::CLASSES, true);
    }

    /**
     * The event of a webhook's `events` entry, or of a `Pushbus\Server::poll()` array;
     * null for a kind without a class (connection events).
     */
    public static function fromArray(array $e, ?int $timeMs = null): ?self
    {
        $class = self::CLASSES[$e['name'] ?? ''] ?? null;
        if ($class === null || ! isset($e['channel'])) {
            return null;
        }

        return new $class(
            (string) $e['channel'],
            isset($e['user_id']) ? (string) $e['user_id'] : null,
            $e['event'] ?? null,
            isset($e['data']) ? (string) $e['data'] : null,
            $e['socket_id'] ?? null,
            isset($e['subscription_count']) ? (int) $e['subscription_count'] : null,
            $timeMs,
            $e['app_id'] ?? null,
        );
    }
}
