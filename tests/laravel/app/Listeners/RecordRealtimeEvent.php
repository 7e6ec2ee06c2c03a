<?php

namespace App\Listeners;

use Illuminate\Support\Facades\DB;
use Pushbus\Laravel\Events\EventLogged;

/**
 * The portal's realtime_events table ("what was broadcast, and did it reach anyone"),
 * written from pushbus's delivery log as `pushbus:start` hands its records over, instead
 * of the app guessing at broadcast time.
 */
class RecordRealtimeEvent
{
    public function handle(EventLogged $event): void
    {
        $r = $event->record();
        DB::table('realtime_events')->insertOrIgnore([
            'event_id' => (string) $r['id'],
            'channel' => $r['channel'],
            'event_type' => $r['event'],
            'payload' => $r['data'] ?? null,
            'digest' => $r['digest'] ?? null,
            'size' => $r['size'],
            'delivered' => $r['delivered'],
            'except_socket' => $r['except'] ?? null,
            'source' => $r['source'],
            'published_at' => date('Y-m-d H:i:s', intdiv((int) $r['time'], 1000)),
        ]);
    }
}
