<?php

namespace App\Providers;

use App\Listeners\RecordRealtimeEvent;
use App\Listeners\TrackPresence;
use Illuminate\Foundation\Support\Providers\EventServiceProvider as ServiceProvider;
use Pushbus\Laravel\Events\EventLogged;
use Pushbus\Laravel\Events\MemberAdded;
use Pushbus\Laravel\Events\MemberRemoved;

class EventServiceProvider extends ServiceProvider
{
    protected $listen = [
        MemberAdded::class => [TrackPresence::class],
        MemberRemoved::class => [TrackPresence::class],
        EventLogged::class => [RecordRealtimeEvent::class],
    ];
}
