<?php

return [
    // ShouldBroadcast events and broadcast notifications run in the request.
    'default' => env('QUEUE_CONNECTION', 'sync'),

    'connections' => [
        'sync' => [
            'driver' => 'sync',
        ],
    ],

    'failed' => [
        'driver' => 'null',
    ],
];
