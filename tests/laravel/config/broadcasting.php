<?php

return [
    // Laravel 8 reads BROADCAST_DRIVER; Laravel 11 and 12 read BROADCAST_CONNECTION.
    'default' => env('BROADCAST_DRIVER', env('BROADCAST_CONNECTION', 'null')),

    'connections' => [
        // The reverb connection's keys, so the REVERB_* variables work unchanged.
        'pushbus' => [
            'driver' => 'pushbus',
            'key' => env('REVERB_APP_KEY'),
            'secret' => env('REVERB_APP_SECRET'),
            'app_id' => env('REVERB_APP_ID'),
            'options' => [
                'host' => env('REVERB_HOST', '127.0.0.1'),
                'port' => env('REVERB_PORT', 8080),
                'scheme' => env('REVERB_SCHEME', 'http'),
                'useTLS' => env('REVERB_SCHEME', 'http') === 'https',
                'timeout' => 5,
            ],
            // Read by `php artisan pushbus:start` only.
            'server' => [
                'host' => env('REVERB_SERVER_HOST', '0.0.0.0'),
                'port' => env('REVERB_SERVER_PORT', 8080),
                'app' => [
                    'allowed_origins' => ['*'],
                    // The realtime_events rows (RecordRealtimeEvent), with payloads.
                    'delivery_log' => ['events' => true, 'payloads' => 'payload'],
                    // Watchers and PresenceService hear "offline" after this long.
                    'user_status' => ['offline_delay' => (float) env('PUSHBUS_OFFLINE_DELAY', 1)],
                    // The activity feeds (ActivityFeedService) are these channels' history:
                    // the last 100 events of each for an hour; a new subscriber of the
                    // global feed is given the last 10 at once.
                    'history' => [
                        ['channels' => 'activity', 'events' => 100, 'ttl' => 3600, 'rewind' => 10],
                        ['channels' => 'private-activity.*', 'events' => 100, 'ttl' => 3600],
                    ],
                ],
            ],
        ],

        'log' => [
            'driver' => 'log',
        ],

        'null' => [
            'driver' => 'null',
        ],
    ],
];
