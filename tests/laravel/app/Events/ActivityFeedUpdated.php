<?php

namespace App\Events;

use Illuminate\Broadcasting\Channel;
use Illuminate\Broadcasting\InteractsWithSockets;
use Illuminate\Broadcasting\PrivateChannel;
use Illuminate\Contracts\Broadcasting\ShouldBroadcastNow;
use Illuminate\Foundation\Events\Dispatchable;

/**
 * An entry of the activity feeds (ActivityFeedService::addActivity): on the public
 * `activity` channel, and on its client's and its project's private feeds when it has
 * them. The payload is the activity itself; the channels' history keeps it, so the
 * feeds are read back from pushbus.
 */
class ActivityFeedUpdated implements ShouldBroadcastNow
{
    use Dispatchable, InteractsWithSockets;

    public function __construct(public array $activity)
    {
    }

    public function broadcastOn()
    {
        $channels = [new Channel('activity')];
        if ($this->activity['client_id'] !== null) {
            $channels[] = new PrivateChannel('activity.client.'.$this->activity['client_id']);
        }
        if ($this->activity['project_id'] !== null) {
            $channels[] = new PrivateChannel('activity.project.'.$this->activity['project_id']);
        }

        return $channels;
    }

    public function broadcastWith()
    {
        return $this->activity;
    }
}
