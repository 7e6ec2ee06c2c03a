<?php

namespace App\Listeners;

use Illuminate\Support\Facades\DB;
use Pushbus\Laravel\Events\MemberAdded;
use Pushbus\Laravel\Events\MemberRemoved;

/**
 * The portal's "who is online": a user_presence row per user (status, last_seen_at),
 * kept from pushbus's member events, whether they come from webhooks (the route) or
 * from the in-process server (pushbus:start).
 */
class TrackPresence
{
    public function handle(MemberAdded|MemberRemoved $event): void
    {
        if (! ctype_digit((string) $event->userId)) {
            return;
        }
        $online = $event instanceof MemberAdded;
        DB::table('user_presence')->updateOrInsert(
            ['user_id' => (int) $event->userId],
            ['status' => $online ? 'online' : 'offline', 'last_seen_at' => now(), 'channel' => $event->channel],
        );
    }
}
